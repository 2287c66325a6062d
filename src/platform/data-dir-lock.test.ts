// The data directory's lock: one holder, refusals that name it, stale locks (a process gone, a
// reused pid, a restarted machine, a takeover cut short) taken over, and of starters racing one
// stale lock exactly one winning. Real files and real processes; nothing is simulated.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  acquireDataDirLock,
  DATA_DIR_LOCK_FILE,
  type DataDirLock,
  DataDirLockedError,
  type LockOwner,
} from './data-dir-lock.ts';

/** Longest a child process of these tests may take to start, race and report. */
const CHILD_WAIT_MS = 30_000;
/** Starters racing, and the stale locks they race for, one after another. */
const RACERS = 4;
const RACE_DIRECTORIES = 300;
/** Time between two races: the racers start each one together, on the clock. */
const RACE_SPACING_MS = 4;
/** Most a racer starts one race after the others, so that they are not all exactly in step. */
const RACE_JITTER_MS = 0.3;
/** How far ahead of now the racers are told to start, so that all are loaded by then. */
const RACE_START_DELAY_MS = 2_500;

const linux = existsSync('/proc/self/stat');
const bootId = linux ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : null;

const dirs: string[] = [];
const locks: DataDirLock[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const lock of locks.splice(0)) lock.release();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'data-dir-lock-'));
  dirs.push(dir);
  return dir;
}

function acquire(dir: string): DataDirLock {
  const lock = acquireDataDirLock(dir);
  locks.push(lock);
  return lock;
}

function record(overrides: Partial<LockOwner>): LockOwner {
  return {
    nonce: randomBytes(16).toString('hex'),
    pid: process.pid,
    hostname: hostname(),
    command: 'node src/main.ts',
    startedAt: '2025-01-01T00:00:00.000Z',
    bootId,
    startTicks: null,
    ...overrides,
  };
}

const write = (path: string, owner: LockOwner) => writeFileSync(path, JSON.stringify(owner));
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, DATA_DIR_LOCK_FILE), 'utf8'));

/** The pid of a process that has exited (and been reaped), so is gone from this host. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

/** What acquireDataDirLock threw. */
function refusal(dir: string): DataDirLockedError {
  try {
    acquire(dir);
  } catch (error) {
    if (error instanceof DataDirLockedError) return error;
    throw error;
  }
  throw new Error('the lock was taken');
}

test('takes a free directory, records its owner, refuses a second taker, and frees it on release', () => {
  const dir = dataDir();
  const lock = acquire(dir);
  expect(lock.file).toBe(join(dir, DATA_DIR_LOCK_FILE));
  expect(lockOf(dir)).toMatchObject({
    pid: process.pid,
    hostname: hostname(),
    nonce: lock.owner.nonce,
    bootId,
  });
  expect(lockOf(dir).command).toMatch(/^node /);
  expect(Date.parse(lockOf(dir).startedAt)).toBeGreaterThan(Date.now() - 60_000);
  if (linux) expect(lockOf(dir).startTicks).toMatch(/^\d+$/);

  // Also from this very process: a second PGlite on the same files is as bad as a second process.
  const refused = refusal(dir);
  expect(refused.message).toContain(`data directory ${dir} is in use by pid ${process.pid} (node `);
  expect(refused.holder?.nonce).toBe(lock.owner.nonce);
  expect(lockOf(dir).nonce).toBe(lock.owner.nonce);
  // Nothing but the lock is left behind by either.
  expect(readdirSync(dir)).toEqual([DATA_DIR_LOCK_FILE]);

  lock.release();
  expect(readdirSync(dir)).toEqual([]);
  lock.release();
  expect(acquire(dir).owner.nonce).not.toBe(lock.owner.nonce);
});

test('a lock whose process is gone from this host is taken over', async () => {
  const dir = dataDir();
  write(join(dir, DATA_DIR_LOCK_FILE), record({ pid: await deadPid() }));
  const lock = acquire(dir);
  expect(lockOf(dir)).toMatchObject({ nonce: lock.owner.nonce, pid: process.pid });
  expect(readdirSync(dir)).toEqual([DATA_DIR_LOCK_FILE]);
});

