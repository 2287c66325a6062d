// Owns liveness, readiness and draining: /healthz says the process serves HTTP; /readyz asks every
// store the service depends on, so a load balancer sends traffic only where it can be served; and
// while the app closes, answers close their connections so that shutdown does not wait for them,
// and requests that still arrive are refused in the body style of the route they asked for.
import type { FastifyInstance } from 'fastify';
import { AppError, defineErrors } from './errors.ts';

export const healthErrors = defineErrors({
  SHUTTING_DOWN: { status: 503, message: 'Service Unavailable: shutting down' },
});

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to the dependency's parts and whether each is up; `required` parts decide. */
  check(): Promise<Readonly<Record<string, { readonly up: boolean; readonly required: boolean }>>>;
}

export function installHealth(app: FastifyInstance, checks: readonly ReadinessCheck[]): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A request in flight at close arrived on a keep-alive connection, which would otherwise stay
  // open after its answer and hold the server's close until the keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // A new request on a kept-alive connection during close goes through the route's own error
  // handler, so each API answers in its own envelope (Fastify's built-in 503 has none of them).
  app.addHook('onRequest', (_request, _reply, done) => {
    done(
      closing
        ? new AppError(healthErrors.SHUTTING_DOWN, undefined, { 'retry-after': '1' })
        : undefined,
    );
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await c.check()] as const));
    const report: Record<string, Record<string, string>> = {};
    let ready = !closing;
    for (const [name, parts] of results) {
      report[name] = {};
      for (const [part, state] of Object.entries(parts)) {
        report[name][part] = state.up ? 'up' : 'down';
        if (state.required && !state.up) ready = false;
      }
    }
    reply.code(ready ? 200 : 503);
    return { status: closing ? 'closing' : ready ? 'ready' : 'not ready', checks: report };
  });
}
