import { describe, expect, test } from 'vitest';
import { createMemoryStore, MEMORY_CACHE_ENTRIES_MAX } from './scoring.store.ts';

describe('the in-process store', () => {
  test('forgets a cached value when its time to live has passed', async () => {
    let now = 1_000;
    const store = createMemoryStore([], () => now);
    await store.cacheSet('k', '3.5', 60);
    now += 59_999;
    expect(await store.cacheGet('k')).toBe('3.5');
    now += 1;
    expect(await store.cacheGet('k')).toBeNull();
  });

  test(`keeps at most ${MEMORY_CACHE_ENTRIES_MAX} cached values, dropping the oldest write`, async () => {
    const store = createMemoryStore();
    for (let i = 0; i <= MEMORY_CACHE_ENTRIES_MAX; i += 1) await store.cacheSet(`k${i}`, '1', 60);
    expect(await store.cacheGet('k0')).toBeNull();
    expect(await store.cacheGet('k1')).toBe('1');
    expect(await store.cacheGet(`k${MEMORY_CACHE_ENTRIES_MAX}`)).toBe('1');
  });

  test('serves its seed and what is put into it, one key or many', async () => {
    const store = createMemoryStore([['i:1', '["books"]']]);
    await store.putMany([['i:2', '["tv"]']]);
    expect(await store.get('i:1')).toBe('["books"]');
    expect(await store.getMany(['i:1', 'i:2', 'i:3'])).toEqual(['["books"]', '["tv"]', null]);
    expect(await store.health()).toEqual({ store: 'up', cache: 'up' });
  });
});
