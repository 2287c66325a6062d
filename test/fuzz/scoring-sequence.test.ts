// A stateful sequence against the scoring API, model-based: online_score and clients_interests
// requests with valid tokens (ordinary logins and the admin's), interleaved with wrong tokens,
// drawn from small pools so that the score cache is hit again and again; every score must be
// the contract's formula (a cache never changes an answer, gender 0 and 2 included) and every
// interests answer the store's lists. Every answer is also checked against the OpenAPI document.
// The in-process store, seeded with interests the model knows, and a fixed clock and seed.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { test } from 'vitest';
import { adminToken, userToken } from '../../src/features/scoring/scoring.auth.ts';
import { createMemoryStore } from '../../src/features/scoring/scoring.store.ts';
import { buildTestApp } from '../support/app.ts';
import { ADMIN_SALT, SALT } from '../support/scoring.ts';
import {
  type Call,
  CommandCounts,
  documentedClient,
  jsonRequest,
  runSequences,
} from './support/client.ts';
import { readDocument } from './support/openapi.ts';
import { FUZZ_SEED, FUZZ_TEST_TIMEOUT_MS } from './support/settings.ts';

/** Sequences run. */
const SEQUENCE_RUNS = 25;
/** Longest sequence of commands. */
const COMMANDS_MAX = 40;
/** Fewest commands a sequence must run on average (the rest may fail their preconditions). */
const COMMANDS_RUN_PER_SEQUENCE_MIN = 5;
const FILE_LABEL = 'scoring sequences';
/** Client ids the store may know; the model knows which it does. */
const CLIENT_IDS = 12;
/** Distinct argument sets a sequence draws scores from, so that most are cache hits. */
const ARGUMENT_SETS = 6;
/** The server's clock: the admin token's hour and the birthdays' "today". */
const NOW = new Date(2025, 5, 15, 12, 30, 0);
const DAY_MS = 86_400_000;
const ADMIN_SCORE = 42;

/** The store's interests, known to the model: some ids have none (a missing key is []). */
const [interests] = fc.sample(
  fc.dictionary(
    fc.nat({ max: CLIENT_IDS - 1 }).map(String),
    fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 4 }),
    { maxKeys: CLIENT_IDS },
  ),
  { seed: FUZZ_SEED, numRuns: 1 },
) as [Record<string, string[]>];

const { app } = await buildTestApp(
  { LOG_LEVEL: 'silent' },
  {
    now: () => new Date(NOW),
    scoringStore: createMemoryStore(
      Object.entries(interests).map(([id, list]) => [`i:${id}`, JSON.stringify(list)] as const),
    ),
  },
);
await app.ready();
const call: Call = documentedClient(app, await readDocument(app));
const executed = new CommandCounts();

interface Credentials {
  readonly account?: string;
  readonly login: string;
}

function envelope(who: Credentials, method: string, args: unknown, wrongToken = false) {
  const token =
    who.login === 'admin'
      ? adminToken(NOW, ADMIN_SALT)
      : userToken(who.account ?? '', who.login, SALT);
  return JSON.stringify({
    ...who,
    method,
    token: wrongToken ? `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}` : token,
    arguments: args,
  });
}

interface ScoreArguments {
  phone?: string | number;
  email?: string;
  first_name?: string;
  last_name?: string;
  birthday?: string;
  gender?: number;
}

/** The contract's score, from what is present and non-empty. */
function expectedScore(args: ScoreArguments): number {
  const has = (v: unknown) => v !== undefined && v !== '';
  let score = 0;
  if (has(args.phone)) score += 1.5;
  if (has(args.email)) score += 1.5;
  if (has(args.birthday) && args.gender !== undefined && args.gender !== 0) score += 1.5;
  if (has(args.first_name) && has(args.last_name)) score += 0.5;
  return score;
}

const birthday = fc.integer({ min: 0, max: 69 * 365 }).map((days) => {
  const date = new Date(NOW.getTime() - days * DAY_MS);
  return `${date.getDate()}.${date.getMonth() + 1}.${date.getFullYear()}`;
});
const phone = fc.oneof(
  fc.stringMatching(/^7\d{10}$/),
  fc.integer({ min: 70_000_000_000, max: 79_999_999_999 }),
);
const name = fc.string({ minLength: 1, maxLength: 20 });
/** Arguments with at least one complete pair, and any of the other fields. */
const scoreArguments: fc.Arbitrary<ScoreArguments> = fc
  .tuple(
    fc.record(
      {
        phone,
        email: fc.emailAddress(),
        first_name: name,
        last_name: name,
        birthday,
        gender: fc.constantFrom(0, 1, 2),
      },
      { requiredKeys: [] },
    ),
    fc.constantFrom(
      ['phone', 'email'] as const,
      ['first_name', 'last_name'] as const,
      ['gender', 'birthday'] as const,
    ),
    fc.record({
      phone,
      email: fc.emailAddress(),
      first_name: name,
      last_name: name,
      birthday,
      gender: fc.constantFrom(0, 1, 2),
    }),
  )
  .map(([some, [a, b], full]) => ({ ...some, [a]: full[a], [b]: full[b] }));

