// The Wallets view: the keyset-paged list (choosing a wallet selects it), create, balance,
// deposit and withdraw, and the selected wallet's history, newest first.
import { byId, element, exchange, fillRows, jsonBody } from './http.js';

const API = '/api/v1/wallets/';
const HISTORY_PAGE_SIZE = 10;

/**
 * @typedef {{ wallet_id: string, balance: number | bigint }} Wallet
 * @typedef {{ operation_id: string, operation_type: string, amount: number | bigint,
 *   balance_after: number | bigint, created_at: string }} Operation
 */

export function startWallets() {
  const log = byId('wallets-log', HTMLOListElement);
  const table = byId('wallet-table', HTMLTableElement);
  const tableBody = /** @type {HTMLTableSectionElement} */ (table.tBodies[0]);
  const empty = byId('wallet-table-empty', HTMLParagraphElement);
  const pageSize = byId('wallet-page-size', HTMLInputElement);
  const first = byId('wallet-first', HTMLButtonElement);
  const previous = byId('wallet-prev', HTMLButtonElement);
  const next = byId('wallet-next', HTMLButtonElement);
  const walletId = byId('wallet-id', HTMLInputElement);
  const balance = byId('wallet-balance', HTMLOutputElement);
  const operation = byId('wallet-operation', HTMLFormElement);
  const historyTable = byId('history-table', HTMLTableElement);
  const historyBody = /** @type {HTMLTableSectionElement} */ (historyTable.tBodies[0]);
  const historyEmpty = byId('history-empty', HTMLParagraphElement);
  const historyMore = byId('history-more', HTMLButtonElement);

  /** The `after` cursor of each page shown so far; the last one is the current page. */
  let cursors = [/** @type {string | null} */ (null)];
  /** @type {string | null} the `before` cursor of older history, when there is more */
  let olderHistory = null;
  /** @type {Operation[]} */
  let historyRows = [];

  const selected = () => walletId.value.trim();
  const walletUrl = (/** @type {string} */ id) => `${API}${encodeURIComponent(id)}`;

  async function loadPage() {
    const after = cursors[cursors.length - 1];
    const query = new URLSearchParams({ limit: pageSize.value.trim() });
    if (after) query.set('after', after);
    const answer = await exchange(log, { method: 'GET', url: `${API}?${query}` });
    if (answer.status !== 200 || !Array.isArray(answer.json)) return;
    /** @type {Wallet[]} */
    const wallets = answer.json;
    fillRows(
      tableBody,
      wallets.map((wallet) => {
        const choose = element('button', 'link', wallet.wallet_id);
        choose.type = 'button';
        choose.dataset.walletId = wallet.wallet_id;
        choose.addEventListener('click', () => select(wallet.wallet_id));
        return [choose, String(wallet.balance)];
      }),
      [1],
    );
    markSelected();
    empty.hidden = wallets.length > 0;
    empty.textContent = cursors.length > 1 ? 'No more wallets.' : 'No wallets yet.';
    previous.disabled = cursors.length === 1;
    first.disabled = cursors.length === 1;
    next.disabled = wallets.length < Number(pageSize.value);
    next.dataset.after = wallets.at(-1)?.wallet_id ?? '';
  }

  function markSelected() {
    for (const button of tableBody.querySelectorAll('button')) {
      const current = button.dataset.walletId === selected();
      button.setAttribute('aria-pressed', String(current));
      button.closest('tr')?.classList.toggle('selected', current);
    }
  }

  /** @param {string} id */
  async function select(id) {
    walletId.value = id;
    markSelected();
    await lookUp();
  }

  async function lookUp() {
    const id = selected();
    const answer = await exchange(log, { method: 'GET', url: walletUrl(id) });
    balance.value =
      answer.status === 200 ? String(/** @type {Wallet} */ (answer.json).balance) : '–';
    historyRows = [];
    olderHistory = null;
    if (answer.status === 200) await loadHistory();
    else renderHistory();
  }

  async function loadHistory() {
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE_SIZE) });
    if (olderHistory) query.set('before', olderHistory);
    const answer = await exchange(log, {
      method: 'GET',
      url: `${walletUrl(selected())}/operations?${query}`,
    });
    if (answer.status === 200) {
      const page = /** @type {{ items: Operation[], next: string | null }} */ (answer.json);
      historyRows = historyRows.concat(page.items);
      olderHistory = page.next;
    }
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
    historyEmpty.textContent = selected()
      ? 'No operations yet.'
      : 'Select a wallet to see its operations.';
    historyMore.hidden = olderHistory === null;
  }

  byId('wallet-create', HTMLButtonElement).addEventListener('click', async () => {
    const answer = await exchange(log, { method: 'POST', url: API });
    if (answer.status !== 201) return;
    await loadPage();
    await select(/** @type {Wallet} */ (answer.json).wallet_id);
  });

  byId('wallet-lookup', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault();
    markSelected();
    void lookUp();
  });

  operation.addEventListener('submit', async (event) => {
    event.preventDefault();
    // The id field is the lookup form's; its own check says what is missing.
    if (!walletId.reportValidity()) return;
    const form = new FormData(operation);
    const key = String(form.get('idempotency_key') ?? '').trim();
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': 'application/json' };
    if (key) headers['Idempotency-Key'] = key;
    const answer = await exchange(log, {
      method: 'POST',
      url: `${walletUrl(selected())}/operation`,
      headers,
      body: jsonBody({ operation_type: form.get('operation_type'), amount: form.get('amount') }, [
        'amount',
      ]),
    });
    if (answer.status !== 200) return;
    balance.value = String(
      /** @type {{ new_balance: number | bigint }} */ (answer.json).new_balance,
    );
    historyRows = [];
    olderHistory = null;
    await loadHistory();
    await loadPage();
  });

  first.addEventListener('click', () => {
    cursors = [null];
    void loadPage();
  });
  previous.addEventListener('click', () => {
    if (cursors.length > 1) cursors.pop();
    void loadPage();
  });
  next.addEventListener('click', () => {
    if (next.dataset.after) cursors.push(next.dataset.after);
    void loadPage();
  });
  pageSize.addEventListener('change', () => {
    cursors = [null];
    void loadPage();
  });
  historyMore.addEventListener('click', () => void loadHistory());

  renderHistory();
  return { show: () => loadPage() };
}
