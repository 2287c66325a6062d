// Owns the scale-out bench (`--only scale`): the shop's mixed load and the wallets' uniform load
// on two service processes behind a real HAProxy, and on one process through a real PgBouncer in
// transaction pooling, beside the same loads on one process reached directly (shop-mixed,
// wallet-uniform), so that each mode's cost or gain is a same-run ratio. The engines are the ones
// the scale tests run (Debian's haproxy and pgbouncer, configured as docs/scaling.md says).
import { type Haproxy, startHaproxy } from '../tooling/haproxy.ts';
import { type Pgbouncer, startPgbouncer } from '../tooling/pgbouncer.ts';
import { freePort, HarnessError, type ServerProcess, type ServerSpec } from './processes.ts';
import type { Scenario, ServerName } from './scenarios.ts';
import { SHOP_SCENARIOS } from './shop.ts';
import { median } from './stats.ts';
import { WALLET_SCENARIOS } from './wallets.ts';

/** Service processes behind HAProxy: as many as this 2-core machine has cores. */
export const BALANCED_PROCESSES = 2;

/** The loads measured per mode, and the single-process, direct scenario each is compared with. */
const MEASURED = ['shop-mixed', 'wallet-uniform'] as const;

const MODES = [
  {
    suffix: 'haproxy-2',
    server: 'balanced',
    how: `${BALANCED_PROCESSES} processes behind HAProxy (roundrobin; wallets by URI)`,
  },
  { suffix: 'pgbouncer', server: 'pooled', how: '1 process through PgBouncer, transaction mode' },
] as const satisfies readonly { suffix: string; server: ServerName; how: string }[];

/** The direct scenario, and the seeded fixture its requests name. */
function base(name: (typeof MEASURED)[number]): [Scenario, 'shop' | 'wallets'] {
  const shop = SHOP_SCENARIOS.find((s) => s.name === name);
  if (shop) return [shop, 'shop'];
  const wallets = WALLET_SCENARIOS.find((s) => s.name === name);
  if (wallets) return [wallets, 'wallets'];
  throw new Error(`no scenario ${name}`);
}

/** Each measured load once per mode: the same requests, checks and ledger audit, another server. */
export const SCALE_SCENARIOS: readonly (Scenario & {
  readonly baseline: string;
  readonly fixture: 'shop' | 'wallets';
})[] = MODES.flatMap((mode) =>
  MEASURED.map((name) => {
    const [scenario, fixture] = base(name);
    return {
      ...scenario,
      name: `${name}-${mode.suffix}`,
      server: mode.server,
      description: `${scenario.description}; ${mode.how}`,
      baseline: name,
      fixture,
    };
  }),
);

/** Whether `s` is a scale scenario on the seeded shop users (or wallets), seeded for it. */
export const scaleNeeds = (fixture: 'shop' | 'wallets') => (s: Scenario) =>
  SCALE_SCENARIOS.some((v) => v === s && v.fixture === fixture);

type StartServer = (spec: ServerSpec) => Promise<ServerProcess>;

/** Several processes as one server: HAProxy's URL, every process's pid, stopped together. */
function composite(
  name: string,
  url: string,
  members: readonly ServerProcess[],
  stopEngine: () => Promise<void>,
): ServerProcess {
  return {
    name,
    url,
    pid: members[0]?.pid,
    pids: members.flatMap((m) => m.pids),
    output: () => members.map((m) => `[${m.name}]\n${m.output()}`).join('\n'),
    get linesWritten() {
      return members.reduce((n, m) => n + m.linesWritten, 0);
    },
    get exitStatus() {
      const ended = members.find((m) => m.exitStatus !== null);
      return ended ? `${ended.name}: ${ended.exitStatus}` : null;
    },
    async stop() {
      await stopEngine();
      await Promise.allSettled(members.map((m) => m.stop()));
    },
  };
}

/** BALANCED_PROCESSES service processes on one database, HAProxy in front of them. */
export async function startBalanced(
  env: Readonly<Record<string, string>>,
  start: StartServer,
  startTimeoutMs: number,
): Promise<ServerProcess> {
  const members: ServerProcess[] = [];
  let haproxy: Haproxy | null = null;
  try {
    for (let i = 1; i <= BALANCED_PROCESSES; i++) {
      members.push(
        await start({ name: `balanced-${i}`, script: 'src/main.ts', env, startTimeoutMs }),
      );
    }
    const servers = members.map((m, i) => ({
      name: `s${i + 1}`,
      port: Number(new URL(m.url).port),
    }));
    haproxy = await startHaproxy(await freePort(), servers);
    await untilAllUp(haproxy, servers.length, startTimeoutMs);
    const proxy = haproxy;
    return composite('balanced', proxy.url, members, () => proxy.stop());
  } catch (error) {
    await haproxy?.stop();
    await Promise.allSettled(members.map((m) => m.stop()));
    throw error;
  }
}

/** HAProxy sends nothing to a server before its health checks pass. */
async function untilAllUp(haproxy: Haproxy, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let states: Record<string, string> = {};
  while (Date.now() < deadline) {
    states = await haproxy.states();
    if (Object.values(states).filter((s) => s === 'UP').length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new HarnessError(
    `HAProxy's servers not all UP within ${timeoutMs} ms: ${JSON.stringify(states)}`,
  );
}

/** One service process whose database is `databaseUrl` reached through PgBouncer. */
export async function startPooled(
  env: Readonly<Record<string, string>>,
  databaseUrl: string,
  start: StartServer,
  startTimeoutMs: number,
): Promise<ServerProcess> {
  const url = new URL(databaseUrl);
  const pgbouncer: Pgbouncer = await startPgbouncer(await freePort(), databaseUrl);
  try {
    const member = await start({
      name: 'pooled',
      script: 'src/main.ts',
      env: {
        ...env,
        DATABASE_URL: pgbouncer.url(decodeURIComponent(url.pathname.slice(1))),
        DATABASE_POOL_MODE: 'transaction',
      },
      startTimeoutMs,
    });
    return composite('pooled', member.url, [member], () => pgbouncer.stop());
  } catch (error) {
    await pgbouncer.stop();
    throw error;
  }
}

/** Per mode and load: req/s against the direct single process's in the same run, medians. */
export function renderScale(
  measurements: readonly { run: number; scenario: string; rps: number }[],
): string {
  const lines: string[] = [];
  for (const scenario of SCALE_SCENARIOS) {
    const ratios: number[] = [];
    for (const m of measurements.filter((x) => x.scenario === scenario.name)) {
      const twin = measurements.find((x) => x.run === m.run && x.scenario === scenario.baseline);
      if (twin) ratios.push(m.rps / twin.rps);
    }
    if (ratios.length === 0) continue;
    lines.push(
      `  ${scenario.name.padEnd(28)} ${median(ratios).toFixed(2)}× ${scenario.baseline} ` +
        `(per run: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    );
  }
  if (lines.length === 0) return '';
  return [
    'Scale-out, req/s against the same load on one process reached directly, in the same run ' +
      "(medians; HAProxy's and PgBouncer's own CPU count as bench+other above):",
    ...lines,
  ].join('\n');
}
