// A stateful sequence against the shop, model-based: users register through /api/auth, buy,
// send coins (to each other, to themselves, to nobody, with and without Idempotency-Keys, more
// than they have) and read /api/info, and every answer must agree with a model of the contract:
// 1000 coins to start, prices from the catalogue, grouped histories, refusals that change
// nothing, and a reused key replaying its first outcome. Every answer is also checked against
// the OpenAPI document. One app on an in-memory PGlite, a fixed seed.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { test } from 'vitest';
import { ITEMS, START_COINS } from '../../src/features/shop/shop.catalog.ts';
import { shopErrors } from '../../src/features/shop/shop.errors.ts';
import { buildTestApp } from '../support/app.ts';
import { uniqueName } from '../support/shop.ts';
import {
  type Call,
  CommandCounts,
  documentedClient,
  jsonRequest,
  runSequences,
} from './support/client.ts';
import { readDocument } from './support/openapi.ts';
import { FUZZ_SEED, FUZZ_TEST_TIMEOUT_MS, generousSignInLimits } from './support/settings.ts';

/** Sequences run; each registers up to USERS_MAX users (one scrypt hash each). */
const SEQUENCE_RUNS = 15;
/** Longest sequence of commands. */
const COMMANDS_MAX = 30;
/** Fewest commands a sequence must run on average (the rest may fail their preconditions). */
const COMMANDS_RUN_PER_SEQUENCE_MIN = 5;
const FILE_LABEL = 'shop sequences';
/** Users one sequence registers. */
const USERS_MAX = 3;
/** Idempotency-Keys a sequence draws from: few, so that they are reused. */
const KEYS = ['key-a', 'key-b', 'key-c'] as const;
const PASSWORD = 'sequence password';
const REPLAYED_HEADER = 'idempotent-replayed';

const { app } = await buildTestApp({ LOG_LEVEL: 'silent', ...generousSignInLimits() });
await app.ready();
const call: Call = documentedClient(app, await readDocument(app));
const executed = new CommandCounts();

interface Outcome {
  readonly status: number;
  /** The refusal's message; null for a success. */
  readonly message: string | null;
}

interface Account {
  readonly name: string;
  coins: number;
  readonly inventory: Map<string, number>;
  readonly received: Map<string, number>;
  readonly sent: Map<string, number>;
  /** Keys used, with what they were used for and the first outcome. */
  readonly keys: Map<string, { readonly fingerprint: string; readonly outcome: Outcome }>;
}

interface Model {
  readonly accounts: Account[];
}

interface Real {
  readonly tokens: Map<string, string>;
}

const bearer = (real: Real, account: Account) => ({
  authorization: `Bearer ${real.tokens.get(account.name)}`,
});
const add = (map: Map<string, number>, key: string, amount: number) =>
  map.set(key, (map.get(key) ?? 0) + amount);

function refusal(message: string): Outcome {
  return { status: 400, message };
}

/**
 * What a change should answer: a reused key replays its first outcome (or is refused for another
 * change); otherwise `decide` says, and `apply` runs on success. The key remembers the outcome.
 */
function expectChange(
  account: Account,
  key: string | null,
  fingerprint: string,
  decide: () => Outcome,
  apply: () => void,
): { outcome: Outcome; replayed: boolean } {
  const used = key === null ? undefined : account.keys.get(key);
  if (used) {
    if (used.fingerprint !== fingerprint) {
      return { outcome: refusal(shopErrors.IDEMPOTENCY_KEY_REUSED.message), replayed: false };
    }
    return { outcome: used.outcome, replayed: true };
  }
  const outcome = decide();
  if (outcome.status === 200) apply();
  if (key !== null) account.keys.set(key, { fingerprint, outcome });
  return { outcome, replayed: false };
}

function checkOutcome(
  exchange: Awaited<ReturnType<Call>>,
  expected: { outcome: Outcome; replayed: boolean },
) {
  const { outcome, replayed } = expected;
  exchange.expect(exchange.status === outcome.status, `expected ${outcome.status}`);
  if (outcome.message !== null) {
    exchange.expect(exchange.json().errors === outcome.message, `expected "${outcome.message}"`);
  }
  exchange.expect(
    (exchange.response.headers[REPLAYED_HEADER] === 'true') === replayed,
    replayed ? 'a replay without its header' : 'a first answer marked as a replay',
  );
}