describe.skipIf(!linux)('on Linux, a live pid is not enough', () => {
  test('a pid now used by a process that started later does not hold the lock', () => {
    const dir = dataDir();
    // This process is alive, but it is not the one that took the lock: that one started earlier.
    write(join(dir, DATA_DIR_LOCK_FILE), record({ startTicks: '1' }));
    expect(acquire(dir).owner.pid).toBe(process.pid);
  });

  test('a lock taken before the machine restarted is stale, whatever its pid is now', () => {
    const dir = dataDir();
    write(join(dir, DATA_DIR_LOCK_FILE), record({ bootId: 'another-boot' }));
    expect(lockOf(dir).bootId).toBe('another-boot');
    expect(acquire(dir).owner.bootId).toBe(bootId);
  });

  test('the same pid with the same start holds it', () => {
    const dir = dataDir();
    const mine = acquire(dataDir()).owner;
    write(join(dir, DATA_DIR_LOCK_FILE), record({ startTicks: mine.startTicks }));
    expect(refusal(dir).holder?.startTicks).toBe(mine.startTicks);
  });
});

test('a lock from another host is refused, and left for a person to remove', async () => {
  const dir = dataDir();
  const file = join(dir, DATA_DIR_LOCK_FILE);
  write(file, record({ hostname: 'elsewhere', pid: await deadPid() }));
  const refused = refusal(dir);
  expect(refused.message).toContain('on host elsewhere');
  expect(refused.message).toContain(`if it has stopped, remove ${file}`);
  expect(lockOf(dir).hostname).toBe('elsewhere');
});

test.each([
  ['empty', ''],
  ['not JSON', 'pid=12'],
  ['JSON null', 'null'],
  ['a pid that would signal a process group', JSON.stringify(record({ pid: 0 }))],
  ['a nonce that is a path', JSON.stringify(record({ nonce: '../../escaped' }))],
  ['too large', JSON.stringify({ ...record({}), command: 'x'.repeat(5000) })],
])('an unreadable lock (%s) is refused and left in place', (_, text) => {
  const dir = dataDir();
  const file = join(dir, DATA_DIR_LOCK_FILE);
  writeFileSync(file, text);
  const refused = refusal(dir);
  expect(refused.message).toContain(`${dir} has a lock file that is not a lock`);
  expect(refused.holder).toBeNull();
  expect(readFileSync(file, 'utf8')).toBe(text);
  expect(readdirSync(dir)).toEqual([DATA_DIR_LOCK_FILE]);
});

test('a stale lock that a live process is taking over is refused, naming that process', async () => {
  const dir = dataDir();
  const file = join(dir, DATA_DIR_LOCK_FILE);
  const stale = record({ pid: await deadPid() });
  write(file, stale);
  const claimant = record({ command: 'node src/cli/migrate.ts' });
  write(`${file}.takeover.${stale.nonce}`, claimant);

  const refused = refusal(dir);
  expect(refused.holder?.nonce).toBe(claimant.nonce);
  expect(refused.message).toContain(`pid ${process.pid} (node src/cli/migrate.ts)`);
  // The claim stays: removing it would let a third starter claim the same stale lock again.
  expect(lockOf(dir).nonce).toBe(stale.nonce);
  expect(readdirSync(dir).sort()).toEqual(
    [DATA_DIR_LOCK_FILE, `${DATA_DIR_LOCK_FILE}.takeover.${stale.nonce}`].sort(),
  );
});

test('claims left by starters killed in the middle of a takeover do not block the next', async () => {
  const dir = dataDir();
  const file = join(dir, DATA_DIR_LOCK_FILE);
  const stale = record({ pid: await deadPid() });
  const first = record({ pid: await deadPid() });
  const second = record({ pid: await deadPid() });
  write(file, stale);
  write(`${file}.takeover.${stale.nonce}`, first);
  write(`${file}.takeover.${stale.nonce}.${first.nonce}`, second);

  const lock = acquire(dir);
  expect(lockOf(dir).nonce).toBe(lock.owner.nonce);
  expect(readdirSync(dir)).toEqual([DATA_DIR_LOCK_FILE]);
});

