//! Password reset tokens (`django.contrib.auth.tokens.PasswordResetTokenGenerator`).
//!
//! A token is what a "reset your password" e-mail links to. It holds no state on the
//! server: it is `<timestamp>-<signature>`, where the timestamp is the time it was made
//! (seconds since 2001-01-01, in base 36) and the signature is an HMAC-SHA256, under
//! the secret key, of the user's primary key, password hash, last login, that
//! timestamp and e-mail. So a token
//!
//! - works for one user only, and cannot be forged without the secret key;
//! - dies when the password changes (the hash changes, even for the same password) and
//!   when the user logs in (`last_login` changes): used once, it is spent;
//! - dies after [`timeout`](PasswordResetTokenGenerator::with_timeout) (Django's
//!   `PASSWORD_RESET_TIMEOUT`, 3 days by default).
//!
//! Format, key derivation and hash input are Django's, so with the same `SECRET_KEY`
//! Django checks our tokens and we check Django's; `SECRET_KEY_FALLBACKS` are
//! [`with_fallbacks`](PasswordResetTokenGenerator::with_fallbacks), for rotating keys.
//! The reset URL carries the user's primary key too: [`encode_uid`] and [`decode_uid`]
//! are Django's `urlsafe_base64_encode(force_bytes(pk))` and its inverse.
//!
//! # Time zones
//!
//! Our timestamps are UTC, and `last_login` enters the hash as its UTC wall-clock time,
//! as Django stores it with `USE_TZ = True`. Django takes "now" from the server's
//! local clock (`datetime.now()`, in `TIME_ZONE` on Unix): a Django whose `TIME_ZONE`
//! is not UTC writes timestamps shifted by its offset, so tokens passed between it and
//! batteries expire that many hours early or late. The signatures still match.
//!
//! # Example
//!
//! ```
//! use batteries_auth::AuthUser;
//! use batteries_auth::tokens::{PasswordResetTokenGenerator, decode_uid, encode_uid};
//! # use chrono::{DateTime, Utc};
//! # struct User { id: i64, password: String, last_login: Option<DateTime<Utc>> }
//! # impl AuthUser for User {
//! #     fn pk_string(&self) -> String { self.id.to_string() }
//! #     fn username(&self) -> &str { "zoe" }
//! #     fn password_hash(&self) -> &str { &self.password }
//! #     fn is_active(&self) -> bool { true }
//! #     fn is_staff(&self) -> bool { false }
//! #     fn is_superuser(&self) -> bool { false }
//! #     fn last_login(&self) -> Option<DateTime<Utc>> { self.last_login }
//! # }
//!
//! # fn main() -> batteries_auth::Result<()> {
//! let tokens = PasswordResetTokenGenerator::new("the SECRET_KEY")?;
//! let mut user = User { id: 42, password: "argon2$argon2id$...".into(), last_login: None };
//!
//! // The e-mail links to /reset/<uidb64>/<token>/.
//! let (uidb64, token) = (encode_uid(&user.pk_string()), tokens.make_token(&user));
//! assert_eq!(uidb64, "NDI");
//!
//! // The link is followed: find the user, check the token.
//! assert_eq!(decode_uid(&uidb64).as_deref(), Some("42"));
//! assert!(tokens.check_token(&user, &token));
//! assert!(!tokens.check_token(&user, "c6lftl-0000000000000000000000000000000"));
//!
//! // Once the password is changed, the token is spent.
//! user.password = "argon2$argon2id$...new".into();
//! assert!(!tokens.check_token(&user, &token));
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::user::AuthUser;

/// Django's `PasswordResetTokenGenerator.key_salt`, the default
/// [`key salt`](PasswordResetTokenGenerator::with_key_salt).
pub const KEY_SALT: &str = "django.contrib.auth.tokens.PasswordResetTokenGenerator";

/// Django's default `PASSWORD_RESET_TIMEOUT`: three days.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_hours(72);

/// 2001-01-01T00:00:00Z as a Unix timestamp: Django's token epoch.
const TOKEN_EPOCH: i64 = 978_307_200;

/// Django's `base36_to_int` refuses more digits than this (enough for any 64-bit
/// integer), so garbage cannot cost anything.
const MAX_BASE36_DIGITS: usize = 13;

