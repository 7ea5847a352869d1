//! The many-to-many picker (`filter_horizontal`) in a real browser: `admin-app` (the
//! library test site) on a fresh database of each backend, walked through by
//! `tests/browser/admin-m2m.test.mjs` in headless Chromium (playwright-core): a book's
//! tags filtered, chosen with the keyboard only, removed by double-click and saved; then
//! the same form without JavaScript, where the plain `<select multiple>` is submitted.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and `npm ci` run in
//! `tests/browser`. Without them the test skips, except under CI where it fails.
//! Screenshots are kept in `<target dir>/admin-screenshots/m2m-<backend>/`.

use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;

use crate::admin::browser_common::run_script;

backend_tests!(many_to_many_picker_works_in_a_browser);

async fn many_to_many_picker_works_in_a_browser(db: &TestDb) {
    let shots = format!("m2m-{}", db.backend().name());
    run_script(db, "admin-m2m.test.mjs", &shots, "admin_browser_m2m").await;
}
