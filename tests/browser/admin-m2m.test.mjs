// Browser test of the admin's many-to-many picker (filter_horizontal): the book's tags
// on the test site (tests/src/admin_app.rs) in headless Chromium, driven by
// playwright-core.
//
//   node admin-m2m.test.mjs <base-url> <screenshot-dir>
//
// <base-url> is where `admin-app` listens, on a fresh database seeded with its books and
// the tags biography, databases, django, fiction, history, python, rust, web (ids 1-8).
// With JavaScript: filter "Available" by typing, choose two tags with the keyboard only
// (Tab, arrow keys, Enter), check the buttons are in the tab order, remove one tag by
// double-click, save, and read the saved tags back. Without JavaScript: the plain
// <select multiple> is the control, and submitting it saves the tags chosen. Run by
// tests/tests/integration/admin/browser_m2m.rs.

import {
  ok,
  eq,
  follow,
  login,
  args,
  shot,
  step,
  pageErrors,
  watch,
  conclude,
  launchChromium,
} from './harness.mjs';

const { admin } = args('admin-m2m.test.mjs');
const TAGS = ['biography', 'databases', 'django', 'fiction', 'history', 'python', 'rust', 'web'];
const tagId = (name) => TAGS.indexOf(name) + 1;

/** The texts of a list's options. */
async function listed(page, selector) {
  return page.locator(`${selector} option`).allInnerTexts();
}

/** The id of the focused element. */
async function focused(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

async function logIn(page, username) {
  await page.goto(`${admin}/login/`);
  await login(page, username);
  eq(new URL(page.url()).pathname, '/admin/', 'logged in');
}

/** The book's tag ids, read through the JSON API with the page's session. */
async function savedTags(page, book) {
  const response = await page.request.get(`${admin}/api/library/book/${book}/`, {
    headers: { accept: 'application/json' },
  });
  eq(response.status(), 200, 'API status');
  const body = await response.json();
  return body.tags;
}

const browser = await launchChromium();
let lastPage = null;
await conclude(
  'admin-m2m.test.mjs',
  async () => {
    await withJavaScript();
    await withoutJavaScript();
    await step('no script errors or CSP violations', async () => {
      eq(pageErrors, [], 'errors in the console');
    });
  },
  { limitMs: 90_000, lastPage: () => lastPage, cleanup: () => browser.close() },
);

async function withJavaScript() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  lastPage = page;
  watch(page);

  await step('the picker replaces the multiple select', async () => {
    await logIn(page, 'admin');
    await page.goto(`${admin}/library/book/3/change/`);
    await page.locator('#id_tags_selector').waitFor();
    ok(await page.locator('#id_tags').isHidden(), 'the original select is hidden');
    eq(await page.locator('#id_tags').getAttribute('name'), 'tags', 'it is still the posted control');
    eq(await page.locator('#id_tags_from_title').innerText(), 'Available tags', 'left title');
    eq(await page.locator('#id_tags_to_title').innerText(), 'Chosen tags', 'right title');
    eq(await listed(page, '#id_tags_from'), TAGS, 'every tag available');
    eq(await listed(page, '#id_tags_to'), [], 'none chosen');
    ok(await page.locator('.field-tags .m2m-hint').isHidden(), 'the Ctrl-click hint is hidden');
    eq(await page.locator('#id_tags_add').getAttribute('aria-label'), 'Choose selected tags', 'label');
    await shot(page, 'm2m-picker');
  });

  await step('Tab reaches the filter, typing filters Available', async () => {
    // Keyboard only from the field before the picker.
    await page.focus('#id_metadata');
    await page.keyboard.press('Tab');
    eq(await focused(page), 'id_tags_input', 'Tab from the last field reaches the filter');
    await page.keyboard.type('y');
    eq(await listed(page, '#id_tags_from'), ['biography', 'history', 'python'], 'filtered');
    await page.keyboard.press('Backspace');
    eq((await listed(page, '#id_tags_from')).length, TAGS.length, 'cleared');
    await page.keyboard.type('HY');
    eq(await listed(page, '#id_tags_from'), ['biography'], 'filtered on "HY", ignoring case');
    await page.keyboard.press('Backspace');
    eq(await listed(page, '#id_tags_from'), ['biography', 'history', 'python'], 'filtered on "H"');
  });

  await step('two tags chosen with Tab, arrow keys and Enter', async () => {
    await page.keyboard.press('Tab');
    eq(await focused(page), 'id_tags_from', 'Tab from the filter reaches Available');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    eq(
      await page.locator('#id_tags_from').evaluate((s) => [...s.selectedOptions].map((o) => o.text)),
      ['history'],
      'the arrow keys select',
    );
    await page.keyboard.press('Enter');
    eq(await listed(page, '#id_tags_to'), ['history'], 'Enter chose it');
    eq(await listed(page, '#id_tags_from'), ['biography', 'python'], 'gone from Available');
    eq(await focused(page), 'id_tags_from', 'the focus stays in Available');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    eq(await listed(page, '#id_tags_to'), ['biography', 'history'], 'a second one chosen');
    eq(
      await page.locator('#id_tags').evaluate((s) => [...s.selectedOptions].map((o) => o.value)),
      [String(tagId('biography')), String(tagId('history'))],
      'the posted select is kept in sync',
    );
    ok(
      (await page.locator('#id_tags_status').innerText()).includes('biography chosen.'),
      'the change is announced',
    );
  });

  await step('the buttons and Chosen are in the tab order', async () => {
    const order = [];
    for (let i = 0; i < 5; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await focused(page));
    }
    eq(
      order,
      ['id_tags_add_all', 'id_tags_add', 'id_tags_remove', 'id_tags_to', 'id_tags_remove_all'],
      'tab order',
    );
    // Back to Chosen; Enter on a highlighted chosen tag removes it, and choosing it
    // again with the focused button puts it back.
    await page.keyboard.press('Shift+Tab');
    eq(await focused(page), 'id_tags_to', 'Shift+Tab back to Chosen');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    eq(await listed(page, '#id_tags_to'), ['history'], 'Enter in Chosen removed biography');
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Shift+Tab');
    eq(await focused(page), 'id_tags_from', 'back in Available');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    eq(
      await page.locator('#id_tags_from').evaluate((s) => [...s.selectedOptions].map((o) => o.text)),
      ['biography'],
      'ArrowUp to the top',
    );
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    eq(await focused(page), 'id_tags_add', 'on the Choose button');
    await page.keyboard.press('Enter');
    eq(await listed(page, '#id_tags_to'), ['biography', 'history'], 'the Choose button chose it');
  });

  await step('a double-click removes a chosen tag', async () => {
    await page.locator('#id_tags_to option', { hasText: 'biography' }).dblclick();
    eq(await listed(page, '#id_tags_to'), ['history'], 'removed');
    ok((await listed(page, '#id_tags_from')).includes('biography'), 'available again');
    // And a double-click in Available chooses.
    await page.fill('#id_tags_input', 'ru');
    await page.locator('#id_tags_from option', { hasText: 'rust' }).dblclick();
    eq(await listed(page, '#id_tags_to'), ['history', 'rust'], 'chosen by double-click');
    await page.locator('#id_tags_to option', { hasText: 'rust' }).dblclick();
    eq(await listed(page, '#id_tags_to'), ['history'], 'and removed again');
  });

  await step('saving keeps the chosen tags', async () => {
    await shot(page, 'm2m-chosen');
    await follow(page, page.locator('button[name=_continue]'));
    eq(new URL(page.url()).pathname, '/admin/library/book/3/change/', 'back on the form');
    ok(
      (await page.locator('.messagelist li.success').innerText()).includes('was changed successfully'),
      'saved',
    );
    eq(await savedTags(page, 3), [tagId('history')], 'the saved tags');
    await page.locator('#id_tags_selector').waitFor();
    eq(await listed(page, '#id_tags_to'), ['history'], 'shown chosen after the save');
    ok(!(await listed(page, '#id_tags_from')).includes('history'), 'not available twice');
  });

  await step('Choose all and Remove all act on what the filter shows', async () => {
    await page.fill('#id_tags_input', 'd');
    await page.locator('#id_tags_add_all').click();
    eq(await listed(page, '#id_tags_to'), ['databases', 'django', 'history'], 'the matches chosen');
    await page.locator('#id_tags_remove_all').click();
    eq(await listed(page, '#id_tags_to'), [], 'all removed');
    eq(
      await page.locator('#id_tags').evaluate((s) => s.selectedOptions.length),
      0,
      'the posted select too',
    );
  });
  await context.close();
}

