//! [`CookieSessionStore`]: the whole session, signed, in the cookie (Django's
//! `signed_cookies` backend).

use std::fmt;
use std::io::{Read as _, Write as _};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::store::{SessionError, SessionRecord, SessionStore};
use batteries_core::salted_hmac_sha256;
use batteries_core::{Clock, SystemClock};

/// The shortest signing secret [`CookieSessionStore`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The longest cookie value [`CookieSessionStore`] makes or reads, in bytes. Browsers drop a
/// cookie whose name, value and attributes exceed 4096 bytes; this leaves room for the
/// rest.
pub const MAX_COOKIE_LEN: usize = 4000;

/// The longest session JSON (before compression) the store encodes or decodes: a
/// compressed cookie of [`MAX_COOKIE_LEN`] bytes could otherwise inflate to megabytes.
const MAX_JSON_LEN: usize = 256 * 1024;

/// Django's `salted_hmac` salt for its signer (`salt + "signer"`), with a salt of ours:
/// a signature made for sessions is worth nothing anywhere else the secret signs.
const KEY_SALT: &str = "batteries.sessions.signed_cookies.signer";

/// Sessions kept in the cookie itself, signed (Django's `signed_cookies` backend): no
/// server-side state at all, so any number of app instances sharing the secret share
/// the sessions.
///
/// The "key" [`create`](SessionStore::create) and [`save`](SessionStore::save) return is
/// the cookie value: `base64url(json {"data", "exp"})`, a dot, and `base64url` of the
/// HMAC-SHA256 of what precedes the dot, keyed as Django's `salted_hmac` keys it. When
/// zlib makes the JSON shorter it is compressed, and the value starts with a dot, as
/// Django marks it. A value longer than [`MAX_COOKIE_LEN`] is refused, since browsers
/// would drop it: keep cookie sessions small (a user id and a few flags).
///
/// [`load`](SessionStore::load) answers `Ok(None)` for any value that is tampered with,
/// truncated, signed with another secret, malformed or expired; it never fails.
/// Signatures are compared in constant time.
///
/// # Limits
///
/// - **Logout cannot revoke a stolen cookie.** [`delete`](SessionStore::delete) does
///   nothing: the server keeps no list of sessions, so a copy of the cookie taken before
///   logout stays valid until it expires, as Django warns for its backend. Keep the
///   expiry short, or use the database or Redis store when revocation matters.
/// - The data is signed, not encrypted: the user can read it (base64 and zlib hide
///   nothing). Never put a secret in it.
/// - Anyone holding the secret can forge any session: keep it out of the repository,
///   and rotate it with [`with_fallbacks`](Self::with_fallbacks).
/// - [`clear_expired`](SessionStore::clear_expired) has nothing to clear and returns 0.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), batteries_sessions::SessionError> {
/// use batteries_sessions::{CookieSessionStore, SessionRecord, SessionStore};
///
/// let store = CookieSessionStore::new("a secret of at least thirty-two bytes, from the environment")?;
/// let mut data = serde_json::Map::new();
/// data.insert("_auth_user_id".into(), "42".into());
/// let expires_at = chrono::Utc::now() + chrono::Duration::hours(12);
///
/// let cookie = store.create(&SessionRecord { data, expires_at }).await?;
/// assert_eq!(store.load(&cookie).await?.expect("signed by us").data["_auth_user_id"], "42");
///
/// // Any change breaks the signature: the cookie is then no session at all.
/// assert!(store.load(&format!("e{cookie}")).await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CookieSessionStore {
    /// The secret that signs, then the fallbacks that are still accepted.
    secrets: Arc<Vec<Vec<u8>>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CookieSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSessionStore")
            .field("fallbacks", &self.secrets.len().saturating_sub(1))
            .finish_non_exhaustive()
    }
}

fn check_secret(secret: &[u8]) -> Result<Vec<u8>, SessionError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SessionError::Config(format!(
            "a session signing secret has {} bytes; at least {MIN_SECRET_LEN} are required",
            secret.len()
        )));
    }
    Ok(secret.to_vec())
}

