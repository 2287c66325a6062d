// Runs a real HAProxy (Debian's) in front of service processes on loopback, configured as the
// README's scaling recipe says: round robin, wallet routes hashed by wallet so a hot wallet's
// operations meet in one process's batches, each server health-checked on /readyz. Its runtime
// API (a Unix socket) tells which servers it counts as up.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enginePath, PROCESS_WAIT_MS } from './engines.ts';

/** How often HAProxy checks each server, and how many checks change its state. */
export const HAPROXY_CHECK_INTERVAL_MS = 200;
export const HAPROXY_CHECKS_TO_CHANGE = 2;

export interface HaproxyServer {
  readonly name: string;
  readonly port: number;
}

/** The configuration, as a user would write it for this service (see the README). */
export function haproxyConfig(port: number, servers: readonly HaproxyServer[], socket: string) {
  const lines = servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`);
  return `global
  maxconn 4096
  stats socket ${socket} mode 600 level admin

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A connection refused by a dead server is tried on another; a request already sent is not
  # (it may have been applied), so its client sees the 502 and decides.
  retries 2
  option redispatch
  # The client's address, for the sign-in limits (the service trusts it with HTTP_TRUSTED_PROXIES).
  option forwardfor

frontend api
  bind 127.0.0.1:${port}
  use_backend wallets if { path_beg /api/v1/wallets/ }
  default_backend services

backend services
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter ${HAPROXY_CHECK_INTERVAL_MS}ms fall ${HAPROXY_CHECKS_TO_CHANGE} rise ${HAPROXY_CHECKS_TO_CHANGE}
${lines.join('\n')}

backend wallets
  # One wallet's operations go to one process, where they are applied in shared batches.
  balance uri depth 4
  hash-type consistent
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter ${HAPROXY_CHECK_INTERVAL_MS}ms fall ${HAPROXY_CHECKS_TO_CHANGE} rise ${HAPROXY_CHECKS_TO_CHANGE}
${lines.join('\n')}
`;
}

export interface Haproxy {
  readonly url: string;
  /** Each server's state in the `services` backend: 'UP', 'DOWN', ... */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Starts HAProxy on `port` in front of `servers`; resolves once it serves. */
export async function startHaproxy(
  port: number,
  servers: readonly HaproxyServer[],
): Promise<Haproxy> {
  const binary = enginePath('haproxy');
  if (!binary) throw new Error('no haproxy: is the suite skipped?');
  const dir = await mkdtemp(join(tmpdir(), 'coinworks-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const configFile = join(dir, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig(port, servers, socket));
  // -db: stay in the foreground, so the child is HAProxy itself and stops with its pid.
  const child: ChildProcess = spawn(binary, ['-db', '-f', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const states = async () => {
    const csv = await runtimeCommand(socket, 'show stat');
    const result: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const [backend, server, ...fields] = line.split(',');
      if (backend === 'services' && server && server !== 'BACKEND') {
        result[server] = fields[15] ?? ''; // the CSV's 18th column, status
      }
    }
    return result;
  };
  await waitForSocket(
    socket,
    () => child.exitCode !== null,
    () => stderr,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    states,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until HAProxy answers on its runtime API, or fails when it exits or after PROCESS_WAIT_MS. */
async function waitForSocket(socket: string, died: () => boolean, stderr: () => string) {
  const deadline = Date.now() + PROCESS_WAIT_MS;
  for (;;) {
    if (died()) throw new Error(`haproxy exited: ${stderr()}`);
    try {
      await runtimeCommand(socket, 'show info');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** One command on HAProxy's runtime API; its whole answer. */
function runtimeCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = createConnection({ path: socket });
    let text = '';
    connection.on('connect', () => connection.end(`${command}\n`));
    connection.on('data', (chunk) => {
      text += chunk;
    });
    connection.on('end', () => resolve(text));
    connection.on('error', reject);
  });
}
