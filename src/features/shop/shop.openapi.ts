// Owns the shop's named schemas in the OpenAPI document: credentials, transfers, the merch, the
// answers and the error body, for the JWT endpoints and the browser session alike, and the pieces
// their routes' documentation shares (security, headers, the failures). The schemas only
// document what shop.requests.ts checks (which validates), stated with the constants it uses; a
// number written `3.0` is the one thing JSON Schema cannot tell from `3`, and the shop takes it.
import { idempotencyKeyHeader, type NamedSchema, RETRY_AFTER, ref } from '../../platform/docs.ts';
import { LONE_SURROGATE_RANGE } from '../../platform/text.ts';
import {
  AMOUNT_MAX,
  AMOUNT_MIN,
  IDEMPOTENCY_KEY_LENGTH_MAX,
  ITEMS,
  PASSWORD_LENGTH_MAX,
  SHOP_BODY_LIMIT_BYTES,
  START_COINS,
  USERNAME_LENGTH_MAX,
} from './shop.catalog.ts';
import { CONTROL_RANGE, IDEMPOTENCY_KEY_PATTERN } from './shop.requests.ts';
import { SESSION_COOKIE } from './shop.sessions.ts';

// Lengths in characters (code points), as JSON Schema counts them and shop.requests.ts does.
export const usernameSchema = {
  $id: 'Username',
  type: 'string',
  minLength: 1,
  maxLength: USERNAME_LENGTH_MAX,
  pattern: `^[^${CONTROL_RANGE}${LONE_SURROGATE_RANGE}]*$`,
  description: 'Any characters but control characters (C0, DEL, C1) and lone surrogates.',
} as const satisfies NamedSchema;

export const passwordSchema = {
  $id: 'Password',
  type: 'string',
  minLength: 1,
  maxLength: PASSWORD_LENGTH_MAX,
  pattern: `^[^${LONE_SURROGATE_RANGE}]*$`,
  description: 'Any characters but lone surrogates (which have no UTF-8 form).',
} as const satisfies NamedSchema;

export const credentialsSchema = {
  $id: 'Credentials',
  type: 'object',
  description: `An unknown username is registered on the spot, with ${START_COINS} coins.`,
  properties: { username: ref(usernameSchema), password: ref(passwordSchema) },
  required: ['username', 'password'],
} as const satisfies NamedSchema;

export const tokenSchema = {
  $id: 'Token',
  type: 'object',
  properties: { token: { type: 'string', description: 'a JWT, for Authorization: Bearer' } },
  required: ['token'],
} as const satisfies NamedSchema;

export const itemSchema = {
  $id: 'Item',
  type: 'string',
  enum: [...ITEMS.keys()],
  description: `The merch, with its price in coins: ${[...ITEMS].map(([item, price]) => `${item} ${price}`).join(', ')}.`,
} as const satisfies NamedSchema;

export const sendCoinSchema = {
  $id: 'SendCoin',
  type: 'object',
  properties: {
    toUser: ref(usernameSchema),
    amount: {
      type: 'integer',
      minimum: AMOUNT_MIN,
      maximum: AMOUNT_MAX,
      description:
        'whole coins; written with a point or an exponent only if its text is whole (3.0, not 2.9999999999999999)',
    },
  },
  required: ['toUser', 'amount'],
} as const satisfies NamedSchema;

const coins = { type: 'integer', minimum: 0 } as const;
/** A sum of transfers, one entry per counterparty. */
const summed = { type: 'integer', minimum: AMOUNT_MIN } as const;

export const inventoryItemSchema = {
  $id: 'InventoryItem',
  type: 'object',
  properties: { type: ref(itemSchema), quantity: { type: 'integer', minimum: 1 } },
  required: ['type', 'quantity'],
} as const satisfies NamedSchema;

export const receivedCoinsSchema = {
  $id: 'ReceivedCoins',
  type: 'object',
  properties: { fromUser: ref(usernameSchema), amount: summed },
  required: ['fromUser', 'amount'],
} as const satisfies NamedSchema;

