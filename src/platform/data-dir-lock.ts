// Owns the lock that makes one process the only user of an embedded data directory: PGlite has
// one writer per directory and checks nothing itself, so a second process on the same files
// answered writes that were lost once both stopped. The lock is a file in the directory naming
// its owner (pid, host, start, command); a lock whose owner is gone from this host is stale and
// is taken over, by one starter only. The one platform module that reads `process`: a lock names
// and checks processes.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';

/**
 * The lock file, in the data directory. Its neighbours `<this>.<nonce>.new` (an owner's record
 * being written) and `<this>.takeover.…` (claims on a stale lock) live only for a moment.
 */
export const DATA_DIR_LOCK_FILE = 'coinworks.lock';

/** Longest command line a lock records; the rest is cut, so a lock stays a small file. */
const COMMAND_LENGTH_MAX = 512;

/**
 * Largest lock file read. A lock is well under 1 KiB; anything bigger is not one of ours, and is
 * reported as unreadable rather than read whole.
 */
const LOCK_FILE_BYTES_MAX = 4096;

/**
 * Times one start looks at the lock again when it changed under it (released, or taken over by
 * another starter) before giving up. Each look is a few system calls and nobody waits, so a
 * handful is plenty: a lock that keeps changing means starters keep racing, and one has won.
 */
const ACQUIRE_ATTEMPTS_MAX = 8;

/**
 * Claims one takeover may chain through (see takeOver): each link is a starter that died in the
 * microseconds between claiming a stale lock and replacing it.
 */
const TAKEOVER_CHAIN_MAX = 16;

/** A nonce: 16 random bytes in hex. Checked on every record read, as it becomes a file name. */
const NONCE_PATTERN = /^[0-9a-f]{32}$/;

/** Who holds a data directory, as its lock file records it. */
export interface LockOwner {
  /** Unique to one acquisition, so no two locks are ever alike (see takeOver). */
  readonly nonce: string;
  readonly pid: number;
  readonly hostname: string;
  /** The owner's command line (cut at COMMAND_LENGTH_MAX characters). */
  readonly command: string;
  /** When the lock was taken (as its owner started), ISO 8601. */
  readonly startedAt: string;
  /** Linux: the kernel's boot id and the process's start time in clock ticks since boot. */
  readonly bootId: string | null;
  readonly startTicks: string | null;
}

export interface DataDirLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Removes the lock if it is still this one's; safe to call more than once. */
  release(): void;
}

/** The directory is another process's (or its lock cannot be read); nothing was touched. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly directory: string;
  /** The process holding it; null when the lock cannot be read or kept changing. */
  readonly holder: LockOwner | null;
  constructor(message: string, directory: string, holder: LockOwner | null) {
    super(message);
    this.directory = directory;
    this.holder = holder;
  }
}

/**
 * Takes the lock of `dataDir` (which must exist) for this process, or throws DataDirLockedError
 * naming the directory and its holder. The lock is released by release(), or when the process
 * exits normally; one left by a crash or kill -9 is stale and the next start takes it over.
 *
 * A lock file appears whole: the owner's record is written and flushed to a file of its own,
 * then hard-linked to the lock's name. link() fails with EEXIST when the name exists, so of two
 * starters only one gets it, and nobody ever reads a half-written lock (open('wx') then write
 * leaves a moment where the file is empty, and an empty lock could be neither trusted nor
 * removed).
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const directory = resolve(dataDir);
  const file = join(directory, DATA_DIR_LOCK_FILE);
  const owner = describeThisProcess(randomBytes(16).toString('hex'));
  const staged = `${file}.${owner.nonce}.new`;
  writeWhole(staged, `${JSON.stringify(owner)}\n`);
  try {
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt += 1) {
      try {
        linkSync(staged, file);
        return held(file, owner);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const holder = readOwner(file);
      if (holder === 'missing') continue; // released meanwhile: try again
      if (holder === 'unreadable') throw unreadable(directory, file);
      const state = stateOf(holder);
      if (state !== 'gone') throw lockedBy(directory, file, holder, state);
      const outcome = takeOver(file, staged, holder);
      if (outcome === 'taken') return held(file, owner);
      // Another starter is taking the stale lock over, and will hold the directory.
      if (outcome !== 'changed') throw lockedBy(directory, file, outcome, stateOf(outcome));
    }
    throw new DataDirLockedError(
      `data directory ${directory} is being taken by other processes starting at the same time ` +
        `(its lock ${file} kept changing); only one of them can use it`,
      directory,
      null,
    );
  } finally {
    removeIfPresent(staged);
  }
}

/**
 * Replaces the stale lock `stale` with this process's record (staged), unless another starter
 * does. Two starters may both judge a lock stale; if each simply removed it and created its own
 * (as PostgreSQL does with postmaster.pid, which it backs with a second check on shared memory),
 * the slower one would remove the faster one's fresh lock, and both would run.
 *
 * So the right to replace a stale lock is claimed first, by creating (link(), exclusive) a claim
 * file whose name carries the stale lock's nonce: nonces are never reused, so each stale lock
 * can be claimed once. The claimant then checks that the lock still is that stale one (only a
 * claimant may replace it, so it cannot change after this check) and renames its record over
 * it: rename() replaces a file in one step, so the lock never goes missing.
 *
 * A claimant killed between claiming and renaming would leave the claim forever: its claim
 * names it (the claim is a link of its record), and when it is gone from this host the claim is
 * claimed in turn, by a file named after both nonces; these chain at most TAKEOVER_CHAIN_MAX
 * times. A claim held by a live process means that process is taking the directory over: this
 * start refuses, naming it.
 *
 * The alternative of renaming the stale lock away to a private name is not safe: the lock seen
 * as stale may have been replaced by a live one just before the rename, which would then move
 * the live lock away, and putting it back races a third starter.
 */
