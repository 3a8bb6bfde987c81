import type { LoggerService } from '@nestjs/common';

/** One line written through the Nest logger. */
export interface LoggedLine {
  readonly level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  readonly text: string;
}

/** A Nest logger that keeps every line, for assertions on what was (and was not) logged. */
export class CapturingLogger implements LoggerService {
  readonly lines: LoggedLine[] = [];

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

  /** Every line, message and context, as one text. */
  text(): string {
    return this.lines.map((line) => `${line.level} ${line.text}`).join('\n');
  }

  /** Lines at `level`. */
  at(level: LoggedLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.text);
  }

  private push(level: LoggedLine['level'], parts: unknown[]): void {
    this.lines.push({
      level,
      // Nest passes an undefined stack to error() when there is none.
      text: parts.filter((part) => part !== undefined).map(String).join(' '),
    });
  }
}
