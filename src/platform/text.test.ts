import { expect } from 'vitest';
import { cases } from '../../test/support/cases.ts';
import { codePointsWithin } from './text.ts';

cases(
  'counts code points',
  [
    ['abc', 3, true],
    ['abcd', 3, false],
    ['😀😀😀', 3, true],
    ['😀😀😀😀', 3, false],
    ['', 0, true],
    ['é', 1, true],
  ] as const,
  ([text, max, within]) => {
    expect(codePointsWithin(text, max)).toBe(within);
  },
);
