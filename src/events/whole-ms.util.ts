/**
 * A duration as events carry it: whole milliseconds. The monotonic clock's
 * fractions (and a wall clock's, where one has them) are noise, not precision.
 */
export const wholeMs = (ms: number): number => Math.round(ms);
