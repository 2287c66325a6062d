// The OpenAPI document is good enough for a client generator: openapi-typescript turns
// /docs/json into types, a small program written against them with openapi-fetch type-checks
// (tsc, strict) and calls each API once over a real socket, and every call gets the answer its
// contract promises. A missing operationId, a schema the generator cannot read, or a path, body
// or parameter the types do not allow fails here.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { scoreRequest } from '../support/scoring.ts';

const run = promisify(execFile);

/** tsc over the generated types takes seconds on a busy 2-core machine. */
const TEST_TIMEOUT_MS = 90_000;

/** Inside the repository (gitignored), so that the program resolves openapi-fetch from it. */
const dir = join(process.cwd(), 'test-results', 'generated-client');

/** The program a client author would write against the generated types. */
const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './schema.ts';

const [baseUrl = '', scoringToken = ''] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl });
const out: Record<string, unknown> = {};

const score = await client.POST('/method', {
  body: {
    account: 'horns&hoofs',
    login: 'h&f',
    token: scoringToken,
    method: 'online_score',
    arguments: { phone: '79175002040', email: 'client@generated' },
  },
});
out.score = score.data;

const auth = await client.POST('/api/auth', {
  body: { username: 'generated-client', password: 'correct horse' },
});
const headers = { Authorization: \`Bearer \${auth.data?.token ?? ''}\` };
const buy = await client.GET('/api/buy/{item}', { params: { path: { item: 'pen' } }, headers });
out.buy = buy.response.status;
const info = await client.GET('/api/info', { headers });
out.coins = info.data?.coins;

const created = await client.POST('/api/v1/wallets/', {});
const walletId = created.data?.wallet_id ?? '';
const deposit = await client.POST('/api/v1/wallets/{wallet_id}/operation', {
  params: { path: { wallet_id: walletId } },
  body: { operation_type: 'DEPOSIT', amount: 250 },
});
out.newBalance = deposit.data?.new_balance;
const wallet = await client.GET('/api/v1/wallets/{wallet_id}', {
  params: { path: { wallet_id: walletId } },
});
out.balance = wallet.data?.balance;
const missing = await client.GET('/api/v1/wallets/{wallet_id}', {
  params: { path: { wallet_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6' } },
});
out.missing = missing.response.status;

process.stdout.write(JSON.stringify(out));
`;

let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await buildTestApp();
  baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await t?.app.close();
  rmSync(dir, { recursive: true, force: true });
});

test(
  'types generated from /docs/json type-check a client that calls every API once and gets its answers',
  async () => {
    const document = await (await fetch(`${baseUrl}/docs/json`)).text();
    const types = astToString(await openapiTS(document));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'schema.ts'), types);
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    for (const operation of ['callScoringMethod', 'signIn', 'buyItem', 'getInfo', 'createWallet']) {
      expect(types).toContain(`operations["${operation}"]`);
    }

    const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022'];
    const modules = ['--module', 'nodenext', '--moduleResolution', 'nodenext'];
    const checked = await run(
      process.execPath,
      [tsc, ...flags, ...modules, '--allowImportingTsExtensions', join(dir, 'client.ts')],
      { timeout: TEST_TIMEOUT_MS },
    ).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(checked, checked.stdout).not.toHaveProperty('failed');

    const token = String(scoreRequest({}).token);
    const { stdout } = await run(process.execPath, [join(dir, 'client.ts'), baseUrl, token], {
      timeout: TEST_TIMEOUT_MS,
    });
    expect(JSON.parse(stdout)).toEqual({
      score: { code: 200, response: { score: 3 } },
      buy: 200,
      coins: 990,
      newBalance: 250,
      balance: 250,
      missing: 404,
    });
  },
  TEST_TIMEOUT_MS,
);
