//! Known-answer and attack tests: every [`JwtError`] variant from a crafted token.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::*;

const ISS: &str = "https://auth.example.com";
const AUD: &str = "api";
/// The manual clock's start: 2027-01-15.
const T0: i64 = 1_800_000_000;

fn clock() -> ManualClock {
    ManualClock::new(DateTime::from_timestamp(T0, 0).unwrap())
}

fn ed_key(kid: &str) -> JwtKey {
    JwtKey::generate_ed25519(kid).unwrap()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn rsa_private_pem() -> String {
    use aws_lc_rs::encoding::AsDer as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = pair.as_der().unwrap();
    pem("PRIVATE KEY", der.as_ref())
}

fn ec_private_pem() -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    pem("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref())
}

fn jwt_with(keys: KeySet, clock: &ManualClock) -> Jwt {
    Jwt::new(keys, JwtConfig::new(ISS, AUD), MemoryRefreshStore::new())
        .unwrap()
        .without_user_check()
        .with_clock(clock.clone())
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token with any header and payload, signed by `key` with `alg` (which need not be
/// the key's: that is the point of some attacks).
fn craft(header: &Value, payload: &Value, key: &JwtKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(payload));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), key.encoding_key().unwrap(), alg).unwrap();
    format!("{message}.{signature}")
}

/// Good access claims at `T0`.
fn payload() -> Value {
    json!({
        "sub": "42", "iss": ISS, "aud": AUD, "exp": T0 + 300, "nbf": T0, "iat": T0,
        "jti": "j1", "typ": "access",
    })
}

fn with(mut payload: Value, claim: &str, value: Value) -> Value {
    payload[claim] = value;
    payload
}

fn without(mut payload: Value, claim: &str) -> Value {
    payload.as_object_mut().unwrap().remove(claim);
    payload
}

/// A set with an `EdDSA` key `ed`, and the token crafter for it.
struct Fixture {
    key: JwtKey,
    jwt: Jwt,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Self {
        let key = ed_key("ed");
        let clock = clock();
        let jwt = jwt_with(KeySet::new().with_key(key.clone()), &clock);
        Self { key, jwt, clock }
    }

    fn sign(&self, payload: &Value) -> String {
        craft(
            &json!({"alg": "EdDSA", "kid": "ed", "typ": "JWT"}),
            payload,
            &self.key,
            Algorithm::EdDSA,
        )
    }

    fn verify(&self, payload: &Value) -> Result<Claims, JwtError> {
        self.jwt.verify_access(&self.sign(payload))
    }
}

#[test]
fn issued_access_token_verifies_with_its_claims() {
    let f = Fixture::new();
    let mut extra = Map::new();
    extra.insert("role".to_owned(), json!("editor"));
    let token = f.jwt.issue_access("42", extra).unwrap();
    let claims = f.jwt.verify_access(&token).unwrap();
    assert_eq!(claims.sub, "42");
    assert_eq!(claims.iss, ISS);
    assert_eq!(claims.aud, [AUD]);
    assert_eq!(claims.exp, T0 + 300);
    assert_eq!((claims.nbf, claims.iat), (Some(T0), Some(T0)));
    assert_eq!(claims.typ.as_deref(), Some("access"));
    assert_eq!(claims.jti.as_ref().map(String::len), Some(22));
    assert_eq!(claims.extra["role"], "editor");
    // The crafted equivalent verifies too: the fixture's tokens are realistic.
    assert!(f.verify(&payload()).is_ok());
}

#[test]
fn malformed_tokens_are_malformed() {
    let f = Fixture::new();
    let good = f.sign(&payload());
    let (_, rest) = good.split_once('.').unwrap();
    let cases = [
        String::new(),
        "abc".to_owned(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        format!("!!!.{rest}"),
        format!("{}.{rest}", b64(&json!(["not", "an", "object"]))),
        format!("{}.{rest}", b64(&json!({"kid": "ed"}))),
        format!("{}.{rest}", b64(&json!({"alg": "EdDSA", "kid": 7}))),
        format!("{good}!"),
        "a".repeat(20_000),
    ];
    for token in cases {
        let err = f.jwt.verify_access(&token).unwrap_err();
        assert!(
            matches!(err, JwtError::Malformed(_)),
            "{token:.40}: {err:?}"
        );
    }
    // Payloads that are not base64url JSON objects, correctly signed.
    for payload in [
        b64(&json!(5)),
        "!!!".to_owned(),
        URL_SAFE_NO_PAD.encode("{"),
    ] {
        let message = format!("{}.{payload}", b64(&json!({"alg": "EdDSA", "kid": "ed"})));
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            f.key.encoding_key().unwrap(),
            Algorithm::EdDSA,
        )
        .unwrap();
        assert!(matches!(
            f.jwt.verify_access(&format!("{message}.{sig}")),
            Err(JwtError::Malformed(_))
        ));
    }
}

