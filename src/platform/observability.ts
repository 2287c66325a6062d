// Owns what the service tells operators: one log line per request, request durations by route
// and status in Prometheus format at /metrics, and the registry features add their metrics to.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { PLATFORM_TAG, RETRY_AFTER } from './docs.ts';
import type { PlatformRoutesOptions } from './health.ts';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A histogram of how many things went together (operations in a batch, users in a statement),
 * registered where the caller has a registry; without one, nothing is recorded.
 */
export function sizeHistogram(
  registry: Registry | undefined,
  metric: { readonly name: string; readonly help: string; readonly buckets: number[] },
): Histogram | undefined {
  return registry ? new Histogram({ ...metric, registers: [registry] }) : undefined;
}

export function installObservability(app: FastifyInstance, registry: Registry): void {
  const durations = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request durations by method, route template and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.addHook('onResponse', async (request, reply) => {
    // Route templates, not raw URLs, keep the label set bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    durations.observe({ method: request.method, route, status_code: reply.statusCode }, seconds);
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        ms: reply.elapsedTime,
      },
      'request completed',
    );
  });
}

export interface MetricsRoutesOptions extends PlatformRoutesOptions {
  readonly registry: Registry;
}

/** GET /metrics: the registry in Prometheus' text exposition format. */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (
  app,
  { registry, failure },
) => {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Metrics in Prometheus’ text exposition format (version 0.0.4)',
        operationId: 'getMetrics',
        tags: [PLATFORM_TAG],
        response: {
          200: {
            description: 'every metric of the service and the process, with HELP and TYPE lines',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          503: { description: 'the service is shutting down', headers: RETRY_AFTER, ...failure },
        },
      },
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
};
