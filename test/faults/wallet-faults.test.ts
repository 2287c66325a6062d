// PostgreSQL outages under the wallets, through the fault proxy: a batch of concurrent operations
// on one wallet fails as a whole with 500 in FastAPI's body within the timeouts, the wallet's queue
// does not wedge, and once the server is back the balance equals exactly what was answered 200.
import { beforeAll, expect, test } from 'vitest';
import type { FaultProxy } from '../../tooling/fault-proxy.ts';
import { buildTestAppBehindProxy, OUTAGE_LIMITS, OUTAGE_SLACK_MS } from '../support/app.ts';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';
import { injectSender, type WalletClient, walletClient } from '../support/wallets.ts';

/** A batch waits at most for a connection, then for its statement's client-side timeout. */
const WORST_MS = 2 * OUTAGE_LIMITS.connectTimeoutMs + OUTAGE_LIMITS.statementTimeoutMs;
const CONCURRENT_OPERATIONS = 20;

const database = ownPostgresDatabase();

describeWithPostgres('the wallets with PostgreSQL failing', () => {
  let proxy: FaultProxy;
  let wallets: WalletClient;
  beforeAll(async () => {
    const t = await buildTestAppBehindProxy(database.url);
    ({ proxy } = t);
    wallets = walletClient(injectSender(t.app));
  });

  for (const mode of ['refuse', 'blackhole'] as const) {
    test(`with the server ${mode === 'refuse' ? 'refusing' : 'black-holed'}, a burst on one wallet fails fast with 500, then the wallet works again`, async () => {
      const walletId = await wallets.withBalance(1_000);
      proxy.set(mode);
      proxy.cutAll();
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT_OPERATIONS }, () =>
          wallets.operate(walletId, 'DEPOSIT', 1),
        ),
      );
      const ms = performance.now() - started;
      for (const answer of answers) {
        expect(answer.status).toBe(500);
        expect(answer.json()).toEqual({ detail: 'Internal Server Error' });
      }
      // One batch, or two when the first left before the rest arrived: never one wait each.
      expect(ms).toBeLessThan(2 * WORST_MS + OUTAGE_SLACK_MS);

      proxy.set('pass');
      const after = await wallets.operate(walletId, 'WITHDRAW', 1_000);
      expect(after.status, after.text).toBe(200);
      expect(after.json().new_balance).toBe(0);
      expect(await wallets.historyOf(walletId)).toHaveLength(2);
    });
  }
});
