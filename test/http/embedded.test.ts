// Embedded mode as `npm start` runs it with no configuration: PGlite files and a generated JWT
// secret under DATA_DIR, so users, coins, purchases and tokens survive a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, expect, test } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { shopClient } from '../support/shop.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'coinworks-embedded-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
const embedded = () =>
  buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { logStream: silent });

test('the shop keeps its users, coins, purchases and tokens across a restart', async () => {
  const first = await embedded();
  const shop = shopClient(first);
  const [alice, bob] = [await shop.login('alice', 'pw-a'), await shop.login('bob', 'pw-b')];
  expect((await shop.buy(alice.token, 'book')).statusCode).toBe(200);
  expect((await shop.send(alice.token, { toUser: 'bob', amount: 25 })).statusCode).toBe(200);
  expect((await first.inject({ url: '/readyz' })).json().checks.database).toEqual({
    pglite: 'up',
  });
  await first.close();

  const second = await embedded();
  try {
    const again = shopClient(second);
    // The token issued before the restart is still valid: the secret was kept, not regenerated.
    expect(await again.infoOf(alice)).toEqual({
      coins: 925,
      inventory: [{ type: 'book', quantity: 1 }],
      coinHistory: { received: [], sent: [{ toUser: 'bob', amount: 25 }] },
    });
    expect((await again.auth({ username: 'bob', password: 'pw-b' })).statusCode).toBe(200);
    expect((await again.auth({ username: 'bob', password: 'pw-a' })).statusCode).toBe(401);
    expect((await again.infoOf(bob)).coins).toBe(1025);
  } finally {
    await second.close();
  }
});
