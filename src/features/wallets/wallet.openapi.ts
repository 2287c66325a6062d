// Owns the wallets' named schemas in the OpenAPI document: the operation bodies in both
// spellings, the wallet and operation answers, and FastAPI's two error bodies. They only document
// what wallet.requests.ts checks (which validates), built from its constants and its lists of
// spellings; the one thing they cannot state is 2^63 − 1 as a JSON number bound (a double
// cannot hold it), so the integer form's bound is the exclusive 2^63.
import { type NamedSchema, ref } from '../../platform/docs.ts';
import {
  AMOUNT_MIN,
  AMOUNT_TEXT_DIGITS_MAX,
  MONEY_MAX,
  OPERATION_FIELDS,
  OPERATION_TYPES,
  ORIGINAL_FIELDS,
  type Spellings,
  UUID_PATTERN,
} from './wallet.requests.ts';

/** A UUID as the service writes it (lowercase, with hyphens). */
const uuid = { type: 'string', format: 'uuid' } as const;
/** A UUID as a request may write it. */
export const uuidText = {
  type: 'string',
  pattern: UUID_PATTERN.source,
  description: 'a UUID, in any case, with or without its hyphens',
} as const;
/** MONEY_MAX as a JSON number bound: a double holds 2^63 exactly, and 2^63 − 1 it cannot. */
const MONEY_BOUND = { exclusiveMaximum: Number(MONEY_MAX + 1n) } as const;
const money = {
  type: 'integer',
  minimum: 0,
  ...MONEY_BOUND,
  description: 'an exact integer of minor units, up to 2^63 − 1, printed without rounding',
} as const;
const operationType = { type: 'string', enum: [...OPERATION_TYPES] } as const;

/**
 * The texts of the numbers 1 to `max` that parseAmount takes: an optional plus sign, then at most
 * AMOUNT_TEXT_DIGITS_MAX digits, leading zeros included; shorter numbers whole, and those as long
 * as `max` digit by digit below it, or `max` itself.
 */
export function amountTextPattern(max: bigint): string {
  const digits = max.toString();
  const zerosBefore = (length: number) => `0{0,${AMOUNT_TEXT_DIGITS_MAX - length}}`;
  const anyDigits = (n: number) => (n > 0 ? `[0-9]{${n}}` : '');
  const range = (low: number, high: number) => (low === high ? `${low}` : `[${low}-${high}]`);
  const shorter = Array.from(
    { length: digits.length - 1 },
    (_, i) => `${zerosBefore(i + 1)}[1-9]${anyDigits(i)}`,
  );
  const below = [...digits].flatMap((digit, i) => {
    const low = i === 0 ? 1 : 0;
    const high = Number(digit) - 1;
    if (high < low) return [];
    return [`${digits.slice(0, i)}${range(low, high)}${anyDigits(digits.length - i - 1)}`];
  });
  const longest = `${zerosBefore(digits.length)}(?:${[...below, digits].join('|')})`;
  return `^\\+?(?:${[...shorter, longest].join('|')})$`;
}

export const amountSchema = {
  $id: 'WalletAmount',
  description:
    'An exact integer of minor units, 1 to 2^63 − 1: a JSON integer (also written 10.0 or 1e3), or a string of its digits.',
  anyOf: [
    { type: 'integer', minimum: Number(AMOUNT_MIN), ...MONEY_BOUND },
    { type: 'string', pattern: amountTextPattern(MONEY_MAX) },
  ],
} as const satisfies NamedSchema;

/**
 * A body of `fields`, each given by exactly one of its spellings (a oneOf for those that have
 * two: both at once is refused, as is neither), and nothing else.
 */
function bodyOf(
  $id: string,
  description: string,
  fields: Readonly<Record<string, Spellings>>,
  schemas: Readonly<Record<string, object>>,
): NamedSchema {
  const properties: Record<string, object> = {};
  const required: string[] = [];
  const spellings: object[] = [];
  for (const [field, names] of Object.entries(fields)) {
    const [first, ...others] = names;
    const schema = schemas[field];
    if (schema === undefined) throw new Error(`no schema for the field ${field}`);
    properties[first] = schema;
    for (const other of others)
      properties[other] = { ...schema, description: `the same field as ${first}` };
    if (others.length === 0) required.push(first);
    else spellings.push({ oneOf: names.map((name) => ({ required: [name] })) });
  }
  return {
    $id,
    type: 'object',
    description,
    properties,
    required,
    additionalProperties: false,
    ...(spellings.length > 0 ? { allOf: spellings } : {}),
  };
}

