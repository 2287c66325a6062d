// The console's delivery through app.inject: the page and every file it loads (found by following
// the page's own references, so a new file is covered without listing it here), their content
// types and security headers, the rules the CSP relies on (no inline script or style, nothing
// external), revalidation by ETag, Brotli, and unknown or crafted file names.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import Fastify from 'fastify';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  consoleRoutes,
  SECURITY_HEADERS,
} from '../../src/features/console/console.routes.ts';
import { ITEMS } from '../../src/features/shop/shop.catalog.ts';
import {
  API_CONTENT_SECURITY_POLICY,
  BASE_SECURITY_HEADERS,
} from '../../src/platform/http/security-headers.ts';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { cases } from '../support/cases.ts';

const PUBLIC_DIR = join(import.meta.dirname, '../../src/features/console/public');

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers });

/** URLs the page and its scripts and styles refer to, followed from `/`. */
async function reachableFiles(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const queue = ['/'];
  while (queue.length > 0 && found.size < 50) {
    const url = queue.shift() as string;
    if (found.has(url)) continue;
    const response = await get(url);
    expect(response.statusCode, url).toBe(200);
    found.set(url, response.body);
    // <script src>, <link href>, `import … from './x.js'` and '/console/…' in a script.
    const reference =
      /(?:src|href)="(\/console\/[^"]+)"|from '\.\/([\w.-]+\.js)'|'(\/console\/[^']+)'/g;
    const references = [...response.body.matchAll(reference)].map(
      ([, attribute, module, fetched]) => attribute ?? (module ? `/console/${module}` : fetched),
    );
    queue.push(...references.filter((r): r is string => r !== undefined));
  }
  return found;
}

