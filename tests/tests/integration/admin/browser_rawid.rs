//! The admin's raw-id foreign keys in a real browser: `admin-app` (the library test site)
//! on a fresh database of each backend, walked through by `tests/browser/admin-rawid.test.mjs`
//! in headless Chromium (playwright-core): on a tag's page, the books are given by id; the
//! "Look up" popup of the books fills the id and the title (also in a form added with "Add
//! another"), the tag is saved with them; an id of no book is refused on its field.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and `npm ci` run in
//! `tests/browser`. Without them the test skips, except under CI where it fails.
//! Screenshots are kept in `<target dir>/admin-screenshots/rawid-<backend>/`.

use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;

use crate::admin::browser_common::run_script;

backend_tests!(raw_id_lookups_work_in_a_browser);

async fn raw_id_lookups_work_in_a_browser(db: &TestDb) {
    let shots = format!("rawid-{}", db.backend().name());
    run_script(db, "admin-rawid.test.mjs", &shots, "admin_browser_rawid").await;
}
