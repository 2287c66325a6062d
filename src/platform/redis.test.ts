import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cases } from '../../test/support/cases.ts';
import { CLUSTER_SLOTS, keySlot, RedisLink, type RedisTarget } from './redis.ts';

describe('keySlot', () => {
  // Each answered by CLUSTER KEYSLOT of Redis 7.0.
  cases(
    'computes the slot Redis computes',
    [
      ['123456789', 12739],
      ['foo', 12182],
      ['bar', 5061],
      ['hello', 866],
      ['', 0],
      ['i:1', 2518],
      ['i:2', 14773],
      ['uid:abc', 9074],
      ['Анна', 10182],
      ['{user1000}.following', 3443],
      ['{user1000}.followers', 3443],
      // An empty first tag hashes the whole key; the tag ends at the first } after the first {.
      ['foo{}{bar}', 8363],
      ['foo{{bar}}zap', 4015],
      ['foo{bar}{zap}', 5061],
      ['{', 4092],
      ['}{x}', 16287],
      ['a{b', 13340],
    ] as const,
    ([key, slot]) => {
      expect(keySlot(key)).toBe(slot);
    },
  );

  test('is a slot, and a key with a tag shares the slot of the tag alone', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ minLength: 1, unit: 'grapheme' }).filter((t) => !t.includes('}')),
        fc.string({ unit: 'grapheme' }),
        (before, tag, after) => {
          const plain = keySlot(before);
          expect(Number.isInteger(plain) && plain >= 0 && plain < CLUSTER_SLOTS).toBe(true);
          if (!before.includes('{'))
            expect(keySlot(`${before}{${tag}}${after}`)).toBe(keySlot(tag));
        },
      ),
    );
  });
});

describe('RedisLink.group', () => {
  const linkTo = (target: RedisTarget, keyPrefix = '') =>
    new RedisLink({ target, name: 'test', connectTimeoutMs: 10, commandTimeoutMs: 10, keyPrefix });
  const keys = ['i:1', 'i:2', 'i:3', 'i:1000', 'i:42'];

  test('takes all keys together on one server, directly or through Sentinel', () => {
    const all = [{ key: 'i:1', parts: [[0, 1, 2, 3, 4]] }];
    expect(linkTo('redis://127.0.0.1:6379').group(keys)).toEqual(all);
    const sentinel: RedisTarget = {
      kind: 'sentinel',
      sentinels: [{ host: 's', port: 1 }],
      masterName: 'm',
    };
    expect(linkTo(sentinel).group(keys)).toEqual(all);
  });

  test('splits the keys per slot on a Cluster (before the slots are known, in one group)', () => {
    const prefix = 'p:';
    const groups = linkTo({ kind: 'cluster', nodes: [{ host: 'n', port: 1 }] }, prefix).group(keys);
    expect(groups).toHaveLength(1);
    const parts = groups[0]?.parts ?? [];
    expect(parts.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    for (const part of parts) {
      const slots = new Set(part.map((i) => keySlot(prefix + keys[i])));
      expect(slots.size).toBe(1);
    }
    const slotsOfParts = parts.map((part) => keySlot(prefix + keys[part[0] ?? 0]));
    expect(new Set(slotsOfParts).size).toBe(parts.length);
  });

  test('groups nothing for no keys', () => {
    expect(linkTo({ kind: 'cluster', nodes: [{ host: 'n', port: 1 }] }).group([])).toEqual([]);
    expect(linkTo('redis://127.0.0.1:6379').group([])).toEqual([]);
  });
});
