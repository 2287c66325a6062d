// Runs a real Sentinel-managed Redis on loopback for the scale tests: a primary, a replica of it
// and three Sentinels (redis-server --sentinel, each with its config file in a temporary
// directory, since Sentinel rewrites it), waited for until the replica is in sync and every
// Sentinel knows the replica and the other Sentinels. Stopped by process id.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServerProcess, startRedisServer, waitFor } from './redis-server.ts';

/** How long the primary may be silent before a Sentinel counts it as down. */
export const SENTINEL_DOWN_AFTER_MS = 1_000;
/** How long a failover may take before the Sentinels try another. */
export const SENTINEL_FAILOVER_TIMEOUT_MS = 10_000;
/** Sentinels that must agree the primary is down. */
export const SENTINEL_QUORUM = 2;

export interface SentinelPorts {
  readonly primary: number;
  readonly replica: number;
  readonly sentinels: readonly number[];
}

export interface RedisSentinelDeployment {
  readonly primary: RedisServerProcess;
  readonly replica: RedisServerProcess;
  readonly sentinels: readonly RedisServerProcess[];
  readonly masterName: string;
  /** `host:port,…` of the Sentinels, as REDIS_SENTINELS takes it. */
  readonly addresses: string;
  /** The port of the server the Sentinels name as the primary now (asked of a live one). */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

const persistenceOff = ['--save', '', '--appendonly', 'no'];

/** Starts the primary, its replica and the Sentinels; resolves once all agree. */
export async function startRedisSentinel(
  ports: SentinelPorts,
  masterName: string,
): Promise<RedisSentinelDeployment> {
  const dir = await mkdtemp(join(tmpdir(), 'coinworks-redis-sentinel-'));
  const started: RedisServerProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const primary = await startRedisServer(ports.primary, ['--dir', dir, ...persistenceOff]);
    started.push(primary);
    const replica = await startRedisServer(ports.replica, [
      '--dir',
      dir,
      ...persistenceOff,
      '--replicaof',
      '127.0.0.1',
      String(ports.primary),
    ]);
    started.push(replica);
    await waitFor('the replica in sync with the primary', async () => {
      const info = String(await replica.client().info('replication'));
      return info.includes('master_link_status:up') ? true : undefined;
    });
    const sentinels: RedisServerProcess[] = [];
    for (const port of ports.sentinels) {
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${ports.primary} ${SENTINEL_QUORUM}`,
          `sentinel down-after-milliseconds ${masterName} ${SENTINEL_DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${masterName} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisServer(port, [file, '--sentinel']);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitFor('every Sentinel knowing the replica and the other Sentinels', async () => {
        const fields = (await sentinel.client().call('SENTINEL', 'MASTER', masterName)) as string[];
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        const agreed =
          field('num-slaves') === '1' &&
          field('num-other-sentinels') === String(sentinels.length - 1);
        return agreed ? true : undefined;
      });
    }
    return {
      primary,
      replica,
      sentinels,
      masterName,
      addresses: ports.sentinels.map((port) => `127.0.0.1:${port}`).join(','),
      async primaryPort() {
        for (const sentinel of sentinels) {
          try {
            const client = sentinel.client();
            const address = (await client.call(
              'SENTINEL',
              'GET-MASTER-ADDR-BY-NAME',
              masterName,
            )) as [string, string];
            return Number(address[1]);
          } catch {
            // that one is not answering; ask the next
          }
        }
        throw new Error('no Sentinel answers');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
