//! The admin in a real browser: `admin-app` (the library test site) on a fresh database
//! of each backend, walked through by `tests/browser/admin.test.mjs` in headless
//! Chromium (playwright-core) as a person would: log in, search, filter, sort, page,
//! add with a mistake, edit, delete with what cascades, bulk delete, history, log out,
//! a user who may only view, the keyboard and a phone-sized screen.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and `npm ci` run in
//! `tests/browser`. Without them the test skips, except under CI where it fails.
//! Screenshots of the main pages are kept in `<target dir>/admin-screenshots/<backend>/`.

use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;

use crate::admin::browser_common::run_script;

backend_tests!(admin_works_in_a_browser);

async fn admin_works_in_a_browser(db: &TestDb) {
    let backend = db.backend().name();
    run_script(db, "admin.test.mjs", backend, "admin_browser").await;
}
