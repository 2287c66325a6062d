// A bounded concurrent load of real requests for the fault tests: a fixed number of clients, each
// sending one request after another until it has sent its share, the load's time is up or the test
// stops it. Every request is recorded with its answer (or how it failed without one) and the
// moments it started and ended, so that a test can tell which requests were in flight when it
// broke something, and which of them may or may not have been applied.
import { type Answer, parseExact, type Send } from './wallets.ts';

/**
 * How a request without an answer failed: `refused` never reached the service (nothing can have
 * been applied); `reset` lost its connection after it was sent and `timeout` got no answer in
 * time, so either may have been applied.
 */
export type Failure = 'refused' | 'reset' | 'timeout';

export interface LoadLimits {
  /** Concurrent clients, each with one request in flight at a time. */
  readonly clients: number;
  /** Requests each client sends at most. */
  readonly requestsPerClientMax: number;
  /** The load stops after this long, whatever is left to send. */
  readonly durationMaxMs: number;
}

export interface Sent<R> {
  readonly request: R;
  /** performance.now() when the request was started. */
  readonly startedAt: number;
  /** performance.now() when its answer or failure came; null while it is in flight. */
  endedAt: number | null;
  answer: Answer | null;
  failure: Failure | null;
  /** The failure's error code (ECONNRESET, UND_ERR_SOCKET, …), for the report. */
  cause: string | null;
}

/**
 * A client's pause after a request failed without an answer, so that clients of a service that
 * is down wait for it instead of spinning through their share of requests.
 */
export const FAILURE_PAUSE_MS = 100;
/** How often `untilCount` looks again. */
const POLL_MS = 10;

export interface Load<R> {
  /** Every request started so far, in the order they started. */
  readonly sent: readonly Sent<R>[];
  /** The requests started and not yet answered or failed. */
  inFlight(): Sent<R>[];
  /** Asks every client to stop after its current request. */
  stop(): void;
  /** Settles when every client has stopped. */
  readonly done: Promise<void>;
}

/**
 * Starts `limits.clients` clients; client `c` sends `next(c, i)` as its i-th request with `send`.
 * An error `send` throws is recorded as the request's failure and never stops the load.
 */
export function startLoad<R>(
  limits: LoadLimits,
  next: (client: number, index: number) => R,
  send: (request: R) => Promise<Answer>,
): Load<R> {
  const sent: Sent<R>[] = [];
  const deadline = performance.now() + limits.durationMaxMs;
  let stopped = false;
  const client = async (c: number) => {
    for (let i = 0; i < limits.requestsPerClientMax; i += 1) {
      if (stopped || performance.now() >= deadline) return;
      const record: Sent<R> = {
        request: next(c, i),
        startedAt: performance.now(),
        endedAt: null,
        answer: null,
        failure: null,
        cause: null,
      };
      sent.push(record);
      try {
        record.answer = await send(record.request);
      } catch (error) {
        record.failure = failureOf(error);
        record.cause = codeOf(error);
      }
      record.endedAt = performance.now();
      if (record.failure) await sleep(FAILURE_PAUSE_MS);
    }
  };
  const done = Promise.all(Array.from({ length: limits.clients }, (_, c) => client(c))).then(
    () => {},
  );
  return {
    sent,
    inFlight: () => sent.filter((s) => s.endedAt === null),
    stop: () => {
      stopped = true;
    },
    done,
  };
}

/**
 * Requests over real sockets to `baseUrl`, each given up on after `timeoutMs`, so a load can never
 * hang on a request that is never answered. A failure without an answer is thrown, as fetch does.
 */
export function timedSocketSender(baseUrl: string, timeoutMs: number): Send {
  return async ({ method, url, body, headers }) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      text,
      json: () => parseExact(text),
    };
  };
}

/** Waits until `count()` reaches `target`, looking every few milliseconds; false if it did not in time. */
export async function untilCount(
  count: () => number,
  target: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (count() < target) {
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** The error code of a failed fetch: its own, or its cause's (fetch wraps socket errors). */
function codeOf(error: unknown): string {
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    const { code, name } = cause as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError') return name;
    cause = (cause as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}

function failureOf(error: unknown): Failure {
  const code = codeOf(error);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'TimeoutError') return 'timeout';
  return 'reset';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
