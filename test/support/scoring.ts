// Builds scoring API requests the way a real client does, with valid tokens by default.
import { adminToken, userToken } from '../../src/features/scoring/scoring.auth.ts';

export const SALT = 'Otus';
export const ADMIN_SALT = '42';

export interface Envelope {
  account?: unknown;
  login?: unknown;
  token?: unknown;
  method?: unknown;
  arguments?: unknown;
}

/** Sets the token a correct client would send for this envelope at `now`. */
export function withValidToken<T extends Envelope>(request: T, now = new Date()): T {
  const token =
    request.login === 'admin'
      ? adminToken(now, ADMIN_SALT)
      : userToken((request.account as string) ?? '', (request.login as string) ?? '', SALT);
  return { ...request, token };
}

export function scoreRequest(args: unknown, login = 'h&f'): Envelope {
  return withValidToken({ account: 'horns&hoofs', login, method: 'online_score', arguments: args });
}

export function interestsRequest(args: unknown): Envelope {
  return withValidToken({
    account: 'horns&hoofs',
    login: 'h&f',
    method: 'clients_interests',
    arguments: args,
  });
}
