const UNITS: readonly (readonly [suffix: string, ms: number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/**
 * A duration as a person reads it, in its two largest units: `850 ms`, `45s`,
 * `2m 5s`, `1h 3m`, `2d 4h`. Below a unit's worth, the smaller one is dropped.
 */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const index = UNITS.findIndex(([, size]) => ms >= size);
  const [suffix, size] = UNITS[index]!;
  const whole = Math.floor(ms / size);
  const next = UNITS[index + 1];
  const rest = next ? Math.floor((ms % size) / next[1]) : 0;
  return rest > 0 && next ? `${whole}${suffix} ${rest}${next[0]}` : `${whole}${suffix}`;
}
