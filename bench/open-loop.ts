// Owns the fixed-rate (open-loop) load: requests start on a schedule whatever the answers do, and
// each latency runs from the request's scheduled start, so that time spent queued counts.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoopbackClient, Outcome } from './http-client.ts';

/** One request of the load; `kind` groups latencies (e.g. info, buy, send) in the result. */
export interface OpenLoopRequest {
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface OpenLoopOptions {
  readonly ratePerSecond: number;
  readonly seconds: number;
  readonly next: () => OpenLoopRequest;
  /** Kept across calls so that a series of steps does not pay for new connections each time. */
  readonly client: LoopbackClient;
  /** Requests that would exceed this many in flight are not sent, and count as failures. */
  readonly inFlightMax: number;
  /** After the last scheduled start, how long answers still in flight are awaited. */
  readonly drainTimeoutMs: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p99_9: number;
  readonly max: number;
}

export interface OpenLoopResult {
  readonly ratePerSecond: number;
  readonly seconds: number;
  readonly scheduled: number;
  readonly sent: number;
  /** Answered with 200. */
  readonly ok: number;
  /** Answered with any other status. */
  readonly non200: number;
  /** Connection errors, and requests still unanswered when the drain timed out. */
  readonly errors: number;
  /** Not sent because inFlightMax requests were already waiting. */
  readonly overflow: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly errorMessages: readonly string[];
  /** Answered (any status) per second of the schedule. */
  readonly answeredPerSecond: number;
  /**
   * Requests the generator took in hand (sent, or dropped over the in-flight bound) per second,
   * from the first scheduled start to the last actual one: below the rate, it fell behind.
   */
  readonly issuedPerSecond: number;
  /** How late the generator sent requests after their scheduled start: its own backlog. */
  readonly sendLagMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Share of the generator's event loop that was busy (0–1). */
  readonly eventLoopUtilization: number;
  /**
   * How long the generator's event loop was blocked at a time (its own garbage collection, or no
   * core free): answers that arrive meanwhile are timed late, by up to this much.
   */
  readonly generatorLoopDelayMs: { readonly p99: number; readonly max: number };
  readonly inFlightPeak: number;
  /** From each request's scheduled start to the end of its answer; answered requests only. */
  readonly latencyMs: LatencySummary;
  /** From each request's actual start: what the service (and the sockets) took, lag excluded. */
  readonly sentToAnswerMs: LatencySummary;
  readonly latencyByKindMs: Readonly<Record<string, LatencySummary>>;
}

/** How often the scheduler wakes to send the requests that fell due; Node timers go down to 1 ms. */
const TICK_MS = 1;
const ERROR_MESSAGES_KEPT = 5;
/** The sampling of the generator's own event-loop delay. */
const LOOP_DELAY_RESOLUTION_MS = 1;

export function summarise(latencies: Float64Array, count: number): LatencySummary {
  const sorted = latencies.slice(0, count).sort();
  const at = (q: number) =>
    count === 0 ? Number.NaN : (sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] ?? 0);
  return {
    count,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p99_9: at(0.999),
    max: count === 0 ? Number.NaN : (sorted[count - 1] ?? 0),
  };
}

/** Runs one fixed-rate load; resolves when every request was answered or the drain timed out. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { ratePerSecond, seconds, client, inFlightMax } = options;
  const total = Math.max(1, Math.round(ratePerSecond * seconds));
  const intervalMs = 1_000 / ratePerSecond;
  // Preallocated, and bounded by rate × seconds: nothing grows with the service's behaviour.
  const latencies = new Float64Array(total);
  const sentToAnswer = new Float64Array(total);
  const lags = new Float64Array(total);
  const kindOf = new Array<string>(total);
  let answered = 0;
  let sent = 0;
  let ok = 0;
  let non200 = 0;
  let errors = 0;
  let overflow = 0;
  let inFlight = 0;
  let inFlightPeak = 0;
  let lastIssuedAt = 0;
  // Answers still counted: after the drain timeout, late ones are ignored (already errors).
  let counting = true;
  const statusCodes: Record<string, number> = {};
  const errorMessages: string[] = [];
  let drained: (() => void) | null = null;

  const fire = (scheduledAt: number) => {
    const spec = options.next();
    const startedAt = performance.now();
    lags[sent] = startedAt - scheduledAt;
    sent += 1;
    inFlight += 1;
    if (inFlight > inFlightPeak) inFlightPeak = inFlight;
    client.request(spec, (outcome: Outcome) => {
      if (!counting) return;
      inFlight -= 1;
      if ('error' in outcome) {
        errors += 1;
        if (errorMessages.length < ERROR_MESSAGES_KEPT) errorMessages.push(outcome.error.message);
      } else {
        const { status } = outcome;
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status === 200) ok += 1;
        else non200 += 1;
        const now = performance.now();
        latencies[answered] = now - scheduledAt;
        sentToAnswer[answered] = now - startedAt;
        kindOf[answered] = spec.kind;
        answered += 1;
      }
      if (inFlight === 0 && drained) drained();
    });
  };

  const elu0 = performance.eventLoopUtilization();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const t0 = performance.now() + TICK_MS;
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      for (; issued < due; issued += 1) {
        if (inFlight >= inFlightMax) overflow += 1;
        else fire(t0 + issued * intervalMs);
        lastIssuedAt = performance.now();
      }
      if (issued < total) setTimeout(tick, TICK_MS);
      else resolve();
    };
    setTimeout(tick, TICK_MS);
  });
  const scheduleEnd = t0 + total * intervalMs;
  const elu = performance.eventLoopUtilization(elu0);
  loopDelay.disable();

  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => {
        drained = resolve;
      }),
      sleep(options.drainTimeoutMs),
    ]);
  }
  // Whatever is still unanswered counts as an error; its connection is closed so nothing leaks.
  counting = false;
  if (inFlight > 0) {
    errors += inFlight;
    if (errorMessages.length < ERROR_MESSAGES_KEPT) {
      errorMessages.push(`${inFlight} unanswered after ${options.drainTimeoutMs} ms`);
    }
    client.closeAll(new Error('unanswered at the end of the step'));
  }

  const byKind: Record<string, number[]> = {};
  for (let i = 0; i < answered; i++) {
    const kind = kindOf[i] ?? '?';
    const values = byKind[kind] ?? [];
    values.push(latencies[i] ?? 0);
    byKind[kind] = values;
  }
  const lagSummary = summarise(lags, sent);
  const scheduleMs = scheduleEnd - t0;
  return {
    ratePerSecond,
    seconds,
    scheduled: total,
    sent,
    ok,
    non200,
    errors,
    overflow,
    statusCodes,
    errorMessages,
    answeredPerSecond: answered / (scheduleMs / 1_000),
    // The last request is due one interval before the schedule ends: a punctual generator scores
    // exactly the scheduled rate, a late one less.
    issuedPerSecond: (sent + overflow) / ((Math.max(lastIssuedAt - t0, 0) + intervalMs) / 1_000),
    sendLagMs: { p50: lagSummary.p50, p99: lagSummary.p99, max: lagSummary.max },
    eventLoopUtilization: elu.utilization,
    // The histogram reads nanoseconds, and includes the sampling interval itself.
    generatorLoopDelayMs: {
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    },
    inFlightPeak,
    latencyMs: summarise(latencies, answered),
    sentToAnswerMs: summarise(sentToAnswer, answered),
    latencyByKindMs: Object.fromEntries(
      Object.entries(byKind).map(([kind, values]) => [
        kind,
        summarise(Float64Array.from(values), values.length),
      ]),
    ),
  };
}
