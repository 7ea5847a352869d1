//! The signed-cookie session store: a cookie from the client, checked and decoded. First
//! byte picks the mode:
//!
//! - `0`: the rest is the cookie value as the browser sends it;
//! - `1`: the rest is the signed part (base64url JSON, or `.` and base64url zlib), signed
//!   here with the store's secret, so that the fuzzer reaches the decoding;
//! - `2`: the rest is the session JSON, compressed, encoded and signed here.
//!
//! The signature is Django's `salted_hmac`; the first input checks that this target
//! signs exactly as the store does.
#![no_main]

use std::io::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use batteries_auth::sessions::{CookieSessionStore, SessionRecord, SessionStore};
use batteries_fuzz::{runtime, text};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const SECRET: &str = "the fuzz target's session secret, 32 bytes or more";
const KEY_SALT: &str = "batteries.sessions.signed_cookies.signer";

fn signature(signed: &str) -> String {
    let key = Sha256::new()
        .chain_update(KEY_SALT.as_bytes())
        .chain_update(SECRET.as_bytes())
        .finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(signed.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn store() -> &'static CookieSessionStore {
    static STORE: OnceLock<CookieSessionStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = CookieSessionStore::new(SECRET).expect("a long enough secret");
        let mut data = serde_json::Map::new();
        data.insert("_auth_user_id".into(), "42".into());
        let record = SessionRecord {
            data,
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        };
        let cookie = runtime().block_on(store.create(&record)).expect("a cookie");
        let (signed, sig) = cookie.rsplit_once('.').expect("a signed cookie");
        assert_eq!(sig, signature(signed), "the target signs as the store does");
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let store = store();
    let cookie = match mode % 3 {
        0 => text(rest).into_owned(),
        1 => {
            let signed = text(rest);
            format!("{signed}.{}", signature(&signed))
        }
        _ => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = encoder.write_all(rest);
            let compressed = encoder.finish().unwrap_or_default();
            let signed = format!(".{}", URL_SAFE_NO_PAD.encode(compressed));
            format!("{signed}.{}", signature(&signed))
        }
    };
    let loaded = runtime().block_on(store.load(&cookie));
    assert!(loaded.is_ok(), "load never fails on bad input");
});
