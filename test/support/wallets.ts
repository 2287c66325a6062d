// A wallets client for tests: each call is one real request, either through app.inject (the
// in-process layer) or over a socket to a listening app (the integration layer, where requests
// must really race). Bodies are exact JSON: integers beyond 2^53 are written and read losslessly.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body parsed with exact integers: those beyond 2^53 become bigint. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read bodies freely and assert their shape
  json(): any;
}

export type Send = (request: {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  body?: string;
  headers?: Record<string, string>;
}) => Promise<Answer>;

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint), via the reviver's source text. */
// biome-ignore lint/suspicious/noExplicitAny: as JSON.parse
export function parseExact(text: string): any {
  return JSON.parse(text, ((_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source
      ? /^-?\d+$/.test(context.source)
        ? BigInt(context.source)
        : value
      : value) as Parameters<typeof JSON.parse>[1]);
}

/** JSON.rawJSON (Node 21+), not yet in TypeScript's lib. */
const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };

/** JSON.stringify that prints bigint as a plain JSON integer. */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? rawJSON(v.toString()) : v));
}

const answer = (status: number, headers: Answer['headers'], text: string): Answer => ({
  status,
  headers,
  text,
  json: () => parseExact(text),
});

export function injectSender(app: FastifyInstance): Send {
  return async ({ method, url, body, headers }) => {
    const response = await app.inject({
      method,
      url,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: body }),
    });
    return answer(response.statusCode, response.headers as Answer['headers'], response.body);
  };
}

export function socketSender(baseUrl: string): Send {
  return async ({ method, url, body, headers }) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    return answer(
      response.status,
      Object.fromEntries(response.headers.entries()),
      await response.text(),
    );
  };
}

export type OperationType = 'DEPOSIT' | 'WITHDRAW';

export function walletClient(send: Send) {
  const client = {
    send,
    async create(): Promise<string> {
      const response = await send({ method: 'POST', url: '/api/v1/wallets/' });
      expect(response.status, response.text).toBe(201);
      return response.json().wallet_id;
    },
    operate: (
      walletId: string,
      type: OperationType,
      amount: number | bigint,
      headers: Record<string, string> = {},
    ) =>
      send({
        method: 'POST',
        url: `/api/v1/wallets/${walletId}/operation`,
        body: stringifyExact({ operation_type: type, amount }),
        headers,
      }),
    /** A wallet with this balance, made by one deposit (none for 0). */
    async withBalance(balance: number | bigint): Promise<string> {
      const walletId = await client.create();
      if (BigInt(balance) > 0n) {
        const response = await client.operate(walletId, 'DEPOSIT', balance);
        expect(response.status, response.text).toBe(200);
      }
      return walletId;
    },
    async balanceOf(walletId: string): Promise<bigint> {
      const response = await send({ method: 'GET', url: `/api/v1/wallets/${walletId}` });
      expect(response.status, response.text).toBe(200);
      return BigInt(response.json().balance);
    },
    /** The whole history, newest first, read page by page. */
    async historyOf(walletId: string, pageSize = 1000): Promise<HistoryItem[]> {
      const items: HistoryItem[] = [];
      let before: string | null = null;
      for (let page = 0; page < 1000; page += 1) {
        const cursor: string = before === null ? '' : `&before=${before}`;
        const response = await send({
          method: 'GET',
          url: `/api/v1/wallets/${walletId}/operations?limit=${pageSize}${cursor}`,
        });
        expect(response.status, response.text).toBe(200);
        const body = response.json();
        items.push(...body.items);
        if (body.next === null) return items;
        before = body.next;
      }
      throw new Error('history longer than 1000 pages');
    },
  };
  return client;
}

export interface HistoryItem {
  operation_id: string;
  operation_type: OperationType;
  amount: number | bigint;
  balance_after: number | bigint;
  created_at: string;
}

export type WalletClient = ReturnType<typeof walletClient>;
