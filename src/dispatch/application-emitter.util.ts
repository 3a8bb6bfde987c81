import type { ModulesContainer } from '@nestjs/core';

/** What the dispatcher needs of the application's EventEmitter2. */
export interface ApplicationEmitter {
  emit(type: string, event: unknown): unknown;
}

/** What the dispatcher needs of @nestjs/event-emitter's readiness watcher. */
export interface ApplicationEmitterReadiness {
  waitUntilReady(): Promise<unknown>;
}

/**
 * The instance of the provider whose class is named `className`, in any
 * module of the application; `undefined` when there is none.
 *
 * `@nestjs/event-emitter` is an optional peer, and this package imports
 * nothing of it: release 12 is ESM-only, and a CommonJS application (Jest
 * with ts-jest, TypeScript before 5.8) cannot load it. So its providers are
 * found by their class names, which every release since 2 keeps, and
 * whichever copy of the package the application loaded is the one used.
 */
export function findProviderByClassName<T>(modules: ModulesContainer, className: string): T | undefined {
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      if (typeof token === 'function' && token.name === className && wrapper.instance) return wrapper.instance as T;
    }
  }
  return undefined;
}