#[test]
fn critical_headers_are_refused() {
    let f = Fixture::new();
    let token = craft(
        &json!({"alg": "EdDSA", "kid": "ed", "crit": ["b64"], "b64": false}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert!(matches!(
        f.jwt.verify_access(&token),
        Err(JwtError::Malformed(_))
    ));
}

#[test]
fn kid_is_required_and_must_be_known() {
    let f = Fixture::new();
    let no_kid = craft(
        &json!({"alg": "EdDSA"}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&no_kid).unwrap_err(),
        JwtError::MissingKid
    );
    let null_kid = craft(
        &json!({"alg": "EdDSA", "kid": null}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&null_kid).unwrap_err(),
        JwtError::MissingKid
    );
    let other = craft(
        &json!({"alg": "EdDSA", "kid": "other"}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&other).unwrap_err(),
        JwtError::UnknownKid("other".to_owned())
    );
    // An attacker-chosen kid is echoed shortened.
    let long = craft(
        &json!({"alg": "EdDSA", "kid": "x".repeat(500)}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&long).unwrap_err(),
        JwtError::UnknownKid("x".repeat(64))
    );
    // ...and without control characters that could forge log lines.
    let forged_line = craft(
        &json!({"alg": "EdDSA", "kid": "a\nERROR b"}),
        &payload(),
        &f.key,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&forged_line).unwrap_err(),
        JwtError::UnknownKid("a?ERROR b".to_owned())
    );
}

#[test]
fn alg_none_is_refused() {
    let f = Fixture::new();
    for alg in ["none", "None", "NONE"] {
        let token = format!(
            "{}.{}.",
            b64(&json!({"alg": alg, "kid": "ed"})),
            b64(&payload())
        );
        assert!(
            matches!(
                f.jwt.verify_access(&token),
                Err(JwtError::AlgorithmNotAllowed {
                    expected: Algorithm::EdDSA,
                    ..
                })
            ),
            "{alg}"
        );
        // With the real signature appended, still refused.
        let sig = f.sign(&payload()).rsplit('.').next().unwrap().to_owned();
        let token = format!(
            "{}.{}.{sig}",
            b64(&json!({"alg": alg, "kid": "ed"})),
            b64(&payload())
        );
        assert!(matches!(
            f.jwt.verify_access(&token),
            Err(JwtError::AlgorithmNotAllowed { .. })
        ));
    }
}

#[test]
fn hmac_token_signed_with_an_rsa_public_key_is_refused() {
    let rsa = JwtKey::from_rsa_pem("rsa", Algorithm::RS256, &rsa_private_pem()).unwrap();
    let clock = clock();
    let jwt = jwt_with(KeySet::new().with_key(rsa.clone()), &clock);
    assert!(
        jwt.verify_access(&jwt.issue_access("42", Map::new()).unwrap())
            .is_ok()
    );

    // The attacker knows the public key (it is in the JWKS) and uses its bytes as an
    // HMAC secret, in every form a confused verifier might use.
    let jwk = serde_json::to_value(rsa.public_jwk().unwrap()).unwrap();
    let public_der = match rsa.decoding_key().kind() {
        jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, .. } => n.clone(),
        jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => der.clone(),
    };
    let secrets = [
        public_der,
        serde_json::to_vec(&jwk).unwrap(),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
    ];
    for secret in secrets {
        let forged_key = JwtKey::hmac("rsa", Algorithm::HS256, &secret).unwrap();
        let forged = craft(
            &json!({"alg": "HS256", "kid": "rsa"}),
            &payload(),
            &forged_key,
            Algorithm::HS256,
        );
        assert!(matches!(
            jwt.verify_access(&forged),
            Err(JwtError::AlgorithmNotAllowed {
                expected: Algorithm::RS256,
                ..
            })
        ));
    }
}

#[test]
fn another_algorithm_of_the_family_is_refused() {
    // RS256 key: a PS256 or RS512 header is not its algorithm.
    let rsa = JwtKey::from_rsa_pem("rsa", Algorithm::RS256, &rsa_private_pem()).unwrap();
    let jwt = jwt_with(KeySet::new().with_key(rsa.clone()), &clock());
    for alg in [Algorithm::PS256, Algorithm::RS512] {
        let header = json!({"alg": format!("{alg:?}"), "kid": "rsa"});
        let token = craft(&header, &payload(), &rsa, alg);
        assert!(matches!(
            jwt.verify_access(&token),
            Err(JwtError::AlgorithmNotAllowed { .. })
        ));
    }
}

