// Owns the stateful sequences' client: each call is one real request to an operation of the
// service's own OpenAPI document, its answer checked against the document before the sequence
// looks at it, and every later complaint about it printed with the whole exchange.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
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

/**
 * Runs `runs` generated command sequences against a fresh model and real state each (`start`),
 * with `check` after each sequence (the real state still equal to the model's), under the layer's
 * fixed seed; then prints what ran and fails if the sequences did too little to prove anything.
 */
export async function runSequences<Model extends object, Real>(options: {
  readonly label: string;
  readonly commands: fc.Arbitrary<Iterable<fc.AsyncCommand<Model, Real>>>;
  readonly start: () => { model: Model; real: Real };
  readonly check?: (state: { model: Model; real: Real }) => Promise<void>;
  readonly runs: number;
  /** Commands whose precondition held and that ran, per sequence, at least (on average). */
  readonly commandsPerSequenceMin: number;
  readonly executed: CommandCounts;
  readonly seed: number;
}): Promise<void> {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(options.commands, async (sequence) => {
      const state = options.start();
      await fc.asyncModelRun(() => state, sequence);
      await options.check?.(state);
      runs += 1;
    }),
    { seed: options.seed, numRuns: options.runs },
  );
  expect(runs).toBe(options.runs);
  console.log(`${options.label} (seed ${options.seed}): ${options.executed.summary()}`);
  // A sequence that did nothing proves nothing.
  expect(options.executed.total()).toBeGreaterThanOrEqual(
    options.runs * options.commandsPerSequenceMin,
  );
}
