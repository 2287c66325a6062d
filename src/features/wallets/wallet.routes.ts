// Owns the wallets' HTTP surface under /api/v1: the five wallet endpoints, the assignment's
// original POST /wallet, FastAPI-style error bodies, and bodies read as exact JSON.
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  IDEMPOTENT_REPLAYED,
  idempotencyKeyHeader,
  OPTIONAL_BODY,
  RETRY_AFTER,
  ref,
} from '../../platform/docs.ts';
import { AppError } from '../../platform/errors.ts';
import { ANY_CONTENT_TYPE, addTextBodyParser } from '../../platform/http/body.ts';
import { errorHandler, type HttpFailure, reasonPhrase } from '../../platform/http/errors.ts';
import { distinctHeader, REPLAYED_HEADER } from '../../platform/http/headers.ts';
import { parseJsonExact } from '../../platform/http/json.ts';
import {
  historySchema,
  newWalletSchema,
  operationResultSchema,
  originalWalletOperationSchema,
  uuidText,
  validationErrorSchema,
  walletErrorSchema,
  walletListSchema,
  walletOperationSchema,
  walletSchema,
} from './wallet.openapi.ts';
import {
  IDEMPOTENCY_KEY_LENGTH_MAX,
  IDEMPOTENCY_KEY_PATTERN,
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
import type { OperationResult, WalletService } from './wallet.service.ts';

/** Largest body a wallet endpoint reads; an operation needs well under 200 bytes. */
export const WALLET_BODY_LIMIT_BYTES = 4 * 1024;

export interface WalletRoutesOptions {
  readonly service: WalletService;
}

export function renderWalletError(failure: HttpFailure, error?: unknown) {
  if (error instanceof WalletValidationError) return { detail: error.issues };
  // An error of the catalogue that blames one field is a 422 listing that field, as FastAPI's.
  const field = error instanceof AppError ? error.spec.field : undefined;
  if (field) {
    return { detail: [{ loc: [field.in, field.name], msg: failure.message, type: field.type }] };
  }
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

const idempotencyHeader = idempotencyKeyHeader(
  { lengthMax: IDEMPOTENCY_KEY_LENGTH_MAX, pattern: IDEMPOTENCY_KEY_PATTERN },
  'the first answer (200 or 409)',
);
const walletParams = {
  type: 'object',
  properties: { wallet_id: uuidText },
  required: ['wallet_id'],
} as const;
/** The `limit` of a list endpoint's page, as parsePage reads it. */
const pageLimit = (page: {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}) => ({ type: 'integer', minimum: page.min, maximum: page.max, default: page.default }) as const;

const detail = (description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  ...ref(walletErrorSchema),
});
const invalid = (description: string) => ({ description, ...ref(validationErrorSchema) });

/** The answers every wallet endpoint may give besides its own. */
const ALWAYS = {
  500: detail('an internal failure: the database unreachable, or a bug'),
  503: detail('the service is shutting down', RETRY_AFTER),
};
const NOT_FOUND = { 404: detail('no such wallet') };
/** Every route that reads a body refuses one beyond WALLET_BODY_LIMIT_BYTES. */
const TOO_LARGE = { 413: detail(`the body is over ${WALLET_BODY_LIMIT_BYTES} bytes`) };
const OPERATION_ANSWERS = {
  200: { description: 'applied', headers: IDEMPOTENT_REPLAYED, ...ref(operationResultSchema) },
  ...NOT_FOUND,
  409: detail(
    'insufficient funds, or the balance would pass 2^63 − 1 (nothing changes; a key replays it); or a request with this Idempotency-Key is still running',
    IDEMPOTENT_REPLAYED,
  ),
  ...TOO_LARGE,
  422: invalid(
    'the body (JSON, fields, spellings, values) or the Idempotency-Key is invalid; or the key was used for another operation',
  ),
  ...ALWAYS,
  503: detail(
    'too many operations are waiting for this wallet, or the service is shutting down',
    RETRY_AFTER,
  ),
};

export async function walletRoutes(app: FastifyInstance, { service }: WalletRoutesOptions) {
  installWalletHttp(app);
  listRoute(app, service);
  createRoute(app, service);
  balanceRoute(app, service);
  operateRoute(app, service);
  historyRoute(app, service);
  originalRoute(app, service);
}

/** The scope's errors, bodies and unknown paths, as FastAPI answers them. */
function installWalletHttp(app: FastifyInstance): void {
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
}

function operationReply(reply: FastifyReply, result: OperationResult) {
  if (result.replayed) reply.headers(REPLAYED_HEADER);
  return {
    wallet_id: result.walletId,
    operation_id: result.operationId,
    operation_type: result.type,
    amount: result.amount,
    new_balance: result.newBalance,
    status: 'success',
  };
}

function walletReply(wallet: { walletId: string; balance: bigint }) {
  return { wallet_id: wallet.walletId, balance: wallet.balance };
}

function listRoute(app: FastifyInstance, service: WalletService): void {
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
            limit: pageLimit(WALLETS_PAGE),
            after: { ...uuidText, description: 'the last wallet_id of the previous page' },
          },
        },
        response: {
          200: { description: 'a page of wallets', ...ref(walletListSchema) },
          422: invalid('limit or after is malformed or out of range'),
          ...ALWAYS,
        },
      },
    },
    async (request) =>
      (await service.list(parsePage(request.query, 'after', WALLETS_PAGE))).map(walletReply),
  );
}

