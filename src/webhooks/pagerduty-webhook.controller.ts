import {
  Controller,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Post,
  type RawBodyRequest,
  Req,
  type Type,
} from '@nestjs/common';
import { type PagerDutyWebhookReply, PagerDutyWebhookReceiver } from './pagerduty-webhook.receiver.js';

/**
 * The controller of the route PagerDuty's V3 webhook subscription posts to,
 * at `path`: made per module, as a route's path is fixed when it is declared.
 * Platform-neutral: Express and Fastify both hand Nest's `rawBody`.
 */
export function pagerDutyWebhookController(path: string): Type<unknown> {
  @Controller(path)
  class AuditAlertPagerDutyWebhookController {
    constructor(@Inject(PagerDutyWebhookReceiver) private readonly receiver: PagerDutyWebhookReceiver) {}

    @Post()
    @HttpCode(HttpStatus.ACCEPTED)
    receive(
      @Req() request: RawBodyRequest<object>,
      @Headers('x-pagerduty-signature') signature: string | undefined,
    ): Promise<PagerDutyWebhookReply> {
      return this.receiver.receive(request.rawBody, signature);
    }
  }
  return AuditAlertPagerDutyWebhookController;
}
