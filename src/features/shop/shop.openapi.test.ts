// The shop's documented name and password schemas against shop.requests.ts: a JSON Schema
// validator's reading of them (the `pattern` with the `u` flag, lengths in code points) takes
// exactly the strings parseCredentials takes.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AppError } from '../../platform/errors.ts';
import { PASSWORD_LENGTH_MAX, USERNAME_LENGTH_MAX } from './shop.catalog.ts';
import { passwordSchema, usernameSchema } from './shop.openapi.ts';
import { parseCredentials } from './shop.requests.ts';

/** Whether a string is valid against a string schema, as JSON Schema reads it. */
function documented(schema: typeof usernameSchema | typeof passwordSchema, text: string): boolean {
  const length = [...text].length;
  return (
    length >= schema.minLength &&
    length <= schema.maxLength &&
    new RegExp(schema.pattern, 'u').test(text)
  );
}

function taken(username: string, password: string): boolean {
  try {
    parseCredentials({ username, password });
    return true;
  } catch (error) {
    if (error instanceof AppError) return false;
    throw error;
  }
}

/** Characters at the edges of the rules, and arbitrary ones (surrogates halves included). */
const character = fc.oneof(
  fc.constantFrom('a', ' ', '\u0000', '\u001f', '\u007f', '\u0080', '\u009f', '\u00a0', 'é'),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '😀', '\u2028', '\ufeff'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const texts = (max: number) =>
  fc.oneof(
    fc.string({ unit: character, maxLength: 4 }),
    fc.string({ unit: character, minLength: max - 2, maxLength: max + 2 }),
  );

describe('Credentials', () => {
  test('the username schema takes exactly the names parseCredentials takes', () => {
    fc.assert(
      fc.property(texts(USERNAME_LENGTH_MAX), (username) => {
        expect({ username, documented: documented(usernameSchema, username) }).toEqual({
          username,
          documented: taken(username, 'password'),
        });
      }),
      { numRuns: 3_000 },
    );
  });

  test('the password schema takes exactly the passwords parseCredentials takes', () => {
    fc.assert(
      fc.property(texts(PASSWORD_LENGTH_MAX), (password) => {
        expect({ password, documented: documented(passwordSchema, password) }).toEqual({
          password,
          documented: taken('name', password),
        });
      }),
      { numRuns: 3_000 },
    );
  });
});
