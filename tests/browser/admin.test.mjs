// Browser tests of the batteries admin: a person's walk through the test site
// (tests/src/admin_app.rs) in headless Chromium, driven by playwright-core.
//
//   node admin.test.mjs <base-url> <screenshot-dir>
//
// <base-url> is where `admin-app` listens (the admin is at <base-url>/admin/), on a fresh
// database seeded with 5 authors and 60 books (SEED_BOOKS=60). Each step throws on the
// first thing that is not as a user would expect; the process then exits 1 after saving
// a screenshot of the page as `failure-<step>.png`. Screenshots of the main pages are
// kept in <screenshot-dir> either way. Run by tests/tests/integration/admin/browser.rs.

import {
  ok,
  eq,
  texts,
  text,
  count,
  where,
  query,
  bookNumbers,
  increasing,
  TITLES,
  success,
  follow,
  setValue,
  login,
  args,
  shot,
  step,
  pageErrors,
  runInChromium,
} from './harness.mjs';

const { admin } = args('admin.test.mjs');

await runInChromium('admin.test.mjs', run);

async function run(page, context) {
  let added; // pk of the book added through the form

  await step('an anonymous visitor is sent to the login page', async () => {
    const response = await page.goto(`${admin}/`);
    ok(response, 'no response');
    eq(new URL(page.url()).pathname, '/admin/login/', 'redirected to');
    eq(query(page).get('next'), '/admin/', 'next');
    await page.locator('#login-form').waitFor();
    await shot(page, 'login');
  });

  await step('a wrong password is refused, the username kept', async () => {
    await page.fill('#id_username', 'admin');
    await page.fill('#id_password', 'not the password');
    await follow(page, page.locator('#login-form button[type=submit]'));
    ok(await page.locator('.errornote').isVisible(), 'an error note is shown');
    eq(await page.inputValue('#id_username'), 'admin', 'username kept');
    eq(await page.inputValue('#id_password'), '', 'password not echoed');
  });

  await step('admin logs in and lands on the index', async () => {
    await login(page, 'admin');
    eq(where(page), '/admin/', 'after login');
    ok((await text(page, '#user-tools')).includes('admin'), 'user tools name the user');
    eq(await text(page, '#content h1'), 'Site administration', 'heading');
  });

  await step('the index lists the Library models', async () => {
    eq(await texts(page, '.app-library caption'), ['Library'], 'app caption');
    eq(
      await texts(page, '.app-library tr.model-row th a'),
      ['Authors', 'Books', 'Reviews', 'Tags'],
      'models',
    );
    eq(await count(page, '.app-library a.addlink'), 4, 'add links for a superuser');
    await shot(page, 'index');
    await follow(page, page.locator('.app-library th a', { hasText: 'Books' }));
    eq(where(page), '/admin/library/book/', 'changelist URL');
  });

  await step('the changelist shows the first page of books', async () => {
    eq(await text(page, '#content h1'), 'Select book to change', 'heading');
    eq(await count(page, '#result_list tbody tr'), 20, 'rows on page 1 (list_per_page 20)');
    eq(await text(page, '.paginator .result-count'), '60 books', 'result count');
    eq(await text(page, '.paginator .this-page'), '1', 'current page');
    // Default ordering: newest first ("-added"); book 59 was added last.
    eq(await text(page, TITLES), 'Book 0059 about web', 'first row');
    eq(await texts(page, '#nav-sidebar .current-model'), ['Books'], 'sidebar marks the model');
    // The first book's title is markup: it must be shown as text, never run.
    const bodyHtml = await page.content();
    ok(!bodyHtml.includes("<script>alert('xss')"), 'titles are escaped');
    await shot(page, 'changelist');
  });

  await step('search with q finds the matching books', async () => {
    await page.fill('#searchbar', 'rust');
    await follow(page, page.locator('#changelist-search button[type=submit]'));
    eq(query(page).get('q'), 'rust', 'q in the URL');
    const titles = await texts(page, TITLES);
    // Books 4, 8, ..., 56 are "about rust".
    eq(titles.length, 14, 'matches');
    ok(titles.every((t) => t.includes('rust')), `every title has "rust": ${titles}`);
    eq(await text(page, '.paginator .result-count'), '14 books', 'result count');
    eq(await page.inputValue('#searchbar'), 'rust', 'the search box keeps q');
    await follow(page, page.locator('#changelist-search a.clear-link'));
    eq(await text(page, '.paginator .result-count'), '60 books', 'cleared');
  });

  await step('the "Yes" of the in-stock filter keeps the books in stock', async () => {
    const filter = page.locator('#changelist-filter details', { hasText: /in stock/i });
    await follow(page, filter.getByRole('link', { name: 'Yes', exact: true }));
    eq(query(page).get('in_stock'), 'true', 'filter in the URL');
    eq(await texts(page, '#changelist-filter li.selected'), ['Yes', 'All', 'All', 'All'], 'selected');
    eq(await text(page, '.paginator .result-count'), '30 books', 'even books are in stock');
    const rows = await count(page, '#result_list tbody tr');
    eq(await count(page, '#result_list tbody td.boolean .icon-yes'), rows, 'every row in stock');
    await follow(page, page.locator('#changelist-filter-extra-actions a.clear-link'));
    eq(where(page), '/admin/library/book/', 'cleared filters');
  });

  await step('clicking headers sorts, by one column then by two', async () => {
    const header = (label) =>
      page.locator('#result_list thead th', { has: page.locator('a.sort-link', { hasText: label }) });
    await follow(page, header('Title').locator('a.sort-link'));
    ok(query(page).get('ordering').startsWith('title'), `ordering ${query(page).get('ordering')}`);
    ok(await header('Title').evaluate((th) => th.matches('.sorted.ascending')), 'title ascending');
    let numbers = bookNumbers(await texts(page, TITLES));
    ok(numbers.length >= 19 && increasing(numbers), `titles ascending: ${numbers}`);
    eq(numbers[0], 1, 'first book by title');

    await follow(page, header('Status').locator('a.sort-link'));
    ok(query(page).get('ordering').startsWith('status,title'), `ordering ${query(page).get('ordering')}`);
    ok(await header('Status').evaluate((th) => th.matches('.sorted.ascending')), 'status ascending');
    eq(await header('Status').locator('.sortpriority').innerText(), '1', 'status is the first key');
    eq(
      await header('Title').locator('.sortpriority').innerText(),
      '2',
      'title is the second key',
    );
    // Archived (b % 3 == 2) comes first: exactly the 20 books of page 1, by title.
    const statuses = await page.locator('#result_list tbody tr td:nth-child(4)').allInnerTexts();
    eq([...new Set(statuses.map((s) => s.trim()))], ['Archived'], 'page 1 statuses');
    numbers = bookNumbers(await texts(page, TITLES));
    eq(numbers.length, 20, 'archived books on page 1');
    ok(increasing(numbers) && numbers.every((n) => n % 3 === 2), `archived by title: ${numbers}`);
  });

  await step('the paginator link to page 2 keeps the ordering', async () => {
    const ordering = query(page).get('ordering');
    await follow(page, page.locator('.paginator a', { hasText: /^2$/ }));
    eq(query(page).get('page'), '2', 'page in the URL');
    eq(query(page).get('ordering'), ordering, 'ordering kept');
    eq(await text(page, '.paginator .this-page'), '2', 'current page');
    ok(await page.locator('.paginator a[rel=prev]').isVisible(), 'a previous link');
    const statuses = await page.locator('#result_list tbody tr td:nth-child(4)').allInnerTexts();
    eq([...new Set(statuses.map((s) => s.trim()))], ['Draft'], 'page 2 holds the drafts');
    eq(statuses.length, 20, 'rows on page 2');
  });

  await step('adding a book with an empty title shows the error and keeps the values', async () => {
    await page.goto(`${admin}/library/book/`);
    await follow(page, page.locator('ul.object-tools a.addlink'));
    eq(where(page), '/admin/library/book/add/', 'add form');
    // The foreign key is a select of the authors.
    await page.selectOption('#id_author_id', '1');
    await page.fill('#id_title', '');
    await page.fill('#id_isbn', '9781111111111');
    await page.fill('#id_summary', 'Written in a browser');
    await setValue(page, '#id_status', 'draft');
    await page.fill('#id_pages', '321');
    await page.fill('#id_price', '12.50');
    await page.check('#id_in_stock');
    await page.fill('#id_published_on', '2026-02-03');
    await page.fill('#id_added', '2026-02-03T04:05:06');
    await follow(page, page.locator('button[name=_save]'));
    eq(where(page), '/admin/library/book/add/', 'stays on the add form');
    ok(await page.locator('.errornote').isVisible(), 'error note');
    const titleRow = page.locator('.form-row.field-title');
    ok(await titleRow.evaluate((r) => r.classList.contains('errors')), 'title row marked');
    ok((await titleRow.locator('.errorlist').innerText()).trim().length > 0, 'title error text');
    eq(await page.getAttribute('#id_title', 'aria-invalid'), 'true', 'aria-invalid');
    eq(await count(page, '.form-row.errors'), 1, 'only the title is wrong');
    eq(await page.inputValue('#id_isbn'), '9781111111111', 'isbn kept');
    eq((await page.inputValue('#id_summary')).trim(), 'Written in a browser', 'summary kept');
    eq(await page.inputValue('#id_pages'), '321', 'pages kept');
    eq(Number(await page.inputValue('#id_price')), 12.5, 'price kept');
    ok(await page.isChecked('#id_in_stock'), 'in stock kept');
    eq(await page.inputValue('#id_published_on'), '2026-02-03', 'date kept');
    ok((await page.inputValue('#id_added')).startsWith('2026-02-03T04:05'), 'datetime kept');
    await shot(page, 'change-form-errors');
  });

  await step('a price that is not a number is refused next to the field', async () => {
    await page.fill('#id_title', 'Browser Test Book');
    // A number input cannot take letters from the keyboard; the form is what is posted.
    await page.locator('#id_price').evaluate((input) => {
      input.type = 'text';
      input.value = 'twelve';
    });
    await follow(page, page.locator('button[name=_save]'));
    eq(await count(page, '.form-row.errors'), 1, 'one field wrong');
    ok(
      (await page.locator('.form-row.field-price .errorlist').innerText()).trim().length > 0,
      'price error text',
    );
    eq(await page.inputValue('#id_title'), 'Browser Test Book', 'title kept');
  });

  await step('fixing the form saves the book', async () => {
    await page.fill('#id_price', '12.50');
    await follow(page, page.locator('button[name=_save]'));
    eq(where(page), '/admin/library/book/', 'back on the changelist');
    const message = await success(page);
    ok(message.includes('Browser Test Book') && message.includes('added'), `message: ${message}`);
    // Newest first: the new book (added 2026-02-03) heads the list.
    eq(await text(page, TITLES), 'Browser Test Book', 'new row first');
    eq(await text(page, '.paginator .result-count'), '61 books', 'one more book');
    added = await page.locator('#result_list tbody tr').first().getAttribute('data-pk');
    ok(added, 'row pk');
  });

  await step('"Save and continue editing" saves and stays on the form', async () => {
    await follow(page, page.locator(TITLES, { hasText: 'Browser Test Book' }));
    eq(where(page), `/admin/library/book/${added}/change/`, 'change form');
    await page.fill('#id_price', '15.00');
    await page.selectOption('#id_featured', 'true');
    await follow(page, page.locator('button[name=_continue]'));
    eq(where(page), `/admin/library/book/${added}/change/`, 'still on the change form');
    const message = await success(page);
    ok(message.includes('changed') && message.includes('edit it again'), `message: ${message}`);
    eq(Number(await page.inputValue('#id_price')), 15, 'new price shown');
    eq(await page.inputValue('#id_featured'), 'true', 'featured saved');
  });

  await step('the history lists the addition and the change', async () => {
    await follow(page, page.locator('ul.object-tools a.historylink'));
    eq(where(page), `/admin/library/book/${added}/history/`, 'history URL');
    const actions = await texts(page, '#change-history td.history-action');
    eq(actions, ['Added', 'Changed'], 'entries oldest first');
    eq(await texts(page, '#change-history td.history-user'), ['admin', 'admin'], 'users');
    const messages = await texts(page, '#change-history td.history-message');
    ok(/Price/.test(messages[1]) && /Featured/.test(messages[1]), `change message: ${messages[1]}`);
    await shot(page, 'history');
  });

  await step('a review is added with the book picked by autocomplete', async () => {
    await page.goto(`${admin}/library/review/add/`);
    await page.locator('#id_book_id').pressSequentially('Browser Test');
    const option = page.locator('#id_book_id_listbox li[role=option]', { hasText: 'Browser Test Book' });
    await option.first().waitFor();
    await option.first().click();
    eq(await page.inputValue('#id_book_id'), added, 'the pk is put in the field');
    await page.fill('#id_stars', '5');
    await page.fill('#id_body', 'A fine read');
    await page.fill('#id_created', '2026-02-04T10:00:00');
    await follow(page, page.locator('button[name=_save]'));
    eq(where(page), '/admin/library/review/', 'saved');
    await success(page);
    eq(await count(page, '#result_list tbody tr'), 1, 'one review');
  });

  await step('deleting the book lists its review, then removes both', async () => {
    await page.goto(`${admin}/library/book/${added}/change/`);
    await follow(page, page.locator('a.deletelink'));
    eq(where(page), `/admin/library/book/${added}/delete/`, 'confirmation URL');
    eq(await count(page, '.protected-objects'), 0, 'nothing protects the book');
    // (The model label's case is not checked: the template prints it lowercase.)
    const objects = await texts(page, '#deleted-objects li');
    eq(objects.map((o) => o.toLowerCase()), ['book: browser test book'], 'objects');
    const summary = (await texts(page, '.deleted-summary li')).join(' | ');
    ok(/reviews?: 1/i.test(summary), `the cascade lists the review: ${summary}`);
    ok((await texts(page, '.cascade-examples li')).length === 1, 'one cascade example');
    await shot(page, 'delete-confirmation');
    await follow(page, page.locator('#delete-confirmation-form button[type=submit]'));
    eq(where(page), '/admin/library/book/', 'back on the changelist');
    ok((await success(page)).includes('deleted'), 'deleted message');
    eq(await text(page, '.paginator .result-count'), '60 books', 'one book less');
    eq(await count(page, `#result_list tbody tr[data-pk="${added}"]`), 0, 'row gone');
    const gone = await page.goto(`${admin}/library/book/${added}/change/`);
    eq(gone.status(), 404, 'the change form of a deleted book');
    await page.goto(`${admin}/library/review/`);
    eq(await count(page, '#result_list tbody tr'), 0, 'its review went with it');
  });

  await step('two books are deleted with the checkboxes and "Delete selected"', async () => {
    await page.goto(`${admin}/library/book/`);
    const [first, second] = ['60', '59'];
    const titles = [];
    for (const pk of [first, second]) {
      const row = page.locator(`#result_list tbody tr[data-pk="${pk}"]`);
      titles.push((await row.locator('th a').innerText()).trim());
      await row.locator('input.action-select').check();
    }
    eq(await text(page, '.action-counter'), '2 of 20 selected', 'counter');
    await page.selectOption('#changelist-actions select[name=action]', 'delete_selected');
    await follow(page, page.locator('#changelist-actions button[name=index]'));
    ok(await page.locator('body.delete-selected-confirmation').count(), 'bulk confirmation page');
    eq(
      (await texts(page, '#deleted-objects li')).map((o) => o.toLowerCase()).sort(),
      titles.map((t) => `book: ${t}`.toLowerCase()).sort(),
      'the two books',
    );
    await shot(page, 'bulk-delete-confirmation');
    await follow(page, page.locator('#delete-confirmation-form button[type=submit]'));
    eq(where(page), '/admin/library/book/', 'back on the changelist');
    ok(/2 books/.test(await success(page)), 'deleted message');
    eq(await text(page, '.paginator .result-count'), '58 books', 'two books less');
    eq(await count(page, `#result_list tbody tr[data-pk="${first}"]`), 0, 'first gone');
    eq(await count(page, `#result_list tbody tr[data-pk="${second}"]`), 0, 'second gone');
  });

  await step('the keyboard reaches the search box, then the first row', async () => {
    await page.goto(`${admin}/library/book/`);
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement;
        if (el.id === 'searchbar') return 'searchbar';
        if (el.matches('#result_list tbody tr:first-child th a')) return 'first-row';
        if (el.matches('.skip-to-content-link')) return 'skip-link';
        return el.tagName;
      });
    const order = [];
    for (let i = 0; i < 80 && !order.includes('first-row'); i += 1) {
      await page.keyboard.press('Tab');
      const now = await focused();
      if (i === 0) eq(now, 'skip-link', 'the first Tab stop');
      if (['searchbar', 'first-row'].includes(now) && !order.includes(now)) order.push(now);
    }
    eq(order, ['searchbar', 'first-row'], 'reached with Tab, in order');
    await page.focus('#searchbar');
    await page.keyboard.type('django');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    eq(query(page).get('q'), 'django', 'Enter submits the search');
  });

  await step('the changelist fits a phone', async () => {
    const phone = await context.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${admin}/library/book/`);
      await phone.locator('#result_list').waitFor();
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      ok(width <= 390, `the page scrolls sideways on a phone (${width}px wide)`);
      await shot(phone, 'changelist-phone');
    } finally {
      await phone.close();
    }
  });

  await step('log out', async () => {
    await follow(page, page.locator('#logout-form button[type=submit]'));
    const response = await page.goto(`${admin}/`);
    ok(response, 'no response');
    eq(new URL(page.url()).pathname, '/admin/login/', 'logged out');
  });

  await step('viewer sees books but not authors', async () => {
    await login(page, 'viewer');
    eq(where(page), '/admin/', 'logged in');
    eq(await texts(page, '.app-library tr.model-row th a'), ['Books'], 'models on the index');
    eq(await count(page, 'a[href$="/library/author/"]'), 0, 'no link to authors');
    eq(await count(page, '.app-library a.addlink'), 0, 'no add link');
    eq(await texts(page, '.app-library a.viewlink'), ['View Books'], 'a view link');
    const authors = await page.goto(`${admin}/library/author/`);
    eq(authors.status(), 403, 'authors changelist');
    const add = await page.goto(`${admin}/library/book/add/`);
    eq(add.status(), 403, 'book add form');
  });

  await step('viewer gets a read-only changelist and change form', async () => {
    await page.goto(`${admin}/library/book/`);
    eq(await count(page, '#result_list tbody tr'), 20, 'rows');
    eq(await count(page, 'ul.object-tools a.addlink'), 0, 'no add button');
    eq(
      await count(page, '#changelist-actions option[value=delete_selected]'),
      0,
      'no delete action',
    );
    await follow(page, page.locator(TITLES).first());
    ok(/\/change\/$/.test(new URL(page.url()).pathname), 'on the change form');
    for (const button of ['_save', '_addanother', '_continue']) {
      eq(await count(page, `button[name=${button}]`), 0, `no ${button} button`);
    }
    eq(await count(page, 'a.deletelink'), 0, 'no delete link');
    ok(await page.locator('a.closelink').isVisible(), 'a close link');
    eq(await count(page, '#id_title'), 0, 'no title input');
    ok(
      (await text(page, '.form-row.field-title .readonly')).startsWith('Book'),
      'the title is shown as text',
    );
    const editable = await page
      .locator('form.change-form input:not([type=hidden]), form.change-form textarea, form.change-form select')
      .count();
    eq(editable, 0, 'no editable field');
    await shot(page, 'viewer-change-form');
  });

  await step('no script error in any page', async () => {
    eq(pageErrors, [], "errors in the pages' console");
  });
}
