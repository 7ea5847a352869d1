//! Fixtures in Django's `dumpdata` JSON, loaded into SQLite (and rolled back to the
//! sample rows after each input): a bad fixture is a typed error, never a panic.
#![no_main]

use std::sync::OnceLock;

use batteries_fuzz::{db, kind, reset, runtime, text, unsigned};
use batteries_orm::fixtures::Fixtures;
use libfuzzer_sys::fuzz_target;

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        Fixtures::new()
            .register::<kind::Entity>("fuzz.kind")
            .register::<unsigned::Entity>("fuzz.unsigned")
    })
}

fuzz_target!(|data: &[u8]| {
    let db = db();
    let fixture = text(data);
    runtime().block_on(async {
        let _ = fixtures().load_str(db, &fixture).await;
        reset(db).await;
    });
});
