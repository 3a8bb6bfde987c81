/**
 * Cuts `text` to at most `max` characters (UTF-16 code units, as receivers
 * count them), ending with `…` when cut and never splitting a surrogate pair.
 * @param encode Applied to each character before it is counted, such as an escaper.
 */
export function truncate(text: string, max: number, encode: (char: string) => string = (char) => char): string {
  let whole = '';
  for (const char of text) whole += encode(char);
  if (whole.length <= max) return whole;
  let cut = '';
  for (const char of text) {
    const next = encode(char);
    if (cut.length + next.length > max - 1) break;
    cut += next;
  }
  return `${cut}…`;
}

/** Whether a custom summary can be used: a string with something to show. */
export function isHeadline(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
