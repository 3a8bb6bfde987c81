/**
 * Boots real Nest application contexts around the built package, through its
 * public entry point only. Plain .mjs has no decorator syntax, so the
 * decorators are applied as the functions they are.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditAlertHook, AuditAlertModule, AuditStorageMonitor } from 'nestjs-audit-alert';

/** Largest delay a Node timer accepts: a cooldown this long never passes during a benchmark. */
export const FAR_AWAY_MS = 2 ** 31 - 1;

/**
 * Boots an application context with `AuditAlertModule.forRoot(options)` and
 * the given hook classes, and returns it with its monitor.
 *
 * @param {{ options?: object, hooks?: Function[] }} [setup]
 */
export async function bootMonitor({ options = {}, hooks = [] } = {}) {
  class BenchAppModule {}
  Module({ imports: [AuditAlertModule.forRoot(options)], providers: hooks })(BenchAppModule);
  const app = await NestFactory.createApplicationContext(BenchAppModule, { logger: false });
  return { app, monitor: app.get(AuditStorageMonitor) };
}

/**
 * Declares an `@AuditAlertHook()` class whose `onAuditAlert` calls `handler`.
 * Every hook gets its own class (and name), as distinct providers would.
 *
 * @param {string} name
 * @param {(event: object) => void | Promise<void>} handler
 */
export function hookClass(name, handler) {
  const target = {
    [name]: class {
      onAuditAlert(event) {
        return handler(event);
      }
    },
  }[name];
  AuditAlertHook()(target);
  return target;
}