const [argumentSets] = fc.sample(
  fc.array(scoreArguments, { minLength: ARGUMENT_SETS, maxLength: ARGUMENT_SETS }),
  {
    seed: FUZZ_SEED,
    numRuns: 1,
  },
) as [ScoreArguments[]];

const users: Credentials[] = [
  { account: 'horns&hoofs', login: 'h&f' },
  { login: 'no-account' },
  { account: '', login: 'ёжик' },
  { login: 'admin' },
];

type Model = Record<string, never>;

class Score implements fc.AsyncCommand<Model, object> {
  readonly who: number;
  readonly set: number;
  readonly wrongToken: boolean;
  constructor(who: number, set: number, wrongToken: boolean) {
    this.who = who;
    this.set = set;
    this.wrongToken = wrongToken;
  }
  check = () => true;
  async run() {
    executed.record('Score');
    const user = users[this.who % users.length] as Credentials;
    const args = argumentSets[this.set % argumentSets.length] as ScoreArguments;
    const body = envelope(user, 'online_score', args, this.wrongToken);
    const exchange = await call('POST /method', jsonRequest('POST', '/method', body));
    if (this.wrongToken) {
      exchange.expect(exchange.status === 403, 'a wrong token must be refused with 403');
      return;
    }
    const score = user.login === 'admin' ? ADMIN_SCORE : expectedScore(args);
    exchange.expect(exchange.status === 200, 'a valid online_score request');
    exchange.expect(
      isDeepStrictEqual(exchange.json(), { code: 200, response: { score } }),
      `expected the score ${score}`,
    );
  }
  toString = () =>
    `Score(user ${this.who}, arguments ${this.set}${this.wrongToken ? ', wrong token' : ''})`;
}

class Interests implements fc.AsyncCommand<Model, object> {
  readonly who: number;
  readonly ids: readonly number[];
  readonly date: string | null;
  constructor(who: number, ids: readonly number[], date: string | null) {
    this.who = who;
    this.ids = ids;
    this.date = date;
  }
  check = () => true;
  async run() {
    executed.record('Interests');
    const user = users[this.who % users.length] as Credentials;
    const args = { client_ids: this.ids, ...(this.date === null ? {} : { date: this.date }) };
    const exchange = await call(
      'POST /method',
      jsonRequest('POST', '/method', envelope(user, 'clients_interests', args)),
    );
    exchange.expect(exchange.status === 200, 'a valid clients_interests request');
    const expected = Object.fromEntries(
      this.ids.map((id) => [String(id), interests[String(id)] ?? []]),
    );
    exchange.expect(
      isDeepStrictEqual(exchange.json(), { code: 200, response: expected }),
      `expected ${JSON.stringify(expected)}`,
    );
  }
  toString = () =>
    `Interests(user ${this.who}, ids ${JSON.stringify(this.ids)}, date ${this.date})`;
}

const who = fc.nat({ max: users.length - 1 });
const commands = fc.commands(
  [
    fc
      .tuple(who, fc.nat({ max: ARGUMENT_SETS - 1 }), fc.boolean())
      .map(([w, set, wrong]) => new Score(w, set, wrong && set % 3 === 0)),
    fc
      .tuple(
        who,
        fc.array(fc.nat({ max: CLIENT_IDS + 2 }), { minLength: 1, maxLength: 6 }),
        fc.option(birthday, { nil: null }),
      )
      .map(([w, ids, date]) => new Interests(w, ids, date)),
  ],
  { maxCommands: COMMANDS_MAX, size: 'max' },
);

test(
  'scores and interests with valid tokens agree with the contract, cache hits included',
  async () => {
    await runSequences({
      label: FILE_LABEL,
      commands,
      runs: SEQUENCE_RUNS,
      commandsPerSequenceMin: COMMANDS_RUN_PER_SEQUENCE_MIN,
      executed,
      seed: FUZZ_SEED,
      start: () => ({ model: {}, real: {} }),
    });
  },
  FUZZ_TEST_TIMEOUT_MS,
);
