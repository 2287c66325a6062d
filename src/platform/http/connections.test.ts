import { expect } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import {
  CONNECTIONS_CHECK_INTERVAL_MAX_MS,
  connectionsCheckingIntervalMs,
  serverTimeouts,
} from './connections.ts';

cases(
  'the timeout check runs at least ten times per timeout, and at least once a second',
  [
    [1_000, 100],
    [5_000, 500],
    [10_000, 1_000],
    [30_000, CONNECTIONS_CHECK_INTERVAL_MAX_MS],
    [600_000, CONNECTIONS_CHECK_INTERVAL_MAX_MS],
    [5, 1],
  ] as const,
  ([timeoutMs, intervalMs]) => {
    expect(connectionsCheckingIntervalMs(timeoutMs)).toBe(intervalMs);
  },
);

cases('the headers timeout is the request timeout itself', [1_000, 30_000], (timeoutMs) => {
  expect(serverTimeouts(timeoutMs)).toEqual({
    connectionsCheckingInterval: connectionsCheckingIntervalMs(timeoutMs),
    headersTimeout: timeoutMs,
  });
});
