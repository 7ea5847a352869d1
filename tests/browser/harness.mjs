// What every browser test of the admin shares: assertions that say what differed, and
// small helpers over playwright-core pages. Imported by the tests/browser/*.test.mjs
// scripts; each keeps its own run (launch, steps, failure screenshot).

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
