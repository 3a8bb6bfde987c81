import { fail, readObject, rejectUnknownKeys } from '../options/option-readers.util.js';
import { MAX_ACKNOWLEDGED_BY, MAX_ACKNOWLEDGEMENT_NOTE } from '../tracker/outage-acknowledgement.js';
import type { AuditAcknowledgeOptions, AuditAnnotateOptions } from './outage-response-options.interface.js';

/** Longest outage id taken, in characters: the module's are UUIDs. */
const MAX_OUTAGE_ID = 200;
/** Longest cause of an annotation, in characters. */
export const MAX_ANNOTATION_CAUSE = 2_000;
/** Longest ticket of an annotation, in characters: an id or a URL. */
const MAX_ANNOTATION_TICKET = 500;

/** A validated acknowledgement: who, and what they said. */
interface ResolvedAcknowledgement {
  readonly by: string;
  readonly note: string | null;
}

/** A validated annotation. */
interface ResolvedAnnotation {
  readonly by: string;
  readonly cause: string | null;
  readonly ticket: string | null;
}

/** Whether `value` is a string with something in it, at most `max` characters. */
const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.trim() !== '' && value.length <= max;

/**
 * Checks the outage id given to `acknowledge()` or `annotate()`.
 * @throws AuditAlertConfigError naming it, such as `acknowledge(outageId)`.
 */
export function resolveOutageId(value: unknown, method: string): string {
  if (!isText(value, MAX_OUTAGE_ID)) {
    fail(`${method}(outageId)`, value, `the outageId of an outage's events (a string of at most ${MAX_OUTAGE_ID})`);
  }
  return value;
}

/**
 * Validates what `acknowledge()` was given.
 * @throws AuditAlertConfigError naming the first invalid field, such as `acknowledge(options).by`.
 */
export function resolveAcknowledgeOptions(raw: unknown): ResolvedAcknowledgement {
  const path = 'acknowledge(options)';
  const options = readObject(raw, path) as Partial<AuditAcknowledgeOptions> & Record<string, unknown>;
  rejectUnknownKeys(options, ['by', 'note'], `${path}.`);
  const { by, note } = options;
  if (!isText(by, MAX_ACKNOWLEDGED_BY)) {
    fail(`${path}.by`, by, `a non-empty string of at most ${MAX_ACKNOWLEDGED_BY} characters naming who acknowledges`);
  }
  if (note !== undefined && !isText(note, MAX_ACKNOWLEDGEMENT_NOTE)) {
    fail(`${path}.note`, note, `a non-empty string of at most ${MAX_ACKNOWLEDGEMENT_NOTE} characters, or nothing`);
  }
  return { by, note: note ?? null };
}

/**
 * Validates what `annotate()` was given: `by`, and a `cause`, a `ticket` or both.
 * @throws AuditAlertConfigError naming the first invalid field, such as `annotate(options).cause`.
 */
export function resolveAnnotateOptions(raw: unknown): ResolvedAnnotation {
  const path = 'annotate(options)';
  const options = readObject(raw, path) as Partial<AuditAnnotateOptions> & Record<string, unknown>;
  rejectUnknownKeys(options, ['by', 'cause', 'ticket'], `${path}.`);
  const { by, cause, ticket } = options;
  if (!isText(by, MAX_ACKNOWLEDGED_BY)) {
    fail(`${path}.by`, by, `a non-empty string of at most ${MAX_ACKNOWLEDGED_BY} characters naming who annotates`);
  }
  if (cause === undefined && ticket === undefined) {
    fail(`${path}.cause`, cause, 'a cause, a ticket, or both');
  }
  if (cause !== undefined && !isText(cause, MAX_ANNOTATION_CAUSE)) {
    fail(`${path}.cause`, cause, `a non-empty string of at most ${MAX_ANNOTATION_CAUSE} characters, or nothing`);
  }
  if (ticket !== undefined && !isText(ticket, MAX_ANNOTATION_TICKET)) {
    fail(`${path}.ticket`, ticket, `a non-empty string of at most ${MAX_ANNOTATION_TICKET} characters, or nothing`);
  }
  return { by, cause: cause ?? null, ticket: ticket ?? null };
}
