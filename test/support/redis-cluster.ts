// Runs a real Redis Cluster of masters on loopback for the scale tests: one redis-server per
// port with cluster mode on, its node file in a temporary directory and no persistence; the slots
// are split evenly, the nodes introduced to each other, and the cluster waited for until every
// node says cluster_state:ok and knows every slot's owner. Stopped by process id.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { describe } from 'vitest';
import { enginesMissing } from '../../tooling/engines.ts';
import { type RedisServerProcess, startRedisServer, waitFor } from './redis-server.ts';

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;
/**
 * How long a node may be silent before the others count it as failed. Short, so a paused node is
 * seen as failed within a test; the others keep serving their slots (full coverage not required).
 */
export const CLUSTER_NODE_TIMEOUT_MS = 2_000;

/** `describe` for suites that start redis-server: skipped with the reason printed when it is missing. */
export const describeWithRedisServer = describe.skipIf(enginesMissing('redis-server'));

export interface ClusterNodeAddress {
  /** The port clients use. */
  readonly port: number;
  /** The port of the cluster bus between nodes (by default the client port + 10000). */
  readonly busPort: number;
}

export interface RedisCluster {
  readonly nodes: readonly RedisServerProcess[];
  /** `host:port,host:port,…`, as REDIS_CLUSTER_NODES takes it. */
  readonly seeds: string;
  /** The slot of `key`, as the server computes it (CLUSTER KEYSLOT), asked of `via`. */
  slotOf(key: string, via?: RedisServerProcess): Promise<number>;
  /** The master that serves `slot`. */
  ownerOf(slot: number): RedisServerProcess;
  /** A cluster client for arranging and inspecting data, closed with the cluster. */
  admin(): Cluster;
  /** Waits until every node says cluster_state:ok and knows every slot's owner (after a restart). */
  healthy(): Promise<void>;
  stop(): Promise<void>;
}

/** The first slot of master `index` of `count`: the slots split evenly, in order. */
function firstSlot(index: number, count: number): number {
  return Math.floor((CLUSTER_SLOTS * index) / count);
}

/** Starts one master per address, joins them into a cluster and waits until it serves. */
export async function startRedisCluster(
  addresses: readonly ClusterNodeAddress[],
): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'coinworks-redis-cluster-'));
  const nodes: RedisServerProcess[] = [];
  const admins: Cluster[] = [];
  /** Waits until every node says cluster_state:ok and knows every node and every slot's owner. */
  const healthy = async () => {
    for (const node of nodes) {
      await waitFor('cluster_state:ok on every node, with every slot assigned', async () => {
        const client = node.client();
        const info = String(await client.call('CLUSTER', 'INFO'));
        const slots = (await client.call('CLUSTER', 'SLOTS')) as unknown[];
        const ok =
          info.includes('cluster_state:ok') &&
          info.includes(`cluster_known_nodes:${nodes.length}`) &&
          info.includes(`cluster_slots_assigned:${CLUSTER_SLOTS}`) &&
          slots.length === nodes.length;
        return ok ? true : undefined;
      });
    }
  };
  const stop = async () => {
    for (const admin of admins.splice(0)) admin.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const { port, busPort } of addresses) {
      nodes.push(
        await startRedisServer(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          String(CLUSTER_NODE_TIMEOUT_MS),
          '--cluster-require-full-coverage',
          'no',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ]),
      );
    }
    for (const [index, node] of nodes.entries()) {
      const client = node.client();
      const last = firstSlot(index + 1, nodes.length) - 1;
      await client.call('CLUSTER', 'ADDSLOTSRANGE', firstSlot(index, nodes.length), last);
      // Distinct epochs up front, as redis-cli does, so no collision has to be resolved.
      await client.call('CLUSTER', 'SET-CONFIG-EPOCH', index + 1);
    }
    for (const { port, busPort } of addresses.slice(1)) {
      await nodes[0]?.client().call('CLUSTER', 'MEET', '127.0.0.1', port, busPort);
    }
    await healthy();
  } catch (err) {
    await stop();
    throw err;
  }
  const seeds = addresses.map(({ port }) => `127.0.0.1:${port}`).join(',');
  return {
    nodes,
    seeds,
    async slotOf(key, via = nodes[0]) {
      if (!via) throw new Error('no nodes');
      return Number(await via.client().call('CLUSTER', 'KEYSLOT', key));
    },
    ownerOf(slot) {
      const index = nodes.findIndex((_, i) => slot < firstSlot(i + 1, nodes.length));
      const owner = nodes[index];
      if (slot < 0 || owner === undefined) throw new Error(`no slot ${slot}`);
      return owner;
    },
    admin() {
      const admin = new Cluster(
        addresses.map(({ port }) => ({ host: '127.0.0.1', port })),
        {
          clusterRetryStrategy: () => null,
          redisOptions: { connectTimeout: 1_000, commandTimeout: 5_000, maxRetriesPerRequest: 1 },
        },
      );
      admin.on('error', () => {});
      admins.push(admin);
      return admin;
    },
    healthy,
    stop,
  };
}
