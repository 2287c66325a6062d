// Owns the shop's error catalogue. The contract allows only 400, 401 and 500, so every refusal
// of a request is one of those, except sign-ins refused before any password check (429, with
// Retry-After); the message says what was wrong.
import { defineErrors } from '../../platform/errors.ts';

export const shopErrors = defineErrors({
  INVALID_REQUEST: { status: 400, message: 'invalid request' },
  UNKNOWN_ITEM: { status: 400, message: 'unknown item' },
  UNKNOWN_RECIPIENT: { status: 400, message: 'unknown recipient' },
  SELF_TRANSFER: { status: 400, message: 'cannot send coins to yourself' },
  INSUFFICIENT_COINS: { status: 400, message: 'not enough coins' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 400,
    message: 'Idempotency-Key was already used for a different request',
  },
  WRONG_PASSWORD: { status: 401, message: 'wrong password' },
  TOKEN_MISSING: { status: 401, message: 'missing bearer token' },
  TOKEN_INVALID: { status: 401, message: 'invalid token' },
  TOKEN_EXPIRED: { status: 401, message: 'token expired' },
  USER_GONE: { status: 401, message: "the token's user does not exist" },
  SESSION_INVALID: { status: 401, message: 'invalid or expired session' },
  SIGN_IN_LIMITED: { status: 429, message: 'too many failed sign-ins' },
  SIGN_IN_BUSY: { status: 429, message: 'too many sign-ins are waiting for a password check' },
  CSRF_MISMATCH: {
    status: 401,
    message: 'a change signed in by cookie needs the session’s X-CSRF-Token header',
  },
});

export type ShopErrorCode = keyof typeof shopErrors;
