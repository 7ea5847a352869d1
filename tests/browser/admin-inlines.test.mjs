// Browser tests of the batteries admin's inlines: the reviews of a book edited on the
// book's page (tests/src/admin_app.rs), in headless Chromium, driven by playwright-core.
//
//   node admin-inlines.test.mjs <base-url> <screenshot-dir>
//
// <base-url> is where `admin-app` listens (the admin is at <base-url>/admin/), on a fresh
// database seeded with 5 authors and 60 books (SEED_BOOKS=60). Each step throws on the
// first thing that is not as a user would expect; the process then exits 1 after saving
// a screenshot of the page as `failure-<step>.png`. Screenshots of the main pages are
// kept in <screenshot-dir> either way. Run by tests/tests/integration/admin/browser_inlines.rs.

import {
  ok,
  eq,
  texts,
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

const { admin } = args('admin-inlines.test.mjs');

await runInChromium('admin-inlines.test.mjs', run);

async function run(page) {
  const book = `${admin}/library/book/1/change/`;
  const ROWS = '#review_set-group tbody tr[data-inline-form]';
  const total = () => page.inputValue('#id_review_set-TOTAL_FORMS');

  await step('admin logs in', async () => {
    await page.goto(`${admin}/`);
    await login(page, 'admin');
    eq(new URL(page.url()).pathname, '/admin/', 'logged in');
  });

  await step('the book shows its review inline with one empty form', async () => {
    await page.goto(book);
    ok(await page.locator('#review_set-group').isVisible(), 'the inline');
    eq(await count(page, ROWS), 1, 'one extra form');
    eq(await total(), '1', 'TOTAL_FORMS');
    ok(await page.locator('button.inline-addlink').isVisible(), '"Add another review" shown by the script');
    await shot(page, 'inline-empty');
  });

  await step('a review typed in the extra form is saved with the book', async () => {
    await page.fill('#id_review_set-0-stars', '2');
    await page.fill('#id_review_set-0-body', 'The old review');
    await page.fill('#id_review_set-0-created', '2026-03-01T10:00:00');
    await follow(page, page.locator('button[name=_continue]'));
    eq(where(page), '/admin/library/book/1/change/', 'still on the book');
    const message = await success(page);
    ok(message.includes('changed'), `message: ${message}`);
    eq(await count(page, ROWS), 2, 'the review and a new extra form');
    eq((await page.inputValue('#id_review_set-0-body')).trim(), 'The old review', 'saved');
  });

  await step('"Add another review" adds a numbered form, and a removed one goes away', async () => {
    await page.click('button.inline-addlink');
    eq(await count(page, ROWS), 3, 'one more form');
    eq(await total(), '3', 'counted');
    ok(await page.locator('#id_review_set-2-stars').isVisible(), 'numbered 2');
    await page.click('button.inline-addlink');
    eq(await total(), '4', 'counted again');
    await page.locator('#review_set-3 button.inline-deletelink').click();
    eq(await count(page, ROWS), 3, 'removed');
    eq(await total(), '3', 'uncounted');
    eq(await count(page, '#id_review_set-3-stars'), 0, 'no form 3 left');
  });

  await step('two new reviews and a deleted one are saved together', async () => {
    await page.fill('#id_review_set-1-stars', '5');
    await page.fill('#id_review_set-1-body', 'First new review');
    await page.fill('#id_review_set-1-created', '2026-03-02T10:00:00');
    await page.fill('#id_review_set-2-stars', '4');
    await page.fill('#id_review_set-2-body', 'Second new review');
    await page.fill('#id_review_set-2-created', '2026-03-03T10:00:00');
    await page.check('#id_review_set-0-DELETE');
    await shot(page, 'inline-filled');
    await follow(page, page.locator('button[name=_continue]'));
    eq(where(page), '/admin/library/book/1/change/', 'saved');
    await success(page);
    const bodies = [];
    for (const i of [0, 1]) {
      bodies.push((await page.inputValue(`#id_review_set-${i}-body`)).trim());
    }
    eq(bodies, ['First new review', 'Second new review'], 'the new reviews, the old one gone');
    eq(await count(page, ROWS), 3, 'two reviews and one extra form');
    await follow(page, page.locator('ul.object-tools a.historylink'));
    const messages = await texts(page, '#change-history td.history-message');
    const last = messages[messages.length - 1];
    ok(
      last.includes('Added review “First new review”') && last.includes('Deleted review “The old review”'),
      `history: ${last}`,
    );
  });

  await step('an invalid review shows its error on its row and saves nothing', async () => {
    await page.goto(book);
    await page.click('button.inline-addlink');
    await page.fill('#id_review_set-3-body', 'No stars given');
    await page.fill('#id_review_set-3-created', '2026-03-04T10:00:00');
    await page.fill('#id_review_set-0-body', 'First new review, edited');
    await follow(page, page.locator('button[name=_save]'));
    eq(where(page), '/admin/library/book/1/change/', 'stays on the form');
    ok(await page.locator('.errornote').isVisible(), 'error note');
    ok(await page.locator('#id_review_set-3-stars_error').isVisible(), 'the error on its row');
    eq(await page.getAttribute('#id_review_set-3-stars', 'aria-invalid'), 'true', 'aria-invalid');
    eq((await page.inputValue('#id_review_set-3-body')).trim(), 'No stars given', 'values kept');
    eq((await page.inputValue('#id_review_set-0-body')).trim(), 'First new review, edited', 'others kept');
    await shot(page, 'inline-errors');
    await page.goto(book);
    eq((await page.inputValue('#id_review_set-0-body')).trim(), 'First new review', 'nothing saved');
    eq(await count(page, ROWS), 3, 'no review added');
  });

  await step('no script error in any page', async () => {
    eq(pageErrors, [], "errors in the pages' console");
  });
}
