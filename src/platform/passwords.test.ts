import { availableParallelism } from 'node:os';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import {
  HASHES_IN_FLIGHT_MAX,
  hashPassword,
  PasswordHashing,
  partySlotsOf,
  verifyPassword,
} from './passwords.ts';

// The cheapest parameters keep these tests fast; the format and the checks are the same.
const CHEAP = { log2N: 4, blockSize: 8, parallelism: 1 };

describe('password hashes', () => {
  test('verify the password they were made from, and no other', async () => {
    const stored = await hashPassword('correct horse', CHEAP);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horse ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  test('are salted: one password never hashes the same way twice', async () => {
    const [a, b] = await Promise.all([hashPassword('same', CHEAP), hashPassword('same', CHEAP)]);
    expect(a).not.toBe(b);
  });

  test('use N = 2^16, r = 8, p = 1 by default, written into the stored value', async () => {
    expect(await hashPassword('x')).toMatch(/^\$scrypt\$ln=16,r=8,p=1\$[\w-]{22}\$[\w-]{43}$/);
  });

  test('compare composed and decomposed accents as the same password', async () => {
    const stored = await hashPassword('caf\u00e9', CHEAP);
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  test('refuse stored values of another format or with out-of-range costs', async () => {
    await expect(verifyPassword('x', 'plain')).rejects.toThrow(/unknown format/);
    await expect(verifyPassword('x', '$scrypt$ln=30,r=8,p=1$c2FsdA$a2V5')).rejects.toThrow(
      /out-of-range/,
    );
    await expect(verifyPassword('x', '$scrypt$ln=0,r=8,p=1$c2FsdA$a2V5')).rejects.toThrow(
      /out-of-range/,
    );
  });
});

describe('the password hashing queue', () => {
  /** Starts `count` hashes for `party` and records each outcome, in the order they settle. */
  function flood(hashing: PasswordHashing, party: string, count: number, settled: string[]) {
    return Array.from({ length: count }, (_, i) =>
      hashing.hash(`pw-${i}`, party).then(
        () => settled.push(`${party}${i}`),
        (error: Error) => settled.push(`${party}${i}:${error.name}`),
      ),
    );
  }

  test('runs at most inFlightMax at once, leaves one slot to other parties, and refuses at once beyond queueMax', async () => {
    const hashing = new PasswordHashing({ inFlightMax: 3, queueMax: 3, params: CHEAP });
    const settled: string[] = [];
    const all = flood(hashing, 'a', 7, settled);
    // One party holds all the slots but one.
    expect(hashing.running).toBe(2);
    expect(hashing.waiting).toBe(3);
    // The two beyond the bound were refused before anything ran.
    await Promise.resolve();
    expect(settled).toEqual(['a5:HashQueueFullError', 'a6:HashQueueFullError']);
    // Another party's check starts at once in the slot left free, ahead of a's queue.
    all.push(...flood(hashing, 'b', 1, settled));
    expect(hashing.running).toBe(3);
    expect(hashing.waiting).toBe(3);
    await Promise.all(all);
    expect(settled.filter((s) => !s.includes(':'))).toHaveLength(6);
    expect(hashing.running + hashing.waiting).toBe(0);
  });

  test('gives a freed slot to the waiting party holding the fewest, not to the oldest waiter', async () => {
    const hashing = new PasswordHashing({ inFlightMax: 1, queueMax: 10, params: CHEAP });
    const settled: string[] = [];
    const all = [...flood(hashing, 'a', 4, settled), ...flood(hashing, 'b', 2, settled)];
    await Promise.all(all);
    // a0 was running; then b and a take turns, so b never waits behind all of a's flood.
    expect(settled).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'a3']);
  });

  test('a newcomer takes the place of the newest job of the party with the most waiting', async () => {
    const hashing = new PasswordHashing({ inFlightMax: 1, queueMax: 3, params: CHEAP });
    const settled: string[] = [];
    const all = [...flood(hashing, 'a', 5, settled), ...flood(hashing, 'b', 2, settled)];
    await Promise.all(all);
    // a1–a3 filled the queue and a4 was refused; b0 took a3's place; b1 found b holding one
    // waiting place against a's two, so took a2's; a party cannot push out its own jobs.
    expect(settled.filter((s) => s.includes(':')).sort()).toEqual([
      'a2:HashQueueFullError',
      'a3:HashQueueFullError',
      'a4:HashQueueFullError',
    ]);
    expect(settled.filter((s) => !s.includes(':'))).toEqual(['a0', 'b0', 'a1', 'b1']);
  });

  test('with no queue at all, only inFlightMax run and the rest are refused', async () => {
    const hashing = new PasswordHashing({ inFlightMax: 1, queueMax: 0, params: CHEAP });
    const settled: string[] = [];
    await Promise.all([...flood(hashing, 'a', 2, settled), ...flood(hashing, 'b', 1, settled)]);
    expect(settled.sort()).toEqual(['a0', 'a1:HashQueueFullError', 'b0:HashQueueFullError']);
  });

  test('checks passwords in its turns, as verifyPassword does', async () => {
    const hashing = new PasswordHashing({ inFlightMax: 1, queueMax: 1, params: CHEAP });
    const stored = await hashing.hash('correct horse', 'a');
    expect(await hashing.verify('correct horse', stored, 'a')).toBe(true);
    expect(await hashing.verify('wrong', stored, 'a')).toBe(false);
    await expect(hashing.verify('x', 'plain', 'a')).rejects.toThrow(/unknown format/);
    // A failed check gives its slot back.
    expect(await hashing.verify('correct horse', stored, 'a')).toBe(true);
  });

  test('counts the hashes it started and refused in its metrics', async () => {
    const registry = new Registry();
    const hashing = new PasswordHashing({ inFlightMax: 1, queueMax: 0, params: CHEAP, registry });
    const results = await Promise.allSettled([hashing.hash('a', 'p'), hashing.hash('b', 'p')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    const text = await registry.metrics();
    expect(text).toMatch(/^password_hashes_total 1$/m);
    expect(text).toMatch(/^password_hash_refusals_total 1$/m);
    expect(text).toMatch(/^password_hash_queue\{state="running"\} 0$/m);
  });

  test('refuses nonsensical bounds', () => {
    expect(() => new PasswordHashing({ inFlightMax: 0, queueMax: 1 })).toThrow(RangeError);
    expect(() => new PasswordHashing({ queueMax: -1 })).toThrow(RangeError);
  });

  test('uses one slot per core by default, at most libuv’s four threads', () => {
    expect(HASHES_IN_FLIGHT_MAX).toBe(Math.max(1, Math.min(availableParallelism(), 4)));
    expect([1, 2, 3, 4].map(partySlotsOf)).toEqual([1, 1, 2, 3]);
  });
});
