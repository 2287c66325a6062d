// Owns the limits on password guessing: failed sign-ins counted per username and per client
// address (registrations of new names count on the address too), in fixed windows kept in the
// shop's database so that every process behind a balancer spends one budget; past a limit, a
// sign-in is refused with 429 and Retry-After before any password is hashed.
import { isIPv6 } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../platform/errors.ts';
import { shopErrors } from './shop.errors.ts';

/** One counter as read with the credentials: failures in its live window, and that window's end. */
export interface FailureCount {
  readonly failures: number;
  /** Seconds until the window ends; null when no window is live (no failures counted). */
  readonly secondsLeft: number | null;
}

export interface SignInCounts {
  readonly user: FailureCount;
  readonly address: FailureCount;
}

export const NO_FAILURES: FailureCount = Object.freeze({ failures: 0, secondsLeft: null });

export interface SignInLimitsOptions {
  /** Failed sign-ins of one username per window; the next attempt is refused. */
  readonly failuresPerUser: number;
  /** Failed sign-ins and registrations from one client address per window. */
  readonly failuresPerAddress: number;
  readonly windowSeconds: number;
  readonly registry?: Registry;
}

/**
 * Retry-After of an attempt refused only because this process's checks in flight for the same
 * username or address would reach the limit if they failed: they end within about a hash's time,
 * and then the stored count says whether the limit holds (and for how long).
 */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;
/** Retry-After when the password hashing queue is full: it drains by a few hashes per second. */
export const HASH_QUEUE_RETRY_AFTER_SECONDS = 1;
/**
 * IPv6 clients are counted by their /64 (four groups of 16 bits): one subscriber or host usually
 * holds a whole /64, so counting single addresses would give it 2^64 budgets.
 */
const IPV6_PREFIX_GROUPS = 4;
/** The address of a request whose socket is already gone (Node then reports none). */
const UNKNOWN_ADDRESS = 'unknown';

type Limit = 'user' | 'address';

interface Refusal {
  readonly limit: Limit;
  readonly retryAfterSeconds: number;
}

export class SignInLimits {
  readonly windowSeconds: number;
  readonly #max: Readonly<Record<Limit, number>>;
  /**
   * Checks that passed `admit` and have not ended, per `${limit}\0${key}`: they count as failures
   * until they end, so a burst of parallel guesses cannot all pass a count read before any of
   * them was recorded. An entry lives only while a check is in flight.
   */
  readonly #inFlight = new Map<string, number>();
  readonly #refusals: Counter<'reason'> | undefined;

  constructor(options: SignInLimitsOptions) {
    this.windowSeconds = options.windowSeconds;
    this.#max = { user: options.failuresPerUser, address: options.failuresPerAddress };
    this.#refusals = options.registry
      ? new Counter({
          name: 'shop_sign_in_refusals_total',
          help: 'Sign-ins refused with 429 before any password check: user and address are the failure limits, busy the full hashing queue',
          labelNames: ['reason'] as const,
          registers: [options.registry],
        })
      : undefined;
  }

  /**
   * Refuses (a 429 AppError) an attempt whose username (null for a name not registered yet, which
   * has no failures) or address is at its limit, counting this process's checks in flight;
   * otherwise counts the attempt as in flight until the returned function is called.
   */
  admit(username: string | null, address: string, counts: SignInCounts): () => void {
    const keys = [
      ...(username === null ? [] : [{ limit: 'user' as const, key: `user\0${username}` }]),
      { limit: 'address' as const, key: `address\0${address}` },
    ];
    let refusal: Refusal | null = null;
    for (const { limit, key } of keys) {
      const found = this.#refusalOf(limit, counts[limit], this.#inFlight.get(key) ?? 0);
      if (found && (!refusal || found.retryAfterSeconds > refusal.retryAfterSeconds)) {
        refusal = found;
      }
    }
    if (refusal) throw this.#refuse(refusal);
    for (const { key } of keys) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const { key } of keys) {
        const left = (this.#inFlight.get(key) ?? 1) - 1;
        if (left === 0) this.#inFlight.delete(key);
        else this.#inFlight.set(key, left);
      }
    };
  }

  /** The 429 for an attempt the password hashing queue had no room for. */
  busy(): AppError {
    this.#refusals?.inc({ reason: 'busy' });
    return new AppError(
      shopErrors.SIGN_IN_BUSY,
      `too many sign-ins are waiting for a password check; try again in ${HASH_QUEUE_RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: HASH_QUEUE_RETRY_AFTER_SECONDS },
    );
  }

  #refusalOf(limit: Limit, count: FailureCount, inFlight: number): Refusal | null {
    const max = this.#max[limit];
    if (count.failures >= max) {
      // The window's end, rounded up so that a retry at Retry-After is never early.
      const left = Math.ceil(count.secondsLeft ?? this.windowSeconds);
      return { limit, retryAfterSeconds: Math.min(this.windowSeconds, Math.max(1, left)) };
    }
    if (count.failures + inFlight >= max) {
      return { limit, retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS };
    }
    return null;
  }

  #refuse({ limit, retryAfterSeconds }: Refusal): AppError {
    this.#refusals?.inc({ reason: limit });
    const whose = limit === 'user' ? 'for this username' : 'from this address';
    return new AppError(
      shopErrors.SIGN_IN_LIMITED,
      `too many failed sign-ins ${whose}; try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }
}

/**
 * The key a client address is counted under: IPv4 as written (also when IPv4-mapped), IPv6 by its
 * /64. Behind a proxy this is the proxy's address unless Fastify is told to trust it.
 */
export function clientAddress(ip: string | undefined): string {
  if (ip === undefined || ip === '') return UNKNOWN_ADDRESS;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  return `${ipv6Groups(ip).slice(0, IPV6_PREFIX_GROUPS).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(ip: string): string[] {
  let text = ip.split('%')[0] as string; // a zone (fe80::1%eth0) is not part of the address
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros =
    tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) => parseInt(group, 16).toString(16));
}
