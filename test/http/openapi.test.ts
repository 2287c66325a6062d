// The OpenAPI document as a whole, as /docs/json serves it: every request and response body is a
// named schema of components.schemas (and every reference resolves), every answer has a real
// description, the platform's routes are in it, and the limits it states are the validators'
// own constants. Generated clients (generated-client.test.ts) and the schema-driven fuzzer
// (test/fuzz) rely on it; this file says what they rely on.
import { beforeAll, describe, expect, test } from 'vitest';
import { CALENDAR_DATE_PATTERN } from '../../src/features/scoring/fields/calendar.ts';
import { CLIENT_IDS_MAX, TEXT_LENGTH_MAX } from '../../src/features/scoring/fields/fields.ts';
import {
  AMOUNT_MAX,
  AMOUNT_MIN,
  ITEMS,
  PASSWORD_LENGTH_MAX,
  IDEMPOTENCY_KEY_LENGTH_MAX as SHOP_KEY_LENGTH_MAX,
  USERNAME_LENGTH_MAX,
} from '../../src/features/shop/shop.catalog.ts';
import { IDEMPOTENCY_KEY_PATTERN as SHOP_KEY_PATTERN } from '../../src/features/shop/shop.requests.ts';
import {
  OPERATIONS_PAGE,
  UUID_PATTERN,
  IDEMPOTENCY_KEY_LENGTH_MAX as WALLET_KEY_LENGTH_MAX,
  IDEMPOTENCY_KEY_PATTERN as WALLET_KEY_PATTERN,
  WALLETS_PAGE,
} from '../../src/features/wallets/wallet.requests.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';

type Json = Record<string, unknown>;
interface Operation {
  readonly key: string;
  readonly operation: Json;
}

