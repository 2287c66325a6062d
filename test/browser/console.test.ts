// The web console in a real browser: every view driven as a person would (clicks and keys),
// with what the page shows checked against what the service answered, the page's CSP watched
// for violations, its own files all found, no request leaving 127.0.0.1, axe-core run on each
// view, and a screenshot of each view saved under test-results/browser/. The tests share one
// page, in order, as one person's visit would.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildTestApp } from '../support/app.ts';
import {
  axeViolations,
  describeWithChromium,
  launchChromium,
  SCREENSHOT_DIR,
} from '../support/browser.ts';

/** How long the page may take to show an answer; the service answers in milliseconds. */
const UI_TIMEOUT_MS = 5_000;
/** The console's history page size (wallets.js). */
const HISTORY_PAGE_SIZE = 10;

describeWithChromium('web console in Chromium', () => {
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Everything the page did that a user would not want: CSP refusals, script errors, 404s. */
  const problems: string[] = [];
  /** Every URL the page requested. */
  const requested: string[] = [];

  beforeAll(async () => {
    const { app } = await buildTestApp();
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    // Chromium reports a CSP refusal (a blocked script, style or request) as a console error.
    page.on('console', (message) => {
      // An API answer of 4xx that the page asked for on purpose is logged by Chromium as a
      // failed resource; the exchange log shows it, and the response check below sees the rest.
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requested.push(request.url()));
    // The page's own files must all be there: any failure outside the APIs is a problem.
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      const api = path.startsWith('/api/') || path === '/method';
      if (!api && response.status() >= 400) problems.push(`${response.status()} for ${path}`);
    });
    await page.goto(`${base}/`);
  });

  afterAll(async () => {
    await context?.close();
  });

  /** The newest exchange in a view's log whose URL matches. */
  const latestTo = (view: string, url: RegExp): Locator =>
    page
      .locator(`#${view}-log > li`)
      .filter({ has: page.locator('.url', { hasText: url }) })
      .first();

  /** The number of the newest entry in any log (0 before any). */
  const newestSeq = () =>
    page
      .locator('.exchange')
      .evaluateAll((items) => Math.max(0, ...items.map((i) => Number(i.dataset.seq))));

  /**
   * Runs `action` (a click, a key) and waits for the exchange it caused with a URL matching
   * `url`; returns that exchange after checking its status.
   */
  async function exchangeOf(
    view: string,
    url: RegExp,
    status: RegExp,
    action: () => Promise<unknown>,
  ): Promise<Locator> {
    const before = await newestSeq();
    await action();
    const entry = latestTo(view, url);
    await expect
      .poll(async () => Number(await entry.getAttribute('data-seq')))
      .toBeGreaterThan(before);
    expect(await entry.locator('.status').textContent()).toMatch(status);
    return entry;
  }

  const responseJson = async (entry: Locator) =>
    JSON.parse((await entry.locator('.response .body').textContent()) ?? '');
  const requestBody = (entry: Locator) => entry.locator('.request .body').textContent();
  const historyOf = (id: string) => new RegExp(`^/api/v1/wallets/${id}/operations\\?`);

  async function checkView(view: string, screenshot = view) {
    await page.locator(`#${view}`).waitFor({ state: 'visible' });
    expect(await axeViolations(page, `#${view}`)).toEqual([]);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${screenshot}.png`) });
  }

  /** Creates a wallet with the button; done when the page shows the new wallet's history. */
  async function createWallet(): Promise<string> {
    const before = await newestSeq();
    const created = await exchangeOf('wallets', /^\/api\/v1\/wallets\/$/, /^201 Created$/, () =>
      page.getByRole('button', { name: 'Create a wallet' }).click(),
    );
    const id: string = (await responseJson(created)).wallet_id;
    const history = latestTo('wallets', historyOf(id));
    await expect
      .poll(async () => Number(await history.getAttribute('data-seq')))
      .toBeGreaterThan(before);
    return id;
  }

  async function operate(type: 'Deposit' | 'Withdraw', amount: string, status: RegExp) {
    await page.getByRole('radio', { name: type }).check();
    await page.locator('#wallet-amount').fill(amount);
    const before = await newestSeq();
    const sent = await exchangeOf('wallets', /\/operation$/, status, () =>
      page.getByRole('button', { name: 'Send operation' }).click(),
    );
    if (status.test('200')) {
      // Done when the page has read the balance and history again.
      const id = await page.locator('#wallet-id').inputValue();
      const history = latestTo('wallets', historyOf(id));
      await expect
        .poll(async () => Number(await history.getAttribute('data-seq')))
        .toBeGreaterThan(before);
    }
    return sent;
  }

  test('the page loads with its security headers', async () => {
    const response = await page.request.get(`${base}/`);
    const headers = response.headers();
    expect(headers['content-security-policy']).toContain("default-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    await page.locator('#wallets').waitFor({ state: 'visible' });
    expect(await page.locator('#shop').isVisible()).toBe(false);
    expect(await page.getByRole('link', { name: 'Wallets' }).getAttribute('aria-current')).toBe(
      'page',
    );
  });

  test('wallets: create, deposit, withdraw too much (409 shown), history, exact balances', async () => {
    const id = await createWallet();
    // Creating selects the new wallet and shows its balance and empty history.
    expect(await page.locator('#wallet-id').inputValue()).toBe(id);
    expect(await page.locator('#wallet-balance').textContent()).toBe('0');
    expect(await page.locator('#history-empty').textContent()).toBe('No operations yet.');

    const deposit = await operate('Deposit', '100', /^200 OK$/);
    expect(await requestBody(deposit)).toBe('{"operation_type":"DEPOSIT","amount":100}');
    expect(await deposit.locator('.headers').textContent()).toContain(
      'Content-Type: application/json',
    );
    expect(await deposit.locator('.url').textContent()).toBe(`/api/v1/wallets/${id}/operation`);
    expect(await page.locator('#wallet-balance').textContent()).toBe('100');

    const refused = await operate('Withdraw', '500', /^409 Conflict$/);
    expect(await refused.locator('.status').getAttribute('class')).toContain('status-4xx');
    expect(await responseJson(refused)).toEqual({ detail: 'Insufficient funds' });
    expect(await page.locator('#wallet-balance').textContent()).toBe('100');
    expect(await page.locator('#announcer').textContent()).toBe(
      `POST /api/v1/wallets/${id}/operation: 409 Conflict`,
    );

    // Not an integer: sent as the text typed, for the service to refuse with its message.
    const fraction = await operate('Deposit', '1.5', /^422/);
    expect(await requestBody(fraction)).toBe('{"operation_type":"DEPOSIT","amount":"1.5"}');
    expect(JSON.stringify(await responseJson(fraction))).toContain('amount');

    // 2^63 − 1 in all: the page sends and shows it exactly, no float rounding on the way.
    const huge = await operate('Deposit', '9223372036854775707', /^200 OK$/);
    expect(await requestBody(huge)).toBe(
      '{"operation_type":"DEPOSIT","amount":9223372036854775707}',
    );
    expect(await huge.locator('.response .body').textContent()).toContain(
      '"new_balance": 9223372036854775807',
    );
    expect(await page.locator('#wallet-balance').textContent()).toBe('9223372036854775807');
    const rows = page.locator('#history-table tbody tr');
    expect(await rows.count()).toBe(2);
    expect((await rows.nth(0).locator('td').allTextContents()).slice(1)).toEqual([
      'DEPOSIT',
      '9223372036854775707',
      '9223372036854775807',
    ]);
    expect((await rows.nth(1).locator('td').allTextContents()).slice(1)).toEqual([
      'DEPOSIT',
      '100',
      '100',
    ]);
  });

  test('wallets: a double click sends one operation', async () => {
    await page.getByRole('radio', { name: 'Withdraw' }).check();
    await page.locator('#wallet-amount').fill('1');
    const before = await newestSeq();
    await page.getByRole('button', { name: 'Send operation' }).dblclick();
    const id = await page.locator('#wallet-id').inputValue();
    const history = latestTo('wallets', historyOf(id));
    await expect
      .poll(async () => Number(await history.getAttribute('data-seq')))
      .toBeGreaterThan(before);
    const operations = await page
      .locator('#wallets-log > li')
      .filter({ has: page.locator('.url', { hasText: /\/operation$/ }) })
      .evaluateAll(
        (items, after) => items.filter((i) => Number(i.dataset.seq) > after).length,
        before,
      );
    expect(operations).toBe(1);
    expect(await page.locator('#wallet-balance').textContent()).toBe('9223372036854775806');
  });

  test('wallets: older history is read page by page', async () => {
    const id = await createWallet();
    for (let i = 1; i <= HISTORY_PAGE_SIZE + 1; i += 1) await operate('Deposit', `${i}`, /^200/);
    const rows = page.locator('#history-table tbody tr');
    expect(await rows.count()).toBe(HISTORY_PAGE_SIZE);
    const older = page.getByRole('button', { name: 'Older operations' });
    const entry = await exchangeOf('wallets', historyOf(id), /^200/, () => older.click());
    expect(await entry.locator('.url').textContent()).toMatch(/&before=[0-9a-f-]{36}$/);
    await expect.poll(() => rows.count()).toBe(HISTORY_PAGE_SIZE + 1);
    // Newest first, down to the first deposit of 1.
    const amounts = await page.locator('#history-table tbody tr td:nth-child(3)').allTextContents();
    expect(amounts).toEqual(
      Array.from({ length: HISTORY_PAGE_SIZE + 1 }, (_, i) => String(HISTORY_PAGE_SIZE + 1 - i)),
    );
    expect(await older.isHidden()).toBe(true);
  });

  test('wallets: the list pages by id, and choosing a wallet selects it', async () => {
    for (let i = 0; i < 3; i += 1) await createWallet();
    const total = (await (await page.request.get(`${base}/api/v1/wallets/?limit=1000`)).json())
      .length;
    const ids = page.locator('#wallet-table tbody button');
    const next = page.getByRole('button', { name: 'Next page' });
    const turn = (action: () => Promise<unknown>) =>
      exchangeOf('wallets', /^\/api\/v1\/wallets\/\?limit=2(&|$)/, /^200/, action);

    await turn(async () => {
      await page.getByLabel('Per page').fill('2');
      await page.getByLabel('Per page').press('Enter');
    });
    const seen = await ids.allTextContents();
    expect(seen).toHaveLength(2);
    // Bounded by the number of wallets; a keyset page cannot know it is the last until the
    // next one is empty, so a full last page is followed by an empty one.
    for (let pages = 1; pages <= total && (await next.isEnabled()); pages += 1) {
      const entry = await turn(() => next.click());
      expect(await entry.locator('.url').textContent()).toBe(
        `/api/v1/wallets/?limit=2&after=${seen.at(-1)}`,
      );
      seen.push(...(await ids.allTextContents()));
    }
    expect(await next.isDisabled()).toBe(true);
    // The focused button was disabled: focus moved to the list's heading, not to the page's top.
    expect(await page.evaluate('document.activeElement?.id')).toBe('wallet-list-title');
    // Every wallet once, in id order.
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect([...seen].sort()).toEqual(seen);

    await turn(() => page.getByRole('button', { name: 'First page' }).click());
    expect(await ids.allTextContents()).toEqual(seen.slice(0, 2));
    await turn(() => next.click());
    expect(await ids.allTextContents()).toEqual(seen.slice(2, 4));
    await turn(() => page.getByRole('button', { name: 'Previous page' }).click());
    expect(await ids.allTextContents()).toEqual(seen.slice(0, 2));

    const chosen = seen[1] ?? '';
    await exchangeOf('wallets', historyOf(chosen), /^200/, () => ids.nth(1).click());
    expect(await page.locator('#wallet-id').inputValue()).toBe(chosen);
    expect(await ids.nth(1).getAttribute('aria-current')).toBe('true');
    expect(await ids.nth(0).getAttribute('aria-current')).toBeNull();
    await checkView('wallets');
  });

  test('wallets by keyboard alone: Tab to "Create a wallet", Enter creates one', async () => {
    await page.locator('body').focus();
    let focused = '';
    for (let i = 0; i < 20 && focused !== 'Create a wallet'; i += 1) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate("document.activeElement?.textContent?.trim() ?? ''"));
    }
    expect(focused).toBe('Create a wallet');
    await exchangeOf('wallets', /^\/api\/v1\/wallets\/$/, /^201 Created$/, () =>
      page.keyboard.press('Enter'),
    );
  });

  test('shop: sign in, buy, send coins, see info update, sign out', async () => {
    // The recipient registers through the API, as another person would.
    const other = await page.request.post(`${base}/api/auth`, {
      data: { username: 'browser-bob', password: 'bob-secret' },
    });
    expect(other.status()).toBe(200);

    // Without a session the page asks and is told so: the 401 is shown, not hidden.
    await exchangeOf('shop', /^\/api\/session$/, /^401/, () =>
      page.getByRole('link', { name: 'Shop' }).click(),
    );
    await page.locator('#shop-sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#shop-member').isHidden()).toBe(true);
    await checkView('shop');

    const signIn = await exchangeOf('shop', /^\/api\/session$/, /^200/, async () => {
      await page.getByLabel('Username').fill('browser-alice');
      await page.getByLabel('Password').fill('alice-secret');
      await page.getByLabel('Password').press('Enter');
    });
    expect(await requestBody(signIn)).toBe(
      '{"username":"browser-alice","password":"alice-secret"}',
    );
    expect(Object.keys(await responseJson(signIn))).toEqual(['message', 'csrf_token']);
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('1000');
    expect(await page.locator('#shop-who').textContent()).toBe('browser-alice');
    expect(await page.locator('#shop-sign-in').isHidden()).toBe(true);

    const bought = await exchangeOf('shop', /^\/api\/buy\/cup$/, /^200/, () =>
      page.getByRole('button', { name: 'Buy cup for 20 coins' }).click(),
    );
    expect(await bought.locator('.headers').textContent()).toMatch(/X-CSRF-Token: \S{20,}/);
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('980');
    expect(await page.locator('#inventory-table tbody td').allTextContents()).toEqual(['cup', '1']);

    // A double click buys once.
    await page.getByRole('button', { name: 'Buy pen for 10 coins' }).dblclick();
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('970');
    const pens = page
      .locator('#shop-log > li')
      .filter({ has: page.locator('.url', { hasText: /^\/api\/buy\/pen$/ }) });
    expect(await pens.count()).toBe(1);

    const sendCoins = (amount: string, status: RegExp) =>
      exchangeOf('shop', /^\/api\/sendCoin$/, status, async () => {
        await page.getByLabel('To user').fill('browser-bob');
        await page.locator('#shop-send-amount').fill(amount);
        await page.getByRole('button', { name: 'Send coins' }).click();
      });
    const sent = await sendCoins('30', /^200/);
    expect(await requestBody(sent)).toBe('{"toUser":"browser-bob","amount":30}');
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('940');
    expect(await page.locator('#sent-table tbody td').allTextContents()).toEqual([
      'browser-bob',
      '30',
    ]);

    // A refusal is shown with the shop's message, and nothing changes.
    const refused = await sendCoins('5000', /^400/);
    expect(await responseJson(refused)).toEqual({ errors: expect.stringMatching(/coins/i) });
    expect(await page.locator('#shop-coins').textContent()).toBe('940');
    await checkView('shop', 'shop-signed-in');

    // A reload keeps the session and this tab's CSRF token: buying still works.
    await page.reload();
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('940');
    await exchangeOf('shop', /^\/api\/buy\/socks$/, /^200/, () =>
      page.getByRole('button', { name: 'Buy socks for 10 coins' }).click(),
    );
    await expect.poll(() => page.locator('#shop-coins').textContent()).toBe('930');

    await exchangeOf('shop', /^\/api\/session$/, /^204/, () =>
      page.getByRole('button', { name: 'Sign out' }).click(),
    );
    await page.locator('#shop-sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#shop-member').isHidden()).toBe(true);
    // The browser's cookie no longer works, and no CSRF token is left in the tab.
    const status = await page.evaluate(async () => (await fetch('/api/session')).status);
    expect(status).toBe(401);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  test('scoring: compute the token, run online_score and clients_interests', async () => {
    await page.getByRole('link', { name: 'Scoring' }).click();
    await page.locator('#scoring').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Compute token' }).click();
    // The spec's own example: account horns&hoofs, login h&f, SALT Otus.
    const token = page.getByLabel('Token', { exact: true });
    await expect.poll(() => token.inputValue()).toMatch(/^55cc9ce545bcd144300f/);
    const send = () => page.getByRole('button', { name: 'Send request' }).click();

    const scored = await exchangeOf('scoring', /^\/method$/, /^200/, send);
    expect(JSON.parse((await requestBody(scored)) ?? '')).toEqual({
      account: 'horns&hoofs',
      login: 'h&f',
      method: 'online_score',
      token: await token.inputValue(),
      arguments: { phone: '79175002040', email: 'stupnikov@otus.ru' },
    });
    expect(await responseJson(scored)).toEqual({ code: 200, response: { score: 3 } });

    await page.getByRole('radio', { name: 'clients_interests' }).check();
    const interests = await exchangeOf('scoring', /^\/method$/, /^200/, send);
    expect(JSON.parse((await requestBody(interests)) ?? '').arguments).toEqual({
      client_ids: [1, 2, 3],
    });
    expect(await responseJson(interests)).toEqual({
      code: 200,
      response: { 1: ['pets', 'tv'], 2: ['travel', 'music'], 3: ['cars', 'sport'] },
    });

    // Ids beyond 2^53 are sent as typed, not rounded (the service then refuses them).
    await page.getByLabel('client_ids').fill('9007199254740993');
    const huge = await exchangeOf('scoring', /^\/method$/, /^4\d\d/, send);
    expect(await requestBody(huge)).toContain('"client_ids": [\n      9007199254740993\n    ]');
    await page.getByLabel('client_ids').fill('1, 2, 3');

    // A wrong token: the 403 is shown with the service's message.
    await token.fill('forged');
    const forbidden = await exchangeOf('scoring', /^\/method$/, /^403/, send);
    expect(await forbidden.locator('.status').getAttribute('class')).toContain('status-4xx');
    expect(await responseJson(forbidden)).toEqual({ code: 403, error: 'Forbidden' });
    await checkView('scoring');
  });

  test("scoring: the admin's token for the current hour is accepted", async () => {
    const hour = () => {
      const now = new Date();
      const two = (n: number) => String(n).padStart(2, '0');
      return `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}${two(now.getHours())}`;
    };
    const before = hour();
    await page.getByLabel('Login', { exact: true }).fill('admin');
    await page.getByRole('button', { name: 'Compute token' }).click();
    const token = page.getByLabel('Token', { exact: true });
    const expected = createHash('sha512').update(`${before}42`).digest('hex');
    await expect.poll(() => token.inputValue()).toBe(expected);
    await page.getByRole('radio', { name: 'online_score' }).check();
    const answer = await exchangeOf('scoring', /^\/method$/, /^\d/, () =>
      page.getByRole('button', { name: 'Send request' }).click(),
    );
    // The server checks by its clock: only when the hour turned meanwhile may it disagree.
    if (hour() === before) {
      expect(await responseJson(answer)).toEqual({ code: 200, response: { score: 42 } });
    }
  });

  test('no CSP violation, script error or missing file; no request left the service', () => {
    expect(problems).toEqual([]);
    expect(requested.length).toBeGreaterThan(50);
    for (const url of requested) expect(url.startsWith(`${base}/`), url).toBe(true);
  });
});
