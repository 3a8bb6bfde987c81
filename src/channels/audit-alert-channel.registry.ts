import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import { leftOpenResolved, leftOpenUnresolved } from '../audit-alert.messages.js';
import { errorText } from '../common/error-text.util.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import type { RecipientBinding, RecipientSource } from '../dispatch/recipient-binding.interface.js';
import type { LeftOpenEpisodeKind } from '../events/audit-episode.js';
import { AUDIT_ALERT_RANDOM } from './channel.constants.js';
import type { ResolvedChannelOptions } from './channels.options.js';
import { HttpDelivery } from './http-delivery.js';
import type { AlertChannel, ChannelLinks } from './alert-channel.js';
import { AlertmanagerChannel } from './alertmanager.channel.js';
import { DiscordChannel } from './discord.channel.js';
import { EmailChannel } from './email.channel.js';
import { GoogleChatChannel } from './google-chat.channel.js';
import { OpsgenieChannel } from './opsgenie.channel.js';
import { PagerDutyChannel } from './pagerduty.channel.js';
import { SlackChannel } from './slack.channel.js';
import { TeamsChannel } from './teams.channel.js';
import { WebhookChannel } from './webhook.channel.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';

function createChannel(
  options: ResolvedChannelOptions,
  delivery: HttpDelivery,
  keyPerMonitor: boolean,
  links: ChannelLinks,
): AlertChannel {
  switch (options.type) {
    case 'webhook':
      return new WebhookChannel(options, delivery, links);
    case 'slack':
      return new SlackChannel(options, delivery, links);
    case 'teams':
      return new TeamsChannel(options, delivery, links);
    case 'pagerduty':
      return new PagerDutyChannel(options, delivery, keyPerMonitor, links);
    case 'email':
      return new EmailChannel(options, delivery, links);
    case 'alertmanager':
      return new AlertmanagerChannel(options, delivery, links);
    case 'opsgenie':
      return new OpsgenieChannel(options, delivery, keyPerMonitor, links);
    case 'googlechat':
      return new GoogleChatChannel(options, delivery, links);
    case 'discord':
      return new DiscordChannel(options, delivery, links);
  }
}

/** The links of each monitor, as the channels look them up by the `monitor` of an event. */
function linksByMonitor(monitors: ResolvedAuditAlertOptions['monitors']): ChannelLinks {
  const links = new Map(monitors.map((monitor) => [monitor.name, monitor.links]));
  return (monitor) => links.get(monitor) ?? [];
}

/**
 * Builds the channels of the `channels` option: the dispatcher's source of
 * channels, which it calls, isolates and logs like any hook. Shutdown
 * waits for their deliveries like any other (up to `shutdownTimeoutMs`); then
 * the attempts and retries still pending are stopped.
 */
@Injectable()
export class AuditAlertChannelRegistry implements OnModuleInit, OnApplicationShutdown, RecipientSource {
  private readonly logger = new AuditAlertLogger();
  private readonly shutdown = new AbortController();
  /** The channels that can resolve what a process before this one left open (PagerDuty, Opsgenie). */
  private readonly leftOpen: (PagerDutyChannel | OpsgenieChannel)[] = [];
  private readonly channels: RecipientBinding[] = [];

  constructor(
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    @Inject(AUDIT_ALERT_RANDOM) private readonly random: () => number,
  ) {}

  /**
   * Builds every channel; warns about those that would send alerts across the
   * network in clear text; fails the bootstrap when one can never send (a
   * package its options need is missing).
   */
  async onModuleInit(): Promise<void> {
    const delivery = new HttpDelivery(this.clock, this.random, this.shutdown.signal, this.logger);
    // Nothing remembers an outage across a restart: incidents must be found again by monitor.
    const keyPerMonitor = this.options.cluster === null && this.options.state === null;
    const links = linksByMonitor(this.options.monitors);
    const built: AlertChannel[] = [];
    for (const options of this.options.channels) {
      const channel = createChannel(options, delivery, keyPerMonitor, links);
      built.push(channel);
      const clearText = channel.clearTextWarning();
      if (clearText !== null) this.logger.warn(clearText);
      if (channel instanceof PagerDutyChannel || channel instanceof OpsgenieChannel) this.leftOpen.push(channel);
      this.channels.push(channel.binding());
    }
    await Promise.all(built.map((channel) => channel.ready()));
  }

  recipients(): readonly RecipientBinding[] {
    return this.channels;
  }

  /** Whether some channel can resolve the `kind` of incident of `monitor` that a process before this one left open. */
  resolvesLeftOpen(monitor: string, kind: LeftOpenEpisodeKind): boolean {
    return this.leftOpen.some((channel) => channel.resolvesLeftOpen(monitor, kind));
  }

  /**
   * Resolves, through every channel that can, the `kind` of incident of `monitor` that a
   * process before this one may have left open; a receiver that has none open
   * ignores it. Never rejects: a failure is logged.
   */
  async resolveLeftOpen(monitor: string, kind: LeftOpenEpisodeKind): Promise<void> {
    const channels = this.leftOpen.filter((channel) => channel.resolvesLeftOpen(monitor, kind));
    await Promise.all(
      channels.map(async (channel) => {
        try {
          const attempts = await channel.resolveLeftOpen(this.options.serviceName, monitor, kind);
          this.logger.log(leftOpenResolved(channel.label, kind, monitor, attempts));
        } catch (error) {
          this.logger.warn(leftOpenUnresolved(channel.label, kind, monitor, errorText(error)));
        }
      }),
    );
  }

  /** Called after shutdown has drained the deliveries in flight: whatever is still retrying stops. */
  onApplicationShutdown(): void {
    this.shutdown.abort();
  }
}
