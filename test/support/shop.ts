// A shop client for tests: each call is one real request to the app, and users are created
// through /api/auth with names no other test uses.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

export interface ShopUser {
  readonly username: string;
  readonly password: string;
  readonly token: string;
}

export interface Info {
  coins: number;
  inventory: { type: string; quantity: number }[];
  coinHistory: {
    received: { fromUser: string; amount: number }[];
    sent: { toUser: string; amount: number }[];
  };
}

export function uniqueName(prefix = 'user'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function shopClient(app: FastifyInstance) {
  const client = {
    auth: (body: unknown, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/api/auth',
        headers: { 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),

    /** Registers a new user (or logs one in) and returns its token. */
    async login(username = uniqueName(), password = 'correct horse'): Promise<ShopUser> {
      const response = await client.auth({ username, password });
      expect(response.statusCode, response.body).toBe(200);
      return { username, password, token: response.json().token };
    },

    info: (token: string): Promise<LightMyRequestResponse> =>
      app.inject({ url: '/api/info', headers: bearer(token) }),

    async infoOf(user: ShopUser): Promise<Info> {
      const response = await client.info(user.token);
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    },

    buy: (token: string, item: string, headers: Record<string, string> = {}) =>
      app.inject({ url: `/api/buy/${item}`, headers: { ...bearer(token), ...headers } }),

    send: (token: string, body: unknown, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/api/sendCoin',
        headers: { ...bearer(token), 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
  return client;
}

export type ShopClient = ReturnType<typeof shopClient>;
