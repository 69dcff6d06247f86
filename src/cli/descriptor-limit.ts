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
 * A warning when `--max-connections` cannot protect the descriptors: past `ulimit -n`, accept()
 * fails before the cap refuses anything, and new clients hang instead of getting a 429.
 */
export function descriptorWarning(maxConnections: number, limit: number | undefined): string | undefined {
  if (limit === undefined) return undefined;
  // Listening socket, logs, Redis, files: keep some descriptors for the hub itself.
  const usable = limit - 64;
  if (maxConnections > 0 && maxConnections <= usable) return undefined;
  return `--max-connections ${maxConnections === 0 ? '0 (no cap)' : maxConnections} is above the ${limit} open descriptors this process may hold (ulimit -n): past them new clients hang instead of getting a 429; lower the cap to ${Math.max(1, usable)} or raise ulimit -n`;
}
