// Owns what the fuzz layer checks of every answer, as Schemathesis does: never a 5xx; a status
// the document lists for the operation; the documented media type, headers and body schema for
// that status; and, per kind of request, acceptance (valid data), rejection (invalid data) or a
// 401 (missing or forged credentials). A failure prints the request and the answer in full.
import type { FastifyInstance } from 'fastify';
import type { HttpRequest, Operation, ResponseSpec } from './openapi.ts';
import { problemsOf } from './schema.ts';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly text: string;
}

export async function send(app: FastifyInstance, request: HttpRequest): Promise<HttpResponse> {
  const response = await app.inject({
    method: request.method,
    url: request.url,
    headers: request.headers,
    ...(request.body === undefined ? {} : { payload: request.body }),
  });
  return { status: response.statusCode, headers: response.headers, text: response.body };
}

/** The documented answer for a status: exact, then its class ("4XX"), then "default". */
export function documentedResponse(operation: Operation, status: number): ResponseSpec | null {
  return (
    operation.responses.get(String(status)) ??
    operation.responses.get(`${Math.floor(status / 100)}XX`) ??
    operation.responses.get('default') ??
    null
  );
}

function parsed(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** What is wrong with an answer whatever was asked; empty when it conforms. */
export function conformanceProblems(operation: Operation, response: HttpResponse): string[] {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`server error ${response.status}`);
  const spec = documentedResponse(operation, response.status);
  if (spec === null) {
    const listed = [...operation.responses.keys()].join(', ');
    problems.push(`status ${response.status} is not documented (documented: ${listed})`);
    return problems;
  }
  for (const header of spec.requiredHeaders) {
    if (response.headers[header] === undefined)
      problems.push(`documented header ${header} missing`);
  }
  if (spec.mediaTypes.length === 0) {
    if (response.text !== '') problems.push('a body where the document says there is none');
    return problems;
  }
  const contentType = String(response.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim();
  if (!contentType || !spec.mediaTypes.includes(contentType)) {
    problems.push(`content type ${contentType || '(none)'} not in ${spec.mediaTypes.join(', ')}`);
    return problems;
  }
  if (spec.schema === null || !contentType.includes('json')) return problems;
  const body = parsed(response.text);
  if (!body.ok) {
    problems.push('the body is not JSON');
    return problems;
  }
  for (const problem of problemsOf(spec.schema, body.value)) {
    problems.push(`body does not match the documented ${response.status} schema: ${problem}`);
  }
  return problems;
}

/** Longest part of a body a failure report prints. */
const SHOWN_BODY_MAX = 2_000;

function shown(text: string): string {
  return text.length > SHOWN_BODY_MAX
    ? `${text.slice(0, SHOWN_BODY_MAX)}… (${text.length} chars)`
    : text;
}

export function describeExchange(request: HttpRequest, response: HttpResponse): string {
  const lines = [`${request.method} ${request.url}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push('', shown(request.body));
  lines.push('', `→ ${response.status}`);
  for (const [name, value] of Object.entries(response.headers)) lines.push(`${name}: ${value}`);
  lines.push('', shown(response.text));
  return lines.join('\n');
}

/** Throws with the whole exchange when the answer does not conform or `extra` names a problem. */
export function expectConforming(
  operation: Operation,
  request: HttpRequest,
  response: HttpResponse,
  extra: readonly string[] = [],
  what?: string,
): void {
  const problems = [...conformanceProblems(operation, response), ...extra];
  if (problems.length === 0) return;
  throw new Error(
    [
      `${operation.key}: ${problems.join('; ')}`,
      ...(what ? [`(the request was made invalid: ${what})`] : []),
      '',
      describeExchange(request, response),
    ].join('\n'),
  );
}

/** Counts per operation and kind of case, and the statuses seen, for the layer's summary. */
export class Tally {
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly statuses = new Map<string, Map<number, number>>();

  record(operation: Operation, kind: string, status: number): void {
    const kinds = this.counts.get(operation.key) ?? new Map<string, number>();
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    this.counts.set(operation.key, kinds);
    const seen = this.statuses.get(operation.key) ?? new Map<number, number>();
    seen.set(status, (seen.get(status) ?? 0) + 1);
    this.statuses.set(operation.key, seen);
  }

  count(key: string, kind: string): number {
    return this.counts.get(key)?.get(kind) ?? 0;
  }

  summary(): string {
    const lines: string[] = [];
    for (const [key, kinds] of this.counts) {
      const parts = [...kinds].map(([kind, n]) => `${kind} ${n}`).join(', ');
      const seen = [...(this.statuses.get(key) ?? [])]
        .sort(([a], [b]) => a - b)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ');
      lines.push(`${key}: ${parts} | ${seen}`);
    }
    return lines.join('\n');
  }
}
