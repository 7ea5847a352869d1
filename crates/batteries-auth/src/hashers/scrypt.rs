//! Django's `ScryptPasswordHasher`: `scrypt$<n>$<salt>$<r>$<p>$<base64 digest>`, a
//! 64-byte digest.

use super::{
    HashError, Hasher, MAX_ENCODED_LEN, MAX_PASSWORD_LEN, SafeSummary, b64_padded,
    check_password_len, check_salt, ct_eq, parse_decimal, salt_is_weak,
};

/// Django's digest length.
const DKLEN: usize = 64;

/// scrypt (`scrypt`), with Django's parameters by default: n=2^14, r=8, p=5 (16 MiB).
///
/// ```
/// use batteries_auth::hashers::{Hasher, ScryptHasher};
///
/// # fn main() -> Result<(), batteries_auth::hashers::HashError> {
/// let hasher = ScryptHasher::with_params(1024, 8, 1)?;
/// let encoded = hasher.encode("lètmein", "seasaltseasaltseasalt1")?;
/// assert!(encoded.starts_with("scrypt$1024$seasaltseasaltseasalt1$8$1$"));
/// assert!(hasher.verify("lètmein", &encoded));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptHasher {
    log_n: u8,
    r: u32,
    p: u32,
}

impl Default for ScryptHasher {
    /// Django's parameters: n=2^14, r=8, p=5.
    fn default() -> Self {
        Self {
            log_n: 14,
            r: 8,
            p: 5,
        }
    }
}

impl ScryptHasher {
    /// The most memory a hash may ask for, 128·n·r bytes: 128 MiB, OWASP's
    /// recommendation (n=2^17, r=8). Django's default needs 16 MiB; through OpenSSL,
    /// Django itself cannot verify hashes needing more than 32 MiB.
    pub const MAX_MEMORY: u64 = 128 << 20;

    /// The most work a hash may ask for, n·r·p: 2^23 (Django's default is 655,360).
    pub const MAX_WORK: u64 = 1 << 23;

    /// The largest parallelism `p`.
    pub const MAX_PARALLELISM: u32 = 64;

    /// A hasher making hashes with cost `n` (a power of two), block size `r` and
    /// parallelism `p`.
    ///
    /// # Errors
    /// When the parameters are invalid for scrypt or beyond [`Self::MAX_MEMORY`],
    /// [`Self::MAX_WORK`] or [`Self::MAX_PARALLELISM`].
    pub fn with_params(n: u64, r: u32, p: u32) -> Result<Self, HashError> {
        let log_n = checked_log_n(n, r, p).ok_or_else(|| HashError::InvalidParameters {
            algorithm: "scrypt".to_owned(),
            reason: format!(
                "n must be a power of two >= 2, r and p at least 1, p at most {}, \
                 128*n*r at most {} bytes and n*r*p at most {}",
                Self::MAX_PARALLELISM,
                Self::MAX_MEMORY,
                Self::MAX_WORK
            ),
        })?;
        Ok(Self { log_n, r, p })
    }

    fn n(self) -> u64 {
        1 << self.log_n
    }

    fn derive(password: &str, salt: &str, log_n: u8, r: u32, p: u32) -> Option<String> {
        let params = ::scrypt::Params::new(log_n, r, p, DKLEN).ok()?;
        let mut digest = [0u8; DKLEN];
        ::scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut digest).ok()?;
        Some(format!(
            "scrypt${n}${salt}${r}${p}${}",
            b64_padded(&digest),
            n = 1u64 << log_n
        ))
    }

    /// `(parameters, salt)` of a well-formed hash within the caps.
    fn decode(encoded: &str) -> Option<(Self, &str)> {
        if encoded.len() > MAX_ENCODED_LEN {
            return None;
        }
        let mut parts = encoded.strip_prefix("scrypt$")?.splitn(5, '$');
        let n = parse_decimal(parts.next()?, 1 << 32)?;
        let salt = parts.next()?;
        let r = u32::try_from(parse_decimal(parts.next()?, u64::from(u32::MAX))?).ok()?;
        let p = u32::try_from(parse_decimal(parts.next()?, u64::from(u32::MAX))?).ok()?;
        let digest = parts.next()?;
        if salt.is_empty() || digest.is_empty() {
            return None;
        }
        let log_n = checked_log_n(n, r, p)?;
        Some((Self { log_n, r, p }, salt))
    }
}

/// `log2(n)` when the parameters are valid and within the caps.
fn checked_log_n(n: u64, r: u32, p: u32) -> Option<u8> {
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 || p > ScryptHasher::MAX_PARALLELISM {
        return None;
    }
    let memory = 128u64.checked_mul(n)?.checked_mul(u64::from(r))?;
    let work = n.checked_mul(u64::from(r))?.checked_mul(u64::from(p))?;
    if memory > ScryptHasher::MAX_MEMORY || work > ScryptHasher::MAX_WORK {
        return None;
    }
    let log_n = u8::try_from(n.trailing_zeros()).ok()?;
    // The crate's own checks (n < 2^(16 r), among others).
    ::scrypt::Params::new(log_n, r, p, DKLEN).ok()?;
    Some(log_n)
}

