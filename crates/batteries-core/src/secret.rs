//! [`SessionSecret`]: the one secret that session auth hashes (and the keys derived
//! from it) come from, and Django's `salted_hmac`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::user::AuthUser;

/// Django's salt for `get_session_auth_hash`, so the hashes match Django's.
const SESSION_HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// The secret that derives session auth hashes (Django's `SECRET_KEY`), with older
/// secrets that still verify (Django's `SECRET_KEY_FALLBACKS`).
///
/// ```
/// use batteries_core::SessionSecret;
///
/// let secret = SessionSecret::new("a secret key of at least 32 bytes!!")?
///     .with_fallbacks(["the key before that one, 32 bytes.."])?;
/// assert!(SessionSecret::new("short").is_err());
/// # let _ = secret;
/// # Ok::<(), batteries_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SessionSecret {
    current: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

impl SessionSecret {
    /// Minimum secret length in bytes.
    pub const MIN_LEN: usize = 32;

    /// A secret of at least 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when it is shorter.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self> {
        let current = secret.into();
        check_len(&current)?;
        Ok(Self {
            current,
            fallbacks: Vec::new(),
        })
    }

    /// Adds older secrets that still verify the hashes made with them.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when one is shorter than 32 bytes.
    pub fn with_fallbacks<I, S>(mut self, fallbacks: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        for secret in fallbacks {
            let secret = secret.into();
            check_len(&secret)?;
            self.fallbacks.push(secret);
        }
        Ok(self)
    }

    /// The bytes of the current secret (to derive other keys, such as a signing key).
    pub fn current(&self) -> &[u8] {
        &self.current
    }

    /// Django's `user.get_session_auth_hash()`: HMAC-SHA256 of the password hash, in
    /// hex. Changing the password changes it, which ends every session holding the
    /// old one.
    pub fn session_auth_hash(&self, user: &(impl AuthUser + ?Sized)) -> String {
        hash_with(&self.current, user)
    }

    /// Whether `presented` is the user's session auth hash under the current secret
    /// or a fallback, compared in constant time.
    pub fn verify(&self, user: &(impl AuthUser + ?Sized), presented: &str) -> bool {
        std::iter::once(&self.current)
            .chain(&self.fallbacks)
            .any(|secret| {
                bool::from(
                    hash_with(secret, user)
                        .as_bytes()
                        .ct_eq(presented.as_bytes()),
                )
            })
    }
}

fn check_len(secret: &[u8]) -> Result<()> {
    if secret.len() < SessionSecret::MIN_LEN {
        return Err(Error::InvalidField {
            field: "secret key",
            message: format!("must be at least {} bytes", SessionSecret::MIN_LEN),
        });
    }
    Ok(())
}

fn hash_with(secret: &[u8], user: &(impl AuthUser + ?Sized)) -> String {
    let mac = salted_hmac_sha256(SESSION_HASH_SALT, user.password_hash().as_bytes(), secret);
    mac.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Django's `salted_hmac(key_salt, value, secret, algorithm="sha256")`: HMAC-SHA256 of
/// `value` keyed with `SHA256(key_salt + secret)`.
///
/// # Panics
/// Never: HMAC takes keys of any length.
///
/// ```
/// let mac = batteries_core::salted_hmac_sha256("salt", b"value", b"secret");
/// assert_eq!(mac.len(), 32);
/// ```
pub fn salted_hmac_sha256(key_salt: &str, value: &[u8], secret: &[u8]) -> [u8; 32] {
    let key = Sha256::new()
        .chain_update(key_salt.as_bytes())
        .chain_update(secret)
        .finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    mac.update(value);
    mac.finalize().into_bytes().into()
}
