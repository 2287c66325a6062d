// `npm run db:migrate` as a deploy runs it: it migrates an empty PostgreSQL database, is a no-op the
// second time, says what is wrong with its settings (exit 2), and fails (exit 1) when the server
// cannot be reached.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { describeWithPostgres, ownPostgresDatabase } from '../support/database.ts';

const run = promisify(execFile);
const SECRET = 'migrate-command-test-secret-of-32+chars';

function migrate(env: Record<string, string>) {
  return run(process.execPath, ['src/cli/migrate.ts'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
  });
}

const empty = ownPostgresDatabase({ empty: true });

describeWithPostgres('npm run db:migrate', () => {
  let url = '';
  beforeAll(() => {
    url = empty.url;
  });

  test('creates the tables on an empty database, and changes nothing the second time', async () => {
    const env = { DATABASE_URL: url, JWT_SECRET: SECRET };
    expect((await migrate(env)).stdout).toContain('migrations applied');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = async () =>
        (
          await client.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
          )
        ).rows.map((r) => r.table_name);
      const first = await tables();
      expect(first).toContain('shop_users');
      await migrate(env);
      expect(await tables()).toEqual(first);
    } finally {
      await client.end();
    }
  });

  test('a bad setting exits 2 with a message naming it', async () => {
    const failed = await migrate({ DATABASE_URL: 'mysql://db/x', JWT_SECRET: SECRET }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('DATABASE_URL');
  });

  test('an unreachable server exits 1', async () => {
    const failed = await migrate({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      JWT_SECRET: SECRET,
      DATABASE_CONNECT_TIMEOUT_MS: '500',
    }).catch((err: { code: number; stdout: string }) => err);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stdout: string }).stdout).toContain('migrations failed');
  });
});
