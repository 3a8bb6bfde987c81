import { Logger } from '@nestjs/common';
import { AUDIT_ALERT_LOGGER_CONTEXT } from './audit-alert.constants.js';
import { printableLine } from './common/error-text.util.js';

const printable = (part: unknown): unknown => (typeof part === 'string' ? printableLine(part) : part);

/**
 * The logger every message of this module is written with, under the
 * `AuditAlert` context. Each line is made one line of printable text first:
 * messages quote error texts, hook names and receivers' answers, and a carriage
 * return or an escape sequence in them must not forge or hide a log line.
 */
export class AuditAlertLogger extends Logger {
  constructor() {
    super(AUDIT_ALERT_LOGGER_CONTEXT);
  }

  override log(message: unknown, ...rest: unknown[]): void {
    super.log(printable(message), ...rest.map(printable));
  }

  override warn(message: unknown, ...rest: unknown[]): void {
    super.warn(printable(message), ...rest.map(printable));
  }

  override error(message: unknown, ...rest: unknown[]): void {
    super.error(printable(message), ...rest.map(printable));
  }

  override debug(message: unknown, ...rest: unknown[]): void {
    super.debug(printable(message), ...rest.map(printable));
  }

  override verbose(message: unknown, ...rest: unknown[]): void {
    super.verbose(printable(message), ...rest.map(printable));
  }

  override fatal(message: unknown, ...rest: unknown[]): void {
    super.fatal(printable(message), ...rest.map(printable));
  }
}
