// Owns 405 for methods no route names: a path an API serves, asked with a method it has no route
// for at all (TRACE, QUERY, PROPFIND, ...), is answered 405 with Allow, in that API's own error
// body, where the router alone would answer 404 (or Fastify 400, for QUERY without a body type).
// An API whose contract knows no 405 keeps its own answer for them, with Allow added.
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyPluginOptions,
  FastifyReply,
  FastifyRequest,
  RouteOptions,
} from 'fastify';
import { AppError, defineErrors } from '../errors.ts';
import { reasonPhrase } from './errors.ts';

export const methodErrors = defineErrors({
  METHOD_NOT_ALLOWED: { status: 405, message: reasonPhrase(405) },
});

/** The order methods are listed in by Allow; any other comes after these, alphabetically. */
const ALLOW_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * How a covered plugin's paths answer a method they have no route for: 405 with Allow, in the
 * scope's error body; or, for a contract that knows no 405, the scope's own not-found answer,
 * with Allow added to it.
 */
export type OtherMethods = 'method-not-allowed' | 'not-found-with-allow';

interface KnownPath {
  /** Matches the request paths the route pattern does (trailing slash optional). */
  readonly pattern: RegExp;
  readonly otherMethods: OtherMethods;
  /** Methods of documented routes: the ones the path supports. */
  readonly documented: Set<string>;
  /** Methods of every route, documented or not. */
  readonly routed: Set<string>;
}

export interface MethodNotAllowed {
  /**
   * The plugin, wrapped so that the paths of its routes are known: registered in its place (with
   * the same options), it answers their unrouted methods with 405 (or as `otherMethods` says).
   */
  covering<Options extends FastifyPluginOptions>(
    plugin: FastifyPluginAsync<Options>,
    otherMethods?: OtherMethods,
  ): FastifyPluginAsync<Options>;
}

/**
 * Installs the check on `app` (the root, before the covered plugins are registered, so that
 * their not-found answers pass through it). The methods a path supports are those of its routes
 * documented in the API document; a route hidden from it (the scoring API's own 405, whose
 * message names the method to use) answers for itself, and its methods are not in Allow.
 */
export function installMethodNotAllowed(app: FastifyInstance): MethodNotAllowed {
  const paths = new Map<string, KnownPath>();

  const learn = (route: RouteOptions, otherMethods: OtherMethods) => {
    const pattern = patternOf(route.url);
    let path = paths.get(pattern.source);
    if (!path) {
      path = { pattern, otherMethods, documented: new Set(), routed: new Set() };
      paths.set(pattern.source, path);
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    for (const method of methods) {
      path.routed.add(method);
      if (!hidden) path.documented.add(method);
    }
  };

  // Only requests the router found no route for: the 404 of the scope the path belongs to.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (!request.is404 || paths.size === 0) return done();
    const path = pathOf(request.url);
    const known = [...paths.values()].find((candidate) => candidate.pattern.test(path));
    if (!known || known.routed.has(request.method) || known.documented.size === 0) return done();
    const allow = [...known.documented].sort(byAllowOrder).join(', ');
    if (known.otherMethods === 'not-found-with-allow') {
      reply.header('allow', allow);
      return done();
    }
    done(new AppError(methodErrors.METHOD_NOT_ALLOWED, undefined, { headers: { allow } }));
  });

  return {
    covering<Options extends FastifyPluginOptions>(
      plugin: FastifyPluginAsync<Options>,
      otherMethods: OtherMethods = 'method-not-allowed',
    ) {
      const covered: FastifyPluginAsync<Options> = async (scope, options) => {
        scope.addHook('onRoute', (route) => learn(route, otherMethods));
        // The prefix was applied to this wrapper's scope; the plugin inherits it from there.
        const { prefix: _prefix, ...own } = options as Options & { prefix?: string };
        await scope.register(plugin, own as Options);
      };
      return covered;
    },
  };
}

/** The request's path, without its query. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * A route URL as a regular expression over request paths: `:name` is one segment, `*` the rest,
 * and a trailing slash is optional, as the router is told to ignore it.
 */
function patternOf(url: string): RegExp {
  const trimmed = url.length > 1 && url.endsWith('/') ? url.slice(0, -1) : url;
  const source = trimmed
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

function byAllowOrder(a: string, b: string): number {
  const rank = (method: string) => {
    const at = ALLOW_ORDER.indexOf(method);
    return at === -1 ? ALLOW_ORDER.length : at;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}
