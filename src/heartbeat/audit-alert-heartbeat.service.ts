import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import {
  channelInClearText,
  heartbeatDelivered,
  heartbeatLabel,
  heartbeatUndelivered,
} from '../audit-alert.messages.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import { AUDIT_ALERT_RANDOM } from '../channels/channel.constants.js';
import { sendsInClearText } from '../channels/channels.options.js';
import { HttpDelivery, USER_AGENT } from '../channels/http-delivery.js';
import type { AuditAlertClock, AuditAlertTimer } from '../clock/audit-alert-clock.interface.js';
import type { AuditStorageState } from '../tracker/audit-storage-status.interface.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import { errorText } from '../common/error-text.util.js';
import type { ResolvedHeartbeatOptions } from './heartbeat.options.js';

/** States in which a monitor has alerted and not yet recovered. */
const ALERTING: ReadonlySet<AuditStorageState> = new Set(['alerting', 'degraded']);

/**
 * The dead man's switch of the `heartbeat` option: pings its `url` every
 * `intervalMs` while no monitor is alerting, and its `failUrl` (or nothing)
 * while one is. A change between the two is pinged at once. Each ping is one
 * attempt bounded by `timeoutMs`, never retried and never doubled; the timer
 * runs on the module's clock (unref'd) and stops at shutdown.
 */
@Injectable()
export class AuditAlertHeartbeat implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new AuditAlertLogger();
  private readonly heartbeat: ResolvedHeartbeatOptions | null;
  private readonly shutdown = new AbortController();
  private readonly delivery: HttpDelivery;
  /** Whether a monitor was alerting at the last look: a change is pinged at once. */
  private alerting = false;
  private readonly subscriptions: Subscription[] = [];
  private timer: AuditAlertTimer | null = null;
  private pinging = false;
  /** Whether the last ping failed: logged once, not at every interval. */
  private undelivered = false;
  private stopped = false;

  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    private readonly registry: AuditMonitorRegistry,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    @Inject(AUDIT_ALERT_RANDOM) random: () => number,
  ) {
    this.heartbeat = options.heartbeat;
    this.delivery = new HttpDelivery(clock, random, this.shutdown.signal, this.logger);
  }

  /** Sends the first ping and starts the interval, once every monitor has started. */
  onApplicationBootstrap(): void {
    const heartbeat = this.heartbeat;
    if (heartbeat === null || this.stopped) return;
    for (const url of [heartbeat.url, heartbeat.failUrl]) {
      if (url !== null && sendsInClearText(url)) this.logger.warn(channelInClearText(this.label(url)));
    }
    for (const monitor of this.registry.list()) {
      this.subscriptions.push(monitor.status$.subscribe(() => this.onStatus()));
    }
    this.beat(true);
  }

  /** Stops the interval and any ping in flight, before the monitors close. */
  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    this.shutdown.abort();
  }

  /**
   * Whether a monitor is alerting now, read from the monitors themselves:
   * `status$` arrives a turn late, and a beat must not ping what was true then.
   */
  private anyAlerting(): boolean {
    return this.registry.list().some((monitor) => ALERTING.has(monitor.getStatus().state));
  }

  private onStatus(): void {
    // The external service learns of the change now, not up to an interval later.
    if (this.anyAlerting() !== this.alerting) this.beat(true);
  }

  /**
   * Pings what the current state asks for and arms the next beat. A ping still
   * in flight (it ends within `timeoutMs`) is not doubled, except by a change
   * of state, which is worth its own ping.
   */
  private beat(changed: boolean): void {
    const heartbeat = this.heartbeat as ResolvedHeartbeatOptions;
    if (this.stopped) return;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.beat(false);
    }, heartbeat.intervalMs);
    const alerting = this.anyAlerting();
    this.alerting = alerting;
    const url = alerting ? heartbeat.failUrl : heartbeat.url;
    if (url === null || (this.pinging && !changed)) return;
    this.pinging = true;
    void this.ping(heartbeat, url, alerting).finally(() => {
      this.pinging = false;
    });
  }

  private async ping(heartbeat: ResolvedHeartbeatOptions, url: string, alerting: boolean): Promise<void> {
    const label = this.label(url);
    const headers = new Headers({ 'user-agent': USER_AGENT });
    let body: string | undefined;
    if (heartbeat.method === 'POST') {
      headers.set('content-type', 'application/json');
      body = JSON.stringify({
        serviceName: this.options.serviceName,
        alerting,
        monitors: this.registry.list().map((monitor) => ({ monitor: monitor.name, state: monitor.getStatus().state })),
      });
    }
    for (const [name, value] of Object.entries(heartbeat.headers)) headers.set(name, value);
    try {
      await this.delivery.send(
        label,
        alerting ? 'a fail ping' : 'a ping',
        { url, method: heartbeat.method, headers, body },
        { timeoutMs: heartbeat.timeoutMs, retries: 0, backoffMs: 0 },
      );
      if (this.undelivered) this.logger.log(heartbeatDelivered(label));
      this.undelivered = false;
    } catch (error) {
      if (this.stopped || this.undelivered) return;
      this.undelivered = true;
      this.logger.warn(heartbeatUndelivered(label, errorText(error)));
    }
  }

  private label(url: string): string {
    return heartbeatLabel(new URL(url).origin);
  }
}