impl Hasher for ScryptHasher {
    fn algorithm(&self) -> &'static str {
        "scrypt"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
        check_password_len(password)?;
        check_salt(self.algorithm(), salt)?;
        Self::derive(password, salt, self.log_n, self.r, self.p).ok_or_else(|| HashError::Failed {
            algorithm: self.algorithm().to_owned(),
        })
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        let Some((params, salt)) = Self::decode(encoded) else {
            return false;
        };
        Self::derive(password, salt, params.log_n, params.r, params.p)
            .is_some_and(|again| ct_eq(again.as_bytes(), encoded.as_bytes()))
    }

    fn must_update(&self, encoded: &str) -> bool {
        let Some((old, salt)) = Self::decode(encoded) else {
            return true;
        };
        let memory = |h: Self| h.n() * u64::from(h.r);
        let work = |h: Self| memory(h) * u64::from(h.p);
        memory(old) < memory(*self) || work(old) < work(*self) || salt_is_weak(salt.chars().count())
    }

    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        let (params, _) = Self::decode(encoded)?;
        Some(
            SafeSummary::new(self.algorithm())
                .with("work factor", params.n())
                .with("block size", params.r)
                .with("parallelism", params.p),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's ScryptPasswordHasher.
    const DJANGO_CHEAP: &str = "scrypt$1024$seasaltseasaltseasalt1$8$1$4Z94RlswCOaMinh6DsZdHrSpLD1+0t+YKkIDeX5rcxjbs5Gu1/qJwQPhn+3VSrG5Eihv4j9AoamLc7ZYVMRFyQ==";
    const DJANGO_DEFAULT: &str = "scrypt$16384$seasaltseasaltseasalt1$8$5$lg4jDIwtgAuOIa3TPkjeMNAxpY6UzMsL8zZkCyvkSvGayuH7QQjfFnE65KZ+VncJEceL6PMtsDN1+n+nK0BkJQ==";

    #[test]
    fn django_vectors_verify_and_encode() {
        let hasher = ScryptHasher::default();
        assert!(hasher.verify("lètmein", DJANGO_CHEAP));
        assert!(!hasher.verify("letmein", DJANGO_CHEAP));
        assert!(hasher.verify("lètmein", DJANGO_DEFAULT));
        assert!(!hasher.must_update(DJANGO_DEFAULT));
        assert!(hasher.must_update(DJANGO_CHEAP));
        let cheap = ScryptHasher::with_params(1024, 8, 1).expect("params");
        assert_eq!(
            cheap
                .encode("lètmein", "seasaltseasaltseasalt1")
                .expect("encode"),
            DJANGO_CHEAP
        );
    }

    #[test]
    fn must_update_only_when_weaker() {
        let hasher = ScryptHasher::default();
        let salt = "seasaltseasaltseasalt1";
        for (n, r, p, weaker) in [
            (16384, 8, 5, false),
            (32768, 8, 5, false),
            (16384, 8, 6, false),
            (8192, 8, 5, true),
            (16384, 4, 5, true),
            (16384, 8, 1, true),
        ] {
            let encoded = format!("scrypt${n}${salt}${r}${p}$AAAA");
            assert_eq!(hasher.must_update(&encoded), weaker, "{encoded}");
        }
        assert!(hasher.must_update("scrypt$16384$short$8$5$AAAA"));
    }

    #[test]
    fn absurd_parameters_are_refused_quickly() {
        let hasher = ScryptHasher::default();
        let start = std::time::Instant::now();
        for encoded in [
            "scrypt$1099511627776$seasaltseasaltseasalt1$8$5$AAAA",
            "scrypt$1048576$seasaltseasaltseasalt1$8$1$AAAA",
            "scrypt$16384$seasaltseasaltseasalt1$8$4096$AAAA",
            "scrypt$16384$seasaltseasaltseasalt1$1073741824$1$AAAA",
            "scrypt$16385$seasaltseasaltseasalt1$8$5$AAAA",
            "scrypt$1$seasaltseasaltseasalt1$8$5$AAAA",
            "scrypt$0$seasaltseasaltseasalt1$8$5$AAAA",
            "scrypt$16384$seasaltseasaltseasalt1$0$5$AAAA",
            "scrypt$16384$seasaltseasaltseasalt1$8$0$AAAA",
            "scrypt$65536$seasaltseasaltseasalt1$1$1$AAAA",
            "scrypt$16384$$8$5$AAAA",
            "scrypt$16384$seasaltseasaltseasalt1$8$5$",
            "scrypt$16384$seasaltseasaltseasalt1$8$5",
            "scrypt$16384$seasaltseasaltseasalt1$8",
            "scrypt$",
            "scrypt",
        ] {
            assert!(!hasher.verify("lètmein", encoded), "{encoded}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert!(ScryptHasher::with_params(1 << 20, 8, 1).is_err());
        assert!(ScryptHasher::with_params(1 << 18, 8, 1).is_err());
        assert!(ScryptHasher::with_params(1000, 8, 1).is_err());
        assert!(ScryptHasher::with_params(1 << 17, 8, 1).is_ok());
    }

    #[test]
    fn made_hashes_round_trip() {
        let hasher = ScryptHasher::with_params(1024, 8, 1).expect("params");
        for password in ["", "pässwörd"] {
            let encoded = hasher.make(password).expect("make");
            assert!(hasher.verify(password, &encoded));
            assert!(!hasher.verify("other", &encoded));
            assert!(!hasher.must_update(&encoded));
        }
        assert_eq!(
            hasher.safe_summary(DJANGO_DEFAULT).map(|s| s.to_string()),
            Some("algorithm: scrypt work factor: 16384 block size: 8 parallelism: 5".into())
        );
    }
}
