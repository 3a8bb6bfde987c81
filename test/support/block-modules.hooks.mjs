/** Resolve hook of block-modules.mjs; runs on Node's loader thread. */
let blocked = [];

export function initialize(data) {
  blocked = data.blocked;
}

export async function resolve(specifier, context, nextResolve) {
  if (blocked.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
    const error = new Error(`Cannot find package '${specifier}' imported from ${context.parentURL}`);
    throw Object.assign(error, { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return nextResolve(specifier, context);
}
