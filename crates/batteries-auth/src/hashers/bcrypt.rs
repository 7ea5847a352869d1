//! Django's `BCryptSHA256PasswordHasher` (`bcrypt_sha256$$2b$12$<salt><digest>`, the
//! password first hashed to 64 hex characters of SHA-256) and `BCryptPasswordHasher`
//! (`bcrypt$$2b$12$…`, the password as is).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::{HashError, Hasher, MAX_PASSWORD_LEN, SafeSummary, check_password_len, ct_eq};

/// bcrypt's own base64 (`./A-Za-z0-9`, unpadded).
const BCRYPT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// bcrypt reads at most this many bytes of a password.
const BCRYPT_MAX_PASSWORD: usize = 72;

/// Length of `$2b$12$` + 22 salt characters + 31 digest characters.
const BCRYPT_LEN: usize = 60;

/// bcrypt, either after SHA-256 (`bcrypt_sha256`, no length limit) or on the password
/// itself (`bcrypt`, which reads only its first 72 bytes).
///
/// Verifies `$2a$`, `$2b$` and `$2y$` hashes; makes `$2b$` ones. The cost (log2 of the
/// rounds) defaults to Django's 12.
///
/// ```
/// use batteries_auth::hashers::{BcryptHasher, Hasher};
///
/// # fn main() -> Result<(), batteries_auth::hashers::HashError> {
/// let hasher = BcryptHasher::sha256().with_cost(4)?;
/// let encoded = hasher.make("lètmein")?;
/// assert!(encoded.starts_with("bcrypt_sha256$$2b$04$"));
/// assert!(hasher.verify("lètmein", &encoded));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BcryptHasher {
    prehash: bool,
    cost: u32,
}

impl Default for BcryptHasher {
    /// [`BcryptHasher::sha256`].
    fn default() -> Self {
        Self::sha256()
    }
}

/// A parsed `$2x$NN$<22 salt chars>…` setting.
struct Setting<'a> {
    version: ::bcrypt::Version,
    cost: u32,
    salt: [u8; 16],
    salt_text: &'a str,
}

impl BcryptHasher {
    /// Django's cost.
    pub const DEFAULT_COST: u32 = 12;

    /// The lowest cost bcrypt allows.
    pub const MIN_COST: u32 = 4;

    /// The highest cost a hash may ask for (2^16 rounds, 16 times Django's).
    pub const MAX_COST: u32 = 16;

    /// `bcrypt_sha256`: bcrypt of the hex SHA-256 of the password.
    pub fn sha256() -> Self {
        Self {
            prehash: true,
            cost: Self::DEFAULT_COST,
        }
    }

    /// `bcrypt`: bcrypt of the password itself, of which only the first 72 bytes count.
    /// [`Hasher::encode`] refuses longer passwords rather than truncate them.
    pub fn plain() -> Self {
        Self {
            prehash: false,
            cost: Self::DEFAULT_COST,
        }
    }

    /// The same hasher making hashes with `cost`.
    ///
    /// # Errors
    /// Unless `MIN_COST <= cost <= MAX_COST`.
    pub fn with_cost(self, cost: u32) -> Result<Self, HashError> {
        if !(Self::MIN_COST..=Self::MAX_COST).contains(&cost) {
            return Err(HashError::InvalidParameters {
                algorithm: self.algorithm().to_owned(),
                reason: format!(
                    "cost must be between {} and {}",
                    Self::MIN_COST,
                    Self::MAX_COST
                ),
            });
        }
        Ok(Self { cost, ..self })
    }

