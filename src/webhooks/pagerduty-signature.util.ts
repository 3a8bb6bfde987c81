import { createHmac, timingSafeEqual } from 'node:crypto';

/** Most signatures one header may carry: a few during a rotation, never hundreds to hash against. */
const MAX_SIGNATURES = 10;
/** A `v1` signature: the hex of an HMAC-SHA256. */
const V1_SIGNATURE = /^v1=([0-9a-f]{64})$/i;

/**
 * Whether `header` (`X-PagerDuty-Signature`: comma-separated `v1=<hex>`
 * entries, one per signing secret of the subscription during a rotation)
 * holds the HMAC-SHA256 of `rawBody` under one of `secrets`. Every candidate
 * is compared in constant time, against every secret.
 */
export function verifyPagerDutySignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): boolean {
  if (typeof header !== 'string' || header === '') return false;
  const given = header
    .split(',')
    .slice(0, MAX_SIGNATURES)
    .flatMap((entry) => {
      const match = V1_SIGNATURE.exec(entry.trim());
      return match ? [Buffer.from(match[1]!, 'hex')] : [];
    });
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    // No early exit: how long this takes says nothing about which entry matched.
    for (const signature of given) valid = timingSafeEqual(expected, signature) || valid;
  }
  return valid;
}

/** The `X-PagerDuty-Signature` value of `rawBody` under `secret`: for tests and tools that sign as PagerDuty does. */
export function pagerDutySignature(rawBody: Buffer | string, secret: string): string {
  return `v1=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
