// Owns the server's hold on connections: how promptly a request that takes too long to arrive is
// cut (Node checks its timeouts only every so often), and how many connections it holds at once,
// so that a flood of idle ones is refused at the door instead of exhausting the process.
import type { Server } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';

/**
 * Longest pause between Node's checks of the request timeout. Node's default, 30 s, let the
 * documented 30 s timeout fire at 40–70 s; checking every second costs one walk over the
 * connections that are receiving a request, which is nothing next to serving them.
 */
export const CONNECTIONS_CHECK_INTERVAL_MAX_MS = 1_000;
/** Checks per timeout at the least: a timeout fires at most a tenth of itself late. */
export const CONNECTIONS_CHECKS_PER_TIMEOUT = 10;

/**
 * How often Node checks request timeouts, for a given timeout: a request is cut between
 * `timeoutMs` and `timeoutMs` + this (plus the event loop's own delay).
 */
export function connectionsCheckingIntervalMs(timeoutMs: number): number {
  return Math.max(
    1,
    Math.min(
      CONNECTIONS_CHECK_INTERVAL_MAX_MS,
      Math.floor(timeoutMs / CONNECTIONS_CHECKS_PER_TIMEOUT),
    ),
  );
}

/**
 * The options of Node's HTTP server that make `requestTimeoutMs` the longest a client may take
 * to send a whole request, headers and body. Besides the check interval: Node cuts a request
 * whose headers have arrived only once both its request and its headers timeout have passed, and
 * Fastify sets the request timeout after creating the server, which leaves the headers timeout at
 * Node's 60 s; a body sent a byte a second was then read for a minute, whatever the setting.
 */
export function serverTimeouts(requestTimeoutMs: number) {
  return {
    connectionsCheckingInterval: connectionsCheckingIntervalMs(requestTimeoutMs),
    headersTimeout: requestTimeoutMs,
  };
}

/** Least time between two log lines about refused connections (each says how many). */
export const DROPPED_CONNECTIONS_LOG_INTERVAL_MS = 10_000;

/**
 * Holds at most `max` connections: Node closes each new one beyond it as soon as it is accepted
 * (the client sees the connection closed; the process is untouched). Each refusal is counted,
 * and logged in summary, so that a flood cannot flood the log too.
 */
export function limitConnections(
  server: Server,
  max: number,
  log: FastifyBaseLogger,
  registry: Registry,
): void {
  server.maxConnections = max;
  const dropped = new Counter({
    name: 'http_connections_dropped_total',
    help: 'Connections closed on arrival because the server held HTTP_CONNECTIONS_MAX',
    registers: [registry],
  });
  let unreported = 0;
  let lastReport = 0;
  server.on('drop', () => {
    dropped.inc();
    unreported += 1;
    const now = Date.now();
    if (now - lastReport < DROPPED_CONNECTIONS_LOG_INTERVAL_MS) return;
    log.warn({ dropped: unreported, connectionsMax: max }, 'connections refused: at the limit');
    unreported = 0;
    lastReport = now;
  });
}
