// Owns the wallets' error catalogue. Bodies are FastAPI's: {"detail": "..."}, or for a 422 the
// list of what was wrong (see wallet.requests.ts), because the seed's clients read `detail`.
import { defineErrors } from '../../platform/errors.ts';

export const walletErrors = defineErrors({
  INVALID_REQUEST: { status: 422, message: 'Invalid request' },
  WALLET_NOT_FOUND: { status: 404, message: 'Wallet not found' },
  INSUFFICIENT_FUNDS: { status: 409, message: 'Insufficient funds' },
  BALANCE_LIMIT: { status: 409, message: 'Balance limit exceeded' },
  IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    message: 'A request with this Idempotency-Key is still in progress',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    message: 'Idempotency-Key was already used for a different operation',
    field: { in: 'header', name: 'idempotency-key', type: 'idempotency_key_reused' },
  },
  HISTORY_CURSOR_UNKNOWN: {
    status: 422,
    message: 'Input should be the operation_id of one of this wallet’s operations',
    field: { in: 'query', name: 'before', type: 'value_error' },
  },
  WALLET_BUSY: {
    status: 503,
    message: 'Too many operations are waiting for this wallet; retry shortly',
    retryAfterSeconds: 1,
  },
});

export type WalletErrorCode = keyof typeof walletErrors;
