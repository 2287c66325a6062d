import { describe, expect, test } from 'vitest';
import { ExpiringMap } from './expiring-map.ts';

describe('ExpiringMap', () => {
  test('an entry lives until its own expiry, and is gone from that moment', () => {
    let now = 1_000;
    const map = new ExpiringMap<string, number>(10, () => now);
    map.set('a', 1, 1_500);
    map.set('b', 2, 3_000);
    now = 1_499;
    expect([map.get('a'), map.get('b')]).toEqual([1, 2]);
    now = 1_500;
    expect([map.get('a'), map.get('b')]).toEqual([undefined, 2]);
    expect(map.size).toBe(1);
  });

  test('past its limit it forgets the least recently used first', () => {
    const map = new ExpiringMap<string, number>(3, () => 0);
    for (const [i, key] of ['a', 'b', 'c'].entries()) map.set(key, i, 10);
    expect(map.get('a')).toBe(0); // now the most recently used: 'b' is the oldest
    map.set('d', 3, 10);
    expect(map.size).toBe(3);
    expect([map.get('a'), map.get('b'), map.get('c'), map.get('d')]).toEqual([0, undefined, 2, 3]);
  });

  test('setting a key again replaces its value and expiry', () => {
    let now = 0;
    const map = new ExpiringMap<string, number>(2, () => now);
    map.set('a', 1, 10);
    map.set('a', 2, 20);
    now = 15;
    expect(map.get('a')).toBe(2);
    expect(map.size).toBe(1);
  });

  test('setting a key again makes it the most recently used', () => {
    const map = new ExpiringMap<string, number>(2, () => 0);
    map.set('a', 1, 10);
    map.set('b', 2, 10);
    map.set('a', 3, 10); // now the most recently used: 'b' is the oldest
    map.set('c', 4, 10);
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([3, undefined, 4]);
  });

  test('a limit of 0 remembers nothing', () => {
    const map = new ExpiringMap<string, number>(0, () => 0);
    map.set('a', 1, 10);
    expect([map.get('a'), map.size]).toEqual([undefined, 0]);
  });
});
