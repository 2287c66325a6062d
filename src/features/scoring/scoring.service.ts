// Owns the scoring API's logic, without HTTP: the order of checks (envelope, authentication,
// method, arguments), the two methods, and the use of the store in its two roles.
import { AppError } from '../../platform/errors.ts';
import { isPlainObject } from '../../platform/http/json.ts';
import { localDate } from './fields/calendar.ts';
import type { FieldContext } from './fields/fields.ts';
import { validateRequest } from './fields/request.ts';
import { isAdmin, isAuthenticated, type Salts } from './scoring.auth.ts';
import { scoringErrors } from './scoring.errors.ts';
import {
  clientsInterestsRequest,
  methodRequest,
  onlineScoreRequest,
  type ScoringMethod,
} from './scoring.requests.ts';
import { computeScore, parseCachedScore, scoreCacheKey } from './scoring.score.ts';
import { type ScoringStore, StoreUnavailableError, StoreValueError } from './scoring.store.ts';

export const INTERESTS_KEY_PREFIX = 'i:';
export const ADMIN_SCORE = 42;

/** What the server logs about a request, never what it answers. */
export interface MethodContext {
  readonly method: string;
  /** online_score: the names of the non-empty arguments. */
  readonly has?: readonly string[];
  /** clients_interests: the number of ids in the request. */
  readonly nclients?: number;
}

export interface MethodResult {
  readonly response: unknown;
  readonly context: MethodContext;
}

export interface ScoringServiceDeps extends Salts {
  readonly store: ScoringStore;
  readonly now: () => Date;
  readonly cacheTtlSeconds: number;
  readonly log: { error(obj: object, msg: string): void };
}

type Handler = (
  args: Readonly<Record<string, unknown>>,
  admin: boolean,
  context: FieldContext,
) => Promise<MethodResult>;

const invalid = (errors: readonly string[]) =>
  new AppError(scoringErrors.INVALID_REQUEST, errors.join('; '));

export function createScoringService(deps: ScoringServiceDeps) {
  async function onlineScore(
    raw: Readonly<Record<string, unknown>>,
    admin: boolean,
    context: FieldContext,
  ): Promise<MethodResult> {
    const checked = validateRequest(onlineScoreRequest, raw, context);
    if (!checked.ok) throw invalid(checked.errors);
    const logContext = { method: 'online_score', has: checked.present };
    if (admin) return { response: { score: ADMIN_SCORE }, context: logContext };
    const key = scoreCacheKey(checked.values);
    const cached = await deps.store.cacheGet(key);
    const hit = cached === null ? null : parseCachedScore(cached);
    if (hit !== null) return { response: { score: hit }, context: logContext };
    const score = computeScore(checked.values);
    await deps.store.cacheSet(key, String(score), deps.cacheTtlSeconds);
    return { response: { score }, context: logContext };
  }

  async function clientsInterests(
    raw: Readonly<Record<string, unknown>>,
    _admin: boolean,
    context: FieldContext,
  ): Promise<MethodResult> {
    const checked = validateRequest(clientsInterestsRequest, raw, context);
    if (!checked.ok) throw invalid(checked.errors);
    const ids = checked.values.client_ids ?? [];
    const unique = [...new Set(ids)];
    let stored: (string | null)[];
    try {
      stored = await deps.store.getMany(unique.map((id) => INTERESTS_KEY_PREFIX + id));
    } catch (err) {
      if (err instanceof StoreValueError) throw corrupt(err.key);
      if (!(err instanceof StoreUnavailableError)) throw err;
      throw new AppError(scoringErrors.STORE_UNAVAILABLE);
    }
    const response: Record<string, readonly string[]> = {};
    unique.forEach((id, i) => {
      response[String(id)] = parseInterests(stored[i] ?? null, id);
    });
    return { response, context: { method: 'clients_interests', nclients: ids.length } };
  }

  function parseInterests(value: string | null, id: number): readonly string[] {
    if (value === null) return [];
    try {
      const list: unknown = JSON.parse(value);
      if (Array.isArray(list) && list.every((item) => typeof item === 'string')) return list;
    } catch {
      // fall through: the stored value is not what the import command writes
    }
    throw corrupt(INTERESTS_KEY_PREFIX + id);
  }

  function corrupt(key: string): AppError {
    // The store is the source of truth; a made-up or partial answer would hide the damage.
    deps.log.error({ key }, 'stored interests are not a JSON array of strings');
    return new AppError(scoringErrors.INTERNAL);
  }

  const methods: Readonly<Record<ScoringMethod, Handler>> = {
    online_score: onlineScore,
    clients_interests: clientsInterests,
  };
  const supported = Object.keys(methods).join(', ');

  return {
    methods: Object.keys(methods),

    /** Runs one request body through every check, in the contract's order. */
    async handle(body: unknown): Promise<MethodResult> {
      if (!isPlainObject(body)) {
        throw new AppError(
          scoringErrors.BAD_REQUEST,
          'Bad Request: the body must be a JSON object',
        );
      }
      const now = deps.now();
      const context: FieldContext = { today: localDate(now) };
      const envelope = validateRequest(methodRequest, body, context);
      if (!envelope.ok) throw invalid(envelope.errors);
      const { values } = envelope;
      if (!isAuthenticated(values, deps, now)) throw new AppError(scoringErrors.FORBIDDEN);
      const method = values.method ?? '';
      const handler = Object.hasOwn(methods, method) ? methods[method as ScoringMethod] : undefined;
      if (handler === undefined) {
        throw invalid([
          `method: unknown method ${JSON.stringify(method)}; supported: ${supported}`,
        ]);
      }
      return handler(values.arguments ?? {}, isAdmin(values), context);
    },
  };
}

export type ScoringService = ReturnType<typeof createScoringService>;
