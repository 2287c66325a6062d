// The wallets' documented schemas against wallet.requests.ts: the amount's text pattern takes
// exactly the strings parseOperation takes as an amount, at the bounds and on arbitrary input.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import { amountSchema } from './wallet.openapi.ts';
import {
  AMOUNT_TEXT_DIGITS_MAX,
  MONEY_MAX,
  parseOperation,
  WalletValidationError,
} from './wallet.requests.ts';

const pattern = new RegExp(amountSchema.anyOf[1].pattern, 'u');

/** Whether parseOperation takes the string as an operation's amount. */
function taken(amount: string): boolean {
  try {
    parseOperation({ operation_type: 'DEPOSIT', amount });
    return true;
  } catch (error) {
    if (error instanceof WalletValidationError) return false;
    throw error;
  }
}

const max = MONEY_MAX.toString();
const padded = (digits: string, total: number) => digits.padStart(total, '0');

describe('the amount written as a string', () => {
  cases(
    'is documented exactly at its bounds',
    [
      '1',
      '0',
      '-1',
      '+1',
      '-0',
      '+0',
      max,
      (MONEY_MAX + 1n).toString(),
      (MONEY_MAX - 1n).toString(),
      `+${max}`,
      padded('1', AMOUNT_TEXT_DIGITS_MAX),
      padded('1', AMOUNT_TEXT_DIGITS_MAX + 1),
      padded(max, AMOUNT_TEXT_DIGITS_MAX),
      padded(max, AMOUNT_TEXT_DIGITS_MAX + 1),
      `+${padded('9', AMOUNT_TEXT_DIGITS_MAX)}`,
      '9'.repeat(max.length),
      '1'.repeat(max.length + 1),
      ' 1',
      '1 ',
      '1.0',
      '1e3',
      '',
      '+',
      '١',
    ],
    (text) => {
      expect({ text, documented: pattern.test(text) }).toEqual({ text, documented: taken(text) });
    },
  );

  test('is documented exactly for arbitrary numbers, signs and leading zeros', () => {
    const texts = fc
      .tuple(
        fc.constantFrom('', '+', '-'),
        fc.nat({ max: AMOUNT_TEXT_DIGITS_MAX }),
        fc.oneof(
          fc.bigInt({ min: 0n, max: 1_000n }),
          fc.bigInt({ min: MONEY_MAX - 1_000n, max: MONEY_MAX + 1_000n }),
          fc.bigInt({ min: 0n, max: MONEY_MAX * 10n }),
        ),
      )
      .map(([sign, zeros, n]) => `${sign}${'0'.repeat(zeros)}${n}`);
    fc.assert(
      fc.property(texts, (text) => {
        expect({ text, documented: pattern.test(text) }).toEqual({ text, documented: taken(text) });
      }),
      { numRuns: 2_000 },
    );
  });
});
