// A TCP proxy that sits between the app and a real server and misbehaves on demand: it refuses
// new connections, cuts live ones, delays traffic, or swallows it without answering. Outages are
// simulated here, so the shared server itself is never touched.
import { createServer, type Server, Socket } from 'node:net';

/**
 * pass: forward both ways. refuse: reset each new connection at once. blackhole: accept and keep
 * connections, but forward nothing either way (a server that hangs, or a dropped route).
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

export class FaultProxy {
  readonly #server: Server;
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  /** When the last delayed chunk to each socket goes out, so that later chunks never pass it. */
  readonly #releaseAt = new WeakMap<Socket, number>();
  #mode: ProxyMode = 'pass';
  #delayMs = 0;
  #port = 0;
  /** Connections the proxy was asked to open, in any mode. */
  connectionsAccepted = 0;

  private constructor(target: URL) {
    this.#targetHost = target.hostname;
    this.#targetPort = Number(target.port || 6379);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Starts a proxy on 127.0.0.1 in front of `targetUrl` (e.g. redis://127.0.0.1:6379). */
  static async start(targetUrl: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(targetUrl));
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** The target URL with the proxy in its place. */
  url(protocol = 'redis'): string {
    return `${protocol}://127.0.0.1:${this.#port}`;
  }

  get liveConnections(): number {
    return this.#pairs.size;
  }

  /**
   * Sets the mode for new connections. 'blackhole' also silences live ones; 'refuse' leaves them
   * be (cutAll() ends them), as a server that stops accepting keeps its open connections.
   */
  set(mode: ProxyMode): this {
    this.#mode = mode;
    return this;
  }

  /** Delays every chunk by `ms` in both directions (0 to stop), keeping its order. */
  delay(ms: number): this {
    this.#delayMs = ms;
    return this;
  }

  /** Cuts every live connection with a TCP reset, as a crashed server or middlebox would. */
  cutAll(): void {
    for (const pair of this.#pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.connectionsAccepted++;
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => this.#forward(upstream, chunk));
    upstream.on('data', (chunk) => this.#forward(client, chunk));
    upstream.connect(this.#targetPort, this.#targetHost);
  }

  #forward(to: Socket, chunk: Buffer): void {
    if (this.#mode === 'blackhole') return;
    const now = performance.now();
    const at = Math.max(now + this.#delayMs, this.#releaseAt.get(to) ?? 0);
    if (at <= now) {
      to.write(chunk);
      return;
    }
    // Like TCP, a chunk never overtakes an earlier one, even when the delay is lowered meanwhile.
    this.#releaseAt.set(to, at);
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, at - now);
  }
}

/** A proxy in front of a PostgreSQL database, and the URL that reaches the database through it. */
export async function proxiedPostgres(url: string): Promise<{ proxy: FaultProxy; url: string }> {
  const proxy = await FaultProxy.start(`postgres://${new URL(url).host}`);
  const throughProxy = new URL(url);
  throughProxy.port = String(proxy.port);
  return { proxy, url: throughProxy.href };
}
