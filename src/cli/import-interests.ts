// Owns `npm run interests:import -- FILE`: loads {"<client_id>": ["interest", ...]} into the
// configured store (Redis in service mode; the embedded data file otherwise). The whole file is
// checked before anything is written; Redis is then written in batches, so a failure midway
// leaves the earlier batches written, and running the same import again completes it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import {
  EMBEDDED_INTERESTS_FILE,
  InterestsDocumentError,
  interestsEntries,
} from '../features/scoring/scoring.interests.ts';
import { INTERESTS_KEY_PREFIX } from '../features/scoring/scoring.service.ts';
import { createRedisStore } from '../features/scoring/scoring.store.redis.ts';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { acquireDataDirLock, DataDirLockedError } from '../platform/data-dir-lock.ts';
import { readArguments } from './args.ts';

// A batch of up to 1 MiB is no request's quick read: the service's per-request limits would fail
// it on a loaded server, so the command waits longer for each write.
const IMPORT_COMMAND_TIMEOUT_MS = 10_000;
const IMPORT_BATCH_BUDGET_MS = 60_000;

function fail(message: string, code = 1): never {
  process.stderr.write(`interests:import: ${message}\n`);
  process.exit(code);
}

const [file = ''] = readArguments(process.argv.slice(2), {
  command: 'npm run interests:import --',
  positionals: ['FILE.json'],
  description:
    'Loads {"<client_id>": ["interest", ...]} into the scoring store: Redis in service mode\n' +
    '(REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS), else the embedded file under DATA_DIR.',
});

let config: ReturnType<typeof loadConfig>;
let entries: [string, string][];
try {
  config = loadConfig(process.env);
  entries = interestsEntries(readFileSync(file, 'utf8'));
} catch (err) {
  if (err instanceof ConfigError || err instanceof InterestsDocumentError) fail(err.message, 2);
  fail(`cannot read ${file}: ${(err as Error).message}`, 2);
}

const { scoring } = config;
if (scoring.storeUrl !== null) {
  const quiet = { debug() {}, info() {}, warn() {} };
  const store = createRedisStore({
    ...scoring,
    cacheUrl: scoring.cacheUrl ?? scoring.storeUrl,
    storeUrl: scoring.storeUrl,
    storeTimeoutMs: Math.max(scoring.storeTimeoutMs, IMPORT_COMMAND_TIMEOUT_MS),
    storeBudgetMs: Math.max(scoring.storeBudgetMs, IMPORT_BATCH_BUDGET_MS),
    connectTimeoutMs: scoring.redisConnectTimeoutMs,
    registry: new Registry(),
    log: quiet,
  });
  try {
    await store.putMany(entries);
  } catch (err) {
    await store.close();
    fail(`store write failed: ${(err as Error).message}`);
  }
  await store.close();
  process.stdout.write(`imported interests of ${entries.length} clients into Redis\n`);
} else {
  // Embedded mode keeps imported interests in a file the service loads at start-up; it merges
  // with what was imported before, and is replaced atomically so a crash cannot leave half.
  // One writer per data directory: an embedded service running on it would never read this file
  // before its next start, and two imports at once would each merge without the other's clients.
  mkdirSync(config.dataDir, { recursive: true });
  let lock: ReturnType<typeof acquireDataDirLock>;
  try {
    lock = acquireDataDirLock(config.dataDir);
  } catch (err) {
    if (err instanceof DataDirLockedError) fail(err.message);
    throw err;
  }
  const target = join(config.dataDir, EMBEDDED_INTERESTS_FILE);
  const merged: Record<string, unknown> = existsSync(target)
    ? JSON.parse(readFileSync(target, 'utf8'))
    : {};
  for (const [key, value] of entries)
    merged[key.slice(INTERESTS_KEY_PREFIX.length)] = JSON.parse(value);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(`${target}.tmp`, JSON.stringify(merged));
  renameSync(`${target}.tmp`, target);
  lock.release();
  process.stdout.write(
    `imported interests of ${entries.length} clients into ${target}; restart the service to serve them\n`,
  );
}