impl CookieSessionStore {
    /// A store signing with `secret` (Django's `SECRET_KEY`), which must have at least
    /// [`MIN_SECRET_LEN`] bytes; a long random string from the environment will do.
    ///
    /// # Errors
    /// [`SessionError::Config`] when `secret` is shorter than [`MIN_SECRET_LEN`].
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, SessionError> {
        Ok(Self {
            secrets: Arc::new(vec![check_secret(secret.as_ref())?]),
            clock: Arc::new(SystemClock),
        })
    }

    /// Also accepts cookies signed with any of `fallbacks` (Django's
    /// `SECRET_KEY_FALLBACKS`), replacing earlier fallbacks. To rotate the secret, sign
    /// with the new one and keep the old one here until the cookies it signed expire.
    ///
    /// # Errors
    /// [`SessionError::Config`] when a fallback is shorter than [`MIN_SECRET_LEN`].
    pub fn with_fallbacks<I>(mut self, fallbacks: I) -> Result<Self, SessionError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut secrets = Vec::with_capacity(1);
        secrets.extend(self.secrets.first().cloned());
        for fallback in fallbacks {
            secrets.push(check_secret(fallback.as_ref())?);
        }
        self.secrets = Arc::new(secrets);
        Ok(self)
    }

    /// Takes the time that decides which cookies have expired from `clock` (a
    /// [`ManualClock`](batteries_core::ManualClock) in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The signed cookie value of `record`.
    fn encode(&self, record: &SessionRecord) -> Result<String, SessionError> {
        let json = encode_record(record)?;
        if json.len() > MAX_JSON_LEN {
            return Err(too_large(json.len(), MAX_JSON_LEN, "of JSON"));
        }
        let mut value = String::new();
        match compress(&json) {
            Some(compressed) if compressed.len() + 1 < json.len() => {
                value.push('.');
                URL_SAFE_NO_PAD.encode_string(compressed, &mut value);
            }
            _ => URL_SAFE_NO_PAD.encode_string(&json, &mut value),
        }
        let secret = self.secrets.first().map_or(&[][..], Vec::as_slice);
        let signature = salted_hmac_sha256(KEY_SALT, value.as_bytes(), secret);
        value.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut value);
        if value.len() > MAX_COOKIE_LEN {
            return Err(too_large(value.len(), MAX_COOKIE_LEN, "encoded"));
        }
        Ok(value)
    }

    /// The record in `cookie`, if one of our secrets signed it and it has not expired.
    fn decode(&self, cookie: &str) -> Option<SessionRecord> {
        if cookie.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (signed, signature) = cookie.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let genuine = self.secrets.iter().any(|secret| {
            let expected = salted_hmac_sha256(KEY_SALT, signed.as_bytes(), secret);
            bool::from(expected.as_slice().ct_eq(&signature))
        });
        if !genuine {
            return None;
        }
        let (compressed, payload) = match signed.strip_prefix('.') {
            Some(payload) => (true, payload),
            None => (false, signed),
        };
        let mut json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        if compressed {
            json = decompress(&json)?;
        }
        let record = decode_record(&json)?;
        (record.expires_at > self.clock.now()).then_some(record)
    }
}

fn too_large(len: usize, max: usize, what: &str) -> SessionError {
    SessionError::Store(format!(
        "session too large for a cookie: {len} bytes {what}, at most {max}; \
         keep less in the session or use a server-side store"
    ))
}

fn compress(json: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(json).ok()?;
    encoder.finish().ok()
}

/// Inflates `compressed`, or `None` when it is not zlib or inflates beyond
/// [`MAX_JSON_LEN`].
fn decompress(compressed: &[u8]) -> Option<Vec<u8>> {
    let mut json = Vec::new();
    ZlibDecoder::new(compressed)
        .take(MAX_JSON_LEN as u64 + 1)
        .read_to_end(&mut json)
        .ok()?;
    (json.len() <= MAX_JSON_LEN).then_some(json)
}

