// Owns request ids: taken from the caller when it sends a sane one, generated otherwise, and
// echoed in the X-Request-ID response header.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Longest request id taken from a caller; longer ones are replaced, not truncated. */
export const REQUEST_ID_LENGTH_MAX = 128;

// Visible ASCII only, so that an id cannot forge log lines or response headers.
const SANE_ID = /^[\x21-\x7e]+$/;

// `HTTP_X_REQUEST_ID` is the name the course template read (its CGI-style environment name).
const HEADERS = ['x-request-id', 'http_x_request_id'] as const;

export function requestIdFrom(request: IncomingMessage): string {
  for (const name of HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string' && value.length <= REQUEST_ID_LENGTH_MAX && SANE_ID.test(value)) {
      return value;
    }
  }
  return randomUUID();
}
