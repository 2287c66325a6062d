// A broken invariant stops the request loudly: an impossible state is asserted (node:assert), and
// the assertion becomes a 500 in the API's own body and a fatal log line marked as a bug, never an
// answer built on the broken state. Here a stored password hash is corrupted under a user.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { statement } from '../../src/platform/database.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { memoryDatabase } from '../support/database.ts';
import { uniqueName } from '../support/shop.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({}, { database: await memoryDatabase() });
});
afterAll(() => t.app.close());

const signIn = (username: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth', payload: { username, password } });

test('a stored password hash this service never writes is a 500 and a fatal log line', async () => {
  const username = uniqueName('corrupt');
  expect((await signIn(username, 'secret')).statusCode).toBe(200);
  const db = await memoryDatabase();
  await db.query(
    statement('corrupt_hash', "UPDATE shop_users SET password_hash = 'plain' WHERE username = $1"),
    [username],
  );

  // Another password, so that no remembered verification answers in place of the stored hash.
  const answer = await signIn(username, 'another');
  expect([answer.statusCode, answer.json()]).toEqual([500, { errors: 'Internal Server Error' }]);
  const bug = t.logs.find((line) => line.bug === true);
  expect(bug).toMatchObject({
    level: 60,
    msg: 'broken invariant: a bug',
    err: { type: 'AssertionError', message: 'stored password hash has an unknown format' },
  });
});