test('release leaves alone a lock that is no longer its own', () => {
  const dir = dataDir();
  const lock = acquire(dir);
  const other = record({ command: 'someone else' });
  write(lock.file, other);
  lock.release();
  expect(lockOf(dir).nonce).toBe(other.nonce);
});

/** A process that takes the lock of `dir` at `startAt`, says how it went, and holds it. */
function starter(dir: string, startAt: number, then: 'hold' | 'exit') {
  const script = `
    import { acquireDataDirLock } from ${JSON.stringify(new URL('./data-dir-lock.ts', import.meta.url).href)};
    const [dir, startAt, then] = process.argv.slice(1);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now() - 20)));
    while (Date.now() < Number(startAt)) {}
    let result;
    try {
      acquireDataDirLock(dir);
      result = { won: true };
    } catch (error) {
      result = { won: false, holder: error.holder?.pid ?? null, message: error.message };
    }
    process.stdout.write(JSON.stringify(result) + '\\n');
    if (then === 'exit' || !result.won) process.exit(0);
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', script, dir, String(startAt), then],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  // A starter that lost has exited already: ending its stdin may fail, harmlessly.
  child.stdin?.on('error', () => {});
  let stdout = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const result = new Promise<{ won: boolean; holder: number | null; message?: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no result in time')), CHILD_WAIT_MS);
      child.stdout?.on('data', () => {
        const line = stdout.split('\n')[0];
        if (stdout.includes('\n') && line) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
    },
  );
  return { child, exited, result };
}

test(
  'a normal exit releases the lock, and one left by kill -9 is taken over',
  async () => {
    const dir = dataDir();
    const clean = starter(dir, Date.now(), 'exit');
    expect(await clean.result).toEqual({ won: true });
    expect(await clean.exited).toBe(0);
    expect(readdirSync(dir)).toEqual([]);

    const killed = starter(dir, Date.now(), 'hold');
    expect(await killed.result).toEqual({ won: true });
    expect(lockOf(dir).pid).toBe(killed.child.pid);
    expect(refusal(dir).holder?.pid).toBe(killed.child.pid);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(lockOf(dir).pid).toBe(killed.child.pid);
    expect(acquire(dir).owner.pid).toBe(process.pid);
  },
  2 * CHILD_WAIT_MS,
);

/**
 * Writes `owner` to the FIFO at `path` once a reader opens it (never creating a file there), so a
 * starter blocked reading its lock sees exactly this; before the reader can see the end of it,
 * a fresh FIFO takes the path, so that its next read waits for the next feed. Settles false if
 * nobody read in time.
 */
async function feed(path: string, owner: LockOwner): Promise<boolean> {
  const opening = open(path, constants.O_WRONLY);
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), CHILD_WAIT_MS));
  const opened = await Promise.race([opening, timer]);
  if (opened === false) {
    // Unblock the open still waiting for a reader, so that it does not outlive the test.
    (await open(path, constants.O_RDONLY | constants.O_NONBLOCK)).close();
    await (await opening).close();
    return false;
  }
  const fresh = join(dataDir(), 'fifo');
  execFileSync('mkfifo', [fresh]);
  renameSync(fresh, path);
  await opened.writeFile(JSON.stringify(owner));
  await opened.close();
  return true;
}

test(
  'a stale lock replaced by another starter just before this one replaces it is left alone',
  async () => {
    const dir = dataDir();
    const file = join(dir, DATA_DIR_LOCK_FILE);
    // The lock is a FIFO: each time the starter reads it, it waits for what the test writes.
    execFileSync('mkfifo', [file]);
    const stale = record({ pid: await deadPid() });
    const replacement = record({ command: 'node src/main.ts, the faster starter' });
    const slower = starter(dir, Date.now(), 'exit');

    // It reads the lock, finds it stale, claims it, and reads it again before replacing it: by
    // then the faster starter has replaced it (and removed its claim), so this one must not.
    expect(await feed(file, stale)).toBe(true);
    expect(await feed(file, replacement)).toBe(true);
    // It looks again, and finds the directory held.
    expect(await feed(file, replacement)).toBe(true);
    expect(await slower.result).toMatchObject({ won: false, holder: process.pid });
    expect((await slower.result).message).toContain('the faster starter');
    expect(await slower.exited).toBe(0);
    expect(lstatSync(file).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual([DATA_DIR_LOCK_FILE]);
  },
  4 * CHILD_WAIT_MS,
);

/**
 * A process that races for each of `count` data directories under `base` in turn, the i-th at
 * `startAt + i * RACE_SPACING_MS` plus up to RACE_JITTER_MS on the shared clock, holds what it
 * won, and reports which it won. Timing decides these races, so this is a coarse check of
 * "exactly one wins"; the interleaving that matters most is forced by the FIFO test above.
 */
function racer(base: string, count: number, startAt: number) {
  const script = `
    import { acquireDataDirLock } from ${JSON.stringify(new URL('./data-dir-lock.ts', import.meta.url).href)};
    const [base, count, startAt, spacing, jitter] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
    const now = () => performance.timeOrigin + performance.now();
    const won = [];
    for (let i = 0; i < count; i += 1) {
      // Racers exactly in step act alike; the unsafe interleavings need one a little behind.
      const at = startAt + i * spacing + Math.random() * jitter;
      if (at - now() > 20) await new Promise((resolve) => setTimeout(resolve, at - now() - 20));
      while (now() < at) {}
      try {
        acquireDataDirLock(base + '/' + i);
        won.push(i);
      } catch (error) {
        if (error.name !== 'DataDirLockedError') throw error;
      }
    }
    process.stdout.write(JSON.stringify(won) + '\\n');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      script,
      base,
      String(count),
      String(startAt),
      String(RACE_SPACING_MS),
      String(RACE_JITTER_MS),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  child.stdin?.on('error', () => {});
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const won = new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no result in time')), CHILD_WAIT_MS);
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      clearTimeout(timer);
      resolve(JSON.parse(stdout));
    });
  });
  return { child, exited, won };
}

