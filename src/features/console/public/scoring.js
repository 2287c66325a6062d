// The Scoring view: builds a POST /method request from the form, computes an ordinary login's
// token (or the admin's for the current hour), and shows the exchange.
import { byId, exchange, guarded, integerValue, onSubmit } from './http.js';

/**
 * SHA-512 as lower-case hex. Web Crypto exists only in secure contexts (HTTPS or localhost).
 * @param {string} text
 */
async function sha512Hex(text) {
  if (!globalThis.crypto?.subtle) {
    throw new Error('computing a token needs HTTPS or localhost (Web Crypto); paste the token');
  }
  const digest = await crypto.subtle.digest('SHA-512', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The hour as the admin token counts it, YYYYMMDDHH, by this browser's clock. */
function hourStamp(now = new Date()) {
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}${two(now.getHours())}`;
}

/**
 * The value of one argument field as the request carries it: numbers where the API takes
 * numbers and the text is one, the text otherwise, so the server judges what was typed.
 * @param {string} name
 * @param {string} text
 * @returns {unknown}
 */
function argument(name, text) {
  if (name === 'gender') return integerValue(text);
  if (name === 'client_ids') {
    return text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map(integerValue);
  }
  return text;
}

export function startScoring() {
  const log = byId('scoring-log', HTMLOListElement);
  const form = byId('scoring-form', HTMLFormElement);
  const account = byId('scoring-account', HTMLInputElement);
  const login = byId('scoring-login', HTMLInputElement);
  const token = byId('scoring-token', HTMLInputElement);
  const note = byId('scoring-token-note', HTMLOutputElement);
  const online = byId('scoring-online-score', HTMLFieldSetElement);
  const interests = byId('scoring-clients-interests', HTMLFieldSetElement);

  const method = () => String(new FormData(form).get('method'));

  function showArguments() {
    const isOnline = method() === 'online_score';
    online.hidden = !isOnline;
    online.disabled = !isOnline;
    interests.hidden = isOnline;
    interests.disabled = isOnline;
  }

  const compute = byId('scoring-compute', HTMLButtonElement);
  compute.addEventListener(
    'click',
    guarded(compute, log, async () => {
      try {
        if (login.value === 'admin') {
          const hour = hourStamp();
          token.value = await sha512Hex(hour + byId('scoring-admin-salt', HTMLInputElement).value);
          note.value = `admin token for the hour ${hour} by this browser's clock (the server's clock decides)`;
        } else {
          const salt = byId('scoring-salt', HTMLInputElement).value;
          token.value = await sha512Hex(account.value + login.value + salt);
          note.value = 'SHA-512 of account + login + SALT';
        }
      } catch (error) {
        note.value = error instanceof Error ? error.message : String(error);
      }
    }),
  );

  for (const radio of form.querySelectorAll('input[name="method"]')) {
    radio.addEventListener('change', showArguments);
  }

  onSubmit(form, log, async () => {
    const fields = (method() === 'online_score' ? online : interests).querySelectorAll(
      '[data-argument]',
    );
    /** @type {Record<string, unknown>} */
    const args = {};
    for (const field of fields) {
      const input = /** @type {HTMLInputElement | HTMLSelectElement} */ (field);
      const name = /** @type {string} */ (input.dataset.argument);
      if (input.value.trim() !== '') args[name] = argument(name, input.value.trim());
    }
    await exchange(log, {
      method: 'POST',
      url: '/method',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(
        {
          account: account.value,
          login: login.value,
          method: method(),
          token: token.value,
          arguments: args,
        },
        null,
        2,
      ),
    });
  });

  showArguments();
  return { show: async () => {} };
}
