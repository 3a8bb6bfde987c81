/**
 * Thrown while the application starts when an option of `AuditAlertModule` is
 * invalid. The message names the option, the value received and what is allowed.
 */
export class AuditAlertConfigError extends Error {
  override readonly name = 'AuditAlertConfigError';

  /**
   * @param message What is wrong, ready to show to a person.
   * @param option Path of the offending option, such as `thresholdMs`.
   */
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
  }
}
