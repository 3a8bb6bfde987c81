import type { LoggerService } from '@nestjs/common';

/** One line written through the Nest logger. */
export interface CapturedLine {
  readonly level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  /** The message alone. */
  readonly message: string;
  /** The logger's context (`AuditAlert` for this module), when one was given. */
  readonly context?: string;
  /** Every part Nest passed (message, then context), as one text. */
  readonly text: string;
}

/** A Nest logger that keeps every line, for assertions on what was (and was not) logged. */
export class CaptureLogger implements LoggerService {
  readonly lines: CapturedLine[] = [];

  log(...parts: unknown[]): void {
    this.push('log', parts);
  }
  error(...parts: unknown[]): void {
    this.push('error', parts);
  }
  warn(...parts: unknown[]): void {
    this.push('warn', parts);
  }
  debug(...parts: unknown[]): void {
    this.push('debug', parts);
  }
  verbose(...parts: unknown[]): void {
    this.push('verbose', parts);
  }
  fatal(...parts: unknown[]): void {
    this.push('fatal', parts);
  }

  /** Messages at `level` written by this module's logger. */
  of(level: string): string[] {
    return this.lines.filter((l) => l.level === level && l.context === 'AuditAlert').map((l) => l.message);
  }

  /** Lines at `level`, message and context, whoever wrote them. */
  at(level: CapturedLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.text);
  }

  /** Every line, message and context, as one text. */
  text(): string {
    return this.lines.map((line) => `${line.level} ${line.text}`).join('\n');
  }

  private push(level: CapturedLine['level'], parts: unknown[]): void {
    // Nest passes an undefined stack to error() when there is none.
    const present = parts.filter((part) => part !== undefined).map(String);
    this.lines.push({
      level,
      message: String(parts[0]),
      context: present.length > 1 ? present.at(-1) : undefined,
      text: present.join(' '),
    });
  }
}
