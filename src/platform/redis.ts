// Owns connections to Redis: at most one live connection per link, opened on demand by a single
// shared attempt bounded in time, and dropped by its users when it stops answering. Retry policy
// belongs to the callers, who know their contract.
import { Redis, ReplyError } from 'ioredis';

export interface RedisLinkOptions {
  readonly url: string;
  /** The link's role, used in connection names and logs. */
  readonly name: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly keyPrefix?: string;
  /** Told of every connection attempt, for metrics. */
  readonly onConnectAttempt?: (ok: boolean) => void;
  /** Prepares each new client before it connects (e.g. defines its scripts). */
  readonly prepare?: (client: Redis) => void;
  readonly log?: { debug(obj: object, msg: string): void };
}

export class RedisLink {
  readonly #options: RedisLinkOptions;
  #client: Redis | null = null;
  #connecting: Promise<Redis> | null = null;
  #closed = false;
  // Every command failing on a dropped connection reports it; disconnect it only once.
  readonly #dropped = new WeakSet<Redis>();

  constructor(options: RedisLinkOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  /** The live connection, or null; never waits. */
  current(): Redis | null {
    const client = this.#client;
    return client !== null && client.status === 'ready' ? client : null;
  }

  get connecting(): boolean {
    return this.#connecting !== null;
  }

  /** A live connection, opening one if needed; concurrent callers share one attempt. */
  connect(): Promise<Redis> {
    const live = this.current();
    if (live) return Promise.resolve(live);
    if (this.#closed) return Promise.reject(new Error(`redis ${this.name}: link is closed`));
    if (!this.#connecting) {
      this.#connecting = this.#open().finally(() => {
        this.#connecting = null;
      });
    }
    return this.#connecting;
  }

  /** Discards a connection whose state is unknown (timeout, I/O error); its pending commands fail. */
  drop(client: Redis | null = this.#client): void {
    if (client === null) return;
    if (client === this.#client) this.#client = null;
    if (this.#dropped.has(client)) return;
    this.#dropped.add(client);
    client.disconnect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    // QUIT lets Redis finish what it has; the timeout keeps a dead server from holding shutdown.
    await Promise.race([
      client.quit().catch(() => undefined),
      sleep(this.#options.commandTimeoutMs),
    ]);
    client.disconnect();
  }

  async #open(): Promise<Redis> {
    const options = this.#options;
    const client = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      keyPrefix: options.keyPrefix ?? '',
      connectionName: `coinworks:${options.name}`,
      // Fail instead of queueing while disconnected, and never reconnect behind the caller's
      // back: every wait is then bounded by the timeouts above and the caller's own retries.
      enableOfflineQueue: false,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      reconnectOnError: () => false,
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    options.prepare?.(client);
    client.on('error', (err: Error) => {
      options.log?.debug({ err, redis: options.name }, 'redis connection error');
    });
    client.on('close', () => {
      if (this.#client === client) this.#client = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `redis ${options.name}: connect timed out after ${options.connectTimeoutMs} ms`,
            ),
          ),
        options.connectTimeoutMs,
      );
    });
    try {
      // connect() resolves after the handshake (AUTH, SELECT, CLIENT SETNAME), which ioredis's own
      // connectTimeout does not cover; the race bounds the whole of it.
      await Promise.race([client.connect(), deadline]);
    } catch (err) {
      client.disconnect();
      options.onConnectAttempt?.(false);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    options.onConnectAttempt?.(true);
    if (this.#closed) {
      client.disconnect();
      throw new Error(`redis ${options.name}: link is closed`);
    }
    this.#client = client;
    return client;
  }
}

// Replies that mean "this server cannot answer now" rather than "this command is wrong".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|READONLY|CLUSTERDOWN)\b/;

/**
 * True when the failure says nothing about the command itself (timeouts, refused or broken
 * connections, a server that is loading): retrying on a fresh connection may succeed.
 */
export function isTransientRedisError(err: unknown): boolean {
  if (err instanceof ReplyError) return TRANSIENT_REPLY.test((err as Error).message);
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
