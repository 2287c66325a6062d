// Owns the wallets' HTTP surface under /api/v1: the five wallet endpoints, the assignment's
// original POST /wallet, FastAPI-style error bodies, and bodies read as exact JSON.
import type { FastifyInstance, FastifyReply, HTTPMethods } from 'fastify';
import { ANY_CONTENT_TYPE, addTextBodyParser } from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure, reasonPhrase } from '../../platform/http/errors.ts';
import { distinctHeader } from '../../platform/http/headers.ts';
import { MONEY_MAX, parseJsonExact } from './wallet.money.ts';
import {
  IDEMPOTENCY_KEY_LENGTH_MAX,
  OPERATIONS_PAGE,
  parseCreate,
  parseIdempotencyKey,
  parseOperation,
  parseOriginalOperation,
  parsePage,
  parseWalletId,
  WALLETS_PAGE,
  WalletValidationError,
} from './wallet.requests.ts';
import { type OperationResult, REPLAYED, type WalletService } from './wallet.service.ts';

/** Largest body a wallet endpoint reads; an operation needs well under 200 bytes. */
export const WALLET_BODY_LIMIT_BYTES = 4 * 1024;

export interface WalletRoutesOptions {
  readonly service: WalletService;
}

export function renderWalletError(failure: HttpFailure, error?: unknown) {
  if (error instanceof WalletValidationError) return { detail: error.issues };
  return { detail: failure.message };
}

/**
 * The answer to a URL under /api/v1 that the router could not take: on a wallet's path it is a
 * malformed wallet id (422, as any other); elsewhere a 400 that repeats none of the URL.
 */
export function walletUrlFailure(path: string): { status: number; body: unknown } {
  if (/^\/wallets\/[^/?]/.test(path)) {
    const issue = {
      loc: ['path', 'wallet_id'],
      msg: 'Input should be a valid UUID',
      type: 'uuid_parsing',
    };
    return { status: 422, body: { detail: [issue] } };
  }
  return { status: 400, body: { detail: 'Invalid URL' } };
}

const uuid = { type: 'string', format: 'uuid' } as const;
const money = {
  type: 'integer',
  description: 'exact integer of minor units, up to 2^63 − 1 (printed without rounding)',
} as const;
const walletSchema = {
  type: 'object',
  properties: { wallet_id: uuid, balance: money },
  required: ['wallet_id', 'balance'],
} as const;
const operationSchema = {
  type: 'object',
  properties: {
    wallet_id: uuid,
    operation_id: uuid,
    operation_type: { type: 'string', enum: ['DEPOSIT', 'WITHDRAW'] },
    amount: money,
    new_balance: money,
    status: { type: 'string', enum: ['success'] },
  },
  required: ['wallet_id', 'operation_id', 'operation_type', 'amount', 'new_balance', 'status'],
} as const;
const historySchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          operation_id: uuid,
          operation_type: { type: 'string', enum: ['DEPOSIT', 'WITHDRAW'] },
          amount: money,
          balance_after: money,
          created_at: { type: 'string', format: 'date-time' },
        },
        required: ['operation_id', 'operation_type', 'amount', 'balance_after', 'created_at'],
      },
    },
    next: { type: ['string', 'null'], description: 'pass as `before` for the next, older page' },
  },
  required: ['items', 'next'],
} as const;
const detailString = {
  type: 'object',
  properties: { detail: { type: 'string' } },
  required: ['detail'],
} as const;
const detailList = {
  type: 'object',
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          loc: { type: 'array', items: { type: ['string', 'integer'] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
        required: ['loc', 'msg', 'type'],
      },
    },
  },
  required: ['detail'],
} as const;
/** Digits an amount written as a string may have, leading zeros included (as parseAmount reads). */
const AMOUNT_TEXT_DIGITS_MAX = 64;

/**
 * A pattern of the decimal texts of 1 to `max`: an optional plus sign, leading zeros up to
 * AMOUNT_TEXT_DIGITS_MAX digits in all, then any shorter number or, digit by digit, one below.
 */
function decimalsUpTo(max: bigint): string {
  const digits = max.toString();
  const shorter = `[1-9][0-9]{0,${digits.length - 2}}`;
  const below = [...digits].flatMap((digit, i) => {
    const low = i === 0 ? 1 : 0;
    const high = Number(digit) - 1;
    if (high < low) return [];
    const rest = digits.length - i - 1;
    return [`${digits.slice(0, i)}[${low}-${high}]${rest > 0 ? `[0-9]{${rest}}` : ''}`];
  });
  const zeros = AMOUNT_TEXT_DIGITS_MAX - digits.length;
  return `^\\+?0{0,${zeros}}(?:${[shorter, ...below, digits].join('|')})$`;
}

