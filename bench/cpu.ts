// Owns the CPU accounting of a load step: how many cores the service, PostgreSQL, the bench
// itself and the rest of the machine used, read from Linux's /proc (empty elsewhere), so that a
// missed target can be placed on the service's event loop, the database or the load generator.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/** Linux reports process and system times in USER_HZ ticks, 100 per second on every port. */
const TICKS_PER_SECOND = 100;

/** User and kernel time, in ticks. */
interface Ticks {
  readonly user: number;
  readonly system: number;
}

export interface CpuSnapshot {
  readonly at: number;
  readonly service: Ticks;
  /** Per process, so that a backend that ends mid-step does not take its lifetime off the sum. */
  readonly postgres: ReadonlyMap<number, Ticks>;
  /** The machine's busy ticks, summed over all cores. */
  readonly machineBusy: number;
  /** This process, in microseconds (process.cpuUsage). */
  readonly benchMicros: number;
}

/** Cores used on average between two snapshots (2.0 = both cores of a 2-core machine). */
export interface CpuShares {
  readonly service: number;
  readonly postgres: number;
  /**
   * The kernel's part of the two above: system calls, and on loopback the whole TCP path of
   * every message sent, so it grows with round trips rather than with work done.
   */
  readonly serviceSystem: number;
  readonly postgresSystem: number;
  readonly bench: number;
  /** Everything else: Redis, the other servers, other work on the machine (tests, builds). */
  readonly other: number;
  readonly machine: number;
  readonly cores: number;
}

const NO_TICKS: Ticks = { user: 0, system: 0 };

function processTicks(pid: number): Ticks {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return { user: Number(fields[11] ?? 0), system: Number(fields[12] ?? 0) };
  } catch {
    return NO_TICKS;
  }
}

/**
 * The server's own processes (checkpointer, WAL writer …) and the backends connected to
 * `database`; backends of other databases (another engineer's tests) count as "other".
 */
function postgresTicks(database: string): Map<number, Ticks> {
  const found = new Map<number, Ticks>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      // A backend titles itself "postgres: [cluster: ]user database host(port) activity".
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const client = / (\S+) \S+\(\d+\) /.exec(title);
      if (client === null || client[1] === database) {
        found.set(Number(entry), processTicks(Number(entry)));
      }
    } catch {
      // the process ended between the listing and the read
    }
  }
  return found;
}

/**
 * The ticks the processes spent between the snapshots: a process that started meanwhile counts
 * whole, one that ended meanwhile is missing (its last moments are lost; a pool rarely ends one).
 */
function postgresDelta(before: CpuSnapshot, after: CpuSnapshot): Ticks {
  let user = 0;
  let system = 0;
  for (const [pid, ticks] of after.postgres) {
    const earlier = before.postgres.get(pid) ?? NO_TICKS;
    user += ticks.user - earlier.user;
    system += ticks.system - earlier.system;
  }
  return { user, system };
}

function machineBusyTicks(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const numbers = values.map(Number);
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    const idle = (numbers[3] ?? 0) + (numbers[4] ?? 0);
    return numbers.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
  } catch {
    return 0;
  }
}

/** `servicePids`: the processes of the service measured (two behind a load balancer), summed. */
export function cpuSnapshot(servicePids: readonly number[], database: string): CpuSnapshot {
  const usage = process.cpuUsage();
  const service = servicePids
    .map(processTicks)
    .reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), NO_TICKS);
  return {
    at: performance.now(),
    service,
    postgres: postgresTicks(database),
    machineBusy: machineBusyTicks(),
    benchMicros: usage.user + usage.system,
  };
}

export function cpuShares(before: CpuSnapshot, after: CpuSnapshot): CpuShares {
  const seconds = (after.at - before.at) / 1_000 || 1;
  const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
  const serviceSystem = cores(after.service.system - before.service.system);
  const postgresTime = postgresDelta(before, after);
  const postgresSystem = cores(postgresTime.system);
  const service = cores(after.service.user - before.service.user) + serviceSystem;
  const postgres = cores(postgresTime.user) + postgresSystem;
  const bench = (after.benchMicros - before.benchMicros) / 1e6 / seconds;
  const machine = cores(after.machineBusy - before.machineBusy);
  return {
    service,
    postgres,
    serviceSystem,
    postgresSystem,
    bench,
    other: Math.max(0, machine - service - postgres - bench),
    machine,
    cores: cpus().length,
  };
}
