// Sends the console's requests and writes each exchange into its view's log: the exact request
// (method, URL, the headers the page set, the body as sent) and the response (status coloured by
// class, the body). Nothing is swallowed: network failures, answers that are not JSON and the
// page's own failures are logged too, and each answer is announced in one short line.

/** Exchanges kept per view; older ones drop off the end. */
const LOG_ENTRIES_MAX = 30;
/** Numbers the log's entries, across all views, in the order they were written. */
let sequence = 0;
/** An integer as JSON writes it: no leading zeros, no plus sign. */
const JSON_INTEGER = /^-?(0|[1-9]\d*)$/;

/**
 * @typedef {object} Outgoing
 * @property {string} method
 * @property {string} url
 * @property {Record<string, string>} [headers]
 * @property {string} [body] JSON text, sent exactly as given
 * @property {string} [note] what the browser adds on its own (the session cookie)
 *
 * @typedef {object} Answer
 * @property {number} status 0 when no response arrived
 * @property {unknown} json the parsed body (integers beyond 2^53 as BigInt), or null
 * @property {string} text
 */

/**
 * Parses JSON keeping integers beyond 2^53 exact (as BigInt), from the number's source text.
 * A browser that does not give the source text cannot read such a number exactly: then this
 * throws rather than round it, and the answer is shown as the text it is.
 * @param {string} text
 * @returns {unknown}
 */
function parseExact(text) {
  /** @type {(key: string, value: unknown, context?: { source?: string }) => unknown} */
  const reviver = (_key, value, context) => {
    if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
    const source = context?.source;
    if (source !== undefined && JSON_INTEGER.test(source)) return BigInt(source);
    if (source === undefined && Number.isInteger(value)) {
      throw new RangeError('this browser cannot read integers beyond 2^53 exactly');
    }
    return value;
  };
  return JSON.parse(text, /** @type {any} */ (reviver));
}

/** JSON.rawJSON where the browser has it: writes a number's digits as they are. */
const rawJson = /** @type {{ rawJSON?: (text: string) => unknown }} */ (JSON).rawJSON;

/**
 * Indented JSON; BigInts are written as the integers they are.
 * @param {unknown} value
 * @returns {string | null} null when this browser cannot write a BigInt exactly
 */
function pretty(value) {
  try {
    return JSON.stringify(
      value,
      (_key, v) => {
        if (typeof v !== 'bigint') return v;
        if (!rawJson) throw new TypeError('no JSON.rawJSON');
        return rawJson(v.toString());
      },
      2,
    );
  } catch {
    return null;
  }
}

/**
 * What the user typed into a field that takes an integer, as the request should carry it: a JSON
 * number when the text is one (any number of digits, sent exactly), otherwise the text itself,
 * for the service to refuse with its own message.
 * @param {string} typed
 * @returns {unknown} a value for JSON.stringify
 */
export function integerValue(typed) {
  const text = typed.trim();
  if (!JSON_INTEGER.test(text)) return typed;
  if (Number.isSafeInteger(Number(text))) return Number(text);
  return rawJson ? rawJson(text) : typed;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number} status */
function statusClass(status) {
  if (status === 0) return 'status-failed';
  return `status-${Math.floor(status / 100)}xx`;
}

/** @param {string} text */
function announce(text) {
  const status = document.getElementById('announcer');
  if (status) status.textContent = text;
}

/**
 * @param {HTMLOListElement} log
 * @param {HTMLLIElement} item
 */
function show(log, item) {
  item.dataset.seq = String(++sequence);
  item.querySelector('.seq')?.replaceChildren(`#${sequence}`);
  log.prepend(item);
  while (log.children.length > LOG_ENTRIES_MAX) log.lastElementChild?.remove();
}

/**
 * @param {Outgoing} request
 * @param {{ status: number, statusText: string, text: string, pretty: string | null,
 *   contentType: string | null, hint: string | null }} response
 */
