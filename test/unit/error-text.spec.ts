import { describe, expect, it } from '@jest/globals';
import { errorText } from '../../src/monitor/error-text.util.js';

describe('errorText', () => {
  it.each<[string, unknown, string]>([
    ['an Error', new TypeError('bad thing'), 'TypeError: bad thing'],
    ['a string', 'plain text', 'plain text'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a plain object', { code: 'E1', retry: false }, "{ code: 'E1', retry: false }"],
    [
      'an Error without message but with a code',
      Object.assign(new Error(''), { code: 'ECONNRESET' }),
      'Error: ECONNRESET',
    ],
    [
      'an AggregateError of connection attempts',
      new AggregateError([
        new Error('connect ECONNREFUSED ::1:5432'),
        new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      ]),
      'AggregateError: Error: connect ECONNREFUSED ::1:5432; Error: connect ECONNREFUSED 127.0.0.1:5432',
    ],
  ])('describes %s', (_, value, expected) => {
    expect(errorText(value)).toBe(expected);
  });

  it('describes a circular object', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    expect(errorText(circular)).toContain('[Circular *1]');
  });

  it('survives an object whose getters throw', () => {
    const hostile = {
      get message(): string {
        throw new Error('getter');
      },
    };
    expect(typeof errorText(hostile)).toBe('string');
    const error = new Error('x');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    expect(errorText(error)).toBe('[unprintable object]');
  });

  it('cuts a 10 MB string to 1,024 characters', () => {
    const text = errorText('x'.repeat(10 * 1024 * 1024));
    expect(text).toHaveLength(1024);
    expect(text.endsWith('…')).toBe(true);
  });

  it('never splits a surrogate pair at the cut', () => {
    const text = errorText('a'.repeat(1022) + '😀'.repeat(10));
    expect(text.length).toBeLessThanOrEqual(1024);
    expect(text).toBe('a'.repeat(1022) + '…');
  });

  it('puts multi-line errors on one line', () => {
    expect(errorText('first\n  second')).toBe('first second');
  });

  it.each([
    ['postgres://app:s3cr3t@db.internal:5432/audit failed', 'postgres://[REDACTED]@db.internal:5432/audit failed'],
    ['https://token@hooks.example/x', 'https://[REDACTED]@hooks.example/x'],
    ['connection string host=db password=s3cr3t user=app', 'connection string host=db password=[REDACTED] user=app'],
    ['{"user":"app","password":"s3cr3t"}', '{"user":"app","password":"[REDACTED]"}'],
    ['pwd: hunter2', 'pwd: [REDACTED]'],
    ['Authorization: Bearer eyJhbGciOi.J9.abc-_', 'Authorization: Bearer [REDACTED]'],
    ['authorization=Basic dXNlcjpwYXNz', 'authorization=Basic [REDACTED]'],
    ['api_key=abc123&x=1', 'api_key=[REDACTED]&x=1'],
    ['Authorization: sk_live_123', 'Authorization: [REDACTED]'],
  ])('scrubs credentials from %s', (input, expected) => {
    expect(errorText(new Error(input))).toBe(`Error: ${expected}`);
  });

  it('scrubs a secret straddling the cut', () => {
    const text = errorText(`${'x'.repeat(1000)} password=${'s'.repeat(100)}`);
    expect(text).not.toContain('sss');
    expect(text).toContain('password=[REDACTED]');
  });
});
