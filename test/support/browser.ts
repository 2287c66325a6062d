// Gives browser tests a headless Chromium (Debian's, driven by playwright-core; no browser
// download) and the console served on 127.0.0.1. Without Chromium the suite is skipped with the
// reason printed, except under CI=true, where that fails the run.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import axe from 'axe-core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe } from 'vitest';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function findChromium(): string | null {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return chosen;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export const chromiumPath = findChromium();

if (chromiumPath === null) {
  const reason =
    'no Chromium found (install Debian package "chromium" or set CHROMIUM_PATH): browser tests are SKIPPED';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  process.stderr.write(`\n[tests] ${reason}\n\n`);
}

/** `describe` for browser suites: skipped, with the reason printed, when there is no Chromium. */
export const describeWithChromium = describe.skipIf(chromiumPath === null);

/** Where screenshots go; CI keeps test-results/ as the run's artifacts. */
export const SCREENSHOT_DIR = join('test-results', 'browser');

/**
 * A headless Chromium for this file, closed after it. Background networking is off: this
 * machine has no network, and the console must not need one.
 */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error('no Chromium: is the suite skipped?');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  afterAll(() => browser.close());
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return browser;
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** Impacts that fail a check: everything but axe's "minor". */
const FAILING_IMPACTS = ['moderate', 'serious', 'critical'];

/**
 * Runs axe-core in the page (through the DevTools protocol, so the page's own CSP still forbids
 * any script it did not serve) and returns the violations of moderate impact or worse.
 */
export async function axeViolations(page: Page, within: string): Promise<AxeViolation[]> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async (selector) => {
    const run = (globalThis as unknown as { axe: typeof axe }).axe.run;
    // Every rule axe has (WCAG 2.x A and AA, and its best practices).
    const results = await run({ include: [selector] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  }, within);
  return violations.filter((v) => v.impact !== null && FAILING_IMPACTS.includes(v.impact));
}