/// A record as the cookie and Redis stores write it: `{"data": {...}, "exp": <ms>}`.
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    data: &'a Map<String, Value>,
    /// Expiry in milliseconds since the Unix epoch.
    exp: i64,
}

#[derive(Deserialize)]
struct Envelope {
    data: Map<String, Value>,
    exp: i64,
}

/// `record` as JSON `{"data": {...}, "exp": <milliseconds since the Unix epoch>}`.
pub(crate) fn encode_record(record: &SessionRecord) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&EnvelopeRef {
        data: &record.data,
        exp: record.expires_at.timestamp_millis(),
    })
}

/// The record [`encode_record`] wrote, or `None` for anything else.
pub(crate) fn decode_record(json: &[u8]) -> Option<SessionRecord> {
    let Envelope { data, exp } = serde_json::from_slice(json).ok()?;
    Some(SessionRecord {
        data,
        expires_at: DateTime::<Utc>::from_timestamp_millis(exp)?,
    })
}

#[async_trait]
impl SessionStore for CookieSessionStore {
    async fn load(&self, key: &str) -> Result<Option<SessionRecord>, SessionError> {
        Ok(self.decode(key))
    }

    async fn create(&self, record: &SessionRecord) -> Result<String, SessionError> {
        self.encode(record)
    }

    /// Signs `record` afresh and returns the new cookie value; `key`, the old value, is
    /// not needed.
    async fn save(&self, _key: &str, record: &SessionRecord) -> Result<String, SessionError> {
        self.encode(record)
    }

    /// Does nothing: a signed cookie cannot be revoked (see [`CookieSessionStore`]'s limits).
    /// The caller removes the cookie from the browser.
    async fn delete(&self, _key: &str) -> Result<(), SessionError> {
        Ok(())
    }

    async fn clear_expired(&self) -> Result<u64, SessionError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;
    use batteries_core::ManualClock;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";
    const OTHER: &str = "fedcba9876543210fedcba9876543210-other-secret";

    fn start() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn store(clock: &ManualClock) -> CookieSessionStore {
        CookieSessionStore::new(SECRET)
            .unwrap()
            .with_clock(clock.clone())
    }

    fn record(data: Value) -> SessionRecord {
        let Value::Object(data) = data else {
            panic!("not an object")
        };
        SessionRecord {
            data,
            expires_at: start() + chrono::Duration::milliseconds(3_600_123),
        }
    }

    fn sample() -> SessionRecord {
        record(json!({
            "_auth_user_id": "42",
            "name": "Zoë 😀 \"quoted\" <b>",
            "cart": {"items": [1, 2, {"sku": "ß-1"}], "total": 12.5, "gift": null},
        }))
    }

    async fn create(store: &CookieSessionStore, record: &SessionRecord) -> String {
        store.create(record).await.unwrap()
    }

    async fn load(store: &CookieSessionStore, cookie: &str) -> Option<SessionRecord> {
        store
            .load(cookie)
            .await
            .expect("load never fails on bad input")
    }

    /// Replaces the byte at `i` with another character of the base64url alphabet.
    fn flip(cookie: &str, i: usize) -> String {
        let mut bytes = cookie.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    }

