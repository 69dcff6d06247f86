import { readFileSync } from 'node:fs';

/** The process's soft limit on open descriptors (`ulimit -n`), where Linux tells it; else undefined. */
export function openFilesLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(limitsFile, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors kept for the hub itself (listening sockets, logs, Redis connections, key files,
 * the dashboard's files): 5 % of the limit, at least 64.
 */
export function descriptorReserve(limit: number): number {
  return Math.max(64, Math.ceil(limit * 0.05));
}

/**
 * The `--max-connections` to run with. Past `ulimit -n`, accept() fails before the cap refuses
 * anything, and new clients hang instead of getting a 429. Left at its default, the cap comes
 * down to fit the descriptors (minus the reserve) without a word: a first run starts clean. Set
 * explicitly to what cannot be honoured, it is kept and the warning says what to change.
 */
export function connectionCap(
  requested: number,
  explicit: boolean,
  limit: number | undefined,
): { maxConnections: number; warning?: string } {
  if (limit === undefined) return { maxConnections: requested };
  const usable = Math.max(1, limit - descriptorReserve(limit));
  if (!explicit) return { maxConnections: requested > 0 ? Math.min(requested, usable) : usable };
  if (requested > 0 && requested <= usable) return { maxConnections: requested };
  return {
    maxConnections: requested,
    warning: `--max-connections ${requested === 0 ? '0 (no cap)' : requested} is above the ${limit} open descriptors this process may hold (ulimit -n) less ${descriptorReserve(limit)} kept for the hub itself: past them new clients hang instead of getting a 429; lower the cap to ${usable} or raise ulimit -n`,
  };
}
