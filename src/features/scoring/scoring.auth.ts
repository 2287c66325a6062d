// Owns the scoring API's authentication: a token derived from account and login with a salt, or
// for the admin login, from the current hour with the admin salt.
import { createHash, timingSafeEqual } from 'node:crypto';

export const ADMIN_LOGIN = 'admin';

export interface Salts {
  readonly salt: string;
  readonly adminSalt: string;
}

export interface Credentials {
  readonly account: string | null;
  readonly login: string | null;
  readonly token: string | null;
}

/** Text is hashed, and tokens compared, as UTF-8 (Node's default for strings). */
function sha512Hex(text: string): string {
  return createHash('sha512').update(text).digest('hex');
}

/** YYYYMMDDHH on the server's local clock, as the course template computed it. */
function hourStamp(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}${pad(now.getHours())}`;
}

export function userToken(account: string | null, login: string | null, salt: string): string {
  return sha512Hex(`${account ?? ''}${login ?? ''}${salt}`);
}

export function adminToken(now: Date, adminSalt: string): string {
  return sha512Hex(hourStamp(now) + adminSalt);
}

export function isAdmin(credentials: Credentials): boolean {
  return credentials.login === ADMIN_LOGIN;
}

export function isAuthenticated(credentials: Credentials, salts: Salts, now: Date): boolean {
  const expected = isAdmin(credentials)
    ? adminToken(now, salts.adminSalt)
    : userToken(credentials.account, credentials.login, salts.salt);
  const given = Buffer.from(credentials.token ?? '');
  const wanted = Buffer.from(expected);
  // The expected length is public (128 hex digits); only the comparison must not leak.
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
