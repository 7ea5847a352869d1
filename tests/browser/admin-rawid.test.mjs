// Browser tests of the batteries admin's raw-id foreign keys (Django's `raw_id_fields`):
// the books of a tag, edited on the tag's page (tests/src/admin_app.rs) as an inline whose
// book is given by its id, in headless Chromium, driven by playwright-core. The "Look up"
// link opens the books' changelist in a popup window; clicking a book there puts its id
// into the input and its title beside it, and closes the popup.
//
//   node admin-rawid.test.mjs <base-url> <screenshot-dir>
//
// <base-url> is where `admin-app` listens (the admin is at <base-url>/admin/), on a fresh
// database seeded with 5 authors and 60 books (SEED_BOOKS=60). Each step throws on the
// first thing that is not as a user would expect; the process then exits 1 after saving
// a screenshot of the page as `failure-<step>.png`. Screenshots of the main pages are
// kept in <screenshot-dir> either way. Run by tests/tests/integration/admin/browser_rawid.rs.

import {
  ok,
  eq,
  text,
  count,
  where,
  success,
  follow,
  login,
  args,
  shot,
  step,
  pageErrors,
  runInChromium,
} from './harness.mjs';

const { admin } = args('admin-rawid.test.mjs');

await runInChromium('admin-rawid.test.mjs', run, {
  beforeRun: (page) => {
    // Book 1's title is a <script>: it must stay text, never run.
    page.on('dialog', (d) => {
      pageErrors.push(`dialog: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
  },
});

/** The book's tag ids, read through the JSON API with the page's session. */
async function savedTags(page, book) {
  const response = await page.request.get(`${admin}/api/library/book/${book}/`, {
    headers: { accept: 'application/json' },
  });
  eq(response.status(), 200, 'API status');
  return (await response.json()).tags;
}

/**
 * Clicks the "Look up" link of raw-id input `id`, checks the popup it opens is the lookup
 * window of that input, and returns it (loaded).
 */
async function lookUp(page, id) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click(`#lookup_${id}`)]);
  popup.on('pageerror', (e) => pageErrors.push(`popup: ${e}`));
  await popup.waitForLoadState();
  eq(new URL(popup.url()).pathname, '/admin/library/book/', 'the popup shows the books');
  eq(await popup.evaluate(() => window.name), `batteries-lookup:${id}`, 'the lookup window of the input');
  ok(
    await popup.evaluate(() => document.body.classList.contains('lookup-popup')),
    'the changelist knows it is a lookup',
  );
  return popup;
}

/** Clicks the title link of the popup's row holding `title`; returns that row's pk. */
async function pick(popup, title) {
  const row = popup.locator('#result_list tbody tr[data-pk]', { hasText: title });
  eq(await row.count(), 1, `one row for ${title}`);
  const pk = await row.getAttribute('data-pk');
  ok(/^\d+$/.test(pk), `the row's pk: ${pk}`);
  // The click closes the popup, which can end the page while Playwright still checks
  // the click; that is the expected outcome, not a failure (the input is checked after).
  await Promise.all([
    popup.waitForEvent('close'),
    row
      .locator('th a')
      .click({ noWaitAfter: true })
      .catch((e) => {
        if (!popup.isClosed() && !/closed/.test(String(e))) throw e;
      }),
  ]);
  return pk;
}

async function run(page) {
  const ROWS = '#book_tags_set-group tbody tr[data-inline-form]';
  const input = (i) => `id_book_tags_set-${i}-book_id`;
  let tag = null;
  let tagPage = null;
  let picked = null;
  let script = null;

  await step('admin logs in', async () => {
    await page.goto(`${admin}/`);
    await login(page, 'admin');
    eq(new URL(page.url()).pathname, '/admin/', 'logged in');
  });

  await step('the tag page takes a book by its id, without a list of the books', async () => {
    await page.goto(`${admin}/library/tag/`);
    const row = page.locator('#result_list tbody tr', { hasText: 'rust' });
    await follow(page, row.locator('th a'));
    const m = /^\/admin\/library\/tag\/(\d+)\/change\/$/.exec(where(page));
    ok(m, `the tag's change page: ${where(page)}`);
    tag = Number(m[1]);
    tagPage = where(page);
    ok(await page.locator('#book_tags_set-group').isVisible(), 'the inline');
    eq(await count(page, ROWS), 1, 'one empty form');
    const field = page.locator(`#${input(0)}`);
    eq(await field.evaluate((el) => el.tagName), 'INPUT', 'a text input');
    ok(await field.evaluate((el) => el.classList.contains('vForeignKeyRawIdAdminField')), 'raw-id class');
    eq(await field.inputValue(), '', 'empty');
    eq(await count(page, '#content select'), 0, 'no <select>');
    eq(await count(page, '#content option'), 0, 'no book listed');
    eq(await page.getAttribute(`#lookup_${input(0)}`, 'href'), '/admin/library/book/', 'lookup link');
    eq(await text(page, `#${input(0)}_display`).catch(() => ''), '', 'no name yet');
    await shot(page, 'rawid-empty');
  });

  await step('"Look up" opens the books in a popup; a click there fills the id and the name', async () => {
    const popup = await lookUp(page, input(0));
    await shot(popup, 'rawid-popup');
    picked = await pick(popup, 'Book 0042 about databases');
    ok(popup.isClosed(), 'the popup closed itself');
    eq(await page.inputValue(`#${input(0)}`), picked, "the book's pk in the input");
    eq(await text(page, `#${input(0)}_display`), 'Book 0042 about databases', "the book's title beside it");
    eq(where(page), tagPage, 'the tag page stays');
  });

  await step('an added form looks up too, after a search in the popup; a <script> title stays text', async () => {
    await page.click('#book_tags_set-group button.inline-addlink');
    eq(await count(page, ROWS), 2, 'one more form');
    const popup = await lookUp(page, input(1));
    await popup.fill('#searchbar', 'script');
    await follow(popup, popup.locator('#changelist-search [type=submit]'));
    eq(await popup.evaluate(() => window.name), `batteries-lookup:${input(1)}`, 'still the lookup window');
    script = await pick(popup, "<script>alert('xss')</script>");
    eq(await page.inputValue(`#${input(1)}`), script, 'the pk in the added form');
    eq(await text(page, `#${input(1)}_display`), "<script>alert('xss')</script>", 'the title, as text');
    eq(await page.inputValue(`#${input(0)}`), picked, 'the first form untouched');
    await shot(page, 'rawid-filled');
  });

  await step('saving stores both books on the tag', async () => {
    await follow(page, page.locator('button[name=_continue]'));
    eq(where(page), tagPage, 'still on the tag');
    const message = await success(page);
    ok(message.includes('changed'), `message: ${message}`);
    eq(await count(page, ROWS), 3, 'two rows and a new empty form');
    const saved = [];
    for (const i of [0, 1]) {
      saved.push([await page.inputValue(`#${input(i)}`), await text(page, `#${input(i)}_display`)]);
    }
    saved.sort((a, b) => Number(a[0]) - Number(b[0]));
    eq(
      saved,
      [
        [script, "<script>alert('xss')</script>"],
        [picked, 'Book 0042 about databases'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
      'the saved ids and their titles',
    );
    eq(await savedTags(page, picked), [tag], 'the book has the tag (API)');
    eq(await savedTags(page, script), [tag], 'so has the <script> book (API)');
  });

  await step('an id of no book is "Select a valid choice" on its field and saves nothing', async () => {
    await page.fill(`#${input(2)}`, '9999');
    await follow(page, page.locator('button[name=_save]'));
    eq(where(page), tagPage, 'stays on the form');
    ok(await page.locator('.errornote').isVisible(), 'error note');
    const error = page.locator(`#${input(2)}_error`);
    ok(await error.isVisible(), 'the error on its field');
    ok((await error.innerText()).includes('Select a valid choice'), `error: ${await error.innerText()}`);
    eq(await page.getAttribute(`#${input(2)}`, 'aria-invalid'), 'true', 'aria-invalid');
    eq(await page.inputValue(`#${input(2)}`), '9999', 'the value kept');
    await shot(page, 'rawid-invalid');
    await page.goto(`${admin}${tagPage.slice('/admin'.length)}`);
    eq(await count(page, ROWS), 3, 'still two books and an empty form');
    eq(await savedTags(page, picked), [tag], 'the first book unchanged (API)');
  });

  await step('no script error in any page', async () => {
    eq(pageErrors, [], "errors in the pages' console");
  });
}