class Register implements fc.AsyncCommand<Model, Real> {
  check = (model: Readonly<Model>) => model.accounts.length < USERS_MAX;
  async run(model: Model, real: Real) {
    executed.record('Register');
    const name = uniqueName('sequence');
    const body = JSON.stringify({ username: name, password: PASSWORD });
    const exchange = await call('POST /api/auth', jsonRequest('POST', '/api/auth', body));
    exchange.expect(exchange.status === 200, 'registering a new name');
    real.tokens.set(name, exchange.json().token);
    model.accounts.push({
      name,
      coins: START_COINS,
      inventory: new Map(),
      received: new Map(),
      sent: new Map(),
      keys: new Map(),
    });
  }
  toString = () => 'Register';
}

class SignInAgain implements fc.AsyncCommand<Model, Real> {
  readonly who: number;
  readonly rightPassword: boolean;
  constructor(who: number, rightPassword: boolean) {
    this.who = who;
    this.rightPassword = rightPassword;
  }
  check = (model: Readonly<Model>) => model.accounts.length > 0;
  async run(model: Model, real: Real) {
    executed.record('SignInAgain');
    const account = model.accounts[this.who % model.accounts.length] as Account;
    const password = this.rightPassword ? PASSWORD : `${PASSWORD}!`;
    const body = JSON.stringify({ username: account.name, password });
    const exchange = await call('POST /api/auth', jsonRequest('POST', '/api/auth', body));
    if (this.rightPassword) {
      exchange.expect(exchange.status === 200, 'signing in again with the right password');
      real.tokens.set(account.name, exchange.json().token);
    } else {
      exchange.expect(exchange.status === 401, 'a wrong password must be refused with 401');
    }
  }
  toString = () => `SignInAgain(user ${this.who}, ${this.rightPassword ? 'right' : 'wrong'})`;
}

class Buy implements fc.AsyncCommand<Model, Real> {
  readonly who: number;
  readonly item: string;
  readonly key: string | null;
  constructor(who: number, item: string, key: string | null) {
    this.who = who;
    this.item = item;
    this.key = key;
  }
  check = (model: Readonly<Model>) => model.accounts.length > 0;
  async run(model: Model, real: Real) {
    executed.record('Buy');
    const account = model.accounts[this.who % model.accounts.length] as Account;
    const price = ITEMS.get(this.item) as number;
    const expected = expectChange(
      account,
      this.key,
      `buy ${this.item}`,
      () =>
        price <= account.coins
          ? { status: 200, message: null }
          : refusal(shopErrors.INSUFFICIENT_COINS.message),
      () => {
        account.coins -= price;
        add(account.inventory, this.item, 1);
      },
    );
    const headers = {
      ...bearer(real, account),
      ...(this.key ? { 'idempotency-key': this.key } : {}),
    };
    const exchange = await call(
      'GET /api/buy/{item}',
      jsonRequest('GET', `/api/buy/${this.item}`, undefined, headers),
    );
    checkOutcome(exchange, expected);
  }
  toString = () => `Buy(user ${this.who}, ${this.item}, key ${this.key})`;
}

class Send implements fc.AsyncCommand<Model, Real> {
  readonly from: number;
  /** Another user by index, or null for a name nobody has. */
  readonly to: number | null;
  readonly amount: number;
  readonly key: string | null;
  constructor(from: number, to: number | null, amount: number, key: string | null) {
    this.from = from;
    this.to = to;
    this.amount = amount;
    this.key = key;
  }
  check = (model: Readonly<Model>) => model.accounts.length > 0;
  async run(model: Model, real: Real) {
    executed.record('Send');
    const n = model.accounts.length;
    const sender = model.accounts[this.from % n] as Account;
    const recipient = this.to === null ? null : (model.accounts[this.to % n] as Account);
    const toUser = recipient ? recipient.name : uniqueName('nobody');
    let expected: { outcome: Outcome; replayed: boolean };
    if (recipient === sender) {
      // Refused before the key is looked at: a name is its own, whatever the key says.
      expected = { outcome: refusal(shopErrors.SELF_TRANSFER.message), replayed: false };
    } else {
      expected = expectChange(
        sender,
        this.key,
        `send ${this.amount} ${toUser}`,
        () => {
          if (recipient === null) return refusal(`unknown recipient: ${toUser}`);
          if (this.amount > sender.coins) return refusal(shopErrors.INSUFFICIENT_COINS.message);
          return { status: 200, message: null };
        },
        () => {
          const other = recipient as Account;
          sender.coins -= this.amount;
          other.coins += this.amount;
          add(sender.sent, other.name, this.amount);
          add(other.received, sender.name, this.amount);
        },
      );
    }
    const headers = {
      ...bearer(real, sender),
      ...(this.key ? { 'idempotency-key': this.key } : {}),
    };
    const body = JSON.stringify({ toUser, amount: this.amount });
    const exchange = await call(
      'POST /api/sendCoin',
      jsonRequest('POST', '/api/sendCoin', body, headers),
    );
    checkOutcome(exchange, expected);
  }
  toString = () =>
    `Send(user ${this.from} → ${this.to === null ? 'nobody' : `user ${this.to}`}, ${this.amount}, key ${this.key})`;
}

