// Owns `npm run db:migrate`: applies the migrations not yet applied to the configured database
// (DATABASE_URL, or the embedded PGlite under DATA_DIR), as the service also does at start-up.
// Useful before a rolling deploy, so that no serving process waits on a migration.
import pino from 'pino';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { DataDirLockedError } from '../platform/data-dir-lock.ts';
import { createDatabase, type Database } from '../platform/database.ts';
import { readArguments } from './args.ts';

readArguments(process.argv.slice(2), {
  command: 'npm run db:migrate',
  positionals: [],
  description:
    'Applies the migrations not yet applied to the configured database (DATABASE_URL, or the\n' +
    'embedded PGlite under DATA_DIR); the service also applies them at start-up.',
});

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`db:migrate: ${err.message}\n`);
  process.exit(2);
}

const log = pino({ level: config.log.level });
let database: Database;
try {
  database = createDatabase({
    ...config.database,
    dataDir: config.dataDir,
    registry: new Registry(),
    log,
  });
} catch (err) {
  // The embedded service (or another migration) holds the data directory; it applies the
  // migrations itself at start-up.
  if (!(err instanceof DataDirLockedError)) throw err;
  process.stderr.write(`db:migrate: ${err.message}\n`);
  process.exit(1);
}
try {
  await database.migrate();
  log.info({ kind: database.kind }, 'migrations applied');
} catch (err) {
  log.error({ err }, 'migrations failed');
  process.exitCode = 1;
} finally {
  await database.close();
}
