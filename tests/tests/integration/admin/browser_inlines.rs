//! The admin's inlines in a real browser: `admin-app` (the library test site) on a fresh
//! database of each backend, walked through by `tests/browser/admin-inlines.test.mjs` in
//! headless Chromium (playwright-core): a book's reviews added with "Add another
//! review", one deleted, saved together; an invalid review's error on its row.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and `npm ci` run in
//! `tests/browser`. Without them the test skips, except under CI where it fails.
//! Screenshots are kept in `<target dir>/admin-screenshots/inlines-<backend>/`.

use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;

use crate::admin::browser_common::run_script;

backend_tests!(inlines_work_in_a_browser);

async fn inlines_work_in_a_browser(db: &TestDb) {
    let shots = format!("inlines-{}", db.backend().name());
    run_script(
        db,
        "admin-inlines.test.mjs",
        &shots,
        "admin_browser_inlines",
    )
    .await;
}