let t: TestApp;
let doc: Json;
let schemas: Record<string, Json>;
let operations: Operation[];
beforeAll(async () => {
  t = await buildTestApp();
  doc = (await t.app.inject({ url: '/docs/json' })).json();
  schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
  operations = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(
    ([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path}`,
        operation,
      })),
  );
});

const REF = '#/components/schemas/';
const named = (name: string) => ({ $ref: `${REF}${name}` });

/** A named schema's properties, each a schema. */
function propertiesOf(name: string): Record<string, Json> {
  const properties = schemas[name]?.properties;
  if (properties === undefined) throw new Error(`no schema ${name} with properties`);
  return properties as Record<string, Json>;
}

/** The first member of a property's anyOf: its schema when it is not empty. */
const givenValue = (property: Json | undefined) => (property?.anyOf as Json[] | undefined)?.[0];

function find(key: string): Json {
  const found = operations.find((o) => o.key === key);
  if (!found) throw new Error(`no operation ${key}`);
  return found.operation;
}

/** The named schemas a body's schema is: one reference, or a union of references. */
function namesOf(schema: Json): string[] | null {
  if (typeof schema.$ref === 'string') return [schema.$ref];
  const union = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  if (Object.keys(schema).length !== 1 || !union) return null;
  const names = union.map((member) => member.$ref);
  return names.every((n) => typeof n === 'string') ? (names as string[]) : null;
}

function* references(node: unknown): Generator<string> {
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') yield value;
    else yield* references(value);
  }
}

describe('bodies', () => {
  test('every JSON request and response body is a named schema, or a union of them', () => {
    const unnamed: string[] = [];
    for (const { key, operation } of operations) {
      const body = operation.requestBody as { content: Record<string, Json> } | undefined;
      const media = [
        ...Object.entries(body?.content ?? {}).map(([type, m]) => [`${key} body`, type, m]),
        ...Object.entries(operation.responses as Record<string, Json>).flatMap(([status, r]) =>
          Object.entries((r.content ?? {}) as Record<string, Json>).map(([type, m]) => [
            `${key} ${status}`,
            type,
            m,
          ]),
        ),
      ] as [string, string, Json][];
      for (const [where, type, { schema }] of media) {
        if (type.includes('json') && namesOf(schema as Json) === null) unnamed.push(where);
      }
    }
    expect(unnamed).toEqual([]);
  });

  test('every reference names a schema of components.schemas', () => {
    const missing = [...references(doc)].filter(
      (r) => !r.startsWith(REF) || !Object.hasOwn(schemas, r.slice(REF.length)),
    );
    expect(missing).toEqual([]);
    for (const name of ['ScoringRequest', 'Credentials', 'WalletOperation', 'ValidationError']) {
      expect(schemas).toHaveProperty(name);
    }
  });

  test('every answer has a description of its own (none is "Default Response")', () => {
    const described = operations.flatMap(({ key, operation }) =>
      Object.entries(operation.responses as Record<string, Json>).map(([status, r]) => ({
        where: `${key} ${status}`,
        description: r.description,
      })),
    );
    for (const { where, description } of described) {
      expect({ where, description }).toEqual({ where, description: expect.any(String) });
      expect({ where, description }).not.toEqual({ where, description: 'Default Response' });
    }
  });
});

describe('the platform', () => {
  test('/healthz, /readyz and /metrics are documented under their own tag', () => {
    const platform = operations.filter(({ operation }) =>
      (operation.tags as string[]).includes('platform'),
    );
    expect(platform.map((o) => [o.key, o.operation.operationId])).toEqual([
      ['GET /healthz', 'getHealth'],
      ['GET /readyz', 'getReadiness'],
      ['GET /metrics', 'getMetrics'],
    ]);
    const readyz = find('GET /readyz').responses as Record<string, { content: Json }>;
    expect(readyz['200']?.content['application/json']).toEqual({ schema: named('Readiness') });
    expect(readyz['503']?.content['application/json']).toEqual({
      schema: { oneOf: [named('Readiness'), named('ScoringError')] },
    });
    const metrics = find('GET /metrics').responses as Record<string, { content: Json }>;
    expect(Object.keys(metrics['200']?.content ?? {})).toEqual(['text/plain']);
  });
});

describe('the limits, as the validators have them', () => {
  test('shop: names, passwords, amounts, items and Idempotency-Key', () => {
    expect(schemas.Username).toMatchObject({ minLength: 1, maxLength: USERNAME_LENGTH_MAX });
    expect(schemas.Password).toMatchObject({ minLength: 1, maxLength: PASSWORD_LENGTH_MAX });
    expect(propertiesOf('SendCoin').amount).toMatchObject({
      minimum: AMOUNT_MIN,
      maximum: AMOUNT_MAX,
    });
    expect(schemas.Item?.enum).toEqual([...ITEMS.keys()]);
    const buy = find('GET /api/buy/{item}').parameters as Json[];
    expect(buy.find((p) => p.in === 'path')?.schema).toEqual(named('Item'));
    expect(buy.find((p) => p.name === 'idempotency-key')?.schema).toEqual({
      type: 'string',
      minLength: 1,
      maxLength: SHOP_KEY_LENGTH_MAX,
      pattern: SHOP_KEY_PATTERN.source,
    });
  });

  test('wallets: pages, ids, Idempotency-Key, and exactly one spelling of each field', () => {
    const list = find('GET /api/v1/wallets/').parameters as Json[];
    expect(list.find((p) => p.name === 'limit')?.schema).toEqual({
      type: 'integer',
      minimum: WALLETS_PAGE.min,
      maximum: WALLETS_PAGE.max,
      default: WALLETS_PAGE.default,
    });
    const history = find('GET /api/v1/wallets/{wallet_id}/operations').parameters as Json[];
    expect(history.find((p) => p.name === 'limit')?.schema).toMatchObject({
      maximum: OPERATIONS_PAGE.max,
      default: OPERATIONS_PAGE.default,
    });
    expect(history.find((p) => p.name === 'wallet_id')?.schema).toMatchObject({
      pattern: UUID_PATTERN.source,
    });
    const operate = find('POST /api/v1/wallets/{wallet_id}/operation').parameters as Json[];
    expect(operate.find((p) => p.name === 'idempotency-key')?.schema).toMatchObject({
      maxLength: WALLET_KEY_LENGTH_MAX,
      pattern: WALLET_KEY_PATTERN.source,
    });
    expect(schemas.WalletOperation).toMatchObject({
      additionalProperties: false,
      allOf: [{ oneOf: [{ required: ['operation_type'] }, { required: ['operationType'] }] }],
    });
    expect(schemas.OriginalWalletOperation?.allOf).toEqual([
      { oneOf: [{ required: ['operation_type'] }, { required: ['operationType'] }] },
      { oneOf: [{ required: ['walletId'] }, { required: ['valletId'] }] },
    ]);
    // The one body that may be left out.
    expect(find('POST /api/v1/wallets/').requestBody).toMatchObject({ required: false });
  });

  test('scoring: texts, ids and real calendar dates', () => {
    const online = propertiesOf('OnlineScoreArguments');
    expect(givenValue(online.birthday)).toEqual({ type: 'string', pattern: CALENDAR_DATE_PATTERN });
    expect(givenValue(online.first_name)).toMatchObject({ maxLength: TEXT_LENGTH_MAX });
    expect(propertiesOf('ClientsInterestsArguments').client_ids).toMatchObject({
      minItems: 1,
      maxItems: CLIENT_IDS_MAX,
    });
  });
});
