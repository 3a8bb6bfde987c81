/**
 * What a failed audit write means: `'storage'` the storage failed (the write
 * feeds the outage), `'record'` the storage answered but refused this record
 * (a lost record, never an outage), `'ignore'` leave it out.
 */
export type AuditErrorClass = 'storage' | 'record' | 'ignore';

/** Tells what a failed audit write means; see the `classify` option. */
export type AuditErrorClassifier = (error: unknown) => AuditErrorClass;

const ERROR_CLASSES: readonly unknown[] = ['storage', 'record', 'ignore'];

/** Runs `classify`; anything but a valid answer (a throw included) counts as `'storage'`, so no outage goes unseen. */
export function classifyError(classify: AuditErrorClassifier | null, error: unknown): AuditErrorClass {
  if (classify === null) return 'storage';
  try {
    const kind = classify(error);
    return ERROR_CLASSES.includes(kind) ? kind : 'storage';
  } catch {
    return 'storage';
  }
}
