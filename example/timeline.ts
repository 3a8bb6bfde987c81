import { performance } from 'node:perf_hooks';

/** Width of the label column, so texts line up whatever the label. */
const LABEL_WIDTH = 11;
/** Where detail lines start: under the text, after the time and the label. */
const DETAIL_INDENT = ' '.repeat(8 + LABEL_WIDTH + 1);

/**
 * Prints the demo as a timeline: seconds since the process started, a label
 * saying who speaks, the text, then optional details, one per line.
 */
export class Timeline {
  private readonly origin = performance.now();

  /** Prints one entry; `details` keys are printed in their order, values as given. */
  print(label: string, text: string, details: Record<string, string | number> = {}): void {
    const seconds = ((performance.now() - this.origin) / 1_000).toFixed(2).padStart(6);
    const lines = [`${seconds}s  ${label.padEnd(LABEL_WIDTH)}${text}`];
    const keyWidth = Math.max(0, ...Object.keys(details).map((key) => key.length)) + 2;
    for (const [key, value] of Object.entries(details)) {
      lines.push(`${DETAIL_INDENT}${key.padEnd(keyWidth)}${value}`);
    }
    console.log(lines.join('\n'));
  }
}

/** The demo's one timeline, shared by the hook, the traffic and the scenario. */
export const timeline = new Timeline();

/** Formats milliseconds as seconds, the unit the timeline speaks in. */
export function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(2)} s`;
}
