// What the HTTP layer makes of a catalogue's error: its status and message, Retry-After from the
// spec or from the failure itself, the replay header, the HTTP layer's own headers; and of
// anything else thrown, a 500 that shows nothing of it.
import { describe, expect, test } from 'vitest';
import { AppError, defineErrors } from '../errors.ts';
import { classifyError } from './errors.ts';

const errors = defineErrors({
  BUSY: { status: 503, message: 'busy', retryAfterSeconds: 1 },
  LIMITED: { status: 429, message: 'limited' },
  REFUSED: { status: 409, message: 'refused' },
});

describe('classifyError', () => {
  test("a spec's retryAfterSeconds becomes Retry-After", () => {
    expect(classifyError(new AppError(errors.BUSY))).toEqual({
      status: 503,
      message: 'busy',
      headers: { 'retry-after': '1' },
    });
  });

  test("a failure's own retryAfterSeconds wins over its spec's, and a message over the default", () => {
    const failure = classifyError(new AppError(errors.BUSY, 'wait', { retryAfterSeconds: 42 }));
    expect(failure).toEqual({ status: 503, message: 'wait', headers: { 'retry-after': '42' } });
    expect(
      classifyError(new AppError(errors.LIMITED, undefined, { retryAfterSeconds: 7 })),
    ).toEqual({ status: 429, message: 'limited', headers: { 'retry-after': '7' } });
  });

  test('a replayed refusal says so; one that is not says nothing', () => {
    expect(
      classifyError(new AppError(errors.REFUSED, undefined, { replayed: true })).headers,
    ).toEqual({ 'idempotent-replayed': 'true' });
    expect(classifyError(new AppError(errors.REFUSED)).headers).toEqual({});
  });

  test("the HTTP layer's own headers pass through", () => {
    const failure = classifyError(
      new AppError(errors.REFUSED, undefined, { headers: { allow: 'GET' } }),
    );
    expect(failure.headers).toEqual({ allow: 'GET' });
  });

  test('anything else thrown is a 500 that shows nothing of it', () => {
    expect(classifyError(new Error('secret detail'))).toEqual({
      status: 500,
      message: 'Internal Server Error',
      headers: {},
    });
  });
});
