// Runs real redis-server processes (Debian's) on loopback for the scale tests: started with their
// settings on the command line or in a config file, waited for until they answer, paused, killed
// and restarted by process id. Whatever a test leaves running is killed when the worker exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { enginePath, PROCESS_WAIT_MS } from '../../tooling/engines.ts';

/** How much of a server's own log is kept, to say why it did not start. */
const OUTPUT_KEPT_CHARS = 16_384;
/** How long one probe of a starting server may take, and the pause between probes. */
const PROBE_TIMEOUT_MS = 500;

/** Whether the Redis at `url` answers PING within `timeoutMs`, on one connection, never retried. */
export async function answersPing(url: string, timeoutMs: number): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
const PROBE_INTERVAL_MS = 50;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
});

export interface RedisServerProcess {
  readonly port: number;
  readonly url: string;
  /** The process id of the server now running (a restart changes it). */
  readonly pid: number;
  /** SIGSTOP: the server keeps its sockets and its data but answers nothing, as a hung host. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, and waits until the process is gone. */
  kill(): Promise<void>;
  /** Starts the server again with the same settings (after kill()), and waits until it answers. */
  restart(): Promise<void>;
  /** A plain client to this one server (one at a time, shared), closed with the server. */
  client(): Redis;
  /** What the server wrote to its log so far (the end of it). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` with `args` (a config file first, if any, then `--name value` pairs) on
 * 127.0.0.1:`port`, and waits until it answers PING.
 */
export async function startRedisServer(
  port: number,
  args: readonly string[],
): Promise<RedisServerProcess> {
  const binary = enginePath('redis-server');
  if (!binary) throw new Error('no redis-server: is the suite skipped?');
  const argv = [...args, '--port', String(port), '--bind', '127.0.0.1', '--logfile', ''];
  let child: ChildProcess;
  let exited: Promise<void>;
  let log = '';
  const clients: Redis[] = [];

  const spawnServer = () => {
    child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-OUTPUT_KEPT_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const current = child;
    exited = new Promise<void>((resolve) =>
      current.once('exit', () => {
        running.delete(current);
        resolve();
      }),
    );
  };

  const waitUntilAnswering = async () => {
    const deadline = Date.now() + PROCESS_WAIT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`redis-server on port ${port} exited:\n${log}`);
      }
      if (await answersPing(`redis://127.0.0.1:${port}`, PROBE_TIMEOUT_MS)) return;
      if (Date.now() > deadline) {
        throw new Error(`redis-server on port ${port} not answering after ${PROCESS_WAIT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  };

  const signal = (name: NodeJS.Signals) => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, name);
  };

  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signal('SIGKILL');
      await exited;
    }
  };

  spawnServer();
  await waitUntilAnswering();

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill,
    async restart() {
      await kill();
      spawnServer();
      await waitUntilAnswering();
    },
    client() {
      let client = clients.at(-1);
      if (client === undefined || client.status === 'end') {
        client = new Redis({
          port,
          host: '127.0.0.1',
          connectTimeout: 1_000,
          commandTimeout: 5_000,
          maxRetriesPerRequest: 1,
          retryStrategy: () => null,
        });
        client.on('error', () => {});
        clients.push(client);
      }
      return client;
    },
    output: () => log,
    async stop() {
      for (const client of clients.splice(0)) client.disconnect();
      await kill();
    },
  };
}

/** Polls `probe` until it returns a value, or fails after `withinMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  withinMs: number = PROCESS_WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
}
