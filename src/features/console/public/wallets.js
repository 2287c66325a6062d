// The Wallets view: the keyset-paged list (choosing a wallet selects it), create, balance,
// deposit and withdraw, and the selected wallet's history, newest first. Answers that arrive
// after a newer request of the same kind (another page, another wallet) are logged but no
// longer shown, so the view always matches the last thing asked for.
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

const API = '/api/v1/wallets/';
const HISTORY_PAGE_SIZE = 10;

/**
 * @typedef {{ wallet_id: string, balance: number | bigint }} Wallet
 * @typedef {{ operation_id: string, operation_type: string, amount: number | bigint,
 *   balance_after: number | bigint, created_at: string }} Operation
 */

export function startWallets() {
  const log = byId('wallets-log', HTMLOListElement);
  const tableBody = /** @type {HTMLTableSectionElement} */ (
    byId('wallet-table', HTMLTableElement).tBodies[0]
  );
  const empty = byId('wallet-table-empty', HTMLParagraphElement);
  const pageSize = byId('wallet-page-size', HTMLInputElement);
  const first = byId('wallet-first', HTMLButtonElement);
  const previous = byId('wallet-prev', HTMLButtonElement);
  const next = byId('wallet-next', HTMLButtonElement);
  const listTitle = byId('wallet-list-title', HTMLHeadingElement);
  const walletId = byId('wallet-id', HTMLInputElement);
  const balance = byId('wallet-balance', HTMLOutputElement);
  const operation = byId('wallet-operation', HTMLFormElement);
  const historyBody = /** @type {HTMLTableSectionElement} */ (
    byId('history-table', HTMLTableElement).tBodies[0]
  );
  const historyEmpty = byId('history-empty', HTMLParagraphElement);
  const historyMore = byId('history-more', HTMLButtonElement);
  const historyTitle = byId('wallet-history-title', HTMLHeadingElement);

  /** The `after` cursor of each page up to the one shown; the last is the shown page's. */
  let cursors = [/** @type {string | null} */ (null)];
  /** The last id on the shown page: the next page's cursor. */
  let lastShown = /** @type {string | null} */ (null);
  let listRequest = 0;

  /** The wallet whose balance and history are shown, and where its older history starts. */
  let shown = /** @type {string | null} */ (null);
  let olderHistory = /** @type {string | null} */ (null);
  /** @type {Operation[]} */
  let historyRows = [];
  let walletRequest = 0;

  const walletUrl = (/** @type {string} */ id) => `${API}${encodeURIComponent(id)}`;

  /**
   * Shows the page after `pageCursors.at(-1)`; the cursors are kept only if it arrives.
   * @param {(string | null)[]} pageCursors
   */
  async function showPage(pageCursors) {
    const request = ++listRequest;
    const after = pageCursors[pageCursors.length - 1];
    const query = new URLSearchParams({ limit: pageSize.value.trim() });
    if (after) query.set('after', after);
    const answer = await exchange(log, { method: 'GET', url: `${API}?${query}` });
    if (request !== listRequest || answer.status !== 200 || !Array.isArray(answer.json)) return;
    cursors = pageCursors;
    /** @type {Wallet[]} */
    const wallets = answer.json;
    fillRows(
      tableBody,
      wallets.map((wallet) => {
        const choose = element('button', 'link', wallet.wallet_id);
        choose.type = 'button';
        choose.dataset.walletId = wallet.wallet_id;
        choose.addEventListener(
          'click',
          guarded(choose, log, () => select(wallet.wallet_id)),
        );
        return [choose, String(wallet.balance)];
      }),
      [1],
    );
    markSelected();
    empty.hidden = wallets.length > 0;
    empty.textContent = cursors.length > 1 ? 'No more wallets.' : 'No wallets yet.';
    lastShown = wallets.at(-1)?.wallet_id ?? null;
    const atStart = cursors.length === 1;
    const atEnd = wallets.length < Number(pageSize.value);
    for (const [button, off] of /** @type {const} */ ([
      [first, atStart],
      [previous, atStart],
      [next, atEnd],
    ])) {
      if (off) keepFocus(button, listTitle);
      button.disabled = off;
    }
  }

  function markSelected() {
    for (const button of tableBody.querySelectorAll('button')) {
      const current = button.dataset.walletId === shown;
      if (current) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
      button.closest('tr')?.classList.toggle('selected', current);
    }
  }

  /** @param {string} id */
  async function select(id) {
    walletId.value = id;
    await lookUp(id);
  }

  /** Shows a wallet's balance and the newest page of its history. */
  async function lookUp(/** @type {string} */ id) {
    const request = ++walletRequest;
    const answer = await exchange(log, { method: 'GET', url: walletUrl(id) });
    if (request !== walletRequest) return;
    shown = answer.status === 200 ? id : null;
    markSelected();
    balance.value =
      answer.status === 200 ? String(/** @type {Wallet} */ (answer.json).balance) : '–';
    historyRows = [];
    olderHistory = null;
    if (shown) await loadHistory(request);
    else renderHistory();
  }

  /**
   * Reads the shown wallet's history: its newest page, or with `olderHistory` set, the page
   * before it, added below.
   * @param {number} request the wallet request this belongs to
   */
  async function loadHistory(request) {
    const id = shown;
    if (!id) return;
    const before = olderHistory;
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE_SIZE) });
    if (before) query.set('before', before);
    const answer = await exchange(log, {
      method: 'GET',
      url: `${walletUrl(id)}/operations?${query}`,
    });
    if (request !== walletRequest || answer.status !== 200) return;
    const page = /** @type {{ items: Operation[], next: string | null }} */ (answer.json);
    historyRows = before ? historyRows.concat(page.items) : page.items;
    olderHistory = page.next;
    renderHistory();
  }

  function renderHistory() {
    fillRows(
      historyBody,
      historyRows.map((op) => {
        const time = element('time', undefined, new Date(op.created_at).toLocaleString());
        time.setAttribute('datetime', op.created_at);
        return [time, op.operation_type, String(op.amount), String(op.balance_after)];
      }),
      [2, 3],
    );
    historyEmpty.hidden = historyRows.length > 0;
    historyEmpty.textContent = shown
      ? 'No operations yet.'
      : 'Select a wallet to see its operations.';
    if (olderHistory === null) keepFocus(historyMore, historyTitle);
    historyMore.hidden = olderHistory === null;
  }

  const create = byId('wallet-create', HTMLButtonElement);
  create.addEventListener(
    'click',
    guarded(create, log, async () => {
      const answer = await exchange(log, { method: 'POST', url: API });
      if (answer.status !== 201) return;
      await showPage(cursors);
      await select(/** @type {Wallet} */ (answer.json).wallet_id);
    }),
  );

  onSubmit(byId('wallet-lookup', HTMLFormElement), log, () => lookUp(walletId.value.trim()));

  onSubmit(operation, log, async () => {
    // The id field is the lookup form's; its own check says what is missing.
    if (!walletId.reportValidity()) return;
    const id = walletId.value.trim();
    const form = new FormData(operation);
    const key = String(form.get('idempotency_key') ?? '').trim();
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': 'application/json' };
    if (key) headers['Idempotency-Key'] = key;
    const answer = await exchange(log, {
      method: 'POST',
      url: `${walletUrl(id)}/operation`,
      headers,
      body: JSON.stringify({
        operation_type: form.get('operation_type'),
        amount: integerValue(String(form.get('amount') ?? '')),
      }),
    });
    if (answer.status !== 200) return;
    await lookUp(id);
    await showPage(cursors);
  });

  first.addEventListener(
    'click',
    guarded(first, log, () => showPage([null])),
  );
  previous.addEventListener(
    'click',
    guarded(previous, log, () => showPage(cursors.length > 1 ? cursors.slice(0, -1) : [null])),
  );
  next.addEventListener(
    'click',
    guarded(next, log, () => (lastShown ? showPage([...cursors, lastShown]) : Promise.resolve())),
  );
  pageSize.addEventListener(
    'change',
    guarded(pageSize, log, () => showPage([null])),
  );
  historyMore.addEventListener(
    'click',
    guarded(historyMore, log, () => loadHistory(walletRequest)),
  );

  renderHistory();
  return { show: () => showPage(cursors) };
}
