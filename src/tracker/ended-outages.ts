import type { OutageCounts } from '../events/storage-recovered-event.js';

/** How many ended outages a tracker remembers the ids of, for an annotation that comes after the end. */
const MAX_ENDED_IDS = 100;

/** The outages a tracker has seen end, announced or not. */
export class EndedOutages {
  /**
   * What the outage that ended last counted: for a sink that announces the
   * end of an outage this tracker never alerted on. `null` before any ended.
   */
  last: OutageCounts | null = null;
  /** The ids of the outages that ended last, oldest first: what may still be annotated. */
  private readonly ids: string[] = [];

  add(id: string, counts: OutageCounts): void {
    this.last = counts;
    if (this.ids.push(id) > MAX_ENDED_IDS) this.ids.shift();
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }
}
