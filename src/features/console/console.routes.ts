// Owns the web console's delivery: the page at `/` and its files under /console/, read once at
// start-up from public/ next to this file (no build step), kept in memory with an ETag and a
// Brotli copy, and sent with the security headers that confine the page to this service.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const PUBLIC_DIR = join(import.meta.dirname, 'public');
/** Where the console's files are served; the page itself is at `/`. */
export const CONSOLE_PREFIX = '/console/';

/**
 * Only this service's own scripts, styles, images and API; no inline script or style, no
 * plugins, no framing by other pages, forms post only here.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** Files smaller than this are sent as they are: compressing them saves nothing. */
const COMPRESS_FROM_BYTES = 1024;

interface Asset {
  readonly contentType: string;
  readonly etag: string;
  readonly body: Buffer;
  readonly brotli: Buffer | null;
}

function asset(name: string, body: Buffer): Asset {
  const contentType = CONTENT_TYPES[extname(name)];
  if (!contentType) throw new Error(`console file of unknown type: ${name}`);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  const compressed = body.length >= COMPRESS_FROM_BYTES ? brotliCompressSync(body) : null;
  return {
    contentType,
    etag: `"${hash}"`,
    body,
    brotli: compressed && compressed.length < body.length ? compressed : null,
  };
}

export interface ConsoleOptions {
  /** The shop's merch and prices, served as catalog.json: one source of truth for the page. */
  readonly priceList: ReadonlyMap<string, number>;
}

/** The console's files by name: public/ as it is, plus the price list. */
function loadConsoleAssets(priceList: ConsoleOptions['priceList']): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    assets.set(name, asset(name, readFileSync(join(PUBLIC_DIR, name))));
  }
  const catalog = [...priceList].map(([item, price]) => ({ item, price }));
  assets.set('catalog.json', asset('catalog.json', Buffer.from(JSON.stringify(catalog))));
  return assets;
}

/** Whether Accept-Encoding lists `br` with a non-zero quality. */
export function acceptsBrotli(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((entry) => {
    const [coding, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (coding !== 'br') return false;
    const q = params.find((param) => param.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset) {
  reply
    .headers(SECURITY_HEADERS)
    .header('content-type', file.contentType)
    .header('etag', file.etag)
    // Revalidated on every load (a cheap 304), so a new release is seen at once.
    .header('cache-control', 'no-cache')
    .header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  if (file.brotli && acceptsBrotli(request.headers['accept-encoding'])) {
    return reply.header('content-encoding', 'br').send(file.brotli);
  }
  return reply.send(file.body);
}

export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const assets = loadConsoleAssets(options.priceList);
  const page = assets.get('index.html');
  if (!page) throw new Error('the console has no index.html');
  const hide = { schema: { hide: true } };

  app.get('/', hide, (request, reply) => send(request, reply, page));
  app.get<{ Params: { file: string } }>(`${CONSOLE_PREFIX}:file`, hide, (request, reply) => {
    const file = assets.get(request.params.file);
    return file ? send(request, reply, file) : reply.callNotFound();
  });
}
