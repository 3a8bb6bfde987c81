import type { LoggerService } from '@nestjs/common';

/** A Nest logger that keeps every line, for assertions on what was logged. */
export class CaptureLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];

  log(message: unknown, context?: string): void {
    this.push('log', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.push('error', message, rest.at(-1) as string | undefined);
  }
  warn(message: unknown, context?: string): void {
    this.push('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.push('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.push('verbose', message, context);
  }

  /** Every line of `level` written by this module's logger. */
  of(level: string): string[] {
    return this.lines.filter((l) => l.level === level && l.context === 'AuditAlert').map((l) => l.message);
  }

  private push(level: string, message: unknown, context?: string): void {
    this.lines.push({ level, message: String(message), context });
  }
}
