// An Idempotency-Key sent twice, over a real socket: Node joins repeated headers it does not know
// into one value ("dupA, dupB"), which app.inject does not, so only a socket shows that the
// shop and the wallets refuse the pair instead of taking the joined text as a third key.
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildTestApp } from '../support/app.ts';
import { shopClient } from '../support/shop.ts';
import { injectSender, walletClient } from '../support/wallets.ts';

let base: URL;
let token: string;
let recipient: string;
let shop: ReturnType<typeof shopClient>;
let wallets: ReturnType<typeof walletClient>;
beforeAll(async () => {
  const t = await buildTestApp();
  base = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' }));
  shop = shopClient(t.app);
  wallets = walletClient(injectSender(t.app));
  token = (await shop.login()).token;
  recipient = (await shop.login()).username;
});

/** One request whose Idempotency-Key header is sent on two lines, `dupA` and `dupB`. */
function twiceKeyed(method: string, path: string, body?: unknown, headers = {}) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }),
      );
    });
    req.on('error', reject);
    req.setHeader('Idempotency-Key', ['dupA', 'dupB']);
    if (body !== undefined) req.setHeader('content-type', 'application/json');
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('an Idempotency-Key header sent twice', () => {
  test('is refused by the shop, and nothing is bought or sent', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const bought = await twiceKeyed('GET', '/api/buy/pen', undefined, auth);
    expect(bought).toEqual({ status: 400, body: { errors: 'Idempotency-Key must be sent once' } });
    const sent = await twiceKeyed('POST', '/api/sendCoin', { toUser: recipient, amount: 5 }, auth);
    expect(sent).toEqual({ status: 400, body: { errors: 'Idempotency-Key must be sent once' } });
    const info = (await shop.info(token)).json();
    expect(info.coins).toBe(1000);
    expect(info.inventory).toEqual([]);
  });

  test('is refused by the wallets on both routes, and nothing is applied', async () => {
    const id = await wallets.create();
    const issue = {
      loc: ['header', 'idempotency-key'],
      msg: 'Give one Idempotency-Key',
      type: 'too_many',
    };
    const deposit = { operation_type: 'DEPOSIT', amount: 5 };
    const direct = await twiceKeyed('POST', `/api/v1/wallets/${id}/operation`, deposit);
    expect(direct.status).toBe(422);
    expect(direct.body).toMatchObject({ detail: [issue] });
    const original = await twiceKeyed('POST', '/api/v1/wallet', { walletId: id, ...deposit });
    expect(original.status).toBe(422);
    expect(original.body).toMatchObject({ detail: [issue] });
    expect(await wallets.balanceOf(id)).toBe(0n);
  });
});
