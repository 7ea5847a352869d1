//! The admin's JSON API bodies (create, PUT, PATCH) on each backend, and each column
//! kind's parse of a JSON value. First byte: registration, backend, add/partial.
#![no_main]

use batteries_fuzz::admin_forms;
use libfuzzer_sys::fuzz_target;
use sea_orm::DbBackend;

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let forms = &admin_forms()[usize::from(flags & 1)];
    let backend = match (flags >> 1) % 3 {
        0 => DbBackend::Sqlite,
        1 => DbBackend::Postgres,
        _ => DbBackend::MySql,
    };
    let adding = flags & 8 != 0;
    let partial = flags & 16 != 0 && !adding;
    if let Err(status) = forms.parse_api_body(rest, backend, adding, partial) {
        assert!(
            (400..500).contains(&status),
            "a bad body is a client error, got {status}"
        );
    }
    // Each field's parse of each value of the body, when it is an object.
    if flags & 32 != 0
        && let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(rest)
    {
        for value in object.values() {
            for i in 0..forms.len() {
                let _ = forms.parse_field_json(i, value);
            }
        }
    }
});
