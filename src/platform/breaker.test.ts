import { describe, expect, test } from 'vitest';
import { type BreakerState, CircuitBreaker } from './breaker.ts';

const COOLDOWN_MS = 100;
const COOLDOWN_MAX_MS = 700;

/** A breaker on a clock the test moves by hand, recording every state change. */
function breakerOnFakeClock() {
  const clock = { now: 1_000_000 };
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker({
    cooldownMs: COOLDOWN_MS,
    cooldownMaxMs: COOLDOWN_MAX_MS,
    now: () => clock.now,
    onStateChange: (state) => changes.push(state),
  });
  const advance = (ms: number) => {
    clock.now += ms;
  };
  return { breaker, changes, advance };
}

/** Fails the granted probe, then returns how long the breaker stays open before the next one. */
function cooldownAfterFailedProbe(breaker: CircuitBreaker, advance: (ms: number) => void): number {
  expect(breaker.state).toBe('half-open');
  breaker.failure();
  expect(breaker.state).toBe('open');
  let waited = 0;
  while (breaker.tryAcquire() === 'reject') {
    advance(1);
    waited += 1;
    if (waited > COOLDOWN_MAX_MS * 2) throw new Error('breaker never granted a probe');
  }
  expect(breaker.state).toBe('half-open');
  return waited;
}

describe('CircuitBreaker', () => {
  test('starts closed and lets every call through', () => {
    const { breaker, changes } = breakerOnFakeClock();
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 5; i++) expect(breaker.tryAcquire()).toBe('use');
    expect(changes).toEqual([]);
  });

  test('opens on a single failure', () => {
    const { breaker } = breakerOnFakeClock();
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  test('rejects every call during the cooldown', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    expect(breaker.tryAcquire()).toBe('reject');
    advance(COOLDOWN_MS - 1);
    expect(breaker.tryAcquire()).toBe('reject');
    expect(breaker.state).toBe('open');
  });

  test('grants exactly one probe once the cooldown is over, and rejects the others', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toBe('probe');
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe('reject');
    advance(COOLDOWN_MAX_MS * 10);
    expect(breaker.tryAcquire()).toBe('reject');
  });

  test('closes after a successful probe and lets calls through again', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toBe('probe');
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe('use');
    expect(breaker.tryAcquire()).toBe('use');
  });

  test('doubles the cooldown after each failed probe, up to the ceiling', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toBe('probe');
    const waits = Array.from({ length: 5 }, () => cooldownAfterFailedProbe(breaker, advance));
    expect(waits).toEqual([200, 400, COOLDOWN_MAX_MS, COOLDOWN_MAX_MS, COOLDOWN_MAX_MS]);
  });

  test('a success resets the cooldown to its first value', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toBe('probe');
    cooldownAfterFailedProbe(breaker, advance);
    cooldownAfterFailedProbe(breaker, advance);
    breaker.success();
    breaker.failure();
    advance(COOLDOWN_MS - 1);
    expect(breaker.tryAcquire()).toBe('reject');
    advance(1);
    expect(breaker.tryAcquire()).toBe('probe');
  });

  test('a failure while closed opens for the first cooldown, not a doubled one', () => {
    const { breaker, advance } = breakerOnFakeClock();
    breaker.failure();
    advance(COOLDOWN_MS);
    breaker.tryAcquire();
    breaker.success();
    breaker.failure();
    advance(COOLDOWN_MS);
    expect(breaker.tryAcquire()).toBe('probe');
  });

  test('reports each transition once, in order', () => {
    const { breaker, changes, advance } = breakerOnFakeClock();
    breaker.failure();
    breaker.failure();
    breaker.tryAcquire();
    advance(COOLDOWN_MS);
    breaker.tryAcquire();
    breaker.tryAcquire();
    breaker.failure();
    advance(COOLDOWN_MS * 2);
    breaker.tryAcquire();
    breaker.success();
    breaker.success();
    breaker.tryAcquire();
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('uses Date.now when no clock is given', () => {
    const breaker = new CircuitBreaker({ cooldownMs: 60_000, cooldownMaxMs: 60_000 });
    breaker.failure();
    expect(breaker.tryAcquire()).toBe('reject');
  });
});
