//! Query-string filters, search and ordering (`FilterSet::parse`), then the query they
//! build, run on SQLite: a client's query string may only ever give a typed error.
#![no_main]

use std::sync::OnceLock;

use batteries_fuzz::{db, kind, runtime, text, unsigned};
use batteries_orm::filter::FilterSet;
use batteries_orm::paginate::Paginator;
use libfuzzer_sys::fuzz_target;
use sea_orm::EntityTrait;

fn filters() -> &'static FilterSet<kind::Entity> {
    static SET: OnceLock<FilterSet<kind::Entity>> = OnceLock::new();
    SET.get_or_init(|| {
        FilterSet::new()
            .all_fields()
            .field_as("name", kind::Column::Title)
            .search([kind::Column::Title, kind::Column::Body, kind::Column::Note])
            .default_ordering("-moment,title")
            .ignore("format")
            .max_per_page(50)
    })
}

fn unsigned_filters() -> &'static FilterSet<unsigned::Entity> {
    static SET: OnceLock<FilterSet<unsigned::Entity>> = OnceLock::new();
    SET.get_or_init(|| FilterSet::new().all_fields())
}

fuzz_target!(|data: &[u8]| {
    let db = db();
    let query = text(data);
    runtime().block_on(async {
        // A database error is an answer (503), not a crash; a panic is a finding.
        if let Ok(params) = filters().parse(&query) {
            let _ = Paginator::new()
                .count_limit(2)
                .page_for(db, kind::Entity::find(), &params)
                .await;
        }
        if let Ok(params) = unsigned_filters().parse(&query) {
            let _ = Paginator::new()
                .page_for(db, unsigned::Entity::find(), &params)
                .await;
        }
    });
});
