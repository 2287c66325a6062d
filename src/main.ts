// Owns the process: reads the configuration, builds the app, listens, and on SIGTERM or SIGINT
// stops taking new requests and finishes the ones in flight before exiting.
import { buildApp } from './app.ts';
import { readArguments } from './cli/args.ts';
import { ConfigError, loadConfig } from './platform/config.ts';
import { DataDirLockedError } from './platform/data-dir-lock.ts';

readArguments(process.argv.slice(2), {
  command: 'npm start',
  positionals: [],
  description:
    'Serves the scoring API, the merch shop, the wallets and the console on HOST:PORT\n' +
    '(0.0.0.0:8080): embedded with no configuration, on PostgreSQL and Redis in service mode.',
});

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

/**
 * Connections the kernel may hold for the service before it accepts them (it caps this at
 * net.core.somaxconn). Node's default, 511, overflowed when a burst of clients connected at once
 * (the SLI's generator opening hundreds after a stall): the kernel dropped their handshakes and
 * each client waited for a retransmission, 1 s or more, so a short stall became a long one.
 */
const LISTEN_BACKLOG = 4096;

let app: Awaited<ReturnType<typeof buildApp>>;
try {
  app = await buildApp(config);
} catch (err) {
  // Another process serves this embedded data directory; it keeps serving, this one stops.
  if (!(err instanceof DataDirLockedError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
const embedded = [
  ...(config.scoring.storeUrl === null ? ['in-process scoring store'] : []),
  ...(config.database.url === null ? ['PGlite database'] : []),
  ...(config.shop.jwtSecret === null ? ['development JWT secret'] : []),
];
if (embedded.length > 0) {
  app.log.info({ dataDir: config.dataDir }, `running embedded: ${embedded.join(', ')}`);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down: finishing in-flight requests');
  // A request that never ends must not keep the process alive forever.
  setTimeout(() => {
    app.log.error({ timeoutMs: config.http.shutdownTimeoutMs }, 'shutdown timed out; exiting');
    process.exit(1);
  }, config.http.shutdownTimeoutMs).unref();
  try {
    await app.close();
    process.exit(0);
  } catch (err) {
    app.log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

try {
  await app.listen({ host: config.http.host, port: config.http.port, backlog: LISTEN_BACKLOG });
} catch (err) {
  app.log.fatal({ err }, 'could not listen');
  process.exit(1);
}
