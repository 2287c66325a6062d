// Owns password storage: scrypt from node:crypto, run on libuv's thread pool so that hashing never
// blocks the event loop, in a self-describing format so that parameters can be raised later
// without invalidating the hashes already stored; and the bounded, fair queue in front of it, so
// that a flood of hashes from one client neither waits without end nor makes others wait behind it.
import assert from 'node:assert/strict';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  readonly log2N: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

/**
 * N = 2^16, r = 8, p = 1: 64 MiB and about 120 ms per hash on the reference 2-core machine,
 * four times Node's default cost. Recent successful logins are remembered by the shop (see
 * shop.auth.ts), so this cost is paid once per user and process, not per login.
 */
export const SCRYPT_DEFAULTS: ScryptParameters = { log2N: 16, blockSize: 8, parallelism: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on parameters read back from storage, so that a corrupt row cannot exhaust memory. */
const LOG2N_MAX = 20;
const BLOCK_SIZE_MAX = 32;
const PARALLELISM_MAX = 16;

function derive(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.log2N;
  const options = {
    N,
    r: params.blockSize,
    p: params.parallelism,
    maxmem: 2 * 128 * N * params.blockSize + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `$scrypt$ln=16,r=8,p=1$<salt>$<key>`, salt and key in unpadded base64. */
export async function hashPassword(
  password: string,
  params: ScryptParameters = SCRYPT_DEFAULTS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  const settings = `ln=${params.log2N},r=${params.blockSize},p=${params.parallelism}`;
  return `$scrypt$${settings}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const ENCODED = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([\w-]+)\$([\w-]+)$/;

/** True when `password` matches `encoded`; throws on a stored value this module did not write. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = ENCODED.exec(encoded);
  assert(match, 'stored password hash has an unknown format');
  const params = {
    log2N: Number(match[1]),
    blockSize: Number(match[2]),
    parallelism: Number(match[3]),
  };
  assert(
    params.log2N >= 1 &&
      params.log2N <= LOG2N_MAX &&
      params.blockSize >= 1 &&
      params.blockSize <= BLOCK_SIZE_MAX &&
      params.parallelism >= 1 &&
      params.parallelism <= PARALLELISM_MAX,
    'stored password hash has out-of-range parameters',
  );
  const expected = Buffer.from(match[5] as string, 'base64url');
  const key = await derive(password, Buffer.from(match[4] as string, 'base64url'), params);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** libuv's thread pool when UV_THREADPOOL_SIZE is not set; it also serves file and DNS work. */
const LIBUV_THREADS_DEFAULT = 4;

/**
 * Hashes one process computes at once: one per core, at most libuv's default pool. More would
 * finish no sooner on the same cores and slow each other down: three 64 MiB scrypts at once on
 * two busy cores took 2.2 times as long each as one alone, two at once 1.2 to 1.5 times.
 */
export const HASHES_IN_FLIGHT_MAX = Math.max(
  1,
  Math.min(availableParallelism(), LIBUV_THREADS_DEFAULT),
);

/**
 * How many of `inFlightMax` slots one party may hold: all but one (of one, that one), as the
 * database's write slots are shared among features. While one client floods the queue, another's
 * check starts at once in the slot left free, next to one hash fewer: its median sign-in under a
 * flood took 1.0–1.2 times its idle time, against 1.2–1.65 when a party could take every slot
 * (it then waited for one to end) and 1.5–2.05 with one slot more than cores (measured on two
 * cores). The cost: a client alone hashes on all the cores but one.
 */
export function partySlotsOf(inFlightMax: number): number {
  return Math.max(1, inFlightMax - 1);
}

/** Thrown when a hash would have to wait and the queue is full: answer at once, do not wait. */
export class HashQueueFullError extends Error {
  override name = 'HashQueueFullError';
}

interface Job {
  readonly party: string;
  readonly start: () => void;
  readonly refuse: (error: Error) => void;
}

export interface PasswordHashingOptions {
  /** Hashes that may wait for a slot; beyond it a new one fails with HashQueueFullError. */
  readonly queueMax: number;
  /** Hashes run at once (HASHES_IN_FLIGHT_MAX by default); one party holds all but one. */
  readonly inFlightMax?: number;
  /** The cost of new hashes (stored ones carry their own). */
  readonly params?: ScryptParameters;
  readonly registry?: Registry;
}

/**
 * Hashes and checks passwords at most `inFlightMax` at a time, with at most `queueMax` waiting,
 * shared fairly among parties (the shop's: client addresses). One party holds at most all the
 * slots but one, so a party that floods the queue always leaves a slot free for another's check;
 * a freed slot goes to the waiting party that holds the fewest (among equals, the one served
 * longest ago); and when the queue is full, a newcomer whose party has fewer waiting than the
 * party with the most takes the place of that party's newest job (which fails instead), so one
 * party alone can never keep the others out of a full queue.
 */
export class PasswordHashing {
  readonly #inFlightMax: number;
  readonly #partyMax: number;
  readonly #queueMax: number;
  readonly #params: ScryptParameters;
  #running = 0;
  #waiting = 0;
  /** Slots held per party; a party holding none is absent. */
  readonly #runningBy = new Map<string, number>();
  /** Each party's waiting jobs, oldest first; a party with none is absent. */
  readonly #waitingBy = new Map<string, Job[]>();
  /** When each party running or waiting last had a job started (by #starts), to break ties. */
  readonly #lastStartBy = new Map<string, number>();
  #starts = 0;
  readonly #started: Counter | undefined;
  readonly #refused: Counter | undefined;

  constructor(options: PasswordHashingOptions) {
    const inFlightMax = options.inFlightMax ?? HASHES_IN_FLIGHT_MAX;
    if (!Number.isInteger(inFlightMax) || inFlightMax < 1) {
      throw new RangeError(`password hashing: inFlightMax ${inFlightMax} < 1`);
    }
    if (!Number.isInteger(options.queueMax) || options.queueMax < 0) {
      throw new RangeError(`password hashing: queueMax ${options.queueMax} < 0`);
    }
    this.#inFlightMax = inFlightMax;
    this.#partyMax = partySlotsOf(inFlightMax);
    this.#queueMax = options.queueMax;
    this.#params = options.params ?? SCRYPT_DEFAULTS;
    const registers = options.registry ? [options.registry] : [];
    if (options.registry) {
      this.#started = new Counter({
        name: 'password_hashes_total',
        help: 'Password hashes and checks started (each one scrypt)',
        registers,
      });
      this.#refused = new Counter({
        name: 'password_hash_refusals_total',
        help: 'Password hashes and checks refused because the hashing queue was full',
        registers,
      });
      const self = this;
      new Gauge({
        name: 'password_hash_queue',
        help: 'Password hashes and checks: running, and waiting for a slot',
        labelNames: ['state'] as const,
        registers,
        collect() {
          this.set({ state: 'running' }, self.running);
          this.set({ state: 'waiting' }, self.waiting);
        },
      });
    }
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** A new stored hash of `password` (see hashPassword), computed in `party`'s turn. */
  hash(password: string, party: string): Promise<string> {
    return this.#run(party, () => hashPassword(password, this.#params));
  }

  /** Whether `password` matches `encoded` (see verifyPassword), checked in `party`'s turn. */
  verify(password: string, encoded: string, party: string): Promise<boolean> {
    return this.#run(party, () => verifyPassword(password, encoded));
  }

  #run<T>(party: string, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        party,
        start: () => {
          this.#started?.inc();
          work()
            .then(resolve, reject)
            .finally(() => this.#finish(party));
        },
        refuse: reject,
      };
      // Nobody waits while a slot is free to this party: whoever waits, waits for a slot of
      // their own party's share.
      if (this.#mayStart(party)) return this.#start(job);
      if (this.#waiting >= this.#queueMax && !this.#makeRoomFor(party)) {
        this.#refused?.inc();
        return reject(this.#full());
      }
      const queue = this.#waitingBy.get(party);
      if (queue) queue.push(job);
      else this.#waitingBy.set(party, [job]);
      this.#waiting += 1;
    });
  }

  #full(): HashQueueFullError {
    return new HashQueueFullError(
      `${this.#waiting} password checks are waiting already (the most allowed)`,
    );
  }

  /** Refuses the newest job of the party with the most waiting, if `party` has fewer. */
  #makeRoomFor(party: string): boolean {
    const own = this.#waitingBy.get(party)?.length ?? 0;
    let longest: Job[] | undefined;
    for (const queue of this.#waitingBy.values()) {
      if (queue.length > (longest?.length ?? own)) longest = queue;
    }
    const evicted = longest?.pop();
    if (!longest || !evicted) return false;
    if (longest.length === 0) {
      this.#waitingBy.delete(evicted.party);
      if (!this.#runningBy.has(evicted.party)) this.#lastStartBy.delete(evicted.party);
    }
    this.#waiting -= 1;
    this.#refused?.inc();
    evicted.refuse(this.#full());
    return true;
  }

  #mayStart(party: string): boolean {
    return this.#running < this.#inFlightMax && (this.#runningBy.get(party) ?? 0) < this.#partyMax;
  }

  #start(job: Job): void {
    this.#running += 1;
    this.#runningBy.set(job.party, (this.#runningBy.get(job.party) ?? 0) + 1);
    this.#starts += 1;
    this.#lastStartBy.set(job.party, this.#starts);
    job.start();
  }

  #finish(party: string): void {
    this.#running -= 1;
    const left = (this.#runningBy.get(party) ?? 1) - 1;
    if (left === 0) this.#runningBy.delete(party);
    else this.#runningBy.set(party, left);
    if (left === 0 && !this.#waitingBy.has(party)) this.#lastStartBy.delete(party);
    // The waiting party holding the fewest slots goes next (if it may hold one more); among
    // equals, the one whose last job started longest ago.
    let next: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    let oldest = Number.POSITIVE_INFINITY;
    for (const waitingParty of this.#waitingBy.keys()) {
      if (!this.#mayStart(waitingParty)) continue;
      const held = this.#runningBy.get(waitingParty) ?? 0;
      const lastStart = this.#lastStartBy.get(waitingParty) ?? 0;
      if (held < fewest || (held === fewest && lastStart < oldest)) {
        next = waitingParty;
        fewest = held;
        oldest = lastStart;
      }
    }
    if (next === undefined) return;
    const queue = this.#waitingBy.get(next) as Job[];
    const job = queue.shift() as Job;
    if (queue.length === 0) this.#waitingBy.delete(next);
    this.#waiting -= 1;
    this.#start(job);
  }
}