export const sentCoinsSchema = {
  $id: 'SentCoins',
  type: 'object',
  properties: { toUser: ref(usernameSchema), amount: summed },
  required: ['toUser', 'amount'],
} as const satisfies NamedSchema;

export const infoSchema = {
  $id: 'Info',
  type: 'object',
  properties: {
    coins,
    inventory: {
      type: 'array',
      items: ref(inventoryItemSchema),
      description: 'one entry per item type owned',
    },
    coinHistory: {
      type: 'object',
      description: 'transfers summed per counterparty; purchases are not part of it',
      properties: {
        received: { type: 'array', items: ref(receivedCoinsSchema) },
        sent: { type: 'array', items: ref(sentCoinsSchema) },
      },
      required: ['received', 'sent'],
    },
  },
  required: ['coins', 'inventory', 'coinHistory'],
} as const satisfies NamedSchema;

export const browserSessionSchema = {
  $id: 'BrowserSession',
  type: 'object',
  properties: {
    message: { type: 'string' },
    csrf_token: {
      type: 'string',
      description: 'send as X-CSRF-Token with each change signed in by the cookie',
    },
  },
  required: ['message', 'csrf_token'],
} as const satisfies NamedSchema;

export const sessionUserSchema = {
  $id: 'SessionUser',
  type: 'object',
  properties: { user_id: { type: 'integer' }, username: ref(usernameSchema), coins },
  required: ['user_id', 'username', 'coins'],
} as const satisfies NamedSchema;

export const shopErrorSchema = {
  $id: 'ShopError',
  type: 'object',
  properties: { errors: { type: 'string', description: 'what was wrong' } },
  required: ['errors'],
} as const satisfies NamedSchema;

export const shopSchemas: readonly NamedSchema[] = [
  credentialsSchema,
  usernameSchema,
  passwordSchema,
  tokenSchema,
  itemSchema,
  sendCoinSchema,
  infoSchema,
  inventoryItemSchema,
  receivedCoinsSchema,
  sentCoinsSchema,
  browserSessionSchema,
  sessionUserSchema,
  shopErrorSchema,
];

// A Bearer token, or the browser's session cookie (see docs.ts); a change signed in by cookie
// also needs the session's CSRF token.
export const signedIn: Record<string, string[]>[] = [{ bearerAuth: [] }, { sessionCookie: [] }];
export const signedInChange: Record<string, string[]>[] = [
  { bearerAuth: [] },
  { sessionCookie: [], csrfToken: [] },
];
export const idempotencyHeader = idempotencyKeyHeader(
  { lengthMax: IDEMPOTENCY_KEY_LENGTH_MAX, pattern: IDEMPOTENCY_KEY_PATTERN },
  'the first outcome',
);
export const failure = (description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  ...ref(shopErrorSchema),
});

/** Why any body the shop reads is refused before its fields are looked at. */
export const BODY_REFUSED = `the body is not JSON text in UTF-8, is over ${SHOP_BODY_LIMIT_BYTES} bytes, or its Content-Type is not application/json (the contract has no 413 nor 415)`;
export const UNAUTHENTICATED =
  'no token nor session cookie; a malformed, forged or expired token, or one of a user that no longer exists; or an unknown or expired session';
export const FAILED = failure(
  'an internal failure (the database unreachable, a bug), or the service is shutting down (then with Retry-After)',
  RETRY_AFTER,
);
export const SIGN_IN_REFUSED = {
  400: failure(
    `the body is not Credentials (the message names the field and rule); ${BODY_REFUSED}`,
  ),
  401: failure('a wrong password for this username'),
  429: failure(
    'too many failed sign-ins for this username or from this address, or too many sign-ins waiting for a password check (no password was checked); Retry-After says in how many seconds to try again',
    RETRY_AFTER,
  ),
  500: FAILED,
};
/** An answer without a body (the schema Fastify serializes an empty reply with). */
export const noBody = (description: string, headers: object) => ({
  description: `${description} (no body)`,
  headers,
  type: 'null',
});
export const sessionCookieHeader = {
  'Set-Cookie': {
    type: 'string',
    description: `${SESSION_COOKIE}: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS`,
  },
};
