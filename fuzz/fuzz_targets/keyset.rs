//! Keyset cursors: a cursor from the client (`?cursor=`), decoded, checked and turned
//! into the `WHERE` of the next page. The first byte picks how the rest is used:
//!
//! - `0`: the rest is the cursor as the client sends it (base64url, signed);
//! - `1`: the rest is the cursor's payload, signed here with the listing's key, so that
//!   the fuzzer reaches the JSON decoding behind the signature;
//! - `2`: the rest is the list of the last row's values (`v`), wrapped in a payload for
//!   the listing's fingerprint and signed, so that every value reaches the SQL.
//!
//! The second byte picks the ordering. Modes 1 and 2 reproduce the cursor's wire format
//! (JSON payload, then its HMAC-SHA256, in base64url), which is what an attacker who has
//! the key could send; `keyset.rs`'s own tests check that format.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use batteries_fuzz::{db, kind, runtime, text};
use batteries_orm::filter::FilterSet;
use batteries_orm::keyset::Keyset;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sea_orm::EntityTrait;
use sha2::Sha256;

const KEY: &[u8] = b"the fuzz target's keyset key, 32 bytes or more";

/// Orderings over NOT NULL columns of every orderable kind.
const ORDERINGS: [&str; 8] = [
    "",
    "-id",
    "title,-price",
    "moment,-day",
    "at,double,uid",
    "-big,tiny,small,-unsigned,tiny_u,small_u",
    "stamp,-real,flag,status",
    "-title,day,-tiny",
];

fn filters() -> &'static FilterSet<kind::Entity> {
    static SET: OnceLock<FilterSet<kind::Entity>> = OnceLock::new();
    SET.get_or_init(|| FilterSet::new().all_fields())
}

fn sign(payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("any key length");
    mac.update(payload);
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let [mode, ordering, rest @ ..] = data else {
        return;
    };
    let db = db();
    let ordering = ORDERINGS[usize::from(*ordering) % ORDERINGS.len()];
    let Ok(params) = filters().parse(&format!("ordering={ordering}&per_page=2")) else {
        panic!("a fixed ordering must parse: {ordering}");
    };
    let fingerprint = params.fingerprint();
    let cursor = match mode % 3 {
        0 => text(rest).into_owned(),
        1 => sign(rest),
        _ => {
            let Ok(values) = serde_json::from_slice::<serde_json::Value>(rest) else {
                return;
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let payload = serde_json::json!({"v": values, "f": hex16(&fingerprint), "t": now});
            sign(payload.to_string().as_bytes())
        }
    };
    let keyset = Keyset::new(KEY);
    runtime().block_on(async {
        let _ = keyset
            .page(
                db,
                kind::Entity::find(),
                &params.order_by(),
                Some(&cursor),
                params.per_page(),
                &fingerprint,
            )
            .await;
    });
});
