import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AUDIT_ALERT_CLOCK, AUDIT_ALERT_RESOLVED_OPTIONS } from '../audit-alert.constants.js';
import { channelInClearText } from '../audit-alert.messages.js';
import type { ResolvedAuditAlertOptions } from '../audit-alert.options.js';
import type { AuditAlertClock } from '../clock/audit-alert-clock.interface.js';
import { AuditAlertHookInvoker } from '../hooks/audit-alert-hook.invoker.js';
import { AUDIT_ALERT_RANDOM } from './channel.constants.js';
import { type ResolvedChannelOptions, sendsInClearText } from './channels.options.js';
import { HttpDelivery } from './http-delivery.js';
import type { HttpChannel } from './http.channel.js';
import { PagerDutyChannel } from './pagerduty.channel.js';
import { SlackChannel } from './slack.channel.js';
import { TeamsChannel } from './teams.channel.js';
import { WebhookChannel } from './webhook.channel.js';
import { AuditAlertLogger } from '../audit-alert.logger.js';

function createChannel(options: ResolvedChannelOptions, delivery: HttpDelivery): HttpChannel {
  switch (options.type) {
    case 'webhook':
      return new WebhookChannel(options, delivery);
    case 'slack':
      return new SlackChannel(options, delivery);
    case 'teams':
      return new TeamsChannel(options, delivery);
    case 'pagerduty':
      return new PagerDutyChannel(options, delivery);
  }
}

/**
 * Builds the channels of the `channels` option and subscribes them through the
 * hook invoker, so they are called, isolated and logged like any hook. Shutdown
 * waits for their deliveries like any other (up to `shutdownTimeoutMs`); then
 * the attempts and retries still pending are stopped.
 */
@Injectable()
export class AuditAlertChannelRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new AuditAlertLogger();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly invoker: AuditAlertHookInvoker,
    @Inject(AUDIT_ALERT_RESOLVED_OPTIONS) private readonly options: ResolvedAuditAlertOptions,
    @Inject(AUDIT_ALERT_CLOCK) private readonly clock: AuditAlertClock,
    @Inject(AUDIT_ALERT_RANDOM) private readonly random: () => number,
  ) {}

  /** Subscribes every channel; warns about those that would send alerts across the network in clear text. */
  onModuleInit(): void {
    const delivery = new HttpDelivery(this.clock, this.random, this.shutdown.signal, this.logger);
    for (const options of this.options.channels) {
      const channel = createChannel(options, delivery);
      if (sendsInClearText(options.url)) this.logger.warn(channelInClearText(channel.label));
      this.invoker.subscribe(channel.binding());
    }
  }

  /** Called after shutdown has drained the deliveries in flight: whatever is still retrying stops. */
  onApplicationShutdown(): void {
    this.shutdown.abort();
  }
}
