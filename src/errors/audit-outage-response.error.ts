/**
 * Thrown by `AuditMonitorRegistry.acknowledge()` and `annotate()` when the
 * outage cannot take the response: no monitor has an open outage with this id
 * (it never existed, or it has ended), or no alert of it has been sent yet.
 */
export class AuditOutageResponseError extends Error {
  override readonly name = 'AuditOutageResponseError';

  /**
   * @param message What is wrong, ready to show to a person.
   * @param outageId The id given.
   * @param reason `unknown-outage`: no open outage (annotate: none known) has it;
   * `not-alerted`: it is open, but nothing has been sent about it yet.
   */
  constructor(
    message: string,
    readonly outageId: string,
    readonly reason: 'unknown-outage' | 'not-alerted',
  ) {
    super(message);
  }
}
