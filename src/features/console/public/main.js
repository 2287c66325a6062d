// Starts the three views and shows the one the address names (#wallets, #shop, #scoring), so
// each view can be linked to and the browser's back button moves between them. A failure of the
// page's own scripts is written into the log of the view on screen, never only to the console.
import { byId, logFailure } from './http.js';
import { startScoring } from './scoring.js';
import { startShop } from './shop.js';
import { startWallets } from './wallets.js';

const views = { wallets: startWallets(), shop: startShop(), scoring: startScoring() };
/** @typedef {keyof typeof views} ViewName */

/** @param {string} hash */
function viewOf(hash) {
  const name = hash.replace(/^#/, '');
  return name in views ? /** @type {ViewName} */ (name) : 'wallets';
}

/** @param {unknown} error */
function reportFailure(error) {
  logFailure(byId(`${viewOf(location.hash)}-log`, HTMLOListElement), error);
}

function route() {
  const current = viewOf(location.hash);
  for (const section of document.querySelectorAll('main > .view')) {
    /** @type {HTMLElement} */ (section).hidden = section.id !== current;
  }
  for (const link of document.querySelectorAll('nav a[data-view]')) {
    if (/** @type {HTMLElement} */ (link).dataset.view === current) {
      link.setAttribute('aria-current', 'page');
    } else link.removeAttribute('aria-current');
  }
  document.title = `${current[0]?.toUpperCase()}${current.slice(1)} · Coinworks console`;
  views[current].show().catch(reportFailure);
}

window.addEventListener('error', (event) => reportFailure(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => reportFailure(event.reason));
window.addEventListener('hashchange', route);
route();