#[test]
fn tampered_or_foreign_signatures_are_invalid() {
    let f = Fixture::new();
    let good = f.sign(&payload());
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(payload(), "sub", json!("1"))),
        parts[2]
    );
    assert_eq!(
        f.jwt.verify_access(&tampered).unwrap_err(),
        JwtError::InvalidSignature
    );
    // Another key claiming the same kid.
    let impostor = ed_key("ed");
    let forged = craft(
        &json!({"alg": "EdDSA", "kid": "ed"}),
        &payload(),
        &impostor,
        Algorithm::EdDSA,
    );
    assert_eq!(
        f.jwt.verify_access(&forged).unwrap_err(),
        JwtError::InvalidSignature
    );
    // An empty signature.
    let empty = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(
        f.jwt.verify_access(&empty).unwrap_err(),
        JwtError::InvalidSignature
    );
}

#[test]
fn expiry_has_a_leeway_and_then_fails() {
    let f = Fixture::new();
    let token = f.jwt.issue_access("42", Map::new()).unwrap();
    f.clock.advance(Duration::from_secs(300 + 29));
    assert!(
        f.jwt.verify_access(&token).is_ok(),
        "within the 30 s leeway"
    );
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(f.jwt.verify_access(&token).unwrap_err(), JwtError::Expired);
}

#[test]
fn not_before_in_the_future_fails() {
    let f = Fixture::new();
    assert!(f.verify(&with(payload(), "nbf", json!(T0 + 30))).is_ok());
    assert_eq!(
        f.verify(&with(payload(), "nbf", json!(T0 + 31)))
            .unwrap_err(),
        JwtError::NotYetValid
    );
}

#[test]
fn issued_in_the_future_fails() {
    let f = Fixture::new();
    let p = without(payload(), "nbf");
    assert!(f.verify(&with(p.clone(), "iat", json!(T0 + 30))).is_ok());
    assert_eq!(
        f.verify(&with(p, "iat", json!(T0 + 31))).unwrap_err(),
        JwtError::IssuedInFuture
    );
}

#[test]
fn issuer_and_audience_are_checked() {
    let f = Fixture::new();
    assert_eq!(
        f.verify(&with(payload(), "iss", json!("https://evil.example")))
            .unwrap_err(),
        JwtError::WrongIssuer
    );
    assert_eq!(
        f.verify(&with(payload(), "aud", json!("other-api")))
            .unwrap_err(),
        JwtError::WrongAudience
    );
    assert_eq!(
        f.verify(&with(payload(), "aud", json!([]))).unwrap_err(),
        JwtError::WrongAudience
    );
    // An array containing ours is fine.
    assert!(
        f.verify(&with(payload(), "aud", json!(["other", AUD])))
            .is_ok()
    );
}

#[tokio::test]
async fn refresh_token_is_not_an_access_token() {
    let f = Fixture::new();
    let pair = f.jwt.issue_pair("42").await.unwrap();
    assert_eq!(
        f.jwt.verify_access(&pair.refresh_token).unwrap_err(),
        JwtError::WrongTokenType { expected: "access" }
    );
    assert_eq!(
        f.jwt.verify_refresh(&pair.access_token).unwrap_err(),
        JwtError::WrongTokenType {
            expected: "refresh"
        }
    );
    assert_eq!(
        f.jwt.refresh(&pair.access_token).await.unwrap_err(),
        JwtError::WrongTokenType {
            expected: "refresh"
        }
    );
    assert_eq!(
        f.verify(&without(payload(), "typ")).unwrap_err(),
        JwtError::MissingClaim { claim: "typ" }
    );
}

#[test]
fn claims_of_the_wrong_type_are_errors_not_absent() {
    let f = Fixture::new();
    let cases = [
        ("exp", json!("9999999999")),
        ("exp", json!(true)),
        ("exp", json!(1e300)),
        ("exp", json!(u64::MAX)),
        ("nbf", json!("0")),
        ("iat", json!({})),
        ("sub", json!(42)),
        ("iss", json!([ISS])),
        ("aud", json!(5)),
        ("aud", json!([AUD, 5])),
        ("jti", json!(1)),
        ("typ", json!(["access"])),
    ];
    for (claim, value) in cases {
        assert_eq!(
            f.verify(&with(payload(), claim, value.clone()))
                .unwrap_err(),
            JwtError::InvalidClaim {
                claim: claim.to_owned()
            },
            "{claim}: {value}"
        );
    }
    // A fractional NumericDate is a number: accepted, truncated.
    let claims = f
        .verify(&with(payload(), "exp", json!(T0 as f64 + 300.5)))
        .unwrap();
    assert_eq!(claims.exp, T0 + 300);
}

