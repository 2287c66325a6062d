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
const CONSOLE_PREFIX = '/console/';

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

/** The page's own, on top of those every response has (platform/http/security-headers.ts). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
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

/** One representation of a file: its bytes, and the strong ETag of exactly those bytes. */
interface Representation {
  readonly etag: string;
  readonly body: Buffer;
}

interface Asset {
  readonly contentType: string;
  readonly identity: Representation;
  /** The Brotli encoding, when it is smaller; its own ETag, as RFC 9110 asks of each coding. */
  readonly brotli: Representation | null;
}

function asset(contentType: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  const compressed = body.length >= COMPRESS_FROM_BYTES ? brotliCompressSync(body) : null;
  return {
    contentType,
    identity: { etag: `"${hash}"`, body },
    brotli:
      compressed && compressed.length < body.length
        ? { etag: `"${hash}-br"`, body: compressed }
        : null,
  };
}

export interface ConsoleOptions {
  /** The shop's merch and prices, served as catalog.json: one source of truth for the page. */
  readonly priceList: ReadonlyMap<string, number>;
  /** Where the page's files are; public/ beside this file unless a test says otherwise. */
  readonly directory?: string;
}

/**
 * The console's files by name: the files of public/ with a known type (anything else there, a
 * dotfile, a folder or an editor's backup, is not served, and does not stop the service), plus
 * the price list.
 */
function loadConsoleAssets(options: ConsoleOptions): ReadonlyMap<string, Asset> {
  const { priceList, directory = PUBLIC_DIR } = options;
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || entry.name.startsWith('.') || !contentType) continue;
    assets.set(entry.name, asset(contentType, readFileSync(join(directory, entry.name))));
  }
  const catalog = [...priceList].map(([item, price]) => ({ item, price }));
  const json = CONTENT_TYPES['.json'] as string;
  assets.set('catalog.json', asset(json, Buffer.from(JSON.stringify(catalog))));
  return assets;
}

/** Whether Accept-Encoding lists `br` with a non-zero quality. */
function acceptsBrotli(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((entry) => {
    const [coding, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (coding !== 'br') return false;
    const q = params.find((param) => param.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Whether If-None-Match names this ETag: `*`, or a list of tags compared weakly (a proxy may
 * have weakened ours to W/"…"), as RFC 9110 says for If-None-Match.
 */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset) {
  const chosen =
    file.brotli && acceptsBrotli(request.headers['accept-encoding']) ? file.brotli : file.identity;
  reply
    .headers(SECURITY_HEADERS)
    .header('content-type', file.contentType)
    .header('etag', chosen.etag)
    // Revalidated on every load (a cheap 304), so a new release is seen at once.
    .header('cache-control', 'no-cache')
    .header('vary', 'accept-encoding');
  if (noneMatch(request.headers['if-none-match'], chosen.etag)) return reply.code(304).send();
  if (chosen === file.brotli) reply.header('content-encoding', 'br');
  return reply.send(chosen.body);
}

export async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const assets = loadConsoleAssets(options);
  const page = assets.get('index.html');
  if (!page) throw new Error('the console has no index.html');
  const hide = { schema: { hide: true } };

  app.get('/', hide, (request, reply) => send(request, reply, page));
  app.get<{ Params: { file: string } }>(`${CONSOLE_PREFIX}:file`, hide, (request, reply) => {
    const file = assets.get(request.params.file);
    if (file) return send(request, reply, file);
    // Not a console file: the service's usual 404, with every response's security headers.
    return reply.callNotFound();
  });
}
