//! JWT verification: the header (`alg`, `kid`, `crit`), the claims and their types, and
//! JWKS documents and public keys from outside. First byte picks the mode:
//!
//! - `0`: the rest is a token as a client sends it (`Authorization: Bearer ...`);
//! - `1`: the rest is a header and claims (JSON, split at the first NUL byte), signed
//!   here with the HS256 key the verifier knows, so that the fuzzer reaches the claims;
//! - `2`: the rest is a JWKS document (an identity provider's), loaded and used;
//! - `3`: the rest is a public key PEM, for the algorithm in the second byte.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use batteries_auth::jwt::{
    Algorithm, ExternalIssuer, Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore,
};
use batteries_fuzz::{split, text};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &[u8] = b"the fuzz target's HS256 secret, 32 bytes or more";

struct State {
    /// Verifies tokens of the HS256 key `h` and the Ed25519 key `e`.
    jwt: Jwt,
    /// A token signed by `e`, for the external issuers built from fuzzed JWKS.
    ed_token: String,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let ed = JwtKey::generate_ed25519("e").expect("an Ed25519 key");
        let hmac = JwtKey::hmac("h", Algorithm::HS256, SECRET).expect("an HMAC key");
        let config = JwtConfig::new("https://issuer.example", "fuzz");
        let signer = Jwt::new(
            KeySet::new().with_key(ed.clone()),
            config.clone(),
            MemoryRefreshStore::new(),
        )
        .expect("an Ed25519 issuer");
        let ed_token = signer
            .issue_access("42", serde_json::Map::new())
            .expect("a token");
        let keys = KeySet::new().with_key(hmac).with_key(ed);
        let jwt = Jwt::new(keys, config, MemoryRefreshStore::new()).expect("a verifier");
        State { jwt, ed_token }
    })
}

fn signed(header: &[u8], claims: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key length");
    mac.update(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
    token
}

const ALGORITHMS: [Algorithm; 7] = [
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::HS256,
    Algorithm::RS512,
];

fuzz_target!(|data: &[u8]| {
    let [mode, pick, rest @ ..] = data else {
        return;
    };
    let state = state();
    match mode % 4 {
        0 => {
            let token = text(&data[1..]);
            let _ = state.jwt.verify_access(&token);
            let _ = state.jwt.verify_refresh(&token);
        }
        1 => {
            let (header, claims) = split(&data[1..], 0);
            let token = signed(header, claims);
            let _ = state.jwt.verify_access(&token);
            let _ = state.jwt.verify_access_subject(&token);
            let _ = state.jwt.verify_refresh(&token);
        }
        2 => {
            let jwks = text(rest);
            if let Ok(keys) = KeySet::from_jwks(&jwks)
                && let Ok(issuer) = ExternalIssuer::with_keys(
                    keys,
                    "https://issuer.example",
                    "fuzz",
                    &ALGORITHMS[..5],
                )
            {
                let _ = issuer.verify(&state.ed_token);
                let _ = issuer.keys().jwks();
            }
        }
        _ => {
            let algorithm = ALGORITHMS[usize::from(*pick) % ALGORITHMS.len()];
            if let Ok(key) = JwtKey::from_public_pem("p", algorithm, &text(rest)) {
                let _ = key.public_jwk();
                let keys = KeySet::new().with_key(key);
                if let Ok(issuer) = ExternalIssuer::with_keys(
                    keys,
                    "https://issuer.example",
                    "fuzz",
                    &ALGORITHMS[..5],
                ) {
                    let _ = issuer.verify(&state.ed_token);
                }
            }
        }
    }
});