#[test]
fn required_claims_must_be_present() {
    let f = Fixture::new();
    for claim in ["sub", "iss", "aud", "exp"] {
        assert_eq!(
            f.verify(&without(payload(), claim)).unwrap_err(),
            JwtError::MissingClaim { claim },
        );
    }
    // `"exp": null` is absent, not "never expires".
    assert_eq!(
        f.verify(&with(payload(), "exp", Value::Null)).unwrap_err(),
        JwtError::MissingClaim { claim: "exp" }
    );
}

#[test]
fn extra_claims_cannot_overwrite_registered_ones() {
    let f = Fixture::new();
    for claim in ["exp", "sub", "typ", "fam", "aud"] {
        let mut extra = Map::new();
        extra.insert(claim.to_owned(), json!(1));
        assert_eq!(
            f.jwt.issue_access("42", extra).unwrap_err(),
            JwtError::InvalidClaim {
                claim: claim.to_owned()
            }
        );
    }
    assert!(matches!(
        f.jwt.issue_access("", Map::new()),
        Err(JwtError::InvalidClaim { .. })
    ));
}

#[tokio::test]
async fn rotation_consumes_and_reuse_revokes_the_family() {
    let f = Fixture::new();
    let first = f.jwt.issue_pair("42").await.unwrap();
    assert_eq!(first.token_type, "Bearer");
    assert_eq!(first.expires_in, 300);
    let second = f.jwt.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(f.jwt.verify_access(&second.access_token).unwrap().sub, "42");
    let a = f.jwt.verify_refresh(&first.refresh_token).unwrap();
    let b = f.jwt.verify_refresh(&second.refresh_token).unwrap();
    assert_eq!(a.family, b.family, "same family");
    assert_ne!(a.jti, b.jti);

    // Another login is another family, untouched by what follows.
    let other = f.jwt.issue_pair("42").await.unwrap();

    assert_eq!(
        f.jwt.refresh(&first.refresh_token).await.unwrap_err(),
        JwtError::RefreshReused
    );
    assert_eq!(
        f.jwt.refresh(&second.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    assert_eq!(
        f.jwt.refresh(&first.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    assert!(f.jwt.refresh(&other.refresh_token).await.is_ok());
}

#[tokio::test]
async fn refresh_token_unknown_to_the_store_fails() {
    let f = Fixture::new();
    let pair = f.jwt.issue_pair("42").await.unwrap();
    // The same keys, a store that never saw the token.
    let elsewhere = jwt_with(f.jwt.keys().clone(), &f.clock);
    assert_eq!(
        elsewhere.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::RefreshUnknown
    );
}

#[tokio::test]
async fn logout_and_logout_everywhere_revoke() {
    let f = Fixture::new();
    let phone = f.jwt.issue_pair("42").await.unwrap();
    let laptop = f.jwt.issue_pair("42").await.unwrap();
    let bob = f.jwt.issue_pair("7").await.unwrap();
    f.jwt.revoke(&phone.refresh_token).await.unwrap();
    assert_eq!(
        f.jwt.refresh(&phone.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    let laptop = f.jwt.refresh(&laptop.refresh_token).await.unwrap();

    f.jwt.revoke_subject("42").await.unwrap();
    assert_eq!(
        f.jwt.refresh(&laptop.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    assert!(
        f.jwt.refresh(&bob.refresh_token).await.is_ok(),
        "other subjects keep theirs"
    );
    // A new login after logout everywhere works.
    let again = f.jwt.issue_pair("42").await.unwrap();
    assert!(f.jwt.refresh(&again.refresh_token).await.is_ok());
}

#[tokio::test]
async fn expired_refresh_tokens_fail_and_are_cleared() {
    let f = Fixture::new();
    let pair = f.jwt.issue_pair("42").await.unwrap();
    f.clock
        .advance(Duration::from_hours(14 * 24) + Duration::from_secs(30));
    assert_eq!(
        f.jwt.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::Expired
    );
    assert_eq!(f.jwt.clear_expired().await.unwrap(), 1);
}

#[tokio::test]
async fn a_family_dies_at_its_absolute_lifetime_however_often_rotated() {
    let f = Fixture::new();
    let mut pair = f.jwt.issue_pair("42").await.unwrap();
    let day = Duration::from_hours(24);
    for _ in 0..2 {
        f.clock.advance(10 * day);
        pair = f.jwt.refresh(&pair.refresh_token).await.unwrap();
    }
    // Day 20: the new token expires with its family, at day 30, not at day 34.
    let claims = f.jwt.verify_refresh(&pair.refresh_token).unwrap();
    assert_eq!(claims.exp, T0 + 30 * 86_400);
    assert_eq!(
        claims.extra[AUTH_TIME],
        json!(T0),
        "rotation carries the login time"
    );
    f.clock.advance(9 * day);
    pair = f.jwt.refresh(&pair.refresh_token).await.unwrap();
    f.clock.advance(day);
    assert_eq!(
        f.jwt.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::FamilyExpired
    );
    // A shorter family lifetime is configurable.
    let short = Jwt::new(
        f.jwt.keys().clone(),
        JwtConfig::new(ISS, AUD).with_family_ttl(Duration::from_hours(1)),
        MemoryRefreshStore::new(),
    )
    .unwrap()
    .without_user_check()
    .with_clock(f.clock.clone());
    let pair = short.issue_pair("42").await.unwrap();
    f.clock.advance(Duration::from_mins(59));
    let pair = short.refresh(&pair.refresh_token).await.unwrap();
    f.clock.advance(Duration::from_mins(1));
    assert_eq!(
        short.refresh(&pair.refresh_token).await.unwrap_err(),
        JwtError::FamilyExpired
    );
}

#[tokio::test]
async fn a_refresh_token_without_its_login_time_is_refused() {
    let f = Fixture::new();
    let refresh = with(with(payload(), "typ", json!("refresh")), "fam", json!("f1"));
    assert_eq!(
        f.jwt.refresh(&f.sign(&refresh)).await.unwrap_err(),
        JwtError::MissingClaim { claim: AUTH_TIME }
    );
    assert_eq!(
        f.jwt
            .refresh(&f.sign(&with(refresh, AUTH_TIME, json!("1800000000"))))
            .await
            .unwrap_err(),
        JwtError::InvalidClaim {
            claim: AUTH_TIME.to_owned()
        }
    );
    for claim in [AUTH_TIME, AUTH_HASH] {
        let mut extra = Map::new();
        extra.insert(claim.to_owned(), json!(0));
        assert_eq!(
            f.jwt.issue_access("42", extra).unwrap_err(),
            JwtError::InvalidClaim {
                claim: claim.to_owned()
            }
        );
    }
}

#[tokio::test]
async fn a_reuse_within_the_grace_window_is_refused_without_revoking() {
    let clock = clock();
    let jwt = Jwt::new(
        KeySet::new().with_key(ed_key("ed")),
        JwtConfig::new(ISS, AUD).with_reuse_grace(Duration::from_secs(5)),
        MemoryRefreshStore::new(),
    )
    .unwrap()
    .without_user_check()
    .with_clock(clock.clone());
    let first = jwt.issue_pair("42").await.unwrap();
    let second = jwt.refresh(&first.refresh_token).await.unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        jwt.refresh(&first.refresh_token).await.unwrap_err(),
        JwtError::RefreshRaced
    );
    // The family lives: the winner's token rotates.
    let third = jwt.refresh(&second.refresh_token).await.unwrap();
    // Past the window a reuse is a replay again.
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        jwt.refresh(&second.refresh_token).await.unwrap_err(),
        JwtError::RefreshReused
    );
    assert_eq!(
        jwt.refresh(&third.refresh_token).await.unwrap_err(),
        JwtError::RefreshRevoked
    );
    assert_eq!(
        JwtConfig::new(ISS, AUD).reuse_grace,
        Duration::ZERO,
        "off by default"
    );
}

/// A store that always fails.
struct BrokenStore;

#[async_trait]
impl RefreshStore for BrokenStore {
    async fn insert(&self, _: &RefreshRecord, _: DateTime<Utc>) -> Result<(), JwtError> {
        Err(JwtError::Store("down".to_owned()))
    }
    async fn consume(&self, _: &str, _: DateTime<Utc>) -> Result<Consumed, JwtError> {
        Err(JwtError::Store("down".to_owned()))
    }
    async fn revoke_family(&self, _: &str) -> Result<(), JwtError> {
        Err(JwtError::Store("down".to_owned()))
    }
    async fn revoke_subject(&self, _: &str) -> Result<(), JwtError> {
        Err(JwtError::Store("down".to_owned()))
    }
    async fn clear_expired(&self, _: DateTime<Utc>) -> Result<u64, JwtError> {
        Err(JwtError::Store("down".to_owned()))
    }
}

#[tokio::test]
async fn store_failures_are_store_errors_and_access_needs_no_store() {
    let keys = KeySet::new().with_key(ed_key("ed"));
    let unset = Jwt::new(
        keys.clone(),
        JwtConfig::new(ISS, AUD),
        MemoryRefreshStore::new(),
    )
    .unwrap();
    // Without a word on users, refresh tokens are neither issued nor refreshed.
    assert!(matches!(
        unset.issue_pair("42").await,
        Err(JwtError::Config(_))
    ));
    assert!(matches!(
        unset.refresh("x.y.z").await,
        Err(JwtError::Config(_))
    ));
    assert!(!JwtError::Config("").is_token_error());
    let jwt = Jwt::new(keys, JwtConfig::new(ISS, AUD), BrokenStore)
        .unwrap()
        .without_user_check();
    assert!(matches!(
        jwt.issue_pair("42").await,
        Err(JwtError::Store(_))
    ));
    let token = jwt.issue_access("42", Map::new()).unwrap();
    assert!(jwt.verify_access(&token).is_ok());
    assert!(!JwtError::Store(String::new()).is_token_error());
    assert!(JwtError::Expired.is_token_error());
}

#[test]
fn key_errors() {
    assert!(matches!(
        JwtKey::hmac("h", Algorithm::HS256, &[1; 31]),
        Err(JwtError::Key(_))
    ));
    assert!(JwtKey::hmac("h", Algorithm::HS256, &[1; 32]).is_ok());
    assert!(matches!(
        JwtKey::hmac("h", Algorithm::HS512, &[1; 32]),
        Err(JwtError::Key(_))
    ));
    assert!(matches!(
        JwtKey::hmac("h", Algorithm::RS256, &[1; 64]),
        Err(JwtError::Key(_))
    ));
    assert!(matches!(
        JwtKey::from_rsa_pem("r", Algorithm::ES256, &rsa_private_pem()),
        Err(JwtError::Key(_))
    ));
    assert!(matches!(
        JwtKey::from_ed25519_pem("e", "not a pem"),
        Err(JwtError::Key(_))
    ));
    // A P-256 key is not an ES384 key.
    assert!(matches!(
        JwtKey::from_ec_pem("e", Algorithm::ES384, &ec_private_pem()),
        Err(JwtError::Key(_))
    ));
    let verify_only = KeySet::from_jwks(
        &serde_json::to_string(&KeySet::new().with_key(ed_key("e")).jwks()).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Jwt::new(
            verify_only.clone(),
            JwtConfig::new(ISS, AUD),
            MemoryRefreshStore::new()
        ),
        Err(JwtError::Key(_))
    ));
    assert!(matches!(
        verify_only.with_signing_key("e"),
        Err(JwtError::Key(_))
    ));
}

#[test]
fn every_algorithm_family_signs_and_verifies() {
    let secret = [9_u8; 64];
    let keys = [
        ed_key("ed"),
        JwtKey::from_ed25519_pem("ed-pem", &JwtKey::generate_ed25519_pem().unwrap()).unwrap(),
        JwtKey::from_ec_pem("es", Algorithm::ES256, &ec_private_pem()).unwrap(),
        JwtKey::from_rsa_pem("rs", Algorithm::RS256, &rsa_private_pem()).unwrap(),
        JwtKey::from_rsa_pem("ps", Algorithm::PS256, &rsa_private_pem()).unwrap(),
        JwtKey::hmac("hs", Algorithm::HS512, &secret).unwrap(),
    ];
    for key in keys {
        let kid = key.kid().to_owned();
        let jwt = jwt_with(KeySet::new().with_key(key), &clock());
        let token = jwt.issue_access("42", Map::new()).unwrap();
        assert_eq!(jwt.verify_access(&token).unwrap().sub, "42", "{kid}");
    }
}

#[test]
fn rotated_keys_keep_verifying_until_removed() {
    let clock = clock();
    let old = jwt_with(KeySet::new().with_key(ed_key("2026-10")), &clock);
    let old_token = old.issue_access("42", Map::new()).unwrap();

    let keys = old
        .keys()
        .clone()
        .with_key(ed_key("2026-11"))
        .with_signing_key("2026-11")
        .unwrap();
    let rotated = jwt_with(keys.clone(), &clock);
    let new_token = rotated.issue_access("42", Map::new()).unwrap();
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("2026-11"));
    assert!(
        rotated.verify_access(&old_token).is_ok(),
        "old key still verifies"
    );
    assert!(rotated.verify_access(&new_token).is_ok());
    assert_eq!(rotated.jwks().keys.len(), 2);

    let retired = jwt_with(keys.without_key("2026-10"), &clock);
    assert_eq!(
        retired.verify_access(&old_token).unwrap_err(),
        JwtError::UnknownKid("2026-10".to_owned())
    );
    assert!(retired.verify_access(&new_token).is_ok());
}

#[test]
fn jwks_holds_public_keys_only() {
    let secret = [0x5a_u8; 32];
    let ed = ed_key("ed");
    let rsa = JwtKey::from_rsa_pem("rsa", Algorithm::RS256, &rsa_private_pem()).unwrap();
    let keys = KeySet::new()
        .with_key(JwtKey::hmac("hs", Algorithm::HS256, &secret).unwrap())
        .with_key(ed.clone())
        .with_key(rsa);
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    let text = jwks.to_string();
    let listed: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["ed", "rsa"]);
    for key in jwks["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        for private in ["k", "d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }
    assert!(!text.contains(&URL_SAFE_NO_PAD.encode(secret)));
    assert!(!text.contains(&STANDARD.encode(secret)));
    // No private key material in Debug either.
    let debug = format!("{keys:?} {ed:?}");
    assert!(debug.contains("ed") && !debug.contains(&URL_SAFE_NO_PAD.encode(secret)));
    assert!(!debug.contains("content"), "{debug}");
}

#[test]
fn jwks_round_trips_into_a_verifier() {
    let f = Fixture::new();
    let jwks = serde_json::to_string(&f.jwt.jwks()).unwrap();
    let external = ExternalIssuer::new(&jwks, ISS, AUD, &[Algorithm::EdDSA])
        .unwrap()
        .with_clock(f.clock.clone())
        .with_token_type(ACCESS);
    let token = f.jwt.issue_access("42", Map::new()).unwrap();
    assert_eq!(external.verify(&token).unwrap().sub, "42");

    // The key's algorithm is not in the allow-list.
    let strict = ExternalIssuer::new(&jwks, ISS, AUD, &[Algorithm::RS256])
        .unwrap()
        .with_clock(f.clock.clone());
    assert!(matches!(
        strict.verify(&token),
        Err(JwtError::AlgorithmNotAllowed { .. })
    ));
    // HMAC is never allowed for an external issuer.
    assert!(matches!(
        ExternalIssuer::new(&jwks, ISS, AUD, &[Algorithm::HS256]),
        Err(JwtError::Key(_))
    ));
    // Wrong issuer and audience.
    let other = ExternalIssuer::new(&jwks, "https://other", AUD, &[Algorithm::EdDSA])
        .unwrap()
        .with_clock(f.clock.clone());
    assert_eq!(other.verify(&token).unwrap_err(), JwtError::WrongIssuer);
    let other = ExternalIssuer::new(&jwks, ISS, "other", &[Algorithm::EdDSA])
        .unwrap()
        .with_clock(f.clock.clone());
    assert_eq!(other.verify(&token).unwrap_err(), JwtError::WrongAudience);
    assert!(other.with_audience(AUD).verify(&token).is_ok());
}

#[test]
fn jwks_import_skips_unusable_keys_and_infers_algorithms() {
    let rsa = JwtKey::from_rsa_pem("rsa", Algorithm::RS256, &rsa_private_pem()).unwrap();
    let mut rsa_jwk = serde_json::to_value(rsa.public_jwk().unwrap()).unwrap();
    rsa_jwk.as_object_mut().unwrap().remove("alg");
    let mut enc = rsa_jwk.clone();
    enc["kid"] = json!("enc");
    enc["use"] = json!("enc");
    let doc = json!({"keys": [
        rsa_jwk,
        enc,
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
        {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
        {"kty": "unknown", "kid": "weird"},
    ]});
    let keys = KeySet::from_jwks(&doc.to_string()).unwrap();
    assert_eq!(keys.kids().collect::<Vec<_>>(), ["rsa"]);
    assert_eq!(keys.get("rsa").unwrap().algorithm(), Algorithm::RS256);
    assert!(!keys.get("rsa").unwrap().can_sign());

    assert!(matches!(
        KeySet::from_jwks("{\"keys\": []}"),
        Err(JwtError::Key(_))
    ));
    assert!(matches!(KeySet::from_jwks("[]"), Err(JwtError::Key(_))));
    // A JWK whose alg does not fit its key type.
    let mut mismatched: Jwk =
        serde_json::from_value(serde_json::to_value(rsa.public_jwk().unwrap()).unwrap()).unwrap();
    mismatched.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::ES256);
    assert!(matches!(
        JwtKey::from_jwk(&mismatched),
        Err(JwtError::Key(_))
    ));
}

#[test]
fn public_pem_keys_verify() {
    use aws_lc_rs::signature::KeyPair as _;
    let pkcs8 = {
        let pem = JwtKey::generate_ed25519_pem().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap()
    };
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap();
    // SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte prefix and the key.
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(pair.public_key().as_ref());
    let verifier =
        JwtKey::from_public_pem("ed", Algorithm::EdDSA, &pem("PUBLIC KEY", &spki)).unwrap();
    assert!(!verifier.can_sign());
    let signer = JwtKey::from_ed25519_pem("ed", &pem("PRIVATE KEY", &pkcs8)).unwrap();
    let token = craft(
        &json!({"alg": "EdDSA", "kid": "ed"}),
        &payload(),
        &signer,
        Algorithm::EdDSA,
    );
    let external = ExternalIssuer::with_keys(
        KeySet::new().with_key(verifier),
        ISS,
        AUD,
        &[Algorithm::EdDSA],
    )
    .unwrap()
    .with_clock(clock());
    assert!(external.verify(&token).is_ok());
    assert!(matches!(
        JwtKey::from_public_pem("h", Algorithm::HS256, "x"),
        Err(JwtError::Key(_))
    ));
}

#[test]
fn claims_serialize_like_a_jwt_payload() {
    let f = Fixture::new();
    let claims = f.verify(&payload()).unwrap();
    let value = serde_json::to_value(&claims).unwrap();
    assert_eq!(value, payload());
    let back: Claims = serde_json::from_value(value).unwrap();
    assert_eq!(back, claims);
}

#[test]
fn a_remembered_token_still_expires_and_is_not_valid_before_its_time() {
    let f = Fixture::new();
    let token = f.jwt.issue_access("42", Map::new()).unwrap();
    assert_eq!(f.jwt.verify_access(&token).unwrap().sub, "42");
    let cache = f.jwt.verified.as_ref().expect("on by default");
    assert_eq!(cache.len(), 1, "remembered");
    // The clock goes back before `nbf` (and `iat`): the remembered token is refused.
    f.clock.set(DateTime::from_timestamp(T0 - 31, 0).unwrap());
    assert_eq!(
        f.jwt.verify_access(&token).unwrap_err(),
        JwtError::NotYetValid
    );
    f.clock
        .set(DateTime::from_timestamp(T0 + 300 + 30, 0).unwrap());
    assert_eq!(f.jwt.verify_access(&token).unwrap_err(), JwtError::Expired);
    assert_eq!(
        cache.len(),
        1,
        "the refusals came from the remembered claims"
    );
}

#[test]
fn a_remembered_token_vouches_for_no_other() {
    let f = Fixture::new();
    let good = f.sign(&payload());
    assert!(f.jwt.verify_access(&good).is_ok());
    assert!(f.jwt.verify_access(&good).is_ok(), "a hit");
    let parts: Vec<&str> = good.split('.').collect();
    // Same signature, another payload; same payload, a truncated signature; another
    // header: none of them is the remembered token.
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(payload(), "sub", json!("1"))),
        parts[2]
    );
    assert_eq!(
        f.jwt.verify_access(&tampered).unwrap_err(),
        JwtError::InvalidSignature
    );
    let truncated = &good[..good.len() - 1];
    assert!(f.jwt.verify_access(truncated).is_err());
    let other_kid = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "EdDSA", "kid": "x"})),
        parts[1],
        parts[2]
    );
    assert!(matches!(
        f.jwt.verify_access(&other_kid).unwrap_err(),
        JwtError::UnknownKid(_)
    ));
    // A refresh token is never an access token, remembered or not.
    let refresh = f.sign(&with(payload(), "typ", json!("refresh")));
    assert!(matches!(
        f.jwt.verify_access(&refresh).unwrap_err(),
        JwtError::WrongTokenType { .. }
    ));
    let cache = f.jwt.verified.as_ref().expect("on by default");
    assert_eq!(cache.len(), 1, "only the token that verified");
}

