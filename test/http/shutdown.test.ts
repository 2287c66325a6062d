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
