// Owns the scoring API's error catalogue: every status /method can answer besides 200, with its
// default message. The route's documentation is generated from this list.
import { defineErrors } from '../../platform/errors.ts';

export const scoringErrors = defineErrors({
  BAD_REQUEST: { status: 400, message: 'Bad Request' },
  FORBIDDEN: { status: 403, message: 'Forbidden' },
  NOT_FOUND: { status: 404, message: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Payload Too Large' },
  INVALID_REQUEST: { status: 422, message: 'Invalid Request' },
  INTERNAL: { status: 500, message: 'Internal Server Error' },
  STORE_UNAVAILABLE: {
    status: 503,
    message: 'Service Unavailable: interests store unavailable',
    // The store's reconnects are bounded per operation: a second later is a new attempt.
    retryAfterSeconds: 1,
  },
});
