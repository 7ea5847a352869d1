// What every browser test of the admin shares: the command line, steps, screenshots,
// assertions that say what differed, small helpers over playwright-core pages, and the
// run in one headless Chromium ending with the "N steps ok, N failed" line the Rust
// driver (tests/tests/integration/admin/browser_common.rs) checks. Imported by the
// tests/browser/*.test.mjs scripts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** The password of every user the test site seeds (tests/src/admin_app.rs). */
export const PASSWORD = 'correct horse battery staple';

export class Failure extends Error {}

export function ok(cond, message) {
  if (!cond) throw new Failure(message);
}

export function eq(actual, expected, message) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Failure(
      `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

/** Trimmed, whitespace-collapsed text of every match of `selector`. */
export async function texts(page, selector) {
  const all = await page.locator(selector).allInnerTexts();
  return all.map((t) => t.replace(/\s+/g, ' ').trim());
}

export async function text(page, selector) {
  const t = await page.locator(selector).first().innerText();
  return t.replace(/\s+/g, ' ').trim();
}

export async function count(page, selector) {
  return page.locator(selector).count();
}

/** The path and query of the page's URL. */
export function where(page) {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

export function query(page) {
  return new URL(page.url()).searchParams;
}

/** The number of each "Book NNNN about ..." title, in the order shown. */
export function bookNumbers(titles) {
  return titles
    .map((t) => /^Book (\d{4}) /.exec(t))
    .filter(Boolean)
    .map((m) => Number(m[1]));
}

export function increasing(numbers) {
  return numbers.every((n, i) => i === 0 || numbers[i - 1] < n);
}

export const TITLES = '#result_list tbody th a';

/** The success message, waiting for it. */
export async function success(page) {
  const li = page.locator('.messagelist li.success');
  await li.first().waitFor();
  return (await li.first().innerText()).trim();
}

/** Clicks and waits for the navigation it starts. */
export async function follow(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.click()]);
}

/** Fills a text input or picks the option of a select, whichever the field is. */
export async function setValue(page, selector, value) {
  const tag = await page.locator(selector).evaluate((el) => el.tagName);
  if (tag === 'SELECT') await page.selectOption(selector, value);
  else await page.fill(selector, value);
}

export async function login(page, username) {
  await page.fill('#id_username', username);
  await page.fill('#id_password', PASSWORD);
  await follow(page, page.locator('#login-form button[type=submit]'));
}

// ---------------------------------------------------------------- the run

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Chromium's flags: headless, and nothing that reaches the network on its own. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let shotsDir = null;

/**
 * Reads `<base-url> <screenshot-dir>` from the command line (exits 2 without them),
 * creates the screenshot directory, and returns the admin's URL.
 */
export function args(script) {
  const [base, shots] = process.argv.slice(2);
  if (!base || !shots) {
    console.error(`usage: node ${script} <base-url> <screenshot-dir>`);
    process.exit(2);
  }
  shotsDir = shots;
  fs.mkdirSync(shots, { recursive: true });
  return { admin: `${base.replace(/\/$/, '')}/admin` };
}

/** A full-page screenshot `<name>.png` in the screenshot directory; returns its path. */
export async function shot(page, name, options = {}) {
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, ...options });
  return file;
}

const steps = [];
let current = null;

/** Runs one named step; the first that throws ends the run. */
export async function step(name, body) {
  current = name;
  const started = Date.now();
  await body();
  steps.push(name);
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

/** Script errors and console errors of every watched page, for a final step to check. */
export const pageErrors = [];

/** Collects `page`'s script errors and console errors into `pageErrors`. */
export function watch(page) {
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // A 4xx page logs "Failed to load resource": that is the server's answer.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      pageErrors.push(m.text());
    }
  });
}

/**
 * Starts the run's clock and its bound (a hung page must fail the test, not stall it),
 * then `body()`; on a failure, says which step, where, and saves a screenshot of
 * `lastPage()`. Prints the summary line and exits 0 or 1 after `cleanup()`.
 */
export async function conclude(script, body, { limitMs = 120_000, lastPage, cleanup } = {}) {
  const started = Date.now();
  const limit = setTimeout(() => {
    console.error(`FAIL the browser run took more than ${limitMs / 1000} s (at: ${current})`);
    process.exit(1);
  }, limitMs);
  let failed = null;
  try {
    await body();
  } catch (e) {
    failed = e;
  }
  const page = lastPage?.();
  if (failed) {
    console.error(`FAIL ${current}: ${failed instanceof Failure ? failed.message : failed.stack}`);
    if (page) {
      console.error(`     at ${page.url()}`);
      try {
        const file = await shot(page, `failure-${current.replace(/[^a-z0-9]+/gi, '-')}`);
        console.error(`     screenshot: ${file}`);
      } catch {
        // The page itself may be gone.
      }
    }
  }
  await cleanup?.();
  clearTimeout(limit);
  // Not "N passed, N failed": that line is cargo test's to print.
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${script}: ${steps.length} steps ok, ${failed ? 1 : 0} failed, in ${seconds} s`);
  process.exit(failed ? 1 : 0);
}

/**
 * Runs `run(page, context)` in one page of a fresh headless Chromium profile (1280x800), with its
 * errors watched, then concludes (see `conclude`). `beforeRun(page)` may add handlers.
 */
export async function runInChromium(script, run, { limitMs = 120_000, beforeRun } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'batteries-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', ...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  await beforeRun?.(page);
  await conclude(script, () => run(page, context), {
    limitMs,
    lastPage: () => page,
    cleanup: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  });
}

/** Launches a headless Chromium for scripts that open several contexts themselves. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
