import { AuditAlertEvents } from '../audit-alert.constants.js';
import type { AuditAlertDispatcher } from '../dispatch/audit-alert.dispatcher.js';
import type { AuditAlertEvent } from '../events/audit-alert-event.interface.js';
import type { AuditAlertStateFile } from '../state/audit-alert-state.file.js';
import type { OutageAcknowledgeResult } from '../tracker/outage-acknowledgement.js';
import type { AlertSink, OutageTransition, OwnOutage } from './alert-sink.interface.js';

/** Resolves the incident of a monitor that a process before this one may have left open. */
interface LeftOpenResolver {
  /** Whether some channel keys incidents by monitor and so can find one left open. */
  resolves(): boolean;
  /** Resolves it; never rejects. */
  resolve(): Promise<void>;
}

/**
 * The sink of a monitor that alerts alone: sends each event, keeps the open
 * outage in the `state` file once its events are delivered, and on the first
 * success after a start resolves what an earlier process may have left open.
 */
export class LocalAlertSink implements AlertSink {
  awaitsSuccess = false;

  /** Events dispatched whose deliveries have not all settled; the state file waits for them. */
  private undelivered = 0;
  /** The outage to keep once those deliveries settle; `undefined` when nothing waits. */
  private pending: OutageTransition['snapshot'] | undefined;

  constructor(
    private readonly name: string,
    private readonly dispatcher: AuditAlertDispatcher,
    private readonly stateFile: AuditAlertStateFile | null,
    private readonly leftOpen: LeftOpenResolver | null,
  ) {}

  transition({ event, snapshot }: OutageTransition): void {
    if (event) {
      const delivered = this.dispatcher.dispatch(event);
      // Kept once delivered: a process killed before then sends it again after its restart, never not at all.
      if (this.stateFile !== null) this.keepOnceDelivered(delivered);
      // Its own recovery resolves the incident by monitor: an earlier process's, if it was still open, included.
      if (event.type === AuditAlertEvents.StorageRecovered) this.awaitsSuccess = false;
    }
    this.keep(snapshot);
  }

  acknowledge(outageId: string, by: string, note: string | null, own: OwnOutage): Promise<OutageAcknowledgeResult> {
    if (own.id !== outageId) return Promise.resolve({ result: 'unknown' });
    const acknowledged = own.acknowledge(by, note);
    // Kept, so that a restarted process does not start repeating again.
    if (acknowledged.result === 'acknowledged') this.keep(() => own.snapshot());
    return Promise.resolve(acknowledged);
  }

  knows(): Promise<boolean> {
    // The monitor's own memory is all a single process has.
    return Promise.resolve(false);
  }

  /** Keeps the open outage in the state file, once the events dispatched so far are delivered. */
  private keep(snapshot: OutageTransition['snapshot']): void {
    if (this.stateFile === null) return;
    if (this.undelivered > 0) this.pending = snapshot;
    else this.stateFile.keep(this.name, snapshot());
  }

  send(event: AuditAlertEvent): Promise<void> {
    return this.dispatcher.dispatch(event).then(() => undefined);
  }

  start(): void {
    // It comes to await a success only here, when the monitor starts it.
    this.awaitsSuccess = this.leftOpen?.resolves() ?? false;
  }

  succeededWhileHealthy(): void {
    if (!this.awaitsSuccess || this.leftOpen === null) return;
    this.awaitsSuccess = false;
    this.dispatcher.track(this.leftOpen.resolve());
  }

  close(): void {
    // No timer of its own: deliveries in flight are the dispatcher's to drain.
  }

  private keepOnceDelivered(delivered: Promise<unknown>): void {
    this.undelivered += 1;
    void delivered.finally(() => {
      this.undelivered -= 1;
      const pending = this.pending;
      if (this.undelivered > 0 || pending === undefined) return;
      this.pending = undefined;
      this.stateFile?.keep(this.name, pending());
    });
  }
}
