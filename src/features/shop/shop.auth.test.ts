import { describe, expect, test } from 'vitest';
import { VerifiedPasswords } from './shop.auth.ts';

describe('VerifiedPasswords', () => {
  test('remembers a verified password for its time to live', () => {
    let now = 1_000;
    const verified = new VerifiedPasswords(60_000, 10, () => now);
    verified.remember(1, '$hash', 'pw');
    expect(verified.has(1, '$hash', 'pw')).toBe(true);
    now += 59_999;
    expect(verified.has(1, '$hash', 'pw')).toBe(true);
    now += 1;
    expect(verified.has(1, '$hash', 'pw')).toBe(false);
  });

  test('matches only the same user, stored hash and password', () => {
    const verified = new VerifiedPasswords(60_000, 10);
    verified.remember(1, '$hash', 'pw');
    expect(verified.has(2, '$hash', 'pw')).toBe(false);
    expect(verified.has(1, '$new-hash', 'pw')).toBe(false);
    expect(verified.has(1, '$hash', 'pw2')).toBe(false);
  });

  test('keeps at most its limit, forgetting the oldest first', () => {
    const verified = new VerifiedPasswords(60_000, 3);
    for (const id of [1, 2, 3, 4]) verified.remember(id, '$h', 'pw');
    expect(verified.size).toBe(3);
    expect(verified.has(1, '$h', 'pw')).toBe(false);
    expect(verified.has(4, '$h', 'pw')).toBe(true);
  });

  test('remembers nothing when disabled by a zero limit or time to live', () => {
    for (const verified of [new VerifiedPasswords(0, 10), new VerifiedPasswords(60_000, 0)]) {
      verified.remember(1, '$h', 'pw');
      expect(verified.has(1, '$h', 'pw')).toBe(false);
    }
  });
});
