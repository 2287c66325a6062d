// A stateful sequence against the wallets, model-based: wallets are created, take deposits and
// withdrawals through both routes and both spellings (small amounts and amounts near 2^63, with
// and without Idempotency-Keys), and their balance and paged history must agree with a model:
// exact integers, refusals (409) that change nothing, a reused key replaying its first answer
// or refused (422) for another operation, the history newest first with each balance after.
// Every answer is also checked against the OpenAPI document. In-memory PGlite, a fixed seed.
import fc from 'fast-check';
import { test } from 'vitest';
import { MONEY_MAX } from '../../src/features/wallets/wallet.requests.ts';
import { buildTestApp } from '../support/app.ts';
import { stringifyExact } from '../support/wallets.ts';
import {
  type Call,
  CommandCounts,
  documentedClient,
  type Exchange,
  jsonRequest,
  runSequences,
} from './support/client.ts';
import { readDocument } from './support/openapi.ts';
import { FUZZ_SEED, FUZZ_TEST_TIMEOUT_MS } from './support/settings.ts';

/** Sequences run. */
const SEQUENCE_RUNS = 40;
/** Longest sequence of commands. */
const COMMANDS_MAX = 30;
/** Fewest commands a sequence must run on average (the rest may fail their preconditions). */
const COMMANDS_RUN_PER_SEQUENCE_MIN = 5;
const FILE_LABEL = 'wallet sequences';
/** Wallets one sequence creates. */
const WALLETS_MAX = 3;
/** Idempotency-Keys a sequence draws from: few, so that they are reused. */
const KEYS = ['key-a', 'key-b'] as const;
/** Largest history page a check asks for; small pages exercise the `next` cursor. */
const PAGE_SIZE_MAX = 4;
const REPLAYED_HEADER = 'idempotent-replayed';

const { app } = await buildTestApp({ LOG_LEVEL: 'silent' });
await app.ready();
const call: Call = documentedClient(app, await readDocument(app));
const executed = new CommandCounts();

type OperationType = 'DEPOSIT' | 'WITHDRAW';

interface Recorded {
  readonly type: OperationType;
  readonly amount: bigint;
  readonly balanceAfter: bigint;
}

interface Wallet {
  readonly id: string;
  balance: bigint;
  /** Oldest first. */
  readonly operations: Recorded[];
  /** Keys used: the operation they were used for, and the first answer. */
  readonly keys: Map<
    string,
    { readonly fingerprint: string; readonly status: number; readonly text: string }
  >;
}

interface Model {
  readonly wallets: Wallet[];
}

class Create implements fc.AsyncCommand<Model, object> {
  check = (model: Readonly<Model>) => model.wallets.length < WALLETS_MAX;
  async run(model: Model) {
    executed.record('Create');
    const exchange = await call('POST /api/v1/wallets/', jsonRequest('POST', '/api/v1/wallets/'));
    exchange.expect(exchange.status === 201, 'creating a wallet');
    const body = exchange.json();
    exchange.expect(BigInt(body.balance) === 0n, 'a new wallet holds 0');
    model.wallets.push({ id: body.wallet_id, balance: 0n, operations: [], keys: new Map() });
  }
  toString = () => 'Create';
}

/** Which route and spelling an operation is sent with. */
type Route = 'operation' | 'operationType' | 'original' | 'original-valletId' | 'amount-as-text';

function operationRequest(
  wallet: Wallet,
  type: OperationType,
  amount: bigint,
  route: Route,
  key: string | null,
) {
  const headers: Record<string, string> = key === null ? {} : { 'idempotency-key': key };
  const amountValue = route === 'amount-as-text' ? amount.toString() : amount;
  if (route === 'original' || route === 'original-valletId') {
    const idName = route === 'original' ? 'walletId' : 'valletId';
    const body = stringifyExact({ [idName]: wallet.id, operationType: type, amount: amountValue });
    return {
      key: 'POST /api/v1/wallet',
      request: jsonRequest('POST', '/api/v1/wallet', body, headers),
    };
  }
  const typeName = route === 'operationType' ? 'operationType' : 'operation_type';
  const body = stringifyExact({ [typeName]: type, amount: amountValue });
  return {
    key: 'POST /api/v1/wallets/{wallet_id}/operation',
    request: jsonRequest('POST', `/api/v1/wallets/${wallet.id}/operation`, body, headers),
  };
}

