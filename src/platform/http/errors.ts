// Owns the mechanics every API style's error handler shares: classify what was thrown, hide the
// internals of 5xx, log bugs once, set the headers; each style only renders the body.
import { AssertionError } from 'node:assert';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { REPLAYED_HEADER } from './headers.ts';

export interface HttpFailure {
  readonly status: number;
  /** Safe to show to the client. */
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type RenderError = (failure: HttpFailure, error: unknown) => unknown;

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Maps anything thrown to a status and a message a client may see. */
export function classifyError(error: unknown): HttpFailure {
  if (error instanceof AppError) {
    const retryAfter = error.retryAfterSeconds;
    const headers = {
      ...error.details.headers,
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
      ...(error.details.replayed ? REPLAYED_HEADER : {}),
    };
    return { status: error.status, message: error.message, headers };
  }
  const status = (error as Partial<FastifyError> | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own 4xx errors (body too large, bad content type, ...) carry safe messages.
    return { status, message: (error as Error).message, headers: {} };
  }
  return { status: 500, message: reasonPhrase(500), headers: {} };
}

/**
 * Builds a Fastify error handler for one API style; `statusOf` maps statuses for a contract that
 * allows only some of them.
 */
export function errorHandler(render: RenderError, statusOf: (status: number) => number = (s) => s) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const classified = classifyError(error);
    const failure = { ...classified, status: statusOf(classified.status) };
    // Expected failures (the catalogue's, a dependency down) are logged where they are detected,
    // once per change of state; per request they are information, or an outage floods the log.
    // A broken invariant (an `assert` of an impossible state) is a bug: the request stops there,
    // with a 500, and the log says so at its loudest level.
    if (error instanceof AssertionError) {
      request.log.fatal({ err: error, bug: true }, 'broken invariant: a bug');
    } else if (failure.status >= 500 && !(error instanceof AppError)) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ status: failure.status, reason: failure.message }, 'request rejected');
    }
    return reply.code(failure.status).headers(failure.headers).send(render(failure, error));
  };
}
