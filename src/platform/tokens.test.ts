import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createTokens, developmentSecret } from './tokens.ts';

const SECRET = 'unit-test-secret-of-32-characters!!';
const tokens = createTokens({ secret: SECRET, ttlSeconds: 3600 });

afterEach(() => {
  vi.useRealTimers();
});

describe('tokens', () => {
  test('carry the user id and name, and expire after the configured time', () => {
    const token = tokens.issue({ userId: 42, username: 'alice' });
    expect(tokens.verify(token)).toEqual({ userId: 42, username: 'alice' });
    const [, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(3600);
  });

  test('refuse a token signed with another secret, or tampered with', () => {
    const other = createTokens({ secret: `${SECRET}-other`, ttlSeconds: 60 });
    expect(tokens.verify(other.issue({ userId: 1, username: 'a' }))).toBe('invalid');
    const [header, , signature] = tokens.issue({ userId: 1, username: 'a' }).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: '2', name: 'b', exp: 9e9 })).toString(
      'base64url',
    );
    expect(tokens.verify(`${header}.${forged}.${signature}`)).toBe('invalid');
  });

  test('a token verified before is refused once it expires, and only the exact token is known', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const shortLived = createTokens({ secret: SECRET, ttlSeconds: 2 });
    const token = shortLived.issue({ userId: 7, username: 'bob' });
    expect(shortLived.verify(token)).toEqual({ userId: 7, username: 'bob' });
    expect(shortLived.verify(token)).toEqual({ userId: 7, username: 'bob' });
    // One character of the signature changed: not the remembered token, and not valid.
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    expect(shortLived.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`)).toBe('invalid');
    vi.advanceTimersByTime(3_000);
    expect(shortLived.verify(token)).toBe('expired');
  });

  test('refuse an expired token as expired', () => {
    const sign = createSigner({ key: SECRET, expiresIn: 1000, clockTimestamp: Date.now() - 5000 });
    expect(tokens.verify(sign({ sub: '1', name: 'a' }))).toBe('expired');
  });

  test('refuse other algorithms, even with the right secret', () => {
    const hs512 = createSigner({ key: SECRET, algorithm: 'HS512', expiresIn: 60_000 });
    expect(tokens.verify(hs512({ sub: '1', name: 'a' }))).toBe('invalid');
    const none = createSigner({ algorithm: 'none', expiresIn: 60_000 });
    expect(tokens.verify(none({ sub: '1', name: 'a' }))).toBe('invalid');
  });

  test.for([
    { sub: '0', name: 'a' },
    { sub: '-1', name: 'a' },
    { sub: '1.5', name: 'a' },
    { sub: 1, name: 'a' },
    { sub: '1', name: 7 },
    { sub: '1' },
  ])('refuse claims that do not name a user — %o', (claims) => {
    const sign = createSigner({ key: SECRET, expiresIn: 60_000 });
    expect(tokens.verify(sign(claims))).toBe('invalid');
  });
});

describe('the development secret', () => {
  test('is generated once, readable by its owner only, and kept across calls', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coinworks-secret-'));
    try {
      const first = developmentSecret(join(dir, 'data'));
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(developmentSecret(join(dir, 'data'))).toBe(first);
      expect(statSync(join(dir, 'data', 'jwt-secret')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses a kept secret shorter than 32 characters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coinworks-secret-'));
    try {
      writeFileSync(join(dir, 'jwt-secret'), 'short');
      expect(() => developmentSecret(dir)).toThrow(/shorter than 32 characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