function takeOver(file: string, staged: string, stale: LockOwner): 'taken' | 'changed' | LockOwner {
  // Claims of dead claimants passed on the way, and this start's own once it has made it.
  const claims: string[] = [];
  let claim = `${file}.takeover.${stale.nonce}`;
  for (let depth = 0; ; depth += 1) {
    if (depth >= TAKEOVER_CHAIN_MAX) return 'changed';
    try {
      linkSync(staged, claim);
      claims.push(claim);
      break;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const claimant = readOwner(claim);
    // Removed by a claimant that has replaced the lock, or a claim that is not a record.
    if (claimant === 'missing' || claimant === 'unreadable') return 'changed';
    if (stateOf(claimant) !== 'gone') return claimant;
    claims.push(claim);
    claim = `${file}.takeover.${stale.nonce}.${claimant.nonce}`;
  }
  const current = readOwner(file);
  const still = typeof current !== 'string' && current.nonce === stale.nonce;
  if (still) renameSync(staged, file);
  // The lock is no longer `stale` now, so its claims protect nothing. (Not before: while it is,
  // a removed claim could be made again by another starter, and two would replace it.)
  for (const made of claims) removeIfPresent(made);
  return still ? 'taken' : 'changed';
}

/** Whether `owner` is still running: here, on another host (unknowable), or gone. */
function stateOf(owner: LockOwner): 'alive' | 'elsewhere' | 'gone' {
  if (owner.hostname !== hostname()) return 'elsewhere';
  const bootId = readBootId();
  // The machine restarted since the lock was taken: every process of that boot is gone, and its
  // pid may well belong to another process now.
  if (owner.bootId !== null && bootId !== null && owner.bootId !== bootId) return 'gone';
  if (!processExists(owner.pid)) return 'gone';
  // The pid is taken by a process that started later: after a container restarts, the service
  // often gets the very pid it had before, or one its neighbours have.
  if (owner.startTicks !== null && bootId !== null) {
    const ticks = readStartTicks(owner.pid);
    if (ticks !== null && ticks !== owner.startTicks) return 'gone';
  }
  return 'alive';
}

function processExists(pid: number): boolean {
  try {
    // Signal 0 only checks. readOwner accepts positive pids only: kill(0) and kill(-1) would
    // address a process group and every process.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    if (errorCode(error) === 'ESRCH') return false;
    return true;
  }
}

function held(file: string, owner: LockOwner): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const current = readOwner(file);
    // Nobody replaces a live owner's lock, but a lock removed and taken by hand is not ours.
    if (typeof current !== 'string' && current.nonce === owner.nonce) removeIfPresent(file);
  };
  process.once('exit', release);
  return { file, owner, release };
}

function describeThisProcess(nonce: string): LockOwner {
  const bootId = readBootId();
  return {
    nonce,
    pid: process.pid,
    hostname: hostname(),
    command: [basename(process.argv0), ...process.argv.slice(1)]
      .join(' ')
      .slice(0, COMMAND_LENGTH_MAX),
    startedAt: new Date().toISOString(),
    bootId,
    startTicks: bootId === null ? null : readStartTicks(process.pid),
  };
}

/** Writes a new file and flushes it, so that a lock linked to it has its content after a crash. */
function writeWhole(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readOwner(path: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(LOCK_FILE_BYTES_MAX + 1);
      let length = 0;
      while (length < buffer.length) {
        const read = readSync(fd, buffer, length, buffer.length - length, null);
        if (read === 0) break;
        length += read;
      }
      if (length > LOCK_FILE_BYTES_MAX) return 'unreadable';
      text = buffer.subarray(0, length).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const optional = (v: unknown) => v === null || typeof v === 'string';
    if (
      typeof value.nonce === 'string' &&
      NONCE_PATTERN.test(value.nonce) &&
      Number.isSafeInteger(value.pid) &&
      (value.pid as number) > 0 &&
      typeof value.hostname === 'string' &&
      typeof value.command === 'string' &&
      typeof value.startedAt === 'string' &&
      optional(value.bootId) &&
      optional(value.startTicks)
    ) {
      return value as unknown as LockOwner;
    }
  } catch {
    // Not JSON: reported below.
  }
  return 'unreadable';
}

/** Linux's id of this boot; null where there is none (then pids alone are checked). */
function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Linux: when `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function readStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain anything, spaces included.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function lockedBy(
  directory: string,
  file: string,
  holder: LockOwner,
  state: 'alive' | 'elsewhere' | 'gone',
): DataDirLockedError {
  const who = `pid ${holder.pid} (${holder.command}) on host ${holder.hostname}, since ${holder.startedAt}`;
  const advice =
    state === 'elsewhere'
      ? `this host cannot check that process: if it has stopped, remove ${file}`
      : 'stop it first, or give this process another DATA_DIR';
  return new DataDirLockedError(
    `data directory ${directory} is in use by ${who}; embedded mode allows one process per ` +
      `data directory (for several, use DATABASE_URL): ${advice}`,
    directory,
    holder,
  );
}

function unreadable(directory: string, file: string): DataDirLockedError {
  return new DataDirLockedError(
    `data directory ${directory} has a lock file that is not a lock this service wrote (${file}); ` +
      'if no process uses the directory, remove it',
    directory,
    null,
  );
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}
