// The Shop view, signed in by the browser session: the HttpOnly cookie (never seen by this page)
// plus the CSRF token the sign-in returned, which buy and sendCoin send as X-CSRF-Token.
import {
  byId,
  element,
  exchange,
  fillRows,
  guarded,
  integerValue,
  keepFocus,
  onSubmit,
} from './http.js';

/** Kept for this tab only, so a reload keeps working; sign-out removes it. */
const CSRF_STORAGE_KEY = 'coinworks.csrf';
const COOKIE_NOTE = 'Cookie: coinworks_session (HttpOnly; added by the browser when signed in)';

/**
 * @typedef {{ type: string, quantity: number }} Owned
 * @typedef {{ coins: number, inventory: Owned[],
 *   coinHistory: { received: { fromUser: string, amount: number }[],
 *                  sent: { toUser: string, amount: number }[] } }} Info
 */

export function startShop() {
  const log = byId('shop-log', HTMLOListElement);
  const signInForm = byId('shop-sign-in', HTMLFormElement);
  const signedIn = byId('shop-signed-in', HTMLDivElement);
  const member = byId('shop-member', HTMLDivElement);
  const who = byId('shop-who', HTMLElement);
  const coins = byId('shop-coins', HTMLOutputElement);
  const sendForm = byId('shop-send', HTMLFormElement);
  const body = (/** @type {string} */ id) =>
    /** @type {HTMLTableSectionElement} */ (byId(id, HTMLTableElement).tBodies[0]);

  /** @param {string} name */
  function showSignedIn(name) {
    who.textContent = name;
    signInForm.hidden = true;
    signedIn.hidden = false;
    member.hidden = false;
  }

  function showSignedOut() {
    sessionStorage.removeItem(CSRF_STORAGE_KEY);
    const username = byId('shop-username', HTMLInputElement);
    keepFocus(signedIn, username);
    keepFocus(member, username);
    signInForm.hidden = false;
    signedIn.hidden = true;
    member.hidden = true;
  }

  /** Headers of a state-changing request: the session's CSRF token, when this tab has it. */
  function changing() {
    /** @type {Record<string, string>} */
    const headers = {};
    const csrf = sessionStorage.getItem(CSRF_STORAGE_KEY);
    if (csrf) headers['X-CSRF-Token'] = csrf;
    return headers;
  }

  async function refresh() {
    const answer = await exchange(log, { method: 'GET', url: '/api/info', note: COOKIE_NOTE });
    if (answer.status === 401) return showSignedOut();
    if (answer.status !== 200) return;
    const info = /** @type {Info} */ (answer.json);
    coins.value = String(info.coins);
    fillRows(
      body('inventory-table'),
      info.inventory.map((owned) => [owned.type, String(owned.quantity)]),
      [1],
    );
    fillRows(
      body('received-table'),
      info.coinHistory.received.map((r) => [r.fromUser, String(r.amount)]),
      [1],
    );
    fillRows(
      body('sent-table'),
      info.coinHistory.sent.map((s) => [s.toUser, String(s.amount)]),
      [1],
    );
  }

  /** @param {string} item */
  async function buy(item) {
    const answer = await exchange(log, {
      method: 'GET',
      url: `/api/buy/${encodeURIComponent(item)}`,
      headers: changing(),
      note: COOKIE_NOTE,
    });
    if (answer.status === 200) await refresh();
  }

  async function loadPrices() {
    const answer = await exchange(log, { method: 'GET', url: '/console/catalog.json' });
    if (answer.status !== 200) return;
    /** @type {{ item: string, price: number }[]} */
    const catalog = /** @type {any} */ (answer.json);
    fillRows(
      body('price-table'),
      catalog.map(({ item, price }) => {
        const button = element('button', undefined, 'Buy');
        button.type = 'button';
        button.setAttribute('aria-label', `Buy ${item} for ${price} coins`);
        button.addEventListener(
          'click',
          guarded(button, log, () => buy(item)),
        );
        return [item, String(price), button];
      }),
      [1],
    );
  }

  onSubmit(signInForm, log, async () => {
    const form = new FormData(signInForm);
    const username = String(form.get('username') ?? '');
    const answer = await exchange(log, {
      method: 'POST',
      url: '/api/session',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password: form.get('password') }),
    });
    if (answer.status !== 200) return;
    sessionStorage.setItem(
      CSRF_STORAGE_KEY,
      /** @type {{ csrf_token: string }} */ (answer.json).csrf_token,
    );
    byId('shop-password', HTMLInputElement).value = '';
    showSignedIn(username);
    // The form that had focus is hidden now.
    byId('shop-refresh', HTMLButtonElement).focus();
    await refresh();
  });

  const signOut = byId('shop-sign-out', HTMLButtonElement);
  signOut.addEventListener(
    'click',
    guarded(signOut, log, async () => {
      const answer = await exchange(log, {
        method: 'DELETE',
        url: '/api/session',
        note: COOKIE_NOTE,
      });
      if (answer.status === 204) showSignedOut();
    }),
  );

  const refreshButton = byId('shop-refresh', HTMLButtonElement);
  refreshButton.addEventListener('click', guarded(refreshButton, log, refresh));

  onSubmit(sendForm, log, async () => {
    const form = new FormData(sendForm);
    const answer = await exchange(log, {
      method: 'POST',
      url: '/api/sendCoin',
      headers: { 'Content-Type': 'application/json', ...changing() },
      body: JSON.stringify({
        toUser: form.get('toUser'),
        amount: integerValue(String(form.get('amount') ?? '')),
      }),
      note: COOKIE_NOTE,
    });
    if (answer.status === 200) await refresh();
  });

  let started = false;
  return {
    async show() {
      if (started) return;
      started = true;
      await loadPrices();
      // Whether this browser already has a session (a reload, or a second visit).
      const answer = await exchange(log, { method: 'GET', url: '/api/session', note: COOKIE_NOTE });
      // Only a 401 says there is no session; a failure says nothing, and the log shows it.
      if (answer.status === 401) return showSignedOut();
      if (answer.status !== 200) return;
      showSignedIn(/** @type {{ username: string }} */ (answer.json).username);
      await refresh();
    },
  };
}
