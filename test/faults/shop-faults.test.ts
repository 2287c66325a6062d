// PostgreSQL outages, simulated by a fault proxy in front of the real server: the shop answers
// 500 in its own body within its timeouts (never hangs), readiness says the database is down, and
// everything works again once the server is back, with no restart.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { type FaultProxy, proxiedPostgres } from '../support/fault-proxy.ts';
import { type ShopClient, type ShopUser, shopClient } from '../support/shop.ts';

const LIMITS = {
  DATABASE_CONNECT_TIMEOUT_MS: 300,
  DATABASE_STATEMENT_TIMEOUT_MS: 400,
  DATABASE_POOL_SIZE: '4',
};
/** The longest a request may wait on a dead server: a stuck query's client-side timeout. */
const WORST_MS = LIMITS.DATABASE_CONNECT_TIMEOUT_MS + LIMITS.DATABASE_STATEMENT_TIMEOUT_MS;
/** Slack for scheduling on a busy 2-core machine. */
const SLACK_MS = 400;

const database = ownPostgresDatabase();

describeWithPostgres('the shop with PostgreSQL failing', () => {
  let proxy: FaultProxy;
  let t: TestApp;
  let shop: ShopClient;
  let user: ShopUser;
  beforeAll(async () => {
    const proxied = await proxiedPostgres(database.url);
    proxy = proxied.proxy;
    t = await buildTestApp({
      ...Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
      DATABASE_URL: proxied.url,
    });
    shop = shopClient(t.app);
    user = await shop.login();
  });
  afterAll(() => proxy?.close());

  async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  }

  for (const mode of ['refuse', 'blackhole'] as const) {
    test(`with the server ${mode === 'refuse' ? 'refusing' : 'black-holed'}, requests fail fast with 500 and recover`, async () => {
      proxy.set(mode);
      proxy.cutAll();
      for (const call of [() => shop.info(user.token), () => shop.buy(user.token, 'pen')]) {
        const { result, ms } = await timed(call);
        expect(result.statusCode).toBe(500);
        expect(result.json()).toEqual({ errors: 'Internal Server Error' });
        expect(ms).toBeLessThan(WORST_MS + SLACK_MS);
      }
      const ready = await t.app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks.database).toEqual({ postgres: 'down' });

      proxy.set('pass');
      expect((await shop.info(user.token)).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    });
  }

  test('no coins were created or lost by the failed attempts', async () => {
    const info = await shop.infoOf(user);
    const spent = info.inventory.reduce((sum, { quantity }) => sum + quantity * 10, 0);
    expect(info.coins + spent).toBe(1000);
  });
});
