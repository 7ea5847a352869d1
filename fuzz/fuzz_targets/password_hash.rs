//! Stored password hashes: `Hashers::verify` (Django's `check_password`) on any encoded
//! string, as a database row or an imported Django dump may hold. The input is a password
//! and an encoded hash, split at the first NUL byte.
//!
//! The work is capped by the hashers themselves: an encoded string asking for more than
//! their limits (pbkdf2 iterations, argon2 memory and passes, bcrypt cost, scrypt n·r·p)
//! must be refused before any hashing. This target checks that whatever decodes is within
//! those limits, and hashes only what is also cheap enough to keep the fuzzer fast
//! (libFuzzer's `-timeout` and `-rss_limit_mb` catch a hasher that runs away anyway).
//! The preferred hasher is a cheap argon2, so the dummy hash of an unknown algorithm
//! costs little.
#![no_main]

use std::sync::{Arc, OnceLock};

use batteries_auth::hashers::{
    Argon2Hasher, BcryptHasher, Hashers, Md5Hasher, Pbkdf2Hasher, SafeSummary, ScryptHasher,
};
use batteries_fuzz::{split, text};
use libfuzzer_sys::fuzz_target;

fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        Hashers::new(vec![
            Arc::new(Argon2Hasher::with_params(8, 1, 1).expect("cheap argon2")),
            Arc::new(Pbkdf2Hasher::sha256()),
            Arc::new(Pbkdf2Hasher::sha1()),
            Arc::new(BcryptHasher::sha256()),
            Arc::new(BcryptHasher::plain()),
            Arc::new(ScryptHasher::default()),
            Arc::new(Md5Hasher),
        ])
    })
}

fn number(summary: &SafeSummary, name: &str) -> u64 {
    summary
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{} summary without a numeric `{name}`", summary.algorithm()))
}

/// Whether the parameters of a decodable hash are within the hasher's limits, and
/// whether verifying it is cheap enough to run here.
fn within_limits_and_cheap(summary: &SafeSummary) -> (bool, bool) {
    match summary.algorithm() {
        "pbkdf2_sha256" | "pbkdf2_sha1" => {
            let iterations = number(summary, "iterations");
            (
                (1..=u64::from(Pbkdf2Hasher::MAX_ITERATIONS)).contains(&iterations),
                iterations <= 20_000,
            )
        }
        "argon2" => {
            let memory = number(summary, "memory cost");
            let time = number(summary, "time cost");
            let lanes = number(summary, "parallelism");
            (
                memory <= u64::from(Argon2Hasher::MAX_MEMORY_KIB)
                    && (1..=u64::from(Argon2Hasher::MAX_TIME_COST)).contains(&time)
                    && (1..=u64::from(Argon2Hasher::MAX_PARALLELISM)).contains(&lanes),
                memory * time <= 16 * 1024,
            )
        }
        "bcrypt" | "bcrypt_sha256" => {
            let cost = number(summary, "work factor");
            (
                (u64::from(BcryptHasher::MIN_COST)..=u64::from(BcryptHasher::MAX_COST))
                    .contains(&cost),
                cost <= 6,
            )
        }
        "scrypt" => {
            let n = number(summary, "work factor");
            let r = number(summary, "block size");
            let p = number(summary, "parallelism");
            let memory = 128 * n * r;
            let work = n * r * p;
            (
                memory <= ScryptHasher::MAX_MEMORY
                    && work <= ScryptHasher::MAX_WORK
                    && p <= u64::from(ScryptHasher::MAX_PARALLELISM),
                work <= 1 << 14,
            )
        }
        _ => (true, true),
    }
}

fuzz_target!(|data: &[u8]| {
    let (password, encoded) = split(data, 0);
    let (password, encoded) = (text(password), text(encoded));
    let hashers = hashers();
    let summary = hashers.safe_summary(&encoded);
    let _ = hashers.must_update(&encoded);
    let cheap = match &summary {
        Some(summary) => {
            let (within, cheap) = within_limits_and_cheap(summary);
            assert!(within, "decoded beyond the limits: {summary:?}");
            cheap
        }
        None => true,
    };
    if cheap {
        let check = hashers.verify(&password, &encoded);
        if summary.is_none() {
            assert!(
                !check.is_valid(),
                "verified a hash it cannot decode: {encoded:?}"
            );
        }
    }
});