class Operate implements fc.AsyncCommand<Model, object> {
  readonly which: number;
  readonly type: OperationType;
  /** An amount, or 'rest': exactly what empties the wallet or fills it to 2^63 − 1. */
  readonly amount: bigint | 'rest';
  readonly route: Route;
  readonly key: string | null;
  constructor(
    which: number,
    type: OperationType,
    amount: bigint | 'rest',
    route: Route,
    key: string | null,
  ) {
    this.which = which;
    this.type = type;
    this.amount = amount;
    this.route = route;
    this.key = key;
  }
  check = (model: Readonly<Model>) => model.wallets.length > 0;
  async run(model: Model) {
    executed.record('Operate');
    const wallet = model.wallets[this.which % model.wallets.length] as Wallet;
    const rest = this.type === 'DEPOSIT' ? MONEY_MAX - wallet.balance : wallet.balance;
    // A rest of 0 (a full or an empty wallet) becomes 1, just beyond the limit.
    const amount = this.amount === 'rest' ? (rest === 0n ? 1n : rest) : this.amount;
    const { key, request } = operationRequest(wallet, this.type, amount, this.route, this.key);
    const exchange = await call(key, request);
    const fingerprint = `${this.type} ${amount}`;
    const used = this.key === null ? undefined : wallet.keys.get(this.key);
    const replayed = exchange.response.headers[REPLAYED_HEADER] === 'true';
    if (used && used.fingerprint !== fingerprint) {
      exchange.expect(exchange.status === 422, 'a key reused for another operation: 422');
      exchange.expect(
        exchange.json().detail.every((i: { type: string }) => i.type === 'idempotency_key_reused'),
        'the 422 must say the key was reused',
      );
      return;
    }
    if (used) {
      exchange.expect(replayed, 'a retry with its key must be marked as a replay');
      exchange.expect(
        exchange.status === used.status && exchange.response.text === used.text,
        `a retry must replay the first answer: ${used.status} ${used.text}`,
      );
      return;
    }
    exchange.expect(!replayed, 'a first answer marked as a replay');
    const after = this.type === 'DEPOSIT' ? wallet.balance + amount : wallet.balance - amount;
    if (after < 0n || after > MONEY_MAX) {
      const detail = after < 0n ? 'Insufficient funds' : 'Balance limit exceeded';
      exchange.expect(exchange.status === 409, `expected 409 ${detail}`);
      exchange.expect(exchange.json().detail === detail, `expected "${detail}"`);
    } else {
      exchange.expect(exchange.status === 200, 'expected the operation to succeed');
      const body = exchange.json();
      exchange.expect(
        body.wallet_id === wallet.id &&
          body.operation_type === this.type &&
          BigInt(body.amount) === amount &&
          BigInt(body.new_balance) === after &&
          body.status === 'success',
        `expected ${this.type} ${amount} leaving ${after}`,
      );
      wallet.balance = after;
      wallet.operations.push({ type: this.type, amount, balanceAfter: after });
    }
    if (this.key !== null) {
      wallet.keys.set(this.key, {
        fingerprint,
        status: exchange.status,
        text: exchange.response.text,
      });
    }
  }
  toString = () =>
    `Operate(wallet ${this.which}, ${this.type} ${this.amount}, ${this.route}, key ${this.key})`;
}

