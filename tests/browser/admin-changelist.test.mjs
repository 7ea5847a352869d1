// Browser tests of the changelist's Django features (issue 8) in headless Chromium:
// the date hierarchy (year -> month -> day and back), the From/To date range of a date
// filter, and list_editable (two cells saved at once; an invalid cell shows its error;
// an action with unsaved cells asks first).
//
//   node admin-changelist.test.mjs <base-url> <screenshot-dir>
//
// <base-url> is where `admin-app` listens, on a fresh database seeded with 5 authors and
// 60 books (SEED_BOOKS=60): book b was added at 2026-01-01 12:00 UTC minus 29 * (59 - b)
// days plus b minutes, published on 2025-(1 + b % 12)-01, priced 19.99 + b / 100.
// Run by tests/tests/integration/admin/changelist.rs.

import {
  PASSWORD,
  ok,
  eq,
  texts,
  text,
  query,
  follow,
  args,
  shot,
  step,
  pageErrors,
  runInChromium,
} from './harness.mjs';

const { admin } = args('admin-changelist.test.mjs');
const BOOKS = `${admin}/library/book/`;
const SEED = 60;

/** When book b was added, as the seed writes it. */
function added(b) {
  return new Date(Date.UTC(2026, 0, 1, 12, 0, 0) - 29 * (SEED - 1 - b) * 86_400_000 + b * 60_000);
}

const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December',
];

function books(pred) {
  return [...Array(SEED).keys()].filter((b) => pred(added(b)));
}

function countLabel(n) {
  return n === 1 ? '1 book' : `${n} books`;
}

await runInChromium('admin-changelist.test.mjs', run, { limitMs: 90_000 });

