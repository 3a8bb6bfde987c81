import type { AuditStorageCapacityLevel } from '../events/audit-alert-event.interface.js';
import type { ResolvedCapacityOptions } from './capacity.options.js';

const RANK: Readonly<Record<AuditStorageCapacityLevel, number>> = { normal: 0, warning: 1, critical: 2 };

/**
 * The level a reading puts the storage at, coming from `current`. Usage rises
 * to a level as soon as it reaches it, and leaves a level only once it is
 * `hysteresis` under it, so a reading that hovers at a level does not flap.
 */
export function nextCapacityLevel(
  current: AuditStorageCapacityLevel,
  ratio: number,
  { warnAt, criticalAt, hysteresis }: Pick<ResolvedCapacityOptions, 'warnAt' | 'criticalAt' | 'hysteresis'>,
): AuditStorageCapacityLevel {
  const reached: AuditStorageCapacityLevel =
    criticalAt !== null && ratio >= criticalAt ? 'critical' : ratio >= warnAt ? 'warning' : 'normal';
  if (RANK[reached] >= RANK[current]) return reached;
  if (current === 'critical' && ratio >= (criticalAt as number) - hysteresis) return 'critical';
  return ratio >= warnAt - hysteresis ? 'warning' : 'normal';
}

/** The share of the capacity a level stands for. */
export function levelThreshold(level: AuditStorageCapacityLevel, options: ResolvedCapacityOptions): number {
  return level === 'critical' ? (options.criticalAt as number) : options.warnAt;
}

/** `used / total` of a valid reading, or `null` for anything else (a ratio must lie from 0 to 1). */
export function readingRatio(reading: unknown): { ratio: number; used: number | null; total: number | null } | null {
  if (typeof reading === 'number') {
    return Number.isFinite(reading) && reading >= 0 && reading <= 1
      ? { ratio: reading, used: null, total: null }
      : null;
  }
  if (reading === null || typeof reading !== 'object') return null;
  const { used, total } = reading as { used?: unknown; total?: unknown };
  const valid =
    typeof used === 'number' &&
    typeof total === 'number' &&
    Number.isFinite(used) &&
    Number.isFinite(total) &&
    used >= 0 &&
    total > 0;
  return valid ? { ratio: used / total, used, total } : null;
}
