// Sends the console's requests and writes each exchange into its view's log: the exact request
// (method, URL, the headers the page set, the body as sent) and the response (status coloured by
// class, the body). Nothing is swallowed: network failures and non-JSON answers are logged too.

/** Exchanges kept per view; older ones drop off the end. */
const LOG_ENTRIES_MAX = 30;
/** Numbers the exchanges, across all views, in the order their answers arrived. */
let sequence = 0;

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
 * Parses JSON keeping integers beyond 2^53 exact (as BigInt) where the browser gives the
 * source text of numbers; elsewhere they are parsed as JSON.parse always did.
 * @param {string} text
 * @returns {unknown}
 */
export function parseExact(text) {
  /** @type {(key: string, value: unknown, context?: { source?: string }) => unknown} */
  const reviver = (_key, value, context) =>
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value;
  return JSON.parse(text, /** @type {any} */ (reviver));
}

/**
 * Indented JSON; BigInts are written as the integers they are.
 * @param {unknown} value
 * @returns {string | null} null when this browser cannot write a BigInt exactly
 */
export function pretty(value) {
  const raw = /** @type {{ rawJSON?: (text: string) => unknown }} */ (JSON).rawJSON;
  try {
    return JSON.stringify(
      value,
      (_key, v) => {
        if (typeof v !== 'bigint') return v;
        if (!raw) throw new TypeError('no JSON.rawJSON');
        return raw(v.toString());
      },
      2,
    );
  } catch {
    return null;
  }
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

/**
 * @param {Outgoing} request
 * @param {{ status: number, statusText: string, text: string, pretty: string | null, contentType: string | null }} response
 */
function entry(request, response) {
  const item = element('li', 'exchange');
  item.dataset.seq = String(++sequence);
  const sent = element('div', 'request');
  const line = element('p', 'request-line');
  line.append(
    element('span', 'seq', `#${sequence}`),
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
    try {
      json = text === '' ? null : parseExact(text);
      shown = json === null ? null : pretty(json);
    } catch {
      // Not JSON: shown as the text it is.
    }
    answer = { status: response.status, json, text };
    const contentType = response.headers.get('content-type');
    show(
      log,
      entry(request, { ...answer, statusText: response.statusText, pretty: shown, contentType }),
    );
  } catch (error) {
    const text = `The request failed before any response: ${error instanceof Error ? error.message : String(error)}`;
    answer = { status: 0, json: null, text };
    show(log, entry(request, { ...answer, statusText: '', pretty: null, contentType: null }));
  }
  return answer;
}

/**
 * @param {HTMLOListElement} log
 * @param {HTMLLIElement} item
 */
function show(log, item) {
  log.prepend(item);
  while (log.children.length > LOG_ENTRIES_MAX) log.lastElementChild?.remove();
}

/**
 * A JSON body in which the fields named in `integerFields` carry what the user typed: as a JSON
 * number when it is an integer (any number of digits, sent exactly), otherwise as a string for
 * the server to refuse with its own message.
 * @param {Record<string, unknown>} fields
 * @param {string[]} integerFields
 */
export function jsonBody(fields, integerFields) {
  const parts = Object.entries(fields).map(([name, value]) => {
    const typed = String(value).trim();
    const text =
      integerFields.includes(name) && /^-?\d+$/.test(typed) ? typed : JSON.stringify(value);
    return `${JSON.stringify(name)}: ${text}`;
  });
  return `{${parts.join(', ')}}`;
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
