/**
 * In the CommonJS build, loads `peer` ahead of the `require()` compiled from
 * a static import, and when it cannot be loaded because that release is
 * ESM-only (Jest's "Must use import to load ES Module", Node's
 * `ERR_REQUIRE_ESM` before `require(esm)`), throws an error that names the
 * release a CommonJS application installs instead. Does nothing in the ESM
 * build, where `require` is not defined; any other failure is left to the
 * import itself to report.
 * @param pin What a CommonJS application installs instead: the peer at its last CommonJS release.
 */
export function assertRequirablePeer(peer: string, pin: string): void {
  if (typeof require !== 'function') return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the point: load it as the CommonJS build will
    require(peer);
  } catch (error) {
    if (!isEsmOnlyFailure(error)) return;
    throw new Error(
      `nestjs-audit-alert (its CommonJS build) cannot load ${peer}: the installed release is ESM-only, ` +
        `and this application loads CommonJS. Install ${pin} (npm install ${pin}), or run the application as ESM.`,
      { cause: error },
    );
  }
}

function isEsmOnlyFailure(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ERR_REQUIRE_ESM' ||
    code === 'ERR_REQUIRE_ASYNC_MODULE' ||
    (typeof message === 'string' &&
      /Must use import to load ES Module|Cannot use import statement outside a module/.test(message))
  );
}
