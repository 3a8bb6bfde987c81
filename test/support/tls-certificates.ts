import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable, type RedisTlsFiles } from './redis-server.js';

const run = promisify(execFile);

/** A CA of its own and a certificate it signed for 127.0.0.1 and localhost, made by the openssl CLI. */
export interface TlsCertificates extends RedisTlsFiles {
  /** The certificate (PEM) of another CA, which signed nothing the server presents. */
  readonly otherCa: string;
}

/**
 * Makes, in `dir` (a temporary directory of the suite), a CA, a server key and
 * a certificate for `127.0.0.1` and `localhost` signed by that CA, and a second
 * CA that signed nothing: what a client trusting the wrong CA holds.
 * @throws Error with the install command when `openssl` cannot be found.
 */
export async function makeTlsCertificates(dir: string): Promise<TlsCertificates> {
  const openssl = findExecutable('openssl', 'apt-get install -y openssl');
  const file = (name: string): string => join(dir, name);
  const openssl$ = (args: string, ...files: string[]) => run(openssl, [...args.split(' '), ...files]);
  const makeCa = (name: string) =>
    openssl$(
      `req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=${name} -keyout`,
      file(`${name}.key`),
      '-out',
      file(`${name}.crt`),
    );
  await Promise.all([makeCa('test-ca'), makeCa('other-ca')]);
  await openssl$(
    'req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout',
    file('redis.key'),
    '-out',
    file('redis.csr'),
  );
  // Node checks the address a client connects to (127.0.0.1) against the certificate's subjectAltName.
  await writeFile(file('redis.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  await openssl$(
    'x509 -req -days 1 -set_serial 1 -in',
    file('redis.csr'),
    '-CA',
    file('test-ca.crt'),
    '-CAkey',
    file('test-ca.key'),
    '-extfile',
    file('redis.ext'),
    '-out',
    file('redis.crt'),
  );
  return {
    certFile: file('redis.crt'),
    keyFile: file('redis.key'),
    caFile: file('test-ca.crt'),
    ca: await readFile(file('test-ca.crt'), 'utf8'),
    otherCa: await readFile(file('other-ca.crt'), 'utf8'),
  };
}
