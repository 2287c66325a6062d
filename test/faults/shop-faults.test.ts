// PostgreSQL outages, simulated by a fault proxy in front of the real server: the shop answers
// 500 in its own body within its timeouts (never hangs), readiness says the database is down, and
// everything works again once the server is back, with no restart.
import { beforeAll, expect, test } from 'vitest';
import type { FaultProxy } from '../../tooling/fault-proxy.ts';
import {
  buildTestAppBehindProxy,
  OUTAGE_LIMITS,
  OUTAGE_SLACK_MS,
  type TestApp,
} from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { type ShopClient, type ShopUser, shopClient } from '../support/shop.ts';

/** The longest a request may wait on a dead server: a stuck query's client-side timeout. */
const WORST_MS = OUTAGE_LIMITS.connectTimeoutMs + OUTAGE_LIMITS.statementTimeoutMs;

const database = ownPostgresDatabase();

describeWithPostgres('the shop with PostgreSQL failing', () => {
  let proxy: FaultProxy;
  let t: TestApp;
  let shop: ShopClient;
  let user: ShopUser;
  const others: ShopUser[] = [];
  beforeAll(async () => {
    const built = await buildTestAppBehindProxy(database.url);
    ({ proxy } = built);
    t = built;
    shop = shopClient(t.app);
    user = await shop.login();
    for (let i = 0; i < 4; i += 1) others.push(await shop.login());
  });

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
        expect(ms).toBeLessThan(WORST_MS + OUTAGE_SLACK_MS);
      }
      // Info requests that arrive together share one statement: they all fail with it, in time.
      const burst = await timed(() =>
        Promise.all(others.flatMap((u) => [shop.info(u.token), shop.info(u.token)])),
      );
      expect(burst.result.map((r) => r.statusCode)).toEqual(others.flatMap(() => [500, 500]));
      expect(burst.ms).toBeLessThan(WORST_MS + OUTAGE_SLACK_MS);
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
