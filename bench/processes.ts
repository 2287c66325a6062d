// Owns the bench's child processes: spawning a server on a free loopback port, waiting until it
// answers, keeping the tail of its output for error messages, and making sure none outlives us.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here, as `npm start` would. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const OUTPUT_TAIL_LINES = 40;
const HEALTH_POLL_MS = 100;
const HEALTH_REQUEST_TIMEOUT_MS = 1_000;
const STOP_GRACE_MS = 5_000;

export interface ServerSpec {
  readonly name: string;
  /** A script path relative to the repository root, run with this Node binary. */
  readonly script: string;
  /** Added to the inherited environment; PORT and HOST are set here. */
  readonly env: Readonly<Record<string, string>>;
  /** How long the server may take to answer GET /healthz. */
  readonly startTimeoutMs: number;
}

export interface ServerProcess {
  readonly name: string;
  /** http://127.0.0.1:<port>, without a trailing slash. */
  readonly url: string;
  readonly pid: number | undefined;
  /** The processes that serve it (this one, or those behind a load balancer), for CPU figures. */
  readonly pids: readonly number[];
  /** The last lines the process wrote, for error messages. */
  output(): string;
  /** Lines written since the start, a rough count of warnings logged under load. */
  readonly linesWritten: number;
  /** How the process ended ("exit code 1", "signal SIGKILL"), or null while it runs. */
  readonly exitStatus: string | null;
  stop(): Promise<void>;
}

export class HarnessError extends Error {
  override name = 'HarnessError';
}

const live = new Set<ChildProcess>();
// A crash of the bench must not leave servers holding ports and Redis connections.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A port that was free a moment ago; the child binds it right after, on loopback only. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new HarnessError('no free port');
  return address.port;
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [spec.script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...spec.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  const tail: string[] = [];
  let linesWritten = 0;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      linesWritten++;
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    }
  };
  // Both pipes must be drained, or a chatty server would block on a full pipe mid-benchmark.
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exit: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
      live.delete(child);
      resolve();
    });
  });
  const output = () => tail.join('\n');

  const server: ServerProcess = {
    name: spec.name,
    url,
    pid: child.pid,
    pids: child.pid === undefined ? [] : [child.pid],
    output,
    get linesWritten() {
      return linesWritten;
    },
    get exitStatus() {
      return exit;
    },
    async stop() {
      if (exit !== null) return;
      child.kill('SIGTERM');
      const graceful = await Promise.race([
        exited.then(() => true),
        sleep(STOP_GRACE_MS).then(() => false),
      ]);
      if (!graceful) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + spec.startTimeoutMs;
  while (Date.now() < deadline) {
    if (exit !== null) {
      throw new HarnessError(`${spec.name} exited (${exit}) before answering:\n${output()}`);
    }
    if (await answersHealth(url)) return server;
    await sleep(HEALTH_POLL_MS);
  }
  await server.stop();
  throw new HarnessError(
    `${spec.name} did not answer GET ${url}/healthz within ${spec.startTimeoutMs} ms:\n${output()}`,
  );
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
