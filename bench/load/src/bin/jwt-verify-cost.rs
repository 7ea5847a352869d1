//! How long the auth layer's bearer check takes by itself, without HTTP:
//! `cargo run --release --bin jwt-verify-cost` (see docs/performance.md).

use std::hint::black_box;
use std::time::Instant;

use batteries_auth::jwt::{Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore};
use batteries_middleware::auth::BearerVerifier;

const ROUNDS: u32 = 1_000_000;

fn per_op(label: &str, mut op: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        op();
    }
    println!("{label}: {:?} per call", start.elapsed() / ROUNDS);
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = KeySet::new()
        .with_key(JwtKey::generate_ed25519("k1")?)
        .with_signing_key("k1")?;
    let cached = Jwt::new(
        keys.clone(),
        JwtConfig::new("bench", "bench"),
        MemoryRefreshStore::new(),
    )?
    .without_user_check();
    let uncached = Jwt::new(
        keys,
        JwtConfig::new("bench", "bench").with_verified_cache(0),
        MemoryRefreshStore::new(),
    )?;
    let token = cached.issue_pair("1").await?.access_token;
    println!("access token: {} bytes", token.len());
    per_op("BearerVerifier::verify, verified-token cache on", || {
        black_box(BearerVerifier::verify(&cached, black_box(&token)).ok());
    });
    let start = Instant::now();
    for _ in 0..ROUNDS / 100 {
        black_box(BearerVerifier::verify(&uncached, black_box(&token)).ok());
    }
    println!(
        "BearerVerifier::verify, cache off (Ed25519 every time): {:?} per call",
        start.elapsed() / (ROUNDS / 100)
    );
    Ok(())
}
