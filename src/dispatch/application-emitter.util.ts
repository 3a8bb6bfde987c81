import type { ModulesContainer } from '@nestjs/core';

/** What the dispatcher needs of the application's EventEmitter2. */
export interface ApplicationEmitter {
  emit(type: string, event: unknown): unknown;
}

/** What the dispatcher needs of @nestjs/event-emitter's readiness watcher. */
export interface ApplicationEmitterReadiness {
  waitUntilReady(): Promise<unknown>;
}

/*
 * `@nestjs/event-emitter` is an optional peer, and this package imports
 * nothing of it: release 12 is ESM-only, and a CommonJS application (Jest
 * with ts-jest, TypeScript before 5.8) cannot load it. So its providers are
 * found by what their class tokens are, and whichever copy of the package the
 * application loaded is the one used.
 */

/** The application's EventEmitter2: the provider whose class token has EventEmitter2's own methods. */
export function findApplicationEmitter(modules: ModulesContainer): ApplicationEmitter | null {
  return findProvider<ApplicationEmitter>(
    modules,
    (token) => typeof token.prototype?.emitAsync === 'function' && typeof token.prototype?.onAny === 'function',
  );
}

/** @nestjs/event-emitter's readiness watcher, present since release 2.1. */
export function findApplicationEmitterReadiness(modules: ModulesContainer): ApplicationEmitterReadiness | null {
  return findProvider<ApplicationEmitterReadiness>(
    modules,
    (token) => token.name === 'EventEmitterReadinessWatcher' && typeof token.prototype?.waitUntilReady === 'function',
  );
}

/** A class token, as far as these checks read it. */
type ClassToken = { readonly name: string; readonly prototype?: Record<string, unknown> };

function findProvider<T>(modules: ModulesContainer, isToken: (token: ClassToken) => boolean): T | null {
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      if (typeof token === 'function' && wrapper.instance && isToken(token as ClassToken)) return wrapper.instance as T;
    }
  }
  return null;
}
