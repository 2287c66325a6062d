// Owns the shop's named schemas in the OpenAPI document: credentials, transfers, the merch, the
// answers and the error body, for the JWT endpoints and the browser session alike. They only
// document what shop.requests.ts checks (which validates), stated with the constants it uses; a
// number written `3.0` is the one thing JSON Schema cannot tell from `3`, and the shop takes it.
import { type NamedSchema, ref } from '../../platform/docs.ts';
import { LONE_SURROGATE_RANGE } from '../../platform/text.ts';
import {
  AMOUNT_MAX,
  AMOUNT_MIN,
  ITEMS,
  PASSWORD_LENGTH_MAX,
  START_COINS,
  USERNAME_LENGTH_MAX,
} from './shop.catalog.ts';
import { CONTROL_RANGE } from './shop.requests.ts';

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