    /// The cost of new hashes.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Reads the `$2b$12$<salt>` at the start of `setting` (a salt, or a whole hash).
    fn setting(setting: &str) -> Option<Setting<'_>> {
        let bytes = setting.as_bytes();
        if bytes.len() < 29
            || bytes[0] != b'$'
            || bytes[1] != b'2'
            || bytes[3] != b'$'
            || bytes[6] != b'$'
        {
            return None;
        }
        let version = match bytes[2] {
            b'a' => ::bcrypt::Version::TwoA,
            b'b' => ::bcrypt::Version::TwoB,
            b'y' => ::bcrypt::Version::TwoY,
            _ => return None,
        };
        let cost = setting.get(4..6)?;
        if !cost.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let cost: u32 = cost.parse().ok()?;
        if !(Self::MIN_COST..=Self::MAX_COST).contains(&cost) {
            return None;
        }
        let salt_text = setting.get(7..29)?;
        let salt = BCRYPT_B64.decode(salt_text).ok()?.try_into().ok()?;
        Some(Setting {
            version,
            cost,
            salt,
            salt_text,
        })
    }

    /// The encoded hash of `password` with the setting's version, cost and salt;
    /// `None` if bcrypt refuses. Truncates plain passwords to 72 bytes, as bcrypt does.
    fn derive(self, password: &str, setting: &Setting<'_>) -> Option<String> {
        let parts = if self.prehash {
            let hex = hex_lower(&Sha256::digest(password.as_bytes()));
            ::bcrypt::hash_with_salt(hex, setting.cost, setting.salt)
        } else {
            ::bcrypt::hash_with_salt(password.as_bytes(), setting.cost, setting.salt)
        }
        .ok()?;
        let bcrypt = parts.format_for_version(setting.version.clone());
        // The salt must read back as given (no stray bits in its last character).
        if bcrypt.get(7..29) != Some(setting.salt_text) {
            return None;
        }
        Some(format!("{}${bcrypt}", self.algorithm()))
    }

    /// The bcrypt part of `encoded`, when it is of this algorithm and well formed.
    fn bcrypt_part(self, encoded: &str) -> Option<&str> {
        let rest = encoded.strip_prefix(self.algorithm())?.strip_prefix('$')?;
        (rest.len() == BCRYPT_LEN).then_some(rest)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

impl Hasher for BcryptHasher {
    fn algorithm(&self) -> &'static str {
        if self.prehash {
            "bcrypt_sha256"
        } else {
            "bcrypt"
        }
    }

    /// Django's `bcrypt.gensalt(cost)`: `$2b$<cost>$` and 16 random bytes in bcrypt's
    /// base64.
    fn salt(&self) -> String {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        format!("$2b${:02}${}", self.cost, BCRYPT_B64.encode(salt))
    }

    /// `salt` is a bcrypt setting, `$2b$12$` and 22 characters of bcrypt's base64, as
    /// [`Hasher::salt`] makes; its version and cost are used, as in Django.
    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
        check_password_len(password)?;
        if !self.prehash && password.len() > BCRYPT_MAX_PASSWORD {
            return Err(HashError::PasswordTooLong {
                max: BCRYPT_MAX_PASSWORD,
            });
        }
        let invalid = || HashError::InvalidSalt {
            algorithm: self.algorithm().to_owned(),
            reason: "expected `$2b$<cost 04-16>$` and 22 characters of bcrypt's base64",
        };
        let setting = Self::setting(salt).ok_or_else(invalid)?;
        self.derive(password, &setting).ok_or_else(invalid)
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        // Plain bcrypt would compare only the first 72 bytes, so a longer password would
        // match the hash of its prefix; Django 5.2 with bcrypt 5 refuses it (ValueError),
        // and so do we.
        if password.len() > MAX_PASSWORD_LEN
            || (!self.prehash && password.len() > BCRYPT_MAX_PASSWORD)
        {
            return false;
        }
        let Some(setting) = self.bcrypt_part(encoded).and_then(Self::setting) else {
            return false;
        };
        self.derive(password, &setting)
            .is_some_and(|again| ct_eq(again.as_bytes(), encoded.as_bytes()))
    }

    fn must_update(&self, encoded: &str) -> bool {
        self.bcrypt_part(encoded)
            .and_then(Self::setting)
            .is_none_or(|setting| setting.cost < self.cost)
    }

    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        let setting = self.bcrypt_part(encoded).and_then(Self::setting)?;
        Some(SafeSummary::new(self.algorithm()).with("work factor", setting.cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's BCryptSHA256PasswordHasher / BCryptPasswordHasher (bcrypt 5).
    const SHA256_04: &str =
        "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S";
    const SHA256_12: &str =
        "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuVrQ4zCyEDfwKOXCre954in7jn/y/.ua";
    const PLAIN_04: &str = "bcrypt$$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG";
    // `bcrypt.hashpw(b"x" * 71, salt)` with each version prefix.
    const X71: [&str; 3] = [
        "bcrypt$$2b$04$abcdefghijklmnopqrstuu.gc7UY/21CSNJGJg21jJzx9QiOpJ9bO",
        "bcrypt$$2a$04$abcdefghijklmnopqrstuu.gc7UY/21CSNJGJg21jJzx9QiOpJ9bO",
        "bcrypt$$2y$04$abcdefghijklmnopqrstuu.gc7UY/21CSNJGJg21jJzx9QiOpJ9bO",
    ];

    #[test]
    fn django_vectors_verify_and_encode() {
        let sha256 = BcryptHasher::sha256();
        assert!(sha256.verify("lètmein", SHA256_04));
        assert!(!sha256.verify("letmein", SHA256_04));
        assert!(sha256.verify("lètmein", SHA256_12));
        assert!(!sha256.must_update(SHA256_12));
        assert!(sha256.must_update(SHA256_04));
        assert!(!sha256.verify("lètmein", PLAIN_04), "other algorithm");

        let plain = BcryptHasher::plain();
        assert!(plain.verify("lètmein", PLAIN_04));
        assert!(!plain.verify("letmein", PLAIN_04));
        for encoded in X71 {
            assert!(plain.verify(&"x".repeat(71), encoded), "{encoded}");
        }
        assert_eq!(
            sha256
                .encode("lètmein", "$2b$04$abcdefghijklmnopqrstuu")
                .expect("encode"),
            SHA256_04
        );
    }

    #[test]
    fn plain_bcrypt_refuses_passwords_beyond_72_bytes() {
        let plain = BcryptHasher::plain().with_cost(4).expect("cost");
        let long = "y".repeat(100);
        assert_eq!(
            plain.make(&long),
            Err(HashError::PasswordTooLong { max: 72 })
        );
        let encoded = plain.make(&long[..72]).expect("72 bytes are fine");
        assert!(plain.verify(&long[..72], &encoded));
        // bcrypt itself would read only the first 72 bytes and accept this; Django 5.2
        // with bcrypt 5 refuses it (ValueError), and so do we.
        assert!(!plain.verify(&long, &encoded));
        assert!(!plain.verify(&long[..73], &encoded));
        // bcrypt_sha256 has no such limit and tells long passwords apart.
        let sha256 = BcryptHasher::sha256().with_cost(4).expect("cost");
        let encoded = sha256.make(&long).expect("make");
        assert!(sha256.verify(&long, &encoded));
        assert!(!sha256.verify(&long[..72], &encoded));
    }

    #[test]
    fn malformed_and_absurd_hashes_are_refused() {
        let hasher = BcryptHasher::sha256();
        let start = std::time::Instant::now();
        for encoded in [
            "",
            "bcrypt_sha256",
            "bcrypt_sha256$",
            "bcrypt_sha256$$",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6SS",
            "bcrypt_sha256$$2b$31$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$17$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$03$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$+4$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2x$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuvlyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrst!ulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$$2b$04$abcdéfghijklmnopqrstulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt_sha256$x2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
        ] {
            assert!(!hasher.verify("lètmein", encoded), "{encoded}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert!(hasher.encode("pw", "").is_err());
        assert!(
            hasher
                .encode("pw", "$2b$31$abcdefghijklmnopqrstuu")
                .is_err()
        );
        assert!(BcryptHasher::sha256().with_cost(17).is_err());
        assert!(BcryptHasher::sha256().with_cost(3).is_err());
    }

    #[test]
    fn made_hashes_round_trip() {
        for hasher in [BcryptHasher::sha256(), BcryptHasher::plain()] {
            let hasher = hasher.with_cost(4).expect("cost");
            let salt = hasher.salt();
            assert!(salt.starts_with("$2b$04$") && salt.len() == 29, "{salt}");
            for password in ["", "pässwörd"] {
                let encoded = hasher.make(password).expect("make");
                assert!(hasher.verify(password, &encoded));
                assert!(!hasher.verify("other", &encoded));
                assert!(!hasher.must_update(&encoded));
            }
        }
        assert_eq!(
            BcryptHasher::sha256()
                .safe_summary(SHA256_12)
                .map(|s| s.to_string()),
            Some("algorithm: bcrypt_sha256 work factor: 12".into())
        );
    }
}
