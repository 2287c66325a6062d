// Owns connections to Redis: at most one live connection per link, opened on demand by a single
// shared attempt bounded in time, and dropped by its users when it stops answering. Retry policy
// belongs to the callers, who know their contract. Redis is one server by URL, the primary Redis
// Sentinel names (followed through failovers), or a Redis Cluster, where a link holds one
// connection per master and keys are grouped by slot and master, so that one master's trouble
// stays its own.
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis, ReplyError } from 'ioredis';

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where Redis is: one server by its redis:// or rediss:// URL, a Redis Cluster by some of its
 * nodes (the rest is discovered), or the primary that Redis Sentinels name.
 */
export type RedisTarget =
  | string
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisAddress[] }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      readonly masterName: string;
    };

/** A connection to one server (directly or through Sentinel), or to a whole Cluster. */
export type RedisClient = Redis | Cluster;

/** Hash slots of a Redis Cluster: a key's slot is the CRC16 of the key (or its {tag}) modulo this. */
export const CLUSTER_SLOTS = 16_384;

/**
 * MOVED, ASK and TRYAGAIN replies one command follows on a Cluster before it fails: one is a
 * resharded slot, a couple a slot in migration; more (ioredis allows 16) would only hide a
 * cluster whose slots flap, at a round trip each.
 */
export const CLUSTER_REDIRECTIONS_MAX = 4;

export interface RedisLinkOptions {
  readonly target: RedisTarget;
  /** The link's role, used in connection names and logs. */
  readonly name: string;
  /** One connection attempt; on a Cluster or through Sentinels, per node or Sentinel asked. */
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly keyPrefix?: string;
  /** Told of every connection attempt, for metrics. */
  readonly onConnectAttempt?: (ok: boolean) => void;
  /** Prepares each new client before it connects (e.g. defines its scripts). */
  readonly prepare?: (client: RedisClient) => void;
  readonly log?: { debug(obj: object, msg: string): void };
}

/**
 * Keys that one command may take together, with the key that stands for them: all of them on one
 * server; on a Cluster, the keys of one slot (a multi-key command cannot span slots), gathered
 * per master.
 */
export interface KeyGroup {
  /** A key of the group; retries and dropped connections go by it. */
  readonly key: string;
  /** Indexes into the keys, one list per command. */
  readonly parts: readonly (readonly number[])[];
}

export class RedisLink {
  readonly #options: RedisLinkOptions;
  #client: RedisClient | null = null;
  #connecting: Promise<RedisClient> | null = null;
  #closed = false;
  // Every command failing on a dropped connection reports it; disconnect it only once. On a
  // Cluster a dropped master's connection also stops counting as live before it has closed.
  readonly #dropped = new WeakSet<RedisClient>();

  constructor(options: RedisLinkOptions) {
    this.#options = options;
  }

  get name(): string {
    return this.#options.name;
  }

  get isCluster(): boolean {
    return typeof this.#options.target !== 'string' && this.#options.target.kind === 'cluster';
  }

  /**
   * The live connection, or null; never waits. On a Cluster, with `key`, null also while the
   * connection to the master serving that key is not open.
   */
  current(key?: string): RedisClient | null {
    const client = this.#client;
    if (client === null || client.status !== 'ready') return null;
    if (key === undefined || !(client instanceof Cluster)) return client;
    const master = this.#masterOf(client, key);
    return master?.status === 'ready' && !this.#dropped.has(master) ? client : null;
  }