const amount = {
  description:
    'exact integer of minor units, 1 to 2^63 − 1: a JSON integer, or a string of its digits',
  anyOf: [
    // OpenAPI 3.0's bound: below 2^63, which a double holds exactly (2^63 − 1 it cannot).
    { type: 'integer', minimum: 1, maximum: 2 ** 63, exclusiveMaximum: true },
    { type: 'string', pattern: decimalsUpTo(MONEY_MAX) },
  ],
} as const;
const operationType = { type: 'string', enum: ['DEPOSIT', 'WITHDRAW'] } as const;
/** Exactly one of two spellings of a field: both at once is refused, as is neither. */
const oneSpelling = (a: string, b: string) => ({ oneOf: [{ required: [a] }, { required: [b] }] });
const operationBody = {
  type: 'object',
  properties: {
    operation_type: operationType,
    operationType: { ...operationType, description: 'synonym' },
    amount,
  },
  required: ['amount'],
  additionalProperties: false,
  allOf: [oneSpelling('operation_type', 'operationType')],
} as const;
const idempotencyHeader = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_LENGTH_MAX,
      pattern: '^[\\x20-\\x7e]+$',
      description:
        'optional, printable ASCII; a retry with the same key replays the first answer (200 or 409)',
    },
  },
} as const;
const walletParams = { type: 'object', properties: { wallet_id: uuid } } as const;

function responses(status: number, ok: object, errors: Record<number, string>) {
  const out: Record<number, object> = {
    [status]: ok,
    422: { description: 'invalid request', ...detailList },
  };
  for (const [code, description] of Object.entries(errors)) {
    out[Number(code)] = { description, ...detailString };
  }
  out[500] = { description: 'internal error', ...detailString };
  return out;
}

/** Every route that reads a body refuses one beyond WALLET_BODY_LIMIT_BYTES. */
const bodyErrors = { 413: `request body over ${WALLET_BODY_LIMIT_BYTES} bytes` };
const operationErrors = {
  404: 'no such wallet',
  409: 'insufficient funds, balance limit, or the same Idempotency-Key still running',
  ...bodyErrors,
  503: 'too many operations waiting for this wallet (Retry-After)',
};

