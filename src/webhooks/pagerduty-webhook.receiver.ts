import {
  BadRequestException,
  Inject,
  Injectable,
  InternalServerErrorException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { AuditAlertLogger } from '../audit-alert.logger.js';
import {
  pagerDutyWebhookIgnored,
  pagerDutyWebhookNeedsRawBody,
  pagerDutyWebhookRefused,
} from '../audit-alert.messages.js';
import { pagerDutyMonitorKey } from '../channels/pagerduty.channel.js';
import { truncate } from '../channels/message-text.util.js';
import { errorText } from '../common/error-text.util.js';
import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { AuditOutageResponseError } from '../errors/audit-outage-response.error.js';
import { AuditMonitorRegistry } from '../monitor/audit-monitor.registry.js';
import { MAX_ANNOTATION_CAUSE } from '../monitor/outage-response.options.js';
import { MAX_ACKNOWLEDGED_BY } from '../tracker/outage-acknowledgement.js';
import { verifyPagerDutySignature } from './pagerduty-signature.util.js';
import type { ResolvedPagerDutyWebhookOptions } from './pagerduty-webhook.options.js';

/** Token of the webhook's validated options. */
export const AUDIT_ALERT_PAGERDUTY_WEBHOOK_OPTIONS = Symbol.for('nestjs-audit-alert:pagerduty-webhook-options');

/** What the route answers a verified delivery with (`202`). */
export interface PagerDutyWebhookReply {
  /** What the delivery did: `ignored` for an incident of no outage of this application, or an event of no interest. */
  readonly result: 'acknowledged' | 'annotated' | 'ignored';
  readonly outageId?: string;
}

/** The prefix of the incident keys of outages ({@link pagerDutyMonitorKey}). */
const OUTAGE_KEY_PREFIX = 'audit-storage:';
/** Incidents whose key was seen, for the notes, which do not carry it; bounded, the oldest dropped. */
const MAX_INCIDENTS = 1_000;

/** The parts of a V3 webhook delivery the receiver reads; anything else is ignored. */
interface PagerDutyV3Delivery {
  readonly event?: {
    readonly event_type?: unknown;
    readonly agent?: { readonly summary?: unknown } | null;
    readonly data?: {
      readonly id?: unknown;
      readonly incident_key?: unknown;
      readonly content?: unknown;
      readonly incident?: { readonly id?: unknown } | null;
    } | null;
  } | null;
}

/**
 * Takes PagerDuty V3 webhook deliveries: verifies their signature, and maps
 * `incident.acknowledged` and `incident.resolved` to an acknowledgement of the
 * outage the incident is about (by its `incident_key`, which is the
 * `dedup_key` the PagerDuty channel gave it), `incident.annotated` to an
 * annotation. An incident resolved in PagerDuty ends no outage: the storage
 * does that; it counts as someone having answered it.
 */
@Injectable()
export class PagerDutyWebhookReceiver {
  private readonly logger = new AuditAlertLogger();
  /** PagerDuty's incident id → its key, learned from the incident events (a note carries only the id). */
  private readonly incidents = new Map<string, string>();

  constructor(
    @Inject(AUDIT_ALERT_PAGERDUTY_WEBHOOK_OPTIONS) private readonly options: ResolvedPagerDutyWebhookOptions,
    @Inject(AuditMonitorRegistry) private readonly registry: AuditMonitorRegistry,
  ) {}

  /**
   * Verifies and takes one delivery.
   * @param rawBody The body as received (Nest's `rawBody: true`).
   * @throws UnauthorizedException (401) when the signature is missing or matches no secret: nothing changes.
   */
  async receive(rawBody: Buffer | undefined, signature: string | undefined): Promise<PagerDutyWebhookReply> {
    if (!Buffer.isBuffer(rawBody)) {
      this.logger.error(pagerDutyWebhookNeedsRawBody());
      throw new InternalServerErrorException();
    }
    if (!verifyPagerDutySignature(rawBody, signature, this.options.secrets)) {
      this.logger.warn(
        pagerDutyWebhookRefused(signature === undefined ? 'no signature' : 'a signature that matches no secret'),
      );
      throw new UnauthorizedException('Invalid X-PagerDuty-Signature');
    }
    let delivery: PagerDutyV3Delivery;
    try {
      delivery = JSON.parse(rawBody.toString('utf8')) as PagerDutyV3Delivery;
    } catch {
      throw new BadRequestException('The body is not JSON');
    }
    const event = delivery?.event;
    const data = event?.data;
    const type = event?.event_type;
    const agent = event?.agent?.summary;
    const by = truncate(typeof agent === 'string' && agent.trim() !== '' ? agent : 'PagerDuty', MAX_ACKNOWLEDGED_BY);
    if (typeof data?.id === 'string' && typeof data.incident_key === 'string')
      this.remember(data.id, data.incident_key);
    try {
      if (type === 'incident.acknowledged' || type === 'incident.resolved') {
        const outageId = this.outageOf(data?.incident_key);
        if (outageId === null) return this.ignored(type, 'an incident of no outage');
        const note = type === 'incident.resolved' ? 'resolved in PagerDuty' : undefined;
        await this.registry.acknowledgeFrom(outageId, { by, ...(note ? { note } : {}) }, 'pagerduty');
        return { result: 'acknowledged', outageId };
      }
      if (type === 'incident.annotated') {
        const incident = data?.incident?.id;
        const outageId = this.outageOf(typeof incident === 'string' ? this.incidents.get(incident) : undefined);
        const content = data?.content;
        if (outageId === null) return this.ignored(type, 'a note on an incident of no outage known here');
        if (typeof content !== 'string' || content.trim() === '') return this.ignored(type, 'an empty note');
        await this.registry.annotateFrom(outageId, { by, cause: truncate(content, MAX_ANNOTATION_CAUSE) }, 'pagerduty');
        return { result: 'annotated', outageId };
      }
    } catch (error) {
      if (error instanceof AuditOutageResponseError || error instanceof AuditAlertConfigError) {
        return this.ignored(String(type), error.message);
      }
      // Redis could not share it: PagerDuty retries a delivery answered with a 5xx.
      this.logger.error(errorText(error));
      throw new ServiceUnavailableException();
    }
    return this.ignored(String(type), 'an event type this route does not take');
  }

  /** The outage an incident key names: its id, or, for a key per monitor, that monitor's open outage. */
  private outageOf(key: unknown): string | null {
    if (typeof key !== 'string' || !key.startsWith(OUTAGE_KEY_PREFIX)) return null;
    for (const monitor of this.registry.list()) {
      if (key === pagerDutyMonitorKey(this.registry.serviceName, monitor.name, 'outage')) {
        return monitor.getStatus().outageId;
      }
    }
    // The id is kept whole at the end of the key, after the service and the monitor.
    const id = key.slice(key.lastIndexOf(':') + 1);
    return id === '' ? null : id;
  }

  private remember(incident: string, key: string): void {
    this.incidents.delete(incident);
    if (this.incidents.size >= MAX_INCIDENTS) this.incidents.delete(this.incidents.keys().next().value!);
    this.incidents.set(incident, key);
  }

  private ignored(type: string, why: string): PagerDutyWebhookReply {
    this.logger.debug(pagerDutyWebhookIgnored(type, why));
    return { result: 'ignored' };
  }
}