/// Makes and checks password reset tokens, Django's way.
///
/// Holds the secret key: its `Debug` output does not show it.
#[derive(Clone)]
pub struct PasswordResetTokenGenerator {
    secret: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
    key_salt: Cow<'static, str>,
    timeout: Duration,
}

fn empty_secret(field: &'static str) -> Error {
    Error::InvalidField {
        field,
        message: "a secret key must not be empty: anyone could forge tokens".to_owned(),
    }
}

impl PasswordResetTokenGenerator {
    /// A generator signing with `secret` (Django's `SECRET_KEY`, as text or bytes), with
    /// Django's key salt and timeout.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when `secret` is empty.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(empty_secret("secret"));
        }
        Ok(Self {
            secret,
            fallbacks: Vec::new(),
            key_salt: Cow::Borrowed(KEY_SALT),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Also accepts tokens signed with these former keys (Django's
    /// `SECRET_KEY_FALLBACKS`). New tokens are always signed with the current key.
    /// Replaces any fallbacks given before.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when one of them is empty.
    pub fn with_fallbacks<I>(mut self, fallbacks: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: Into<Vec<u8>>,
    {
        let fallbacks: Vec<Vec<u8>> = fallbacks.into_iter().map(Into::into).collect();
        if fallbacks.iter().any(Vec::is_empty) {
            return Err(empty_secret("secret_fallbacks"));
        }
        self.fallbacks = fallbacks;
        Ok(self)
    }

    /// How long a token stays valid (Django's `PASSWORD_RESET_TIMEOUT`), counted in
    /// whole seconds.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Signs with another key salt, for tokens of another purpose (an e-mail
    /// confirmation, say) that must not pass for reset tokens: Django's subclasses
    /// overriding `key_salt`.
    #[must_use]
    pub fn with_key_salt(mut self, key_salt: impl Into<Cow<'static, str>>) -> Self {
        self.key_salt = key_salt.into();
        self
    }

    /// How long a token stays valid.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key salt.
    pub fn key_salt(&self) -> &str {
        &self.key_salt
    }

    /// A token for `user`, made now.
    pub fn make_token<U: AuthUser + ?Sized>(&self, user: &U) -> String {
        self.make_token_at(user, Utc::now())
    }

    /// A token for `user` as if made at `now` (for tests; times before 2001 count as
    /// 2001-01-01).
    pub fn make_token_at<U: AuthUser + ?Sized>(&self, user: &U, now: DateTime<Utc>) -> String {
        let timestamp = u64::try_from(seconds_since_epoch(now)).unwrap_or(0);
        token_with_timestamp(&self.key_salt, &self.secret, user, timestamp)
    }

    /// Whether `token` is a valid, unexpired token for `user`.
    ///
    /// Never panics, whatever the token: anything not in the format this generator
    /// makes is simply refused. The signature is compared in constant time.
    pub fn check_token<U: AuthUser + ?Sized>(&self, user: &U, token: &str) -> bool {
        self.check_token_at(user, token, Utc::now())
    }

    /// [`check_token`](Self::check_token) as if it were `now` (for tests).
    pub fn check_token_at<U: AuthUser + ?Sized>(
        &self,
        user: &U,
        token: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let mut parts = token.split('-');
        let (Some(timestamp), Some(_), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Some(timestamp) = base36_to_u64(timestamp) else {
            return false;
        };
        let signed = std::iter::once(&self.secret)
            .chain(&self.fallbacks)
            .any(|secret| {
                let expected = token_with_timestamp(&self.key_salt, secret, user, timestamp);
                bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
            });
        if !signed {
            return false;
        }
        let age = i128::from(seconds_since_epoch(now)) - i128::from(timestamp);
        age <= i128::from(self.timeout.as_secs())
    }
}

impl fmt::Debug for PasswordResetTokenGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordResetTokenGenerator")
            .field("secret", &"<redacted>")
            .field("fallbacks", &self.fallbacks.len())
            .field("key_salt", &self.key_salt)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Django's `_num_seconds(now)`: whole seconds since 2001-01-01 UTC.
fn seconds_since_epoch(now: DateTime<Utc>) -> i64 {
    now.timestamp() - TOKEN_EPOCH
}

/// Django's `_make_token_with_timestamp`: `<timestamp in base 36>-<every other hex
/// digit of the HMAC>`.
fn token_with_timestamp<U: AuthUser + ?Sized>(
    key_salt: &str,
    secret: &[u8],
    user: &U,
    timestamp: u64,
) -> String {
    let mac = salted_hmac_sha256(key_salt, hash_value(user, timestamp).as_bytes(), secret);
    let mut token = u64_to_base36(timestamp);
    token.push('-');
    // `hexdigest()[::2]`: the even-indexed hex digits, i.e. each byte's high nibble.
    token.extend(mac.iter().map(|b| HEX[usize::from(b >> 4)] as char));
    token
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Django's `_make_hash_value`: primary key, password hash, last login (to the second,
/// without time zone, as Python's `str()` writes it), timestamp and e-mail, run
/// together.
fn hash_value<U: AuthUser + ?Sized>(user: &U, timestamp: u64) -> String {
    let last_login = user
        .last_login()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    format!(
        "{}{}{last_login}{timestamp}{}",
        user.pk_string(),
        user.password_hash(),
        user.email()
    )
}

pub(crate) use batteries_core::salted_hmac_sha256;

/// Django's `int_to_base36`.
fn u64_to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(MAX_BASE36_DIGITS);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().map(|&b| b as char).collect()
}

/// Django's `base36_to_int`, strict: 1 to 13 ASCII base-36 digits that fit in a `u64`.
/// Anything a token of ours could not hold is `None`.
fn base36_to_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_BASE36_DIGITS {
        return None;
    }
    s.chars().try_fold(0u64, |n, c| {
        let digit = c.to_digit(36)?;
        n.checked_mul(36)?.checked_add(u64::from(digit))
    })
}

/// The user's primary key for a reset URL: Django's
/// `urlsafe_base64_encode(force_bytes(user.pk))` (URL-safe base64 of the UTF-8 text,
/// without padding).
///
/// ```
/// assert_eq!(batteries_auth::tokens::encode_uid("42"), "NDI");
/// ```
pub fn encode_uid(pk: &str) -> String {
    URL_SAFE_NO_PAD.encode(pk)
}

/// The primary key from a reset URL's `uidb64`: Django's
/// `urlsafe_base64_decode(uidb64).decode()`. `None` when it is not base64 of UTF-8 text
/// (Django then treats the user as not found).
///
/// ```
/// use batteries_auth::tokens::decode_uid;
///
/// assert_eq!(decode_uid("NDI").as_deref(), Some("42"));
/// assert_eq!(decode_uid("not base64!"), None);
/// ```
pub fn decode_uid(uidb64: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(uidb64.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(Clone)]
    struct User {
        pk: i64,
        password: String,
        last_login: Option<DateTime<Utc>>,
        email: String,
    }

    impl AuthUser for User {
        fn pk_string(&self) -> String {
            self.pk.to_string()
        }
        #[allow(clippy::unnecessary_literal_bound)]
        fn username(&self) -> &str {
            "zoe"
        }
        fn password_hash(&self) -> &str {
            &self.password
        }
        fn email(&self) -> &str {
            &self.email
        }
        fn is_active(&self) -> bool {
            true
        }
        fn is_staff(&self) -> bool {
            false
        }
        fn is_superuser(&self) -> bool {
            false
        }
        fn last_login(&self) -> Option<DateTime<Utc>> {
            self.last_login
        }
    }

    const SECRET: &str = "batteries-test-secret";

    fn zoe() -> User {
        User {
            pk: 42,
            password: "pbkdf2_sha256$1000000$salt$hash=".into(),
            last_login: Some(
                Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
                    + chrono::Duration::microseconds(678_901),
            ),
            email: "zoe@example.com".into(),
        }
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn generator() -> PasswordResetTokenGenerator {
        PasswordResetTokenGenerator::new(SECRET).unwrap()
    }

    // Known answers printed by Django 5.2's PasswordResetTokenGenerator with
    // SECRET_KEY = SECRET and `_now()` mocked.
    #[test]
    fn tokens_match_djangos_known_answers() {
        let g = generator();
        let now = at(2024, 5, 6, 7, 8, 9);
        assert_eq!(
            hash_value(&zoe(), 1),
            "42pbkdf2_sha256$1000000$salt$hash=2024-01-02 03:04:051zoe@example.com"
        );
        assert_eq!(
            g.make_token_at(&zoe(), now),
            "c6lftl-23ece241a31ac750c27f201e356b1af4"
        );
        let bare = User {
            pk: 7,
            password: "!unusable".into(),
            last_login: None,
            email: String::new(),
        };
        assert_eq!(
            g.make_token_at(&bare, now),
            "c6lftl-6933e214e3cbf093397a0002320ae7fd"
        );
        let unicode = User {
            pk: 1,
            password: "argon2$x".into(),
            last_login: None,
            email: "zoë@exämple.com".into(),
        };
        assert_eq!(
            g.make_token_at(&unicode, at(2001, 1, 1, 0, 0, 0)),
            "0-ede193d4833ef11466714607bc25df6d"
        );
        assert!(g.check_token_at(&zoe(), "c6lftl-23ece241a31ac750c27f201e356b1af4", now));
    }

    #[test]
    fn a_token_checks_until_the_timeout_and_not_after() {
        let g = generator();
        let made = at(2024, 5, 6, 7, 8, 9);
        let token = g.make_token_at(&zoe(), made);
        let timeout = chrono::Duration::seconds(259_200);
        assert!(g.check_token_at(&zoe(), &token, made));
        assert!(g.check_token_at(&zoe(), &token, made + timeout));
        assert!(!g.check_token_at(
            &zoe(),
            &token,
            made + timeout + chrono::Duration::seconds(1)
        ));
        // Django accepts tokens from the future (clock skew); so do we.
        assert!(g.check_token_at(&zoe(), &token, made - chrono::Duration::days(1)));

        let short = generator().with_timeout(Duration::from_mins(1));
        assert_eq!(short.timeout(), Duration::from_mins(1));
        assert!(short.check_token_at(&zoe(), &token, made + chrono::Duration::seconds(60)));
        assert!(!short.check_token_at(&zoe(), &token, made + chrono::Duration::seconds(61)));

        // Made and checked now.
        assert!(g.check_token(&zoe(), &g.make_token(&zoe())));
    }

    #[test]
    fn a_password_change_or_a_login_spends_the_token() {
        let g = generator();
        let user = zoe();
        let token = g.make_token(&user);

        let mut changed = user.clone();
        changed.password = "pbkdf2_sha256$1000000$salt2$other=".into();
        assert!(!g.check_token(&changed, &token));

        let mut logged_in = user.clone();
        logged_in.last_login = Some(Utc::now());
        assert!(!g.check_token(&logged_in, &token));

        // Microseconds are not part of the hash (a database may drop them).
        let mut truncated = user.clone();
        truncated.last_login = Some(at(2024, 1, 2, 3, 4, 5));
        assert!(g.check_token(&truncated, &token));

        let mut other_email = user.clone();
        other_email.email = "zoe@example.org".into();
        assert!(!g.check_token(&other_email, &token));

        let mut other_user = user;
        other_user.pk = 43;
        assert!(!g.check_token(&other_user, &token));
    }

    #[test]
    fn secrets_must_match_or_be_a_fallback() {
        let old = PasswordResetTokenGenerator::new("old key").unwrap();
        let new = PasswordResetTokenGenerator::new(b"new key".to_vec()).unwrap();
        let token = old.make_token(&zoe());
        assert!(!new.check_token(&zoe(), &token));
        let rotated = new
            .clone()
            .with_fallbacks(["older key", "old key"])
            .unwrap();
        assert!(rotated.check_token(&zoe(), &token));
        // New tokens are signed with the current key only.
        assert!(!old.check_token(&zoe(), &rotated.make_token(&zoe())));
        assert!(new.check_token(&zoe(), &rotated.make_token(&zoe())));
        // A token of another purpose does not pass for a reset token.
        let other = generator().with_key_salt("myapp.EmailConfirmation");
        assert_eq!(other.key_salt(), "myapp.EmailConfirmation");
        assert!(!generator().check_token(&zoe(), &other.make_token(&zoe())));
        assert!(other.check_token(&zoe(), &other.make_token(&zoe())));
    }

    #[test]
    fn an_empty_secret_is_refused() {
        let err = PasswordResetTokenGenerator::new("").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid secret: a secret key must not be empty"),
            "{err}"
        );
        let err = generator().with_fallbacks(["ok", ""]).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid secret_fallbacks"),
            "{err}"
        );
        let shown = format!("{:?}", generator().with_fallbacks(["old"]).unwrap());
        assert!(!shown.contains(SECRET) && !shown.contains("old"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn garbage_tokens_are_refused_without_panicking() {
        let g = generator();
        let good = g.make_token_at(&zoe(), at(2024, 5, 6, 7, 8, 9));
        let (ts, sig) = good.split_once('-').unwrap();
        let long = "z".repeat(100_000);
        let cases = [
            String::new(),
            "-".into(),
            "--".into(),
            ts.into(),
            format!("{ts}-"),
            format!("-{sig}"),
            format!("{ts}{sig}"),
            format!("{ts}-{sig}-"),
            format!("{ts}-{sig}-x"),
            format!("{}-{sig}", ts.to_uppercase()),
            format!("0{ts}-{sig}"),
            format!("+{ts}-{sig}"),
            format!(" {ts}-{sig}"),
            format!("{ts}-{}", sig.to_uppercase()),
            format!("{ts}-{}", &sig[1..]),
            format!("{ts}-{sig}0"),
            format!("{ts}-{}é", &sig[..sig.len() - 2]),
            format!("ç-{sig}"),
            format!("{long}-{sig}"),
            format!("{ts}-{long}"),
            format!("zzzzzzzzzzzzz-{sig}"),
            format!("zzzzzzzzzzzzzz-{sig}"),
            format!("{}-{sig}", u64::MAX),
            "\u{0}-\u{0}".into(),
            "🦀-🦀".into(),
        ];
        for token in &cases {
            assert!(!g.check_token(&zoe(), token), "{token:?}");
        }
        assert!(g.check_token_at(&zoe(), &good, at(2024, 5, 6, 7, 8, 9)));
    }

    #[test]
    fn base36_round_trips_and_refuses_overflow() {
        for n in [0, 1, 35, 36, 12_345_678, u64::MAX] {
            assert_eq!(base36_to_u64(&u64_to_base36(n)), Some(n));
        }
        assert_eq!(u64_to_base36(0), "0");
        assert_eq!(u64_to_base36(u64::MAX), "3w5e11264sgsf");
        assert_eq!(base36_to_u64("3w5e11264sgsg"), None);
        assert_eq!(base36_to_u64("zzzzzzzzzzzzz"), None);
        assert_eq!(base36_to_u64(""), None);
        assert_eq!(base36_to_u64("-1"), None);
        assert_eq!(base36_to_u64("١"), None);
    }

    #[test]
    fn times_before_2001_count_as_the_epoch() {
        let g = generator();
        let token = g.make_token_at(&zoe(), at(1999, 12, 31, 0, 0, 0));
        assert!(token.starts_with("0-"), "{token}");
        assert_eq!(token.len(), 2 + 32);
        assert!(!g.check_token_at(&zoe(), &token, at(2024, 1, 1, 0, 0, 0)));
    }

    #[test]
    fn uids_match_django() {
        // urlsafe_base64_encode(force_bytes(...)) in Django 5.2.
        assert_eq!(encode_uid("42"), "NDI");
        assert_eq!(encode_uid("zoë"), "em_Dqw");
        assert_eq!(encode_uid(""), "");
        assert_eq!(decode_uid("em_Dqw").as_deref(), Some("zoë"));
        assert_eq!(decode_uid("NDI=").as_deref(), Some("42"));
        assert_eq!(decode_uid("").as_deref(), Some(""));
        assert_eq!(decode_uid("//8"), None);
        assert_eq!(decode_uid("_-8"), None, "not UTF-8");
        assert_eq!(decode_uid("é"), None);
    }
}