test(
  `of ${RACERS} starters racing for each of ${RACE_DIRECTORIES} stale locks, exactly one wins each`,
  async () => {
    const base = dataDir();
    const gone = await deadPid();
    for (let i = 0; i < RACE_DIRECTORIES; i += 1) {
      mkdirSync(join(base, String(i)));
      write(join(base, String(i), DATA_DIR_LOCK_FILE), record({ pid: gone }));
    }
    const startAt = Date.now() + RACE_START_DELAY_MS;
    const racers = Array.from({ length: RACERS }, () => racer(base, RACE_DIRECTORIES, startAt));
    const won = await Promise.all(racers.map((r) => r.won));
    const winners = Array.from({ length: RACE_DIRECTORIES }, (_, i) =>
      racers.filter((_, r) => won[r]?.includes(i)).map((r) => r.child.pid),
    );
    expect(winners.filter((pids) => pids.length !== 1)).toEqual([]);
    for (let i = 0; i < RACE_DIRECTORIES; i += 1) {
      expect(lockOf(join(base, String(i))).pid).toBe(winners[i]?.[0]);
    }
    for (const r of racers) r.child.stdin?.end();
    expect(await Promise.all(racers.map((r) => r.exited))).toEqual(racers.map(() => 0));
    // Each winner released its locks on exit, and nobody left a claim or a half-made record.
    for (let i = 0; i < RACE_DIRECTORIES; i += 1)
      expect(readdirSync(join(base, String(i)))).toEqual([]);
  },
  2 * CHILD_WAIT_MS,
);