const operationSchemas = { type: operationType, amount: ref(amountSchema) };

export const walletOperationSchema = bodyOf(
  'WalletOperation',
  'A deposit or a withdrawal; operationType may be given instead of operation_type.',
  OPERATION_FIELDS,
  operationSchemas,
);

export const originalWalletOperationSchema = bodyOf(
  'OriginalWalletOperation',
  'An operation naming its wallet (valletId may be given instead of walletId, and operationType instead of operation_type).',
  ORIGINAL_FIELDS,
  { ...operationSchemas, walletId: uuidText },
);

export const newWalletSchema = {
  $id: 'NewWallet',
  type: 'object',
  description: 'Nothing: an empty object, or no body at all.',
  additionalProperties: false,
} as const satisfies NamedSchema;

export const walletSchema = {
  $id: 'Wallet',
  type: 'object',
  properties: { wallet_id: uuid, balance: money },
  required: ['wallet_id', 'balance'],
} as const satisfies NamedSchema;

export const walletListSchema = {
  $id: 'WalletList',
  type: 'array',
  description: 'Ordered by wallet_id.',
  items: ref(walletSchema),
} as const satisfies NamedSchema;

export const operationResultSchema = {
  $id: 'WalletOperationResult',
  type: 'object',
  properties: {
    wallet_id: uuid,
    operation_id: uuid,
    operation_type: operationType,
    amount: { ...money, minimum: Number(AMOUNT_MIN) },
    new_balance: money,
    status: { type: 'string', enum: ['success'] },
  },
  required: ['wallet_id', 'operation_id', 'operation_type', 'amount', 'new_balance', 'status'],
} as const satisfies NamedSchema;

export const historyEntrySchema = {
  $id: 'WalletHistoryEntry',
  type: 'object',
  properties: {
    operation_id: uuid,
    operation_type: operationType,
    amount: { ...money, minimum: Number(AMOUNT_MIN) },
    balance_after: money,
    created_at: { type: 'string', format: 'date-time' },
  },
  required: ['operation_id', 'operation_type', 'amount', 'balance_after', 'created_at'],
} as const satisfies NamedSchema;

export const historySchema = {
  $id: 'WalletHistory',
  type: 'object',
  properties: {
    items: { type: 'array', items: ref(historyEntrySchema), description: 'newest first' },
    next: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'pass as `before` for the next, older page; null on the last one',
    },
  },
  required: ['items', 'next'],
} as const satisfies NamedSchema;

export const validationIssueSchema = {
  $id: 'ValidationIssue',
  type: 'object',
  properties: {
    loc: {
      type: 'array',
      items: { type: ['string', 'integer'] },
      description: 'where: "body", "path", "query" or "header", then the field (or position)',
    },
    msg: { type: 'string' },
    type: { type: 'string', description: 'pydantic’s error type, e.g. missing, uuid_parsing' },
  },
  required: ['loc', 'msg', 'type'],
} as const satisfies NamedSchema;

export const validationErrorSchema = {
  $id: 'ValidationError',
  type: 'object',
  description: 'FastAPI’s 422: every problem found in the request, at once.',
  properties: { detail: { type: 'array', items: ref(validationIssueSchema) } },
  required: ['detail'],
} as const satisfies NamedSchema;

export const walletErrorSchema = {
  $id: 'WalletError',
  type: 'object',
  properties: { detail: { type: 'string' } },
  required: ['detail'],
} as const satisfies NamedSchema;

export const walletSchemas: readonly NamedSchema[] = [
  walletSchema,
  walletListSchema,
  newWalletSchema,
  walletOperationSchema,
  originalWalletOperationSchema,
  amountSchema,
  operationResultSchema,
  historySchema,
  historyEntrySchema,
  validationErrorSchema,
  validationIssueSchema,
  walletErrorSchema,
];