function entry(request, response) {
  const item = element('li', 'exchange');
  const sent = element('div', 'request');
  const line = element('p', 'request-line');
  line.append(
    element('span', 'seq'),
    ' ',
    element('strong', 'method', request.method),
    ' ',
    element('code', 'url', request.url),
  );
  sent.append(line);
  const headers = Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}`);
  if (request.note) headers.push(request.note);
  if (headers.length > 0) sent.append(element('pre', 'headers', headers.join('\n')));
  if (request.body !== undefined) sent.append(element('pre', 'body', request.body));

  const got = element('div', 'response');
  const badge = element(
    'p',
    `status ${statusClass(response.status)}`,
    response.status === 0 ? 'No response' : `${response.status} ${response.statusText}`.trim(),
  );
  got.append(badge);
  if (response.contentType && !response.contentType.includes('json') && response.text !== '') {
    got.append(element('p', 'hint', `Content-Type: ${response.contentType}`));
  }
  if (response.hint) got.append(element('p', 'hint', response.hint));
  if (response.text !== '' || response.pretty) {
    got.append(element('pre', 'body', response.pretty ?? response.text));
  }
  item.append(sent, got);
  return item;
}

/**
 * Sends a request and logs the exchange in `log`.
 * @param {HTMLOListElement} log
 * @param {Outgoing} request
 * @returns {Promise<Answer>}
 */
export async function exchange(log, request) {
  /** @type {RequestInit} */
  const init = {
    method: request.method,
    headers: { ...(request.headers ?? {}) },
    credentials: 'same-origin',
    cache: 'no-store',
  };
  if (request.body !== undefined) init.body = request.body;
  /** @type {Answer} */
  let answer;
  try {
    const response = await fetch(request.url, init);
    const text = await response.text();
    let json = null;
    let shown = null;
    let hint = null;
    try {
      json = text === '' ? null : parseExact(text);
      shown = json === null ? null : pretty(json);
    } catch (error) {
      // Not JSON, or not readable exactly here: shown as the text it is.
      if (error instanceof RangeError) hint = `Shown as received: ${error.message}.`;
    }
    answer = { status: response.status, json, text };
    const contentType = response.headers.get('content-type');
    const statusText = response.statusText;
    show(log, entry(request, { ...answer, statusText, pretty: shown, contentType, hint }));
    announce(`${request.method} ${request.url}: ${response.status} ${statusText}`);
  } catch (error) {
    const text = `The request failed before any response: ${describe(error)}`;
    answer = { status: 0, json: null, text };
    const failed = { statusText: '', pretty: null, contentType: null, hint: null };
    show(log, entry(request, { ...answer, ...failed }));
    announce(`${request.method} ${request.url}: no response`);
  }
  return answer;
}

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Writes a failure of the page itself (not of a request) into a view's log.
 * @param {HTMLOListElement} log
 * @param {unknown} error
 */
export function logFailure(log, error) {
  const item = element('li', 'exchange');
  const line = element('p', 'request-line');
  line.append(element('span', 'seq'), ' ', element('strong', undefined, 'The page failed'));
  const body = element('div', 'response');
  body.append(
    element('p', 'status status-failed', 'Error'),
    element('pre', 'body', describe(error)),
  );
  const head = element('div', 'request');
  head.append(line);
  item.append(head, body);
  show(log, item);
  announce(`The page failed: ${describe(error)}`);
}

/**
 * Wraps a control's action so that it runs once at a time: a second click while the first
 * request is in flight is ignored (a double click buys once). The control stays focusable and
 * says it is busy with aria-disabled; a failure of the page is written into the log.
 * @param {HTMLElement} control
 * @param {HTMLOListElement} log
 * @param {() => Promise<unknown>} action
 * @returns {() => void}
 */
export function guarded(control, log, action) {
  return () => {
    if (control.getAttribute('aria-disabled') === 'true') return;
    control.setAttribute('aria-disabled', 'true');
    action()
      .catch((error) => logFailure(log, error))
      .finally(() => control.removeAttribute('aria-disabled'));
  };
}

/**
 * Runs a form's action on submit, once at a time (see `guarded`), with its submit button as the
 * control.
 * @param {HTMLFormElement} form
 * @param {HTMLOListElement} log
 * @param {() => Promise<unknown>} action
 */
export function onSubmit(form, log, action) {
  const button = form.querySelector('button[type="submit"]');
  const run = guarded(button instanceof HTMLElement ? button : form, log, action);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
}

/**
 * Fills a table body with rows of cells; a cell is text or a ready node.
 * @param {HTMLTableSectionElement} body
 * @param {Array<Array<string | Node>>} rows
 * @param {number[]} [numeric] columns aligned as numbers
 */
export function fillRows(body, rows, numeric = []) {
  body.replaceChildren(
    ...rows.map((cells) => {
      const row = element('tr');
      cells.forEach((cell, index) => {
        const td = element('td', numeric.includes(index) ? 'num' : undefined);
        td.append(cell);
        row.append(td);
      });
      return row;
    }),
  );
}

/**
 * The element with this id, of the expected kind.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} kind
 * @returns {T}
 */
export function byId(id, kind) {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`the page has no ${kind.name} #${id}`);
  return found;
}

/**
 * Moves focus to `fallback` when the focused element is about to be disabled or hidden, so that
 * a keyboard user is not dropped back to the top of the page.
 * @param {HTMLElement} leaving
 * @param {HTMLElement} fallback
 */
export function keepFocus(leaving, fallback) {
  if (leaving.contains(document.activeElement)) fallback.focus();
}
