import { describe, expect, test } from 'vitest';
import { distinctHeader } from './headers.ts';

describe('distinctHeader', () => {
  test.for([
    { rawHeaders: [], expected: undefined },
    { rawHeaders: ['Host', 'x'], expected: undefined },
    { rawHeaders: ['Idempotency-Key', 'a'], expected: 'a' },
    { rawHeaders: ['idempotency-key', 'a, b'], expected: 'a, b' },
    {
      rawHeaders: ['IDEMPOTENCY-KEY', 'a', 'Host', 'x', 'idempotency-key', 'b'],
      expected: ['a', 'b'],
    },
    { rawHeaders: ['Idempotency-Key', '', 'Idempotency-Key', ''], expected: ['', ''] },
  ])('$rawHeaders → $expected', ({ rawHeaders, expected }) => {
    expect(distinctHeader({ rawHeaders }, 'Idempotency-Key')).toEqual(expected);
  });
});
