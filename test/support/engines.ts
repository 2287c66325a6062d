// Finds the real engines the scale tests start themselves (PgBouncer, HAProxy, redis-server, Redis
// Sentinel), from Debian's packages. A missing one skips the suites that need it with the reason
// printed, except under CI=true, where that fails the run: CI installs them all.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';

/** Where Debian puts each engine's binary; PATH is searched too. */
const DIRECTORIES = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The Debian package that brings each engine (named in the skip reason). */
const PACKAGES = {
  pgbouncer: 'pgbouncer',
  haproxy: 'haproxy',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-sentinel': 'redis-sentinel',
} as const;

export type Engine = keyof typeof PACKAGES;

const reported = new Set<Engine>();

/** The engine's executable, or null (then said once, and thrown under CI=true). */
export function enginePath(engine: Engine): string | null {
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  const found = [...path, ...DIRECTORIES].map((dir) => join(dir, engine)).find(existsSync);
  if (found) return found;
  const reason = `no ${engine} found (install Debian package "${PACKAGES[engine]}"): its scale tests are SKIPPED`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  if (!reported.has(engine)) process.stderr.write(`\n[tests] ${reason}\n\n`);
  reported.add(engine);
  return null;
}

/** `describe` for suites that start these engines: skipped when one is missing (see above). */
export function describeWithEngines(...engines: Engine[]) {
  const missing = engines.filter((engine) => enginePath(engine) === null);
  return describe.skipIf(missing.length > 0);
}
