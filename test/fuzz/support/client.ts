// Owns the stateful sequences' client: each call is one real request to an operation of the
// service's own OpenAPI document, its answer checked against the document before the sequence
// looks at it, and every later complaint about it printed with the whole exchange.
import type { FastifyInstance } from 'fastify';
import { parseExact } from '../../support/wallets.ts';
import { describeExchange, expectConforming, type HttpResponse, send } from './checks.ts';
import type { ApiDocument, HttpRequest } from './openapi.ts';

export interface Exchange {
  readonly request: HttpRequest;
  readonly response: HttpResponse;
  readonly status: number;
  /** The body parsed with exact integers (bigint beyond 2^53). */
  // biome-ignore lint/suspicious/noExplicitAny: sequences read bodies freely and assert their shape
  json(): any;
  /** Throws unless `ok`, naming the problem and printing the exchange. */
  expect(ok: boolean, problem: string): void;
}

export type Call = (operationKey: string, request: HttpRequest) => Promise<Exchange>;

export function documentedClient(app: FastifyInstance, api: ApiDocument): Call {
  const operations = new Map(api.operations.map((operation) => [operation.key, operation]));
  return async (key, request) => {
    const operation = operations.get(key);
    if (!operation) throw new Error(`the document has no operation ${key}`);
    const response = await send(app, request);
    expectConforming(operation, request, response);
    return {
      request,
      response,
      status: response.status,
      json: () => parseExact(response.text),
      expect(ok, problem) {
        if (!ok) throw new Error(`${key}: ${problem}\n\n${describeExchange(request, response)}`);
      },
    };
  };
}

/** A JSON request as the sequences write them (bodies with exact integers). */
export function jsonRequest(
  method: HttpRequest['method'],
  url: string,
  body?: string,
  headers: Readonly<Record<string, string>> = {},
): HttpRequest {
  return {
    method,
    url,
    headers:
      body === undefined ? { ...headers } : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  };
}

/** How many commands of each kind a sequence file ran (their preconditions held). */
export class CommandCounts {
  private readonly counts = new Map<string, number>();

  record(command: string): void {
    this.counts.set(command, (this.counts.get(command) ?? 0) + 1);
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  summary(): string {
    return [...this.counts].map(([command, n]) => `${command} ${n}`).join(', ');
  }
}