async function run(page) {
  const HIERARCHY = '.date-hierarchy li:not(.date-back)';
  const BACK = '.date-hierarchy .date-back a';
  const COUNT = '.paginator .result-count';

  await step('admin logs in and opens the books', async () => {
    await page.goto(`${admin}/login/`);
    await page.fill('#id_username', 'admin');
    await page.fill('#id_password', PASSWORD);
    await follow(page, page.locator('#login-form button[type=submit]'));
    await page.goto(BOOKS);
    eq(await text(page, COUNT), '60 books', 'every book');
  });

  let year;
  let month;
  let day;
  await step('the date hierarchy lists the years, then a year\'s months', async () => {
    const years = [...new Set(books(() => true).map((b) => added(b).getUTCFullYear()))];
    eq(await texts(page, HIERARCHY), years.map(String), 'years with books');
    eq(await page.locator(BACK).count(), 0, 'no back link at the top');
    year = years[2];
    await follow(page, page.locator('.date-hierarchy a', { hasText: String(year) }));
    eq(query(page).get('added__year'), String(year), 'year in the URL');
    const inYear = books((d) => d.getUTCFullYear() === year);
    eq(await text(page, COUNT), countLabel(inYear.length), 'books of the year');
    const months = [...new Set(inYear.map((b) => added(b).getUTCMonth()))];
    eq(
      await texts(page, HIERARCHY),
      months.map((m) => `${MONTHS[m]} ${year}`),
      'months of the year',
    );
    eq(await text(page, BACK), '‹ All dates', 'back to all dates');
    month = months[0];
  });

  await step('then a month\'s days, and a day', async () => {
    await follow(page, page.locator('.date-hierarchy a', { hasText: `${MONTHS[month]} ${year}` }));
    eq(query(page).get('added__month'), String(month + 1), 'month in the URL');
    const inMonth = books((d) => d.getUTCFullYear() === year && d.getUTCMonth() === month);
    eq(await text(page, COUNT), countLabel(inMonth.length), 'books of the month');
    const days = [...new Set(inMonth.map((b) => added(b).getUTCDate()))];
    eq(
      await texts(page, HIERARCHY),
      days.map((d) => `${MONTHS[month]} ${d}`),
      'days of the month',
    );
    day = days[0];
    await follow(page, page.locator('.date-hierarchy a', { hasText: `${MONTHS[month]} ${day}` }));
    eq(query(page).get('added__day'), String(day), 'day in the URL');
    const onDay = inMonth.filter((b) => added(b).getUTCDate() === day);
    eq(await text(page, COUNT), countLabel(onDay.length), 'books of the day');
    eq(await texts(page, HIERARCHY), [`${MONTHS[month]} ${day}`], 'the day, not a link');
    await shot(page, 'date-hierarchy-day');
  });

  await step('the back links climb up to all dates', async () => {
    await follow(page, page.locator(BACK));
    eq(query(page).get('added__day'), null, 'day dropped');
    eq(query(page).get('added__month'), String(month + 1), 'month kept');
    await follow(page, page.locator(BACK));
    eq(query(page).get('added__month'), null, 'month dropped');
    await follow(page, page.locator(BACK));
    eq(query(page).get('added__year'), null, 'year dropped');
    eq(await text(page, COUNT), '60 books', 'every book again');
  });

  await step('the From/To form of "published on" filters, both days included', async () => {
    const filter = page.locator('#changelist-filter details', { hasText: /published on/i });
    // Published 2025-03-01 and 2025-04-01: b % 12 is 2 or 3.
    await filter.locator('input[type=date]').first().fill('2025-03-01');
    await filter.locator('input[type=date]').nth(1).fill('2025-04-01');
    await follow(page, filter.locator('form.date-range button[type=submit]'));
    eq(query(page).get('published_on__range__gte'), '2025-03-01', 'From in the URL');
    eq(query(page).get('published_on__range__lte'), '2025-04-01', 'To in the URL');
    eq(await text(page, COUNT), '10 books', 'books of March and April');
    eq(await filter.locator('input[type=date]').first().inputValue(), '2025-03-01', 'From kept');
    eq(await filter.locator('input[type=date]').nth(1).inputValue(), '2025-04-01', 'To kept');
    await shot(page, 'date-range');
    await follow(page, page.locator('#changelist-filter-extra-actions a.clear-link'));
    eq(await text(page, COUNT), '60 books', 'cleared');
  });

  let pks;
  await step('list_editable: two cells changed and saved at once', async () => {
    pks = await page.locator('#result_list tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.pk));
    await page.fill('#id_form-0-price', '33.30');
    await page.fill('#id_form-1-pages', '321');
    await follow(page, page.locator('button[name=_save]'));
    const message = (await page.locator('.messagelist li.success').first().innerText()).trim();
    eq(message, '2 books were changed successfully.', 'message');
    eq(await page.inputValue('#id_form-0-price'), '33.30', 'the new price');
    eq(await page.inputValue('#id_form-1-pages'), '321', 'the new pages');
    eq(
      await page.locator('#result_list tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.pk)),
      pks,
      'same rows',
    );
  });

  await step('an invalid cell shows its error and nothing is saved', async () => {
    await page.fill('#id_form-0-price', '44.40');
    await page.fill('#id_form-2-price', '1234567');
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.locator('button[name=_save]').click(),
    ]);
    eq(response.status(), 400, 'status');
    ok(await page.locator('.errornote').isVisible(), 'an error note');
    const error = await text(page, '#id_form-2-price_error');
    ok(error.includes('digits before the decimal point'), `the cell's error: ${error}`);
    eq(await page.getAttribute('#id_form-2-price', 'aria-invalid'), 'true', 'marked invalid');
    eq(await page.inputValue('#id_form-2-price'), '1234567', 'the wrong value kept');
    eq(await page.inputValue('#id_form-0-price'), '44.40', 'the other edit kept');
    await shot(page, 'list-editable-error');
    await page.goto(BOOKS);
    eq(await page.inputValue('#id_form-0-price'), '33.30', 'nothing was saved');
  });

  await step('running an action with unsaved cells asks first', async () => {
    await page.fill('#id_form-0-price', '55.50');
    await page.locator('#id_form-0-price').dispatchEvent('change');
    await page.selectOption('#changelist-actions select[name=action]', 'mark_in_stock');
    await page.locator('input.action-select').first().check();
    let asked = null;
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      dialog.dismiss();
    });
    await page.locator('button[name=index]').click();
    ok(asked && asked.includes('unsaved changes'), `asked: ${asked}`);
    eq(new URL(page.url()).pathname, '/admin/library/book/', 'still on the changelist');
    eq(await page.inputValue('#id_form-0-price'), '55.50', 'the edit is still there');
    await page.goto(BOOKS);
  });

  await step('the keyboard reaches the cells and the Save button', async () => {
    await page.focus('#id_form-0-price');
    await page.keyboard.press('Tab');
    eq(
      await page.evaluate(() => document.activeElement.id),
      'id_form-0-pages',
      'Tab goes to the next cell of the row',
    );
    await page.focus('button[name=_save]');
    eq(
      await page.evaluate(() => document.activeElement.getAttribute('name')),
      '_save',
      'Save is focusable',
    );
  });

  await step('no script error in any page', async () => {
    eq(pageErrors, [], "errors in the pages' console");
  });
}