export async function walletRoutes(app: FastifyInstance, options: WalletRoutesOptions) {
  const { service } = options;
  app.setErrorHandler(errorHandler(renderWalletError));
  // wallet.requests.ts checks everything, with FastAPI's messages; the JSON schemas document it.
  app.setValidatorCompiler(() => () => true);
  // Read as JSON whatever the Content-Type says, so that no number ever passes through a double.
  // Bytes that are not UTF-8 are not JSON text (RFC 8259): the same 422 json_invalid.
  addTextBodyParser(app, ANY_CONTENT_TYPE, {
    read: (text) => (text === '' ? undefined : parseJsonExact(text)),
    refuse: invalidJson,
  });
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, 'no such route');
    return reply.code(404).send({ detail: reasonPhrase(404) });
  });

  const operationReply = (reply: FastifyReply, result: OperationResult) => {
    if (result.replayed) reply.headers(REPLAYED);
    return {
      wallet_id: result.walletId,
      operation_id: result.operationId,
      operation_type: result.type,
      amount: result.amount,
      new_balance: result.newBalance,
      status: 'success',
    };
  };
  const walletReply = (wallet: { walletId: string; balance: bigint }) => ({
    wallet_id: wallet.walletId,
    balance: wallet.balance,
  });

  // The contract writes the collection with a trailing slash; either form is served.
  app.get(
    '/wallets/',
    {
      schema: {
        summary: 'List wallets, ordered by id (keyset pages: pass the last wallet_id as `after`)',
        operationId: 'listWallets',
        tags: ['wallets'],
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: WALLETS_PAGE.max, default: 100 },
            after: uuid,
          },
        },
        response: responses(200, { type: 'array', items: walletSchema }, {}),
      },
    },
    async (request) =>
      (await service.list(parsePage(request.query, 'after', WALLETS_PAGE))).map(walletReply),
  );

  app.post(
    '/wallets/',
    {
      bodyLimit: WALLET_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Create a wallet with balance 0 (empty body or {})',
        operationId: 'createWallet',
        tags: ['wallets'],
        response: responses(201, walletSchema, bodyErrors),
      },
    },
    async (request, reply) => {
      parseCreate(request.body);
      return reply.code(201).send(walletReply(await service.create()));
    },
  );

  app.get<{ Params: { wallet_id: string } }>(
    '/wallets/:wallet_id',
    {
      schema: {
        summary: 'A wallet’s balance',
        operationId: 'getWallet',
        tags: ['wallets'],
        params: walletParams,
        response: responses(200, walletSchema, { 404: 'no such wallet' }),
      },
    },
    async (request) => walletReply(await service.balance(parseWalletId(request.params.wallet_id))),
  );

  app.post<{ Params: { wallet_id: string } }>(
    '/wallets/:wallet_id/operation',
    {
      bodyLimit: WALLET_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Deposit to or withdraw from a wallet',
        operationId: 'operateOnWallet',
        tags: ['wallets'],
        params: walletParams,
        headers: idempotencyHeader,
        body: operationBody,
        response: responses(200, operationSchema, operationErrors),
      },
    },
    async (request, reply) => {
      const walletId = parseWalletId(request.params.wallet_id);
      const operation = parseOperation(request.body);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      return operationReply(reply, await service.operate(walletId, operation, key));
    },
  );

  app.get<{ Params: { wallet_id: string } }>(
    '/wallets/:wallet_id/operations',
    {
      schema: {
        summary: 'A wallet’s operations, newest first (pass `next` as `before` for older ones)',
        operationId: 'listWalletOperations',
        tags: ['wallets'],
        params: walletParams,
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: OPERATIONS_PAGE.max, default: 50 },
            before: uuid,
          },
        },
        response: responses(200, historySchema, { 404: 'no such wallet' }),
      },
    },
    async (request) => {
      const walletId = parseWalletId(request.params.wallet_id);
      const page = await service.history(
        walletId,
        parsePage(request.query, 'before', OPERATIONS_PAGE),
      );
      return {
        items: page.items.map((op) => ({
          operation_id: op.operationId,
          operation_type: op.type,
          amount: op.amount,
          balance_after: op.balanceAfter,
          created_at: op.createdAt.toISOString(),
        })),
        next: page.next,
      };
    },
  );

  app.post(
    '/wallet',
    {
      bodyLimit: WALLET_BODY_LIMIT_BYTES,
      schema: {
        summary: 'The assignment’s original route: the wallet named in the body',
        operationId: 'operateOnWalletNamedInBody',
        tags: ['wallets'],
        headers: idempotencyHeader,
        body: {
          ...operationBody,
          properties: {
            ...operationBody.properties,
            walletId: uuid,
            valletId: { ...uuid, description: 'synonym' },
          },
          allOf: [...operationBody.allOf, oneSpelling('walletId', 'valletId')],
        },
        response: responses(200, operationSchema, operationErrors),
      },
    },
    async (request, reply) => {
      const { walletId, ...operation } = parseOriginalOperation(request.body);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      return operationReply(reply, await service.operate(walletId, operation, key));
    },
  );

  methodNotAllowed(app, '/wallets/', ['GET', 'HEAD', 'POST']);
  methodNotAllowed(app, '/wallets/:wallet_id', ['GET', 'HEAD']);
  methodNotAllowed(app, '/wallets/:wallet_id/operation', ['POST']);
  methodNotAllowed(app, '/wallets/:wallet_id/operations', ['GET', 'HEAD']);
  methodNotAllowed(app, '/wallet', ['POST']);
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A known path asked with another method is a 405 naming the allowed ones, as FastAPI answers. */
function methodNotAllowed(app: FastifyInstance, url: string, allowed: HTTPMethods[]) {
  app.route({
    method: METHODS.filter((method) => !allowed.includes(method)),
    url,
    schema: { hide: true },
    handler: (_request, reply) =>
      reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ detail: reasonPhrase(405) }),
  });
}

function invalidJson(error: Error): WalletValidationError {
  const position = /position (\d+)/.exec(error.message)?.[1];
  return new WalletValidationError([
    {
      loc: position === undefined ? ['body'] : ['body', Number(position)],
      msg: 'JSON decode error',
      type: 'json_invalid',
    },
  ]);
}
