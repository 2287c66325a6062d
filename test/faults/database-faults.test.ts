// The database layer when pooled connections die while idle (their server restarted, a proxy or
// firewall reset them): the next statements find other connections instead of failing, and a
// transaction whose BEGIN never left runs on a live one.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Database, statement } from '../../src/platform/database.ts';
import { type FaultProxy, proxiedPostgres } from '../../tooling/fault-proxy.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { openPostgres } from '../support/postgres-admin.ts';

const POOL_SIZE = 4;
const database = ownPostgresDatabase();
const ping = statement('test_ping', 'SELECT 1 AS one');

describeWithPostgres('pooled connections that died while idle', () => {
  let proxy: FaultProxy;
  let db: Database;
  beforeAll(async () => {
    const proxied = await proxiedPostgres(database.url);
    proxy = proxied.proxy;
    db = openPostgres(proxied.url, { poolSize: POOL_SIZE, idleTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
  });

  /** Fills the pool with idle connections, then resets every one of them. */
  async function staleConnections() {
    await Promise.all(Array.from({ length: POOL_SIZE }, () => db.query(ping, [])));
    const before = proxy.connectionsAccepted;
    proxy.cutAll();
    return before;
  }

  test('statements after the reset are answered, on new connections', async () => {
    const before = await staleConnections();
    const answers = await Promise.all(Array.from({ length: POOL_SIZE }, () => db.query(ping, [])));
    expect(answers).toEqual(Array.from({ length: POOL_SIZE }, () => [{ one: 1 }]));
    expect(proxy.connectionsAccepted).toBeGreaterThan(before);
  });

  test('a transaction after the reset commits', async () => {
    await staleConnections();
    const result = await db.transaction((tx) => tx.query<{ one: number }>(ping, []));
    expect(result).toEqual([{ one: 1 }]);
  });
});
