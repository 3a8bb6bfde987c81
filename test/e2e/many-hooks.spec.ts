import { expect, it } from '@jest/globals';
// Many hooks are normal, not a leak: EventEmitter2 must not warn about them.
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { runInThisContext } from 'node:vm';
import { AuditAlertHook, AuditAlertModule } from '../../src/index.js';
it('subscribes 30 hooks without a MaxListenersExceededWarning', async () => {
  const proc = runInThisContext('process') as NodeJS.Process;
  const warnings: unknown[] = [];
  const h = (w: unknown) => warnings.push(w);
  proc.on('warning', h);
  const hooks = Array.from({ length: 30 }, (_, i) => {
    const C = class {
      onAuditAlert() {}
    };
    Object.defineProperty(C, 'name', { value: `Hook${i}` });
    AuditAlertHook()(C);
    return C;
  });
  @Module({ imports: [AuditAlertModule.forRoot()], providers: hooks })
  class M {}
  const app = (await Test.createTestingModule({ imports: [M] }).compile()).createNestApplication({ logger: false });
  await app.init();
  await new Promise((r) => setTimeout(r, 20));
  proc.off('warning', h);
  await app.close();
  expect(warnings.map(String).filter((w) => /listeners/i.test(w))).toEqual([]);
});