async function checkWallet(wallet: Wallet, pageSize: number) {
  const balance = await call(
    'GET /api/v1/wallets/{wallet_id}',
    jsonRequest('GET', `/api/v1/wallets/${wallet.id}`),
  );
  balance.expect(balance.status === 200, 'reading the balance');
  balance.expect(BigInt(balance.json().balance) === wallet.balance, `expected ${wallet.balance}`);
  // The whole history, page by page: newest first, and every balance after as the model's.
  const seen: Recorded[] = [];
  let before: string | null = null;
  let last: Exchange | null = null;
  for (let page = 0; page <= wallet.operations.length; page++) {
    const cursor: string = before === null ? '' : `&before=${before}`;
    last = await call(
      'GET /api/v1/wallets/{wallet_id}/operations',
      jsonRequest('GET', `/api/v1/wallets/${wallet.id}/operations?limit=${pageSize}${cursor}`),
    );
    last.expect(last.status === 200, 'reading the history');
    const body = last.json();
    last.expect(body.items.length <= pageSize, `a page holds at most ${pageSize}`);
    for (const item of body.items) {
      seen.push({
        type: item.operation_type,
        amount: BigInt(item.amount),
        balanceAfter: BigInt(item.balance_after),
      });
    }
    before = body.next;
    if (before === null) break;
  }
  const expected = [...wallet.operations].reverse();
  const same =
    seen.length === expected.length &&
    seen.every(
      (op, i) =>
        op.type === expected[i]?.type &&
        op.amount === expected[i]?.amount &&
        op.balanceAfter === expected[i]?.balanceAfter,
    );
  last?.expect(
    same,
    `the history disagrees with the model, which expected (newest first) ${stringifyExact(expected)}`,
  );
}

class Check implements fc.AsyncCommand<Model, object> {
  readonly which: number;
  readonly pageSize: number;
  constructor(which: number, pageSize: number) {
    this.which = which;
    this.pageSize = pageSize;
  }
  check = (model: Readonly<Model>) => model.wallets.length > 0;
  async run(model: Model) {
    executed.record('Check');
    await checkWallet(model.wallets[this.which % model.wallets.length] as Wallet, this.pageSize);
  }
  toString = () => `Check(wallet ${this.which}, pages of ${this.pageSize})`;
}

const which = fc.nat({ max: WALLETS_MAX - 1 });
/** Small amounts, and amounts near the limit, where overflow and exact printing matter. */
const amount = fc.oneof<fc.Arbitrary<bigint | 'rest'>[]>(
  fc.constant('rest'),
  fc.bigInt({ min: 1n, max: 100n }),
  fc.bigInt({ min: MONEY_MAX - 1_000n, max: MONEY_MAX }),
  fc.bigInt({ min: 1n, max: MONEY_MAX }),
);
const route = fc.constantFrom<Route>(
  'operation',
  'operationType',
  'original',
  'original-valletId',
  'amount-as-text',
);
const commands = fc.commands(
  [
    fc.constant(new Create()),
    fc
      .tuple(
        which,
        fc.constantFrom<OperationType>('DEPOSIT', 'WITHDRAW'),
        amount,
        route,
        fc.option(fc.constantFrom(...KEYS), { nil: null, freq: 2 }),
      )
      .map(([w, type, a, r, k]) => new Operate(w, type, a, r, k)),
    fc
      .tuple(which, fc.integer({ min: 1, max: PAGE_SIZE_MAX }))
      .map(([w, size]) => new Check(w, size)),
  ],
  { maxCommands: COMMANDS_MAX, size: 'max' },
);

test(
  'deposits and withdrawals agree with a model of the wallets',
  async () => {
    await runSequences({
      label: FILE_LABEL,
      commands,
      runs: SEQUENCE_RUNS,
      commandsPerSequenceMin: COMMANDS_RUN_PER_SEQUENCE_MIN,
      executed,
      seed: FUZZ_SEED,
      start: () => ({ model: { wallets: [] } as Model, real: {} }),
      check: async ({ model }) => {
        for (const wallet of model.wallets) await checkWallet(wallet, PAGE_SIZE_MAX);
      },
    });
  },
  FUZZ_TEST_TIMEOUT_MS,
);
