// Graceful shutdown over a real socket: closing the app finishes the requests in flight, answers
// them, and takes no new connections.
import { expect, test } from 'vitest';
import { createMemoryStore } from '../../src/features/scoring/scoring.store.ts';
import { buildTestApp } from '../support/app.ts';
import { interestsRequest } from '../support/scoring.ts';

/** How long the store takes to answer, so that a request is surely in flight at close. */
const STORE_DELAY_MS = 300;

test('closing the app finishes the request in flight, then refuses new connections', async () => {
  const store = createMemoryStore([['i:1', '["books"]']]);
  const getMany = store.getMany.bind(store);
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => {
    started = resolve;
  });
  store.getMany = async (keys) => {
    started();
    await new Promise((resolve) => setTimeout(resolve, STORE_DELAY_MS));
    return getMany(keys);
  };
  const { app } = await buildTestApp({}, { scoringStore: store });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  const pending = fetch(`${address}/method`, {
    method: 'POST',
    body: JSON.stringify(interestsRequest({ client_ids: [1] })),
  });
  await inFlight;
  const closed = app.close();

  const response = await pending;
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ code: 200, response: { 1: ['books'] } });
  await closed;
  await expect(fetch(`${address}/healthz`)).rejects.toThrow();
});

test('a request that arrives while the app is closing is refused in its API envelope', async () => {
  const { app } = await buildTestApp({}, { scoringStore: createMemoryStore() });
  // Holds the close open after the app has marked itself closing, while it still listens.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  app.addHook('preClose', () => held);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const closed = app.close();
  await new Promise((resolve) => setTimeout(resolve, 20));

  const response = await fetch(`${address}/method`, { method: 'POST', body: '{}' });
  expect(response.status).toBe(503);
  expect(response.headers.get('connection')).toBe('close');
  expect(response.headers.get('retry-after')).toBe('1');
  expect(response.headers.get('x-request-id')).toBeTruthy();
  expect(await response.json()).toEqual({ code: 503, error: 'Service Unavailable: shutting down' });
  release();
  await closed;
});