describe('the console page and its files', () => {
  test('GET / is the page, with every security header', async () => {
    const response = await get('/');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers).toMatchObject(SECURITY_HEADERS);
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/(^|; )default-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|\*|https?:|data:/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.body).toContain('<title>Coinworks console</title>');
  });

  test('every file the page loads is served with its type and the same headers', async () => {
    const files = await reachableFiles();
    // The page, its stylesheet, icon, five scripts and the price list at least.
    expect(files.size).toBeGreaterThanOrEqual(9);
    const types: Record<string, string> = {
      '.html': 'text/html; charset=utf-8',
      '.css': 'text/css; charset=utf-8',
      '.js': 'text/javascript; charset=utf-8',
      '.svg': 'image/svg+xml',
      '.json': 'application/json; charset=utf-8',
    };
    for (const url of files.keys()) {
      const response = await get(url);
      const extension = url === '/' ? '.html' : (url.match(/\.\w+$/)?.[0] ?? '');
      expect(response.headers['content-type'], url).toBe(types[extension]);
      expect(response.headers, url).toMatchObject(SECURITY_HEADERS);
    }
    // Every file in public/ is reachable from the page: nothing is served that nothing uses.
    for (const name of readdirSync(PUBLIC_DIR)) {
      expect([...files.keys()], name).toContain(name === 'index.html' ? '/' : `/console/${name}`);
    }
  });

  test('nothing inline for the CSP to block, and nothing from another origin', async () => {
    for (const [url, text] of await reachableFiles()) {
      // Only the SVG namespace name looks like an address; it is never fetched.
      const addresses = text.replaceAll('http://www.w3.org/2000/svg', '');
      expect(addresses, url).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      if (url !== '/') continue;
      expect(text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(text).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    }
  });

  test('the price list is the shop catalogue', async () => {
    const response = await get('/console/catalog.json');
    expect(response.json()).toEqual([...ITEMS].map(([item, price]) => ({ item, price })));
  });

  test('a file is served as it is on disk', async () => {
    const response = await get('/console/http.js');
    expect(response.body).toBe(readFileSync(join(PUBLIC_DIR, 'http.js'), 'utf8'));
  });

  test('an unchanged file is a 304 for its ETag, a changed one is sent whole', async () => {
    const first = await get('/console/console.css');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    for (const tag of [etag, `W/${etag}`, `"another", ${etag}`, '*']) {
      const again = await get('/console/console.css', { 'if-none-match': tag });
      expect(again.statusCode, tag).toBe(304);
      expect(again.body).toBe('');
      expect(again.headers).toMatchObject({ ...SECURITY_HEADERS, etag });
    }
    const stale = await get('/console/console.css', { 'if-none-match': '"another"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(first.body);
  });

  test('the Brotli encoding has an ETag of its own', async () => {
    const plain = await get('/console/http.js');
    const brotli = await get('/console/http.js', { 'accept-encoding': 'br' });
    expect(brotli.headers.etag).toBe(String(plain.headers.etag).replace(/"$/, '-br"'));
    const revalidated = { 'if-none-match': String(brotli.headers.etag) };
    expect(
      (await get('/console/http.js', { ...revalidated, 'accept-encoding': 'br' })).statusCode,
    ).toBe(304);
    // Without Brotli the client needs the plain bytes, whatever it holds for the other coding.
    expect((await get('/console/http.js', revalidated)).statusCode).toBe(200);
  });

  test('only files of known types are served from the folder; nothing else there stops it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'console-'));
    writeFileSync(join(directory, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(directory, '.DS_Store'), 'junk');
    writeFileSync(join(directory, 'notes.md'), '# notes');
    writeFileSync(join(directory, 'page.js~'), 'backup');
    mkdirSync(join(directory, 'nested.js'));
    const app = Fastify();
    await app.register(consoleRoutes, { priceList: new Map([['pen', 10]]), directory });
    try {
      expect((await app.inject({ url: '/' })).body).toBe('<!doctype html><title>t</title>');
      expect((await app.inject({ url: '/console/catalog.json' })).json()).toEqual([
        { item: 'pen', price: 10 },
      ]);
      for (const name of ['.DS_Store', 'notes.md', 'page.js~', 'nested.js']) {
        expect((await app.inject({ url: `/console/${name}` })).statusCode, name).toBe(404);
      }
    } finally {
      await app.close();
      rmSync(directory, { recursive: true });
    }
  });

  cases(
    'Brotli only when Accept-Encoding allows it',
    [
      ['br', true],
      ['gzip, deflate, br', true],
      ['gzip;q=1.0, br;q=0.5', true],
      ['BR', true],
      ['br;q=0', false],
      ['br;q=0.000', false],
      ['gzip', false],
      ['brotli', false],
      ['', false],
    ] as const,
    async ([accept, brotli]) => {
      const plain = await get('/console/http.js');
      const response = await get('/console/http.js', { 'accept-encoding': accept });
      expect(response.headers.vary).toBe('accept-encoding');
      if (brotli) {
        expect(response.headers['content-encoding']).toBe('br');
        expect(response.rawPayload.length).toBeLessThan(plain.rawPayload.length);
        expect(brotliDecompressSync(response.rawPayload).toString()).toBe(plain.body);
      } else {
        expect(response.headers['content-encoding']).toBeUndefined();
        expect(response.body).toBe(plain.body);
      }
    },
  );

  test('HEAD / answers the headers without the body', async () => {
    const response = await t.app.inject({ method: 'HEAD', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(response.body).toBe('');
  });

  cases(
    'no file outside the console is reachable, whatever the name',
    [
      '/console/nope.js',
      '/console/',
      '/console/..%2Fconsole.routes.ts',
      '/console/%2E%2E%2F%2E%2E%2Fapp.ts',
      '/console/index.html%00.js',
      '/console/main.js/extra',
      '/console.css',
    ],
    async (url) => {
      const response = await get(url);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ code: 404, error: 'Not Found' });
      // The service's 404, not a page: every response's headers and the API's policy.
      expect(response.headers).toMatchObject({
        ...BASE_SECURITY_HEADERS,
        'content-security-policy': API_CONTENT_SECURITY_POLICY,
      });
    },
  );
});
