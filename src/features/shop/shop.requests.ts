// Owns what the shop accepts from clients: each body and header checked exactly (no type
// coercion: "10" is not 10), with a message that names the field and the rule it broke.
import { AppError } from '../../platform/errors.ts';
import { isWholeNumberText, JsonNumber } from '../../platform/http/json.ts';
import { codePointsWithin } from '../../platform/text.ts';
import {
  AMOUNT_MAX,
  AMOUNT_MIN,
  IDEMPOTENCY_KEY_LENGTH_MAX,
  PASSWORD_LENGTH_MAX,
  USERNAME_LENGTH_MAX,
} from './shop.catalog.ts';
import { shopErrors } from './shop.errors.ts';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface SendCoin {
  readonly toUser: string;
  readonly amount: number;
}

function invalid(message: string): AppError {
  return new AppError(shopErrors.INVALID_REQUEST, message);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/**
 * The control characters (C0, DEL and C1) as a range of a character class: they would make names
 * unprintable in histories and logs, and PostgreSQL's text rejects NUL outright.
 */
export const CONTROL_RANGE = '\\u0000-\\u001f\\u007f-\\u009f';
const CONTROL = new RegExp(`[${CONTROL_RANGE}]`);

function text(
  body: Record<string, unknown>,
  field: string,
  max: number,
  { controlAllowed }: { controlAllowed: boolean },
): string {
  const value = body[field];
  if (value === undefined) throw invalid(`${field} is required`);
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  if (value.length === 0) throw invalid(`${field} must not be empty`);
  if (!codePointsWithin(value, max)) throw invalid(`${field} must be at most ${max} characters`);
  // A lone surrogate has no UTF-8 form: stored, it would be mangled, and two names could meet.
  if (!value.isWellFormed()) throw invalid(`${field} must be valid Unicode text`);
  if (!controlAllowed && CONTROL.test(value)) {
    throw invalid(`${field} must not contain control characters`);
  }
  return value;
}

export function usernameOf(body: Record<string, unknown>, field: string): string {
  return text(body, field, USERNAME_LENGTH_MAX, { controlAllowed: false });
}

export function parseCredentials(body: unknown): Credentials {
  const fields = objectBody(body);
  return {
    username: usernameOf(fields, 'username'),
    password: text(fields, 'password', PASSWORD_LENGTH_MAX, { controlAllowed: true }),
  };
}

export function parseSendCoin(body: unknown): SendCoin {
  const fields = objectBody(body);
  const toUser = usernameOf(fields, 'toUser');
  const written = fields.amount;
  if (written === undefined) throw invalid('amount is required');
  // Written with a point or an exponent: whole only if its text is (the double may be rounded).
  const exact = !(written instanceof JsonNumber) || isWholeNumberText(written.source);
  const amount = written instanceof JsonNumber ? written.value : written;
  if (typeof amount !== 'number') throw invalid('amount must be a number');
  if (!exact || !Number.isInteger(amount) || amount < AMOUNT_MIN || amount > AMOUNT_MAX) {
    throw invalid(`amount must be a whole number from ${AMOUNT_MIN} to ${AMOUNT_MAX}`);
  }
  return { toUser, amount };
}

/** Printable ASCII, as in the IETF Idempotency-Key draft's examples (UUIDs, random tokens). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]+$/;

/** The Idempotency-Key header, or null when the client sent none. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (Array.isArray(header)) throw invalid('Idempotency-Key must be sent once');
  // The pattern needs one character at least: an empty key is refused by it.
  if (header.length > IDEMPOTENCY_KEY_LENGTH_MAX || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw invalid(
      `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters`,
    );
  }
  return header;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new AppError(shopErrors.TOKEN_MISSING);
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  if (!match)
    throw new AppError(shopErrors.TOKEN_INVALID, 'Authorization must be "Bearer <token>"');
  return match[1] as string;
}
