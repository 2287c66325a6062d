// Finds the real engines the scale tests and the scale bench start themselves (PgBouncer, HAProxy,
// and redis-server for a Cluster or Sentinels), from Debian's packages. A missing one skips the
// suites that need it with the reason printed, except under CI=true, where that fails the run:
// CI installs them all.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** How long a process (an engine, or the service) may take to start or to stop. */
export const PROCESS_WAIT_MS = 15_000;

/** Where Debian puts each engine's binary; PATH is searched too. */
const DIRECTORIES = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The Debian package that brings each engine (named in the skip reason). */
const PACKAGES = {
  pgbouncer: 'pgbouncer',
  haproxy: 'haproxy',
  'redis-server': 'redis-server',
  // Compose v1 (Python): validates compose.yaml against the Compose specification's schema.
  'docker-compose': 'docker-compose',
} as const;

export type Engine = keyof typeof PACKAGES;

const reported = new Set<Engine>();

/** The engine's executable, or null (then said once, and thrown under CI=true). */
export function enginePath(engine: Engine): string | null {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  const found = [...path, ...DIRECTORIES].map((dir) => join(dir, engine)).find(existsSync);
  if (found) return found;
  const reason = `no ${engine} found (install Debian package "${PACKAGES[engine]}"): the tests that start it are SKIPPED`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  if (!reported.has(engine)) process.stderr.write(`\n[tests] ${reason}\n\n`);
  reported.add(engine);
  return null;
}

/** Whether one of these engines is missing, for `describe.skipIf` (see enginePath). */
export function enginesMissing(...engines: Engine[]): boolean {
  return engines.some((engine) => enginePath(engine) === null);
}
