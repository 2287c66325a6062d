import { describe, expect, test } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.ts';

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