function createRoute(app: FastifyInstance, service: WalletService): void {
  app.post(
    '/wallets/',
    {
      bodyLimit: WALLET_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Create a wallet with balance 0 (empty body or {})',
        operationId: 'createWallet',
        tags: ['wallets'],
        [OPTIONAL_BODY]: true,
        body: ref(newWalletSchema),
        response: {
          201: { description: 'created, with balance 0', ...ref(walletSchema) },
          ...TOO_LARGE,
          422: invalid('a body other than none or {}'),
          ...ALWAYS,
        },
      },
    },
    async (request, reply) => {
      parseCreate(request.body);
      return reply.code(201).send(walletReply(await service.create()));
    },
  );
}

function balanceRoute(app: FastifyInstance, service: WalletService): void {
  app.get<{ Params: { wallet_id: string } }>(
    '/wallets/:wallet_id',
    {
      schema: {
        summary: 'A wallet’s balance',
        operationId: 'getWallet',
        tags: ['wallets'],
        params: walletParams,
        response: {
          200: { description: 'the wallet and its balance', ...ref(walletSchema) },
          ...NOT_FOUND,
          422: invalid('wallet_id is not a UUID'),
          ...ALWAYS,
        },
      },
    },
    async (request) => walletReply(await service.balance(parseWalletId(request.params.wallet_id))),
  );
}

function operateRoute(app: FastifyInstance, service: WalletService): void {
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
        body: ref(walletOperationSchema),
        response: OPERATION_ANSWERS,
      },
    },
    async (request, reply) => {
      const walletId = parseWalletId(request.params.wallet_id);
      const operation = parseOperation(request.body);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      return operationReply(reply, await service.operate(walletId, operation, key));
    },
  );
}

function historyRoute(app: FastifyInstance, service: WalletService): void {
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
            limit: pageLimit(OPERATIONS_PAGE),
            before: { ...uuidText, description: 'the `next` of the previous page' },
          },
        },
        response: {
          200: { description: 'a page of the wallet’s operations', ...ref(historySchema) },
          ...NOT_FOUND,
          422: invalid(
            'wallet_id, limit or before is malformed or out of range; or before is no operation of this wallet',
          ),
          ...ALWAYS,
        },
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
}

function originalRoute(app: FastifyInstance, service: WalletService): void {
  app.post(
    '/wallet',
    {
      bodyLimit: WALLET_BODY_LIMIT_BYTES,
      schema: {
        summary: 'The assignment’s original route: the wallet named in the body',
        operationId: 'operateOnWalletNamedInBody',
        tags: ['wallets'],
        headers: idempotencyHeader,
        body: ref(originalWalletOperationSchema),
        response: OPERATION_ANSWERS,
      },
    },
    async (request, reply) => {
      const { walletId, ...operation } = parseOriginalOperation(request.body);
      const key = parseIdempotencyKey(distinctHeader(request.raw, 'idempotency-key'));
      return operationReply(reply, await service.operate(walletId, operation, key));
    },
  );
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
