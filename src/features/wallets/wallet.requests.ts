// Owns what a wallet request may say: path ids, query parameters, operation bodies in both
// spellings, and the Idempotency-Key header. Every problem found is reported at once, as FastAPI
// (pydantic) does, each with where it was (loc), a message and a type.
import { AppError, type ErrorSpec } from '../../platform/errors.ts';
import { integerOfNumberText, isPlainObject, JsonNumber } from '../../platform/http/json.ts';
import { walletErrors } from './wallet.errors.ts';

/** The largest balance and amount: PostgreSQL's bigint, 2^63 − 1. */
export const MONEY_MAX = 2n ** 63n - 1n;

export type Location = readonly (string | number)[];

export interface Issue {
  readonly loc: Location;
  readonly msg: string;
  readonly type: string;
}

/** A 422: the request is malformed; nothing was stored. */
export class WalletValidationError extends AppError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], spec: ErrorSpec = walletErrors.INVALID_REQUEST) {
    super(spec, issues.map((issue) => issue.msg).join('; '));
    this.issues = issues;
  }
}

export const OPERATION_TYPES = ['DEPOSIT', 'WITHDRAW'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export interface OperationRequest {
  readonly type: OperationType;
  readonly amount: bigint;
}

export interface Page {
  readonly limit: number;
  /** The wallet id or operation id the page starts after; null for the first page. */
  readonly cursor: string | null;
}

/** Limits of the list endpoints, from the contract. */
export const WALLETS_PAGE = { default: 100, min: 1, max: 1000 } as const;
export const OPERATIONS_PAGE = { default: 50, min: 1, max: 1000 } as const;
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
/** Printable ASCII, as in the IETF Idempotency-Key draft's examples (UUIDs, random tokens). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]+$/;
/** The smallest amount of an operation. */
export const AMOUNT_MIN = 1n;
/** Digits an amount written as a string may have, leading zeros included. */
export const AMOUNT_TEXT_DIGITS_MAX = 64;
const AMOUNT_TEXT = new RegExp(`^[+-]?[0-9]{1,${AMOUNT_TEXT_DIGITS_MAX}}$`);
/** How much of a bad value a message repeats. */
const SHOWN_MAX = 64;

/** A UUID as requests may write it: in any case, with or without its hyphens. */
export const UUID_PATTERN =
  /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** A UUID in any case, with or without hyphens, as its canonical lowercase form; null if not one. */
export function canonicalUuid(value: string): string | null {
  if (!UUID_PATTERN.test(value)) return null;
  const hex = value.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const uuidIssue = (loc: Location): Issue => ({
  loc,
  msg: 'Input should be a valid UUID',
  type: 'uuid_parsing',
});

export function parseWalletId(value: string, loc: Location = ['path', 'wallet_id']): string {
  const id = canonicalUuid(value);
  if (id === null) throw new WalletValidationError([uuidIssue(loc)]);
  return id;
}

/** Query parameters as Fastify gives them: a repeated one is an array (the last one counts). */
type Query = Readonly<Record<string, string | string[] | undefined>>;

const lastOf = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value[value.length - 1] : value;

export function parsePage(
  query: unknown,
  cursorName: 'after' | 'before',
  limits: { readonly default: number; readonly min: number; readonly max: number },
): Page {
  const params = (query ?? {}) as Query;
  const issues: Issue[] = [];
  let limit: number = limits.default;
  const limitText = lastOf(params.limit);
  if (limitText !== undefined) {
    const loc = ['query', 'limit'];
    if (!/^[+-]?\d{1,10}$/.test(limitText.trim())) {
      issues.push({
        loc,
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        type: 'int_parsing',
      });
    } else {
      limit = Number(limitText);
      if (limit < limits.min) issues.push(tooSmall(loc, BigInt(limits.min)));
      if (limit > limits.max) issues.push(tooLarge(loc, BigInt(limits.max)));
    }
  }
  let cursor: string | null = null;
  const cursorText = lastOf(params[cursorName]);
  if (cursorText !== undefined) {
    cursor = canonicalUuid(cursorText);
    if (cursor === null) issues.push(uuidIssue(['query', cursorName]));
  }
  if (issues.length > 0) throw new WalletValidationError(issues);
  return { limit, cursor };
}

const tooSmall = (loc: Location, min: bigint): Issue => ({
  loc,
  msg: `Input should be greater than or equal to ${min}`,
  type: 'greater_than_equal',
});
const tooLarge = (loc: Location, max: bigint): Issue => ({
  loc,
  msg: `Input should be less than or equal to ${max}`,
  type: 'less_than_equal',
});

/**
 * An amount: a JSON integer (also written 10.0 or 1e3, as pydantic accepts) or a string of
 * decimal digits (for clients whose JSON cannot print integers beyond 2^53), 1 ≤ amount ≤ 2^63−1.
 */
function parseAmount(value: unknown, loc: Location, issues: Issue[]): bigint | null {
  let amount: bigint | 'fraction';
  if (typeof value === 'number') {
    amount = Number.isInteger(value) ? BigInt(value) : 'fraction';
  } else if (value instanceof JsonNumber) {
    const exact = integerOfNumberText(value.source);
    // Beyond any amount either way: reported as too small or too large, never expanded.
    if (exact === 'huge') amount = value.source.startsWith('-') ? -1n : MONEY_MAX + 1n;
    else amount = exact;
  } else if (typeof value === 'string' && AMOUNT_TEXT.test(value)) {
    amount = BigInt(value);
  } else {
    const msg =
      typeof value === 'string'
        ? 'Input should be a valid integer, unable to parse string as an integer'
        : 'Input should be a valid integer';
    issues.push({ loc, msg, type: typeof value === 'string' ? 'int_parsing' : 'int_type' });
    return null;
  }
  if (amount === 'fraction') {
    issues.push({
      loc,
      msg: 'Input should be a valid integer, got a number with a fractional part',
      type: 'int_from_float',
    });
    return null;
  }
  if (amount < AMOUNT_MIN) issues.push(tooSmall(loc, AMOUNT_MIN));
  else if (amount > MONEY_MAX) issues.push(tooLarge(loc, MONEY_MAX));
  else return amount;
  return null;
}

function parseType(value: unknown, loc: Location, issues: Issue[]): OperationType | null {
  if (value === 'DEPOSIT' || value === 'WITHDRAW') return value;
  issues.push({ loc, msg: "Input should be 'DEPOSIT' or 'WITHDRAW'", type: 'enum' });
  return null;
}

/** The names a field may be given by; two at once is an error. */
export type Spellings = readonly [string, ...string[]];

/** The fields of an operation's body, each with its spellings, the contract's first. */
export const OPERATION_FIELDS = {
  type: ['operation_type', 'operationType'],
  amount: ['amount'],
} as const satisfies Record<string, Spellings>;

/** The fields of the original route's body, which names the wallet in it. */
export const ORIGINAL_FIELDS = {
  ...OPERATION_FIELDS,
  walletId: ['walletId', 'valletId'],
} as const satisfies Record<string, Spellings>;

/** Picks each field by whichever spelling was given, reporting missing, doubled and unknown ones. */
function pickFields<F extends Record<string, Spellings>>(
  body: unknown,
  fields: F,
  issues: Issue[],
): { [K in keyof F]?: unknown } | null {
  if (body === undefined) {
    issues.push({ loc: ['body'], msg: 'Field required', type: 'missing' });
    return null;
  }
  // Only a JSON object has fields: a bare number is not one either, even one kept as its text
  // (JsonNumber, for `1e400` or `12345678901234567890`), whose own members are no fields.
  if (!isPlainObject(body)) {
    issues.push({
      loc: ['body'],
      msg: 'Input should be a valid dictionary or object to extract fields from',
      type: 'model_attributes_type',
    });
    return null;
  }
  const given = body as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const [field, names] of Object.entries(fields)) {
    const present = names.filter((name) => Object.hasOwn(given, name));
    for (const name of names) known.add(name);
    if (present.length === 0) {
      issues.push({ loc: ['body', names[0]], msg: 'Field required', type: 'missing' });
    } else if (present.length > 1) {
      issues.push({
        loc: ['body', present[1] as string],
        msg: `Give one of ${present.join(' and ')}, not both`,
        type: 'extra_forbidden',
      });
    } else {
      picked[field] = given[present[0] as string];
    }
  }
  for (const name of Object.keys(given)) {
    if (!known.has(name)) {
      issues.push({
        loc: ['body', shown(name)],
        msg: 'Extra inputs are not permitted',
        type: 'extra_forbidden',
      });
    }
  }
  return picked as { [K in keyof F]?: unknown };
}

function shown(text: string): string {
  return text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}…` : text;
}

function operationOf(
  picked: { type?: unknown; amount?: unknown } | null,
  issues: Issue[],
): OperationRequest | null {
  if (picked === null) return null;
  const type = 'type' in picked ? parseType(picked.type, ['body', 'operation_type'], issues) : null;
  const amount = 'amount' in picked ? parseAmount(picked.amount, ['body', 'amount'], issues) : null;
  return type === null || amount === null ? null : { type, amount };
}

/** The body of POST /wallets/{wallet_id}/operation. */
export function parseOperation(body: unknown): OperationRequest {
  const issues: Issue[] = [];
  const operation = operationOf(pickFields(body, OPERATION_FIELDS, issues), issues);
  if (issues.length > 0 || operation === null) throw new WalletValidationError(issues);
  return operation;
}

/** The body of the original route, POST /wallet, which names the wallet in the body. */
export function parseOriginalOperation(body: unknown): OperationRequest & { walletId: string } {
  const issues: Issue[] = [];
  const picked = pickFields(body, ORIGINAL_FIELDS, issues);
  const operation = operationOf(picked, issues);
  let walletId: string | null = null;
  if (picked && 'walletId' in picked) {
    const value = picked.walletId;
    walletId = typeof value === 'string' ? canonicalUuid(value) : null;
    if (walletId === null) issues.push(uuidIssue(['body', 'walletId']));
  }
  if (issues.length > 0 || operation === null || walletId === null) {
    throw new WalletValidationError(issues);
  }
  return { ...operation, walletId };
}

/** POST /wallets/ takes no input: an empty body or {}. */
export function parseCreate(body: unknown): void {
  if (body === undefined) return;
  const issues: Issue[] = [];
  pickFields(body, {}, issues);
  if (issues.length > 0) throw new WalletValidationError(issues);
}

export function parseIdempotencyKey(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  const loc = ['header', 'idempotency-key'];
  const fail = (msg: string, type: string) => new WalletValidationError([{ loc, msg, type }]);
  if (Array.isArray(value)) throw fail('Give one Idempotency-Key', 'too_many');
  if (value.length === 0) throw fail('String should have at least 1 character', 'string_too_short');
  if (value.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    throw fail(
      `String should have at most ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`,
      'string_too_long',
    );
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw fail('Idempotency-Key should be printable ASCII', 'string_pattern_mismatch');
  }
  return value;
}