#[test]
fn the_cache_is_bounded_and_can_be_turned_off() {
    let clock = clock();
    let key = ed_key("ed");
    let jwt = Jwt::new(
        KeySet::new().with_key(key.clone()),
        JwtConfig::new(ISS, AUD).with_verified_cache(2),
        MemoryRefreshStore::new(),
    )
    .unwrap()
    .with_clock(clock.clone());
    let tokens: Vec<String> = (0..5)
        .map(|i| jwt.issue_access(&format!("user{i}"), Map::new()).unwrap())
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(jwt.verify_access(token).unwrap().sub, format!("user{i}"));
        assert!(jwt.verified.as_ref().unwrap().len() <= 2);
    }
    // Evicted or not, every token still verifies.
    for token in &tokens {
        assert!(jwt.verify_access(token).is_ok());
    }

    let off = Jwt::new(
        KeySet::new().with_key(key),
        JwtConfig::new(ISS, AUD).with_verified_cache(0),
        MemoryRefreshStore::new(),
    )
    .unwrap()
    .with_clock(clock.clone());
    assert!(off.verified.is_none());
    let token = off.issue_access("42", Map::new()).unwrap();
    assert!(off.verify_access(&token).is_ok());
    clock.advance(Duration::from_secs(330));
    assert_eq!(off.verify_access(&token).unwrap_err(), JwtError::Expired);
}
