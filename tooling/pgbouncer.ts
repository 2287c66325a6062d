// Runs a real PgBouncer (Debian's) in front of the tests' PostgreSQL, configured as it ships but
// for transaction pooling: a pgbouncer.ini in a temporary directory with trust authentication and
// nothing relaxed (no ignore_startup_parameters, no max_prepared_statements), listening on a
// loopback port of the caller's. It runs as a child process, stopped (or killed, and started
// again on the same port) by its process id.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enginePath, PROCESS_WAIT_MS } from './engines.ts';

/** Longest PgBouncer may take to exit after SIGTERM before it is killed. */
const STOP_WAIT_MS = 5_000;
/** How often a starting PgBouncer's port is tried. */
const PROBE_INTERVAL_MS = 25;

/**
 * PgBouncers still running when the test process exits (a teardown that timed out): killed then,
 * so that none outlives the run holding its port and its server connections.
 */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * The configuration: Debian's pgbouncer.ini with its defaults (pool sizes, server_reset_query,
 * timeouts), pool_mode = transaction, and every database forwarded to the PostgreSQL at
 * `server` (host and port; a password, when its URL has one, for the server login).
 */
export function pgbouncerIni(port: number, server: URL, authFile: string): string {
  const password = server.password ? ` password=${decodeURIComponent(server.password)}` : '';
  return `[databases]
* = host=${server.hostname} port=${server.port || 5432}${password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
; No Unix socket: the stock one (/var/run/postgresql) may be taken by the machine's own PgBouncer.
unix_socket_dir =
auth_type = trust
auth_file = ${authFile}
pool_mode = transaction
`;
}

/**
 * PgBouncer refuses to run as root ("PgBouncer should not run as root") unless told which user to
 * become (-u); Debian's runs as postgres, which its package's dependencies create.
 */
function userArguments(): string[] {
  if (process.getuid?.() !== 0) return [];
  const passwd = readFileSync('/etc/passwd', 'utf8');
  return ['-u', /^postgres:/m.test(passwd) ? 'postgres' : 'nobody'];
}

export interface Pgbouncer {
  readonly port: number;
  /** The process id of the PgBouncer running now (null while none runs). */
  readonly pid: number | null;
  /** A URL for `database` through PgBouncer, as the server URL's user. */
  url(database: string): string;
  /** Everything PgBouncer wrote to stderr, over all its starts. */
  log(): string;
  /** Kills it by process id with SIGKILL (a crash: no goodbye to anyone) and waits for its exit. */
  kill(): Promise<void>;
  /** Starts it again, on the same port and configuration; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after STOP_WAIT_MS) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts PgBouncer on 127.0.0.1:`port` in front of the server of `serverUrl`. */
export async function startPgbouncer(port: number, serverUrl: string): Promise<Pgbouncer> {
  const binary = enginePath('pgbouncer');
  if (!binary) throw new Error('no pgbouncer: is the suite skipped?');
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const dir = await mkdtemp(join(tmpdir(), 'coinworks-pgbouncer-'));
  const authFile = join(dir, 'userlist.txt');
  const iniFile = join(dir, 'pgbouncer.ini');
  await writeFile(authFile, `"${user}" ""\n`);
  await writeFile(iniFile, pgbouncerIni(port, server, authFile));
  let stderr = '';
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    // In the foreground (no -d), so the child is PgBouncer itself and stops with its pid.
    const started = spawn(binary, [...userArguments(), iniFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = started;
    if (started.pid) running.add(started.pid);
    started.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    exited = new Promise((resolve) =>
      started.on('exit', () => {
        if (started.pid) running.delete(started.pid);
        resolve();
      }),
    );
    const from = stderr.length;
    await untilListening(
      port,
      () => started.exitCode !== null || started.signalCode !== null,
      () => stderr.slice(from),
    );
  };
  const signal = async (name: NodeJS.Signals, waitMs: number) => {
    const current = child;
    if (!current?.pid || current.exitCode !== null || current.signalCode !== null) return;
    process.kill(current.pid, name);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), waitMs);
    });
    if ((await Promise.race([exited, late])) === 'late') {
      process.kill(current.pid, 'SIGKILL');
      await exited;
    }
    clearTimeout(timer);
    child = null;
  };

  try {
    await launch();
  } catch (error) {
    await signal('SIGKILL', STOP_WAIT_MS);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    get pid() {
      return child?.pid ?? null;
    },
    url: (database) =>
      `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    log: () => stderr,
    kill: () => signal('SIGKILL', STOP_WAIT_MS),
    restart: launch,
    async stop() {
      await signal('SIGTERM', STOP_WAIT_MS);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until this start of PgBouncer says it listens and `port` accepts a connection (a port
 * that accepts before the line is another program's); fails when it died or after
 * PROCESS_WAIT_MS.
 */
async function untilListening(port: number, died: () => boolean, output: () => string) {
  const deadline = Date.now() + PROCESS_WAIT_MS;
  for (;;) {
    if (died()) throw new Error(`pgbouncer exited: ${output()}`);
    if (output().includes(`listening on 127.0.0.1:${port}`) && (await accepts(port))) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer not listening on ${port}: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