const sorted = <T extends Record<string, unknown>>(rows: T[], by: keyof T) =>
  rows.sort((a, b) => String(a[by]).localeCompare(String(b[by])));

async function checkInfo(account: Account, real: Real) {
  const exchange = await call(
    'GET /api/info',
    jsonRequest('GET', '/api/info', undefined, bearer(real, account)),
  );
  exchange.expect(exchange.status === 200, 'reading /api/info');
  const info = exchange.json();
  const expected = {
    coins: account.coins,
    inventory: sorted(
      [...account.inventory].map(([type, quantity]) => ({ type, quantity })),
      'type',
    ),
    coinHistory: {
      received: sorted(
        [...account.received].map(([fromUser, amount]) => ({ fromUser, amount })),
        'fromUser',
      ),
      sent: sorted(
        [...account.sent].map(([toUser, amount]) => ({ toUser, amount })),
        'toUser',
      ),
    },
  };
  const actual = {
    coins: info.coins,
    inventory: sorted([...info.inventory], 'type'),
    coinHistory: {
      received: sorted([...info.coinHistory.received], 'fromUser'),
      sent: sorted([...info.coinHistory.sent], 'toUser'),
    },
  };
  exchange.expect(
    isDeepStrictEqual(actual, expected),
    `/api/info disagrees with the model, which expected ${JSON.stringify(expected)}`,
  );
}

class Info implements fc.AsyncCommand<Model, Real> {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check = (model: Readonly<Model>) => model.accounts.length > 0;
  async run(model: Model, real: Real) {
    executed.record('Info');
    await checkInfo(model.accounts[this.who % model.accounts.length] as Account, real);
  }
  toString = () => `Info(user ${this.who})`;
}

const who = fc.nat({ max: USERS_MAX - 1 });
const key = fc.option(fc.constantFrom(...KEYS), { nil: null, freq: 2 });
const amount = fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 1_500 }));
const commands = fc.commands(
  [
    fc.constant(new Register()),
    fc.tuple(who, fc.boolean()).map(([w, right]) => new SignInAgain(w, right || w > 0)),
    fc.tuple(who, fc.constantFrom(...ITEMS.keys()), key).map(([w, item, k]) => new Buy(w, item, k)),
    fc
      .tuple(who, fc.option(who, { nil: null, freq: 6 }), amount, key)
      .map(([from, to, a, k]) => new Send(from, to, a, k)),
    who.map((w) => new Info(w)),
  ],
  { maxCommands: COMMANDS_MAX, size: 'max' },
);

test(
  'registrations, purchases and transfers agree with a model of the shop',
  async () => {
    await runSequences({
      label: FILE_LABEL,
      commands,
      runs: SEQUENCE_RUNS,
      commandsPerSequenceMin: COMMANDS_RUN_PER_SEQUENCE_MIN,
      executed,
      seed: FUZZ_SEED,
      start: () => ({ model: { accounts: [] } as Model, real: { tokens: new Map() } as Real }),
      // Whatever the sequence ended on, every account's state is the model's.
      check: async ({ model, real }) => {
        for (const account of model.accounts) await checkInfo(account, real);
      },
    });
  },
  FUZZ_TEST_TIMEOUT_MS,
);
