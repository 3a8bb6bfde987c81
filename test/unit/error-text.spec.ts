import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { errorText } from '../../src/common/error-text.util.js';

describe('errorText', () => {
  it.each<[string, unknown, string]>([
    ['an Error', new TypeError('bad thing'), 'TypeError: bad thing'],
    ['a string', 'plain text', 'plain text'],
    ['a number', 42, '42'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a plain object, by its well-known fields', { code: 'E1', retry: false }, "{ code: 'E1' }"],
    ['an object without well-known fields', { retry: false }, '[object Object]'],
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

  it('describes an error made in another realm as an error (a vm context, a test sandbox)', () => {
    const foreign: unknown = runInNewContext(
      "Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })",
    );
    expect(foreign instanceof Error).toBe(false);
    expect(errorText(foreign)).toBe('Error: ENOSPC: no space left on device');
  });

  it('describes a circular object', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    circular.message = circular;
    expect(errorText(circular)).toBe("{ name: 'loop', message: { name: 'loop', message: [object Object] } }");
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

describe('errorText scrubs every form of credential', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJlLXZhbHVl';
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAs3cr3t\nQk9Cg==\n-----END RSA PRIVATE KEY-----';
  it.each<[string, string, string, string]>([
    // [form, input, what must not survive, what must]
    ['PGPASSWORD=', 'exec failed: PGPASSWORD=hunter2 psql -h db', 'hunter2', 'PGPASSWORD=[REDACTED] psql -h db'],
    ['DB_PASSWORD=', 'env DB_PASSWORD=hunter2 missing', 'hunter2', 'DB_PASSWORD=[REDACTED] missing'],
    [
      'AWS_SECRET_ACCESS_KEY=',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG',
      'wJalr',
      'AWS_SECRET_ACCESS_KEY=[REDACTED]',
    ],
    ["password='two words'", "password='correct horse' host=db", 'horse', "password='[REDACTED]' host=db"],
    ['password="two words"', 'password="correct horse" host=db', 'horse', 'password="[REDACTED]" host=db'],
    [
      'a URL password with a raw @',
      'postgres://app:p@ss@db:5432/audit',
      'ss@db',
      'postgres://[REDACTED]@db:5432/audit',
    ],
    ['a URL password with a raw /', 'postgres://app:p/ss@db:5432/audit', 'p/ss', 'postgres://[REDACTED]@db:5432/audit'],
    ['a URL password with a raw #', 'mysql://app:p#ss@db/audit down', 'p#ss', 'mysql://[REDACTED]@db/audit down'],
    [
      'Authorization: ApiKey <key>',
      'Authorization: ApiKey k3y-Value rejected',
      'k3y',
      'Authorization: ApiKey [REDACTED] rejected',
    ],
    [
      'AWS SigV4',
      'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7 denied',
      '5d672d79',
      'Authorization: AWS4-HMAC-SHA256 [REDACTED] denied',
    ],
    ['an unknown scheme', 'Authorization: Custom s3cr3t', 's3cr3t', 'Authorization: [REDACTED]'],
    ['a bare JWT', `login refused: ${jwt}`, 'eyJ', 'login refused: [REDACTED]'],
    [
      'an AKIA access key id',
      'key id AKIAIOSFODNN7EXAMPLE unknown',
      'AKIAIOSFODNN7EXAMPLE',
      'key id [REDACTED] unknown',
    ],
    [
      'sslpassword=',
      'host=db sslpassword=hunter2 sslmode=require',
      'hunter2',
      'sslpassword=[REDACTED] sslmode=require',
    ],
    ['passphrase=', 'passphrase=hunter2', 'hunter2', 'passphrase=[REDACTED]'],
    ['?key=', 'GET https://api.example/v1?key=AIzaSyD-x&q=1', 'AIza', '?key=[REDACTED]&q=1'],
    ['token= in a query', 'https://hooks.example/x?token=abc123', 'abc123', '?token=[REDACTED]'],
    ['sig= in a query', 'https://acct.blob.example/c?sv=2020&sig=abc%2Bdef', 'abc%2B', '&sig=[REDACTED]'],
    ['X-Amz-Signature=', 'https://s3.example/o?X-Amz-Signature=abcdef0123', 'abcdef0123', 'X-Amz-Signature=[REDACTED]'],
    [
      'a GitHub token',
      'clone failed for ghp_16C7e42F292c6912E7710c838347Ae178B4a',
      'ghp_',
      'clone failed for [REDACTED]',
    ],
    ['a PEM private key block', `bad key ${pem} given`, 'MIIEow', 'bad key [REDACTED] given'],
    [
      'privateKey: of an inspected object',
      "{ privateKey: 'MIIEowIBAAKCAQEA', id: 1 }",
      'MIIEow',
      "privateKey: '[REDACTED]'",
    ],
    ['secret: of an inspected object', "{ secret: 'hunter2' }", 'hunter2', "secret: '[REDACTED]'"],
    ['"token": of a JSON object', '{"token":"abc123","ok":false}', 'abc123', '"token":"[REDACTED]"'],
  ])('%s', (_, input, secret, kept) => {
    const text = errorText(new Error(input));
    expect(text).not.toContain(secret);
    expect(text).toContain(kept);
  });

  it('leaves names that merely contain a secret word, and ordinary errors, alone', () => {
    expect(errorText(new Error('column password_hash: value too long'))).toBe(
      'Error: column password_hash: value too long',
    );
    expect(errorText(new Error('duplicate key value violates unique constraint "users_pkey"'))).toBe(
      'Error: duplicate key value violates unique constraint "users_pkey"',
    );
  });

  it('never describes fields other than the well-known ones of an object', () => {
    const text = errorText({ code: 'EAUTH', privateKey: 'MIIEow', secret: 'hunter2', token: 'abc123' });
    expect(text).toBe("{ code: 'EAUTH' }");
  });
});

describe('errorText gives one line of printable text', () => {
  it.each<[string, string]>([
    ['a carriage return', 'a\rb'],
    ['a line feed', 'a\nb'],
    ['CR LF', 'a\r\nb'],
    ['a tab', 'a\tb'],
    ['NUL', 'a\0b'],
    ['DEL', 'a\u007fb'],
    ['NEL', 'a\u0085b'],
    ['a line separator', 'a\u2028b'],
    ['a paragraph separator', 'a\u2029b'],
    ['a vertical tab and a form feed', 'a\u000b\u000cb'],
    ['a right-to-left override', 'a\u202eb'],
  ])('replaces %s by a space', (_, input) => {
    expect(errorText(input)).toBe('a b');
  });

  it('removes terminal escape sequences, so a quoted value cannot forge a log line', () => {
    const forged =
      'duplicate key (\u001b[2K\r[Nest] 1 - 01/01/2026 LOG \u001b[32mall good\u001b[0m\u001b]0;title\u0007)';
    const text = errorText(new Error(forged));
    expect(text).toBe('Error: duplicate key ( [Nest] 1 - 01/01/2026 LOG all good)');
    expect(text).toMatch(/^[^\p{Cc}\p{Zl}\p{Zp}]*$/u);
  });

  it('replaces a broken surrogate', () => {
    expect(errorText('a\uD800b')).toBe('a\uFFFDb');
  });
});

describe('errorText does a bounded amount of work', () => {
  /** A proxy that counts every look at `target`. */
  function counted<T extends object>(target: T): { value: T; looks: () => number } {
    let looks = 0;
    const handler: ProxyHandler<T> = {};
    for (const trap of ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf'] as const) {
      (handler as Record<string, unknown>)[trap] = (...args: unknown[]) => {
        looks += trap === 'ownKeys' ? Reflect.ownKeys(target).length : 1;
        return (Reflect[trap] as (...a: unknown[]) => unknown)(...args);
      };
    }
    return { value: new Proxy(target, handler), looks: () => looks };
  }

  it('reads a few fields of an object with a million keys, never its keys', () => {
    const huge: Record<string, unknown> = { code: 'E1' };
    for (let i = 0; i < 1_000_000; i += 1) huge[`k${i}`] = i;
    const { value, looks } = counted(huge);
    expect(errorText(value)).toBe("{ code: 'E1' }");
    expect(looks()).toBeLessThan(50);
  });

  it('describes a few of the inner errors of an AggregateError of 20,000', () => {
    const inner = Array.from({ length: 20_000 }, (_, i) => new Error(`attempt ${i} ${'x'.repeat(10_000)}`));
    const { value, looks } = counted(inner);
    const aggregate = new AggregateError([]);
    Object.defineProperty(aggregate, 'errors', { value });
    const text = errorText(aggregate);
    expect(text.startsWith('AggregateError: Error: attempt 0 xxx')).toBe(true);
    expect(text).toHaveLength(1_024);
    expect(looks()).toBeLessThan(100);
  });
});
