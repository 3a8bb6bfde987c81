import { lookup as systemLookup, promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Loopback names (RFC 6761): answered here, as the system would, without asking anyone. */
const LOOPBACK: readonly LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

function familyOf(options: LookupOptions | number | undefined): 0 | 4 | 6 {
  const family = typeof options === 'number' ? options : options?.family;
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `lookup` for the sockets of alert delivery that needs no thread of
 * libuv's pool, where `dns.lookup()` (`getaddrinfo`) takes one: a literal IP
 * is answered at once, `localhost` with the loopback addresses, any other
 * name through c-ares (`dns.resolve4`/`resolve6`, asynchronous sockets). So
 * file system calls hung on a dead mount, which hold the pool's threads,
 * cannot keep an alert from being delivered. A name c-ares cannot resolve (one
 * in `/etc/hosts` only, a short name that needs the search list) falls back
 * to `dns.lookup()`.
 * @internal
 */
export function poolFreeLookup(
  hostname: string,
  options: LookupOptions | number | undefined,
  callback: LookupCallback,
): void {
  const all = typeof options === 'object' && options !== null && options.all === true;
  const family = familyOf(options);
  const answer = (addresses: readonly LookupAddress[]): boolean => {
    const wanted = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    const first = wanted[0];
    if (first === undefined) return false;
    if (all) callback(null, [...wanted]);
    else callback(null, first.address, first.family);
    return true;
  };
  const fallBack = (): void => {
    if (typeof options === 'object' && options !== null) systemLookup(hostname, options, callback);
    else systemLookup(hostname, family, callback);
  };
  const literal = isIP(hostname);
  if (literal !== 0) {
    if (!answer([{ address: hostname, family: literal }])) fallBack();
    return;
  }
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (!answer(LOOPBACK)) fallBack();
    return;
  }
  void Promise.allSettled([
    family === 6 ? Promise.resolve([]) : dns.resolve4(hostname),
    family === 4 ? Promise.resolve([]) : dns.resolve6(hostname),
  ]).then(([v4, v6]) => {
    const addresses: LookupAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    if (!answer(addresses)) fallBack();
  });
}