    #[tokio::test]
    async fn round_trip_keeps_data_and_expiry() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        let record = sample();
        let cookie = create(&store, &record).await;
        assert!(
            cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "only cookie-safe characters: {cookie}"
        );
        assert_eq!(load(&store, &cookie).await, Some(record.clone()));
        // Another instance with the same secret reads it too.
        let other = CookieSessionStore::new(SECRET)
            .unwrap()
            .with_clock(clock.clone());
        assert_eq!(load(&other, &cookie).await, Some(record.clone()));
        // `save` makes a new cookie with the new data.
        let mut changed = record.clone();
        changed.data.insert("n".into(), json!(2));
        let saved = store.save(&cookie, &changed).await.unwrap();
        assert_eq!(load(&store, &saved).await, Some(changed));
    }

    #[tokio::test]
    async fn compresses_when_it_helps() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        let small = create(&store, &record(json!({"a": 1}))).await;
        assert!(!small.starts_with('.'), "{small}");
        let repetitive = record(json!({"flags": vec!["enabled"; 400]}));
        let big = create(&store, &repetitive).await;
        assert!(big.starts_with('.'), "{big}");
        assert!(big.len() < 400, "{}", big.len());
        assert_eq!(load(&store, &big).await, Some(repetitive));
    }

    #[tokio::test]
    async fn every_tampering_loads_as_none() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        let cookie = create(&store, &sample()).await;
        let other_cookie = create(&store, &record(json!({"_auth_user_id": "1"}))).await;
        let dot = cookie.rfind('.').unwrap();

        // Each byte of the payload and of the signature, changed.
        for i in (0..cookie.len()).filter(|&i| i != dot) {
            let forged = flip(&cookie, i);
            assert_eq!(load(&store, &forged).await, None, "byte {i} changed");
        }
        // The signature of another genuine cookie.
        let (payload, _) = cookie.rsplit_once('.').unwrap();
        let (_, signature) = other_cookie.rsplit_once('.').unwrap();
        assert_eq!(load(&store, &format!("{payload}.{signature}")).await, None);
        // Truncated anywhere, the dot removed, a dot added, extended.
        for len in 0..cookie.len() {
            assert_eq!(load(&store, &cookie[..len]).await, None, "cut at {len}");
        }
        assert_eq!(load(&store, &cookie.replace('.', "")).await, None);
        assert_eq!(load(&store, &format!(".{cookie}")).await, None);
        assert_eq!(load(&store, &format!("{cookie}A")).await, None);
        assert_eq!(load(&store, &format!("{cookie}.")).await, None);
        // The compression mark added or removed.
        let big = create(&store, &record(json!({"f": vec!["x"; 400]}))).await;
        assert_eq!(load(&store, &big[1..]).await, None);
        // Signed with another secret.
        let theirs = CookieSessionStore::new(OTHER)
            .unwrap()
            .with_clock(clock.clone());
        let forged = create(&theirs, &sample()).await;
        assert_eq!(load(&store, &forged).await, None);
        // Empty, huge, and junk of every kind.
        for junk in [
            String::new(),
            ".".into(),
            "..".into(),
            "a.b".into(),
            "é.é".into(),
            "' OR 1=1 --".into(),
            "x".repeat(100_000),
            format!("{}.{}", "A".repeat(10_000), &cookie[dot + 1..]),
        ] {
            assert_eq!(load(&store, &junk).await, None, "{junk:.40}");
        }
    }

    #[tokio::test]
    async fn unsigned_payloads_are_refused_even_when_well_formed() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        // A payload an attacker chose, with the signature an all-zero key would give and
        // with no signature at all.
        let json = encode_record(&record(json!({"_auth_user_id": "1"}))).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let zero_key = URL_SAFE_NO_PAD.encode(salted_hmac_sha256(
            KEY_SALT,
            payload.as_bytes(),
            &[0; MIN_SECRET_LEN],
        ));
        assert_eq!(load(&store, &format!("{payload}.{zero_key}")).await, None);
        assert_eq!(load(&store, &format!("{payload}.")).await, None);
        assert_eq!(load(&store, &payload).await, None);
    }

    #[tokio::test]
    async fn fallback_secrets_are_accepted_but_never_sign() {
        let clock = ManualClock::new(start());
        let old = CookieSessionStore::new(OTHER)
            .unwrap()
            .with_clock(clock.clone());
        let old_cookie = create(&old, &sample()).await;

        let rotated = store(&clock).with_fallbacks([OTHER]).unwrap();
        assert_eq!(load(&rotated, &old_cookie).await, Some(sample()));
        // New cookies are signed with the new secret only.
        let new_cookie = create(&rotated, &sample()).await;
        assert_eq!(load(&old, &new_cookie).await, None);
        assert_eq!(load(&store(&clock), &new_cookie).await, Some(sample()));
        // Dropping the fallback ends the old cookies.
        let done = rotated.with_fallbacks(Vec::<&str>::new()).unwrap();
        assert_eq!(load(&done, &old_cookie).await, None);
        assert_eq!(load(&done, &new_cookie).await, Some(sample()));
    }

    #[tokio::test]
    async fn expired_cookies_load_as_none() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        let record = sample();
        let cookie = create(&store, &record).await;
        clock.set(record.expires_at - chrono::Duration::milliseconds(1));
        assert_eq!(load(&store, &cookie).await, Some(record.clone()));
        clock.advance(Duration::from_millis(1));
        assert_eq!(load(&store, &cookie).await, None);
        // A cookie made already expired is never loaded either.
        let stale = create(&store, &record).await;
        assert_eq!(load(&store, &stale).await, None);
    }

    #[test]
    fn short_secrets_are_refused_without_showing_them() {
        let short = "s3cr3t-but-only-31-bytes-long!!";
        assert_eq!(short.len(), MIN_SECRET_LEN - 1);
        let err = CookieSessionStore::new(short).unwrap_err();
        assert!(matches!(err, SessionError::Config(_)), "{err:?}");
        assert!(!err.to_string().contains(short), "{err}");
        assert!(CookieSessionStore::new("").is_err());
        let fallback = CookieSessionStore::new(SECRET)
            .unwrap()
            .with_fallbacks([short]);
        assert!(matches!(fallback, Err(SessionError::Config(_))));
        let debug = format!("{:?}", CookieSessionStore::new(SECRET).unwrap());
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[tokio::test]
    async fn sessions_too_large_for_a_cookie_are_refused() {
        let clock = ManualClock::new(start());
        let store = store(&clock);
        // Random data hardly compresses: 5000 alphanumeric characters need well over
        // 4000 bytes of cookie.
        let noise: String = rand::Rng::sample_iter(rand::rng(), rand::distr::Alphanumeric)
            .take(5000)
            .map(char::from)
            .collect();
        let err = store
            .create(&record(json!({ "noise": noise })))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(
            store
                .save("x", &record(json!({ "noise": noise })))
                .await
                .is_err()
        );
        // Highly compressible data that would inflate beyond the cap is refused too.
        let bomb = record(json!({ "zeros": "0".repeat(MAX_JSON_LEN) }));
        assert!(store.create(&bomb).await.is_err());
        // Just under the limit is fine.
        let fits = record(json!({ "noise": &noise[..2000] }));
        let cookie = create(&store, &fits).await;
        assert!(cookie.len() <= MAX_COOKIE_LEN);
        assert_eq!(load(&store, &cookie).await, Some(fits));
    }

    #[test]
    fn decompression_is_capped() {
        let bomb = compress(&vec![b' '; MAX_JSON_LEN + 1]).unwrap();
        assert!(bomb.len() < MAX_COOKIE_LEN);
        assert_eq!(decompress(&bomb), None);
        let fine = compress(&vec![b' '; MAX_JSON_LEN]).unwrap();
        assert_eq!(decompress(&fine).map(|j| j.len()), Some(MAX_JSON_LEN));
        assert_eq!(decompress(b"not zlib"), None);
    }

    #[test]
    fn signature_is_djangos_salted_hmac() {
        // Python: hmac.new(sha256(b"batteries.sessions.signed_cookies.signer" + secret)
        //   .digest(), b"payload", sha256).digest(), base64url without padding.
        let store = CookieSessionStore::new(SECRET).unwrap();
        let mac = salted_hmac_sha256(KEY_SALT, b"payload", &store.secrets[0]);
        assert_eq!(URL_SAFE_NO_PAD.encode(mac), KNOWN_MAC);
    }

    const KNOWN_MAC: &str = "At2TdRu-eRAZRSgc1Fvn4L3I5aPCxSwMl3WdFwwaZLw";
}