async function withoutJavaScript() {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  lastPage = page;
  watch(page);

  await step('without JavaScript the multiple select is the control', async () => {
    await logIn(page, 'admin');
    await page.goto(`${admin}/library/book/4/change/`);
    eq(await page.locator('#id_tags_selector').count(), 0, 'no picker');
    ok(await page.locator('select#id_tags[multiple]').isVisible(), 'the select is shown');
    ok(await page.locator('.field-tags .m2m-hint').isVisible(), 'with its Ctrl-click hint');
    eq(
      await page.locator('#id_tags option').allInnerTexts(),
      TAGS,
      'every tag listed',
    );
    await shot(page, 'm2m-no-js');
  });

  await step('submitting the multiple select saves the tags', async () => {
    const option = (name) => page.locator(`#id_tags option[value="${tagId(name)}"]`);
    await option('fiction').click();
    await option('web').click({ modifiers: ['Control'] });
    await follow(page, page.locator('button[name=_continue]'));
    eq(await savedTags(page, 4), [tagId('fiction'), tagId('web')], 'saved');
    eq(
      await page.locator('#id_tags option[selected]').allInnerTexts(),
      ['fiction', 'web'],
      'shown selected after the save',
    );
    // Deselecting one and saving removes it.
    await option('web').click({ modifiers: ['Control'] });
    await follow(page, page.locator('button[name=_continue]'));
    eq(await savedTags(page, 4), [tagId('fiction')], 'one removed');
  });
  await context.close();
}