  /** What a key's connection is told apart by: on a Cluster its master, once the slots are known. */
  shardOf(key: string): string {
    const client = this.#client;
    if (!(client instanceof Cluster)) return '';
    return client.slots[keySlot(this.#prefixed(key))]?.[0] ?? '';
  }

  /** The keys grouped as commands may take them together (see KeyGroup), in the keys' order. */
  group(keys: readonly string[]): KeyGroup[] {
    const [first] = keys;
    if (first === undefined) return [];
    if (!this.isCluster) return [{ key: first, parts: [keys.map((_, i) => i)] }];
    const slots = new Map<number, number[]>();
    keys.forEach((key, i) => {
      const slot = keySlot(this.#prefixed(key));
      const part = slots.get(slot);
      if (part === undefined) slots.set(slot, [i]);
      else part.push(i);
    });
    // Before the slots are known (no connection yet), every slot goes in one group.
    const client = this.#client;
    const masters = new Map<string, number[][]>();
    for (const [slot, part] of slots) {
      const master = client instanceof Cluster ? (client.slots[slot]?.[0] ?? '') : '';
      const parts = masters.get(master);
      if (parts === undefined) masters.set(master, [part]);
      else parts.push(part);
    }
    return [...masters.values()].map((parts) => ({
      key: keys[parts[0]?.[0] ?? 0] as string,
      parts,
    }));
  }

  /**
   * One cheap round trip: to the server; on a Cluster to the master serving `key` (opening its
   * connection if needed), or without a key to every master, answered when one answers.
   */
  ping(client: RedisClient, key?: string): Promise<unknown> {
    if (!(client instanceof Cluster)) return client.ping();
    if (key !== undefined) return client.exists(key);
    return Promise.any(client.nodes('master').map((master) => master.ping()));
  }

  /** A live connection, opening one if needed; concurrent callers share one attempt. */
  connect(): Promise<RedisClient> {
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

  /**
   * Discards a connection whose state is unknown (timeout, I/O error); its pending commands fail.
   * On a live Cluster, with `key`, only the connection to the master serving that key: the
   * others keep answering for their slots.
   */
  drop(client: RedisClient | null = this.#client, key?: string): void {
    if (client === null) return;
    if (key !== undefined && client instanceof Cluster && client.status === 'ready') {
      const master = this.#masterOf(client, key);
      if (master === undefined || this.#dropped.has(master)) return;
      this.#dropped.add(master);
      master.disconnect();
      return;
    }
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

  #prefixed(key: string): string {
    return (this.#options.keyPrefix ?? '') + key;
  }

  /** The connection to the master serving `key`, as far as the Cluster's slot table says. */
  #masterOf(cluster: Cluster, key: string): Redis | undefined {
    const address = cluster.slots[keySlot(this.#prefixed(key))]?.[0];
    if (address === undefined) return undefined;
    return cluster
      .nodes('master')
      .find((node) => `${node.options.host}:${node.options.port}` === address);
  }

  async #open(): Promise<RedisClient> {
    const options = this.#options;
    const client = createClient(options);
    options.prepare?.(client);
    client.on('error', (err: Error) => {
      options.log?.debug({ err, redis: options.name }, 'redis connection error');
    });
    client.on('node error', (err: Error, node: string) => {
      options.log?.debug({ err, redis: options.name, node }, 'redis cluster node error');
    });
    client.on('close', () => {
      if (this.#client === client) this.#client = null;
    });
    // Through Sentinel, disconnecting also closes the connections that watch for a failover,
    // which a connection that ended by itself would leave open.
    if (client instanceof Redis) client.on('end', () => client.disconnect());
    const connectDeadlineMs = connectDeadlineOf(options);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`redis ${options.name}: connect timed out after ${connectDeadlineMs} ms`),
          ),
        connectDeadlineMs,
      );
    });
    try {
      // connect() resolves after the handshake (AUTH, SELECT, CLIENT SETNAME), which ioredis's own
      // connectTimeout does not cover; the race bounds the whole of it. On a Cluster it resolves
      // once a node has told the slots (CLUSTER SLOTS); the masters' connections open on use.
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

/**
 * How long opening one connection may take: a connect timeout for each server or Sentinel it may
 * have to try in turn (a Cluster's seed nodes until one tells the slots; the Sentinels until one
 * names the primary, then the primary itself).
 */
function connectDeadlineOf({ target, connectTimeoutMs }: RedisLinkOptions): number {
  if (typeof target === 'string') return connectTimeoutMs;
  if (target.kind === 'sentinel') return connectTimeoutMs * (target.sentinels.length + 1);
  return connectTimeoutMs * target.nodes.length;
}

function createClient(options: RedisLinkOptions): RedisClient {
  const { target } = options;
  // Every connection, whichever way it was found: bounded in time, no retries of its own.
  const connection = {
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    connectionName: `coinworks:${options.name}`,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    reconnectOnError: () => false,
    disableClientInfo: true,
    // A dropped connection is closed at once, not after ioredis's 2 s of grace: its server has
    // stopped answering, and on a Cluster commands would be sent to it until it is gone.
    disconnectTimeout: 0,
  };
  // Fail instead of queueing while disconnected, and never reconnect behind the caller's back:
  // every wait is then bounded by the timeouts above and the caller's own retries.
  const alone = {
    ...connection,
    lazyConnect: true,
    keyPrefix: options.keyPrefix ?? '',
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  if (typeof target === 'string') return new Redis(target, { ...alone, enableReadyCheck: false });
  if (target.kind === 'sentinel') {
    return new Redis({
      ...alone,
      sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
      name: target.masterName,
      role: 'master',
      // Each Sentinel is asked once per connection attempt; the caller decides about another.
      sentinelRetryStrategy: () => null,
      sentinelCommandTimeout: options.connectTimeoutMs,
      // Sentinel announces a promotion (+switch-master): the connection to the old primary is
      // dropped at once, rather than when a write to a demoted primary is refused, or never
      // for a read. The watching connections are not reopened behind the caller's back either.
      failoverDetector: true,
      sentinelReconnectStrategy: () => null,
      // INFO on each new connection: a Sentinel that has not yet seen a failover may still name
      // a demoted primary, and ioredis then refuses the connection by its role.
      enableReadyCheck: true,
    });
  }
  return new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      keyPrefix: options.keyPrefix ?? '',
      // The store reads what it wrote: a replica may lag.
      scaleReads: 'master',
      // Commands wait for a master's connection only while it opens (ioredis arms the command
      // timeout before queueing them); without the queue, every command that arrived while the
      // connection opened would fail at once.
      enableOfflineQueue: true,
      // CLUSTER INFO says "fail" while any slot is unserved, yet the other masters answer.
      enableReadyCheck: false,
      clusterRetryStrategy: () => null,
      maxRedirections: CLUSTER_REDIRECTIONS_MAX,
      // A refused or closed connection fails the command now, as on one server; the caller's
      // retries, with their backoff and budget, decide whether to try again.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 0,
      retryDelayOnMoved: 0,
      slotsRefreshTimeout: options.connectTimeoutMs,
      // No timer rereads the slots: a MOVED reply does when they changed.
      slotsRefreshInterval: 0,
      redisOptions: { ...connection, enableReadyCheck: false },
    },
  );
}

// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
const CRC16_TABLE = Uint16Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  return crc & 0xffff;
});

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) ^ (CRC16_TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0)) & 0xffff;
  }
  return crc;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The Cluster slot of a key, as Redis computes it: the CRC16 of its UTF-8 bytes, or of its hash
 * tag (what lies between the first `{` and the first `}` after it, when not empty).
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(OPEN_BRACE);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE_BRACE, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % CLUSTER_SLOTS;
  }
  return crc16(bytes, 0, bytes.length) % CLUSTER_SLOTS;
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
