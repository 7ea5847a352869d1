//! Django's `Argon2PasswordHasher`: `argon2` followed by the PHC string argon2-cffi
//! writes, `argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<digest>` (unpadded base64).

use ::argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;

use super::{
    B64_PHC, HashError, Hasher, MAX_ENCODED_LEN, MAX_PASSWORD_LEN, MAX_SALT_LEN, SafeSummary,
    check_password_len, check_salt, ct_eq, parse_decimal, salt_is_weak,
};

/// argon2-cffi's (and Django's) digest length.
const HASH_LEN: usize = 32;

/// argon2's shortest salt.
const MIN_SALT_LEN: usize = 8;

/// Digest lengths accepted when verifying.
const HASH_LENS: std::ops::RangeInclusive<usize> = 4..=128;

/// argon2id (`argon2`) with OWASP's parameters by default: m=19456 KiB, t=2, p=1.
///
/// Django's own defaults are m=102400, t=2, p=8; its hashes verify here, and are not
/// re-hashed since they are not weaker. Verifies argon2i, argon2d and argon2id hashes of
/// versions 16 and 19; makes argon2id version 19. The salt is the salt string's bytes,
/// as in Django.
///
/// ```
/// use batteries_auth::hashers::{Argon2Hasher, Hasher};
///
/// # fn main() -> Result<(), batteries_auth::hashers::HashError> {
/// let hasher = Argon2Hasher::default();
/// let encoded = hasher.make("lètmein")?;
/// assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert!(hasher.verify("lètmein", &encoded));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Hasher {
    memory_kib: u32,
    time_cost: u32,
    parallelism: u32,
}

impl Default for Argon2Hasher {
    /// OWASP's parameters: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: Self::DEFAULT_MEMORY_KIB,
            time_cost: Self::DEFAULT_TIME_COST,
            parallelism: Self::DEFAULT_PARALLELISM,
        }
    }
}

/// A parsed argon2 hash.
struct Decoded {
    algorithm: Algorithm,
    version: Version,
    memory_kib: u32,
    time_cost: u32,
    parallelism: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Argon2Hasher {
    /// OWASP's memory cost, in KiB.
    pub const DEFAULT_MEMORY_KIB: u32 = 19_456;
    /// OWASP's time cost (passes).
    pub const DEFAULT_TIME_COST: u32 = 2;
    /// OWASP's parallelism (lanes).
    pub const DEFAULT_PARALLELISM: u32 = 1;

    /// The most memory a hash may ask for: 256 MiB (Django's default uses 100 MiB).
    pub const MAX_MEMORY_KIB: u32 = 262_144;
    /// The most passes a hash may ask for.
    pub const MAX_TIME_COST: u32 = 16;
    /// The most lanes a hash may ask for.
    pub const MAX_PARALLELISM: u32 = 64;

    /// A hasher making argon2id hashes with `memory_kib` KiB, `time_cost` passes and
    /// `parallelism` lanes.
    ///
    /// # Errors
    /// When argon2 refuses the parameters (memory under 8 KiB per lane) or they exceed
    /// [`Self::MAX_MEMORY_KIB`], [`Self::MAX_TIME_COST`] or [`Self::MAX_PARALLELISM`].
    pub fn with_params(
        memory_kib: u32,
        time_cost: u32,
        parallelism: u32,
    ) -> Result<Self, HashError> {
        if params(memory_kib, time_cost, parallelism, HASH_LEN).is_none() {
            return Err(HashError::InvalidParameters {
                algorithm: "argon2".to_owned(),
                reason: format!(
                    "memory must be at least 8 KiB per lane and at most {} KiB, time cost \
                     between 1 and {}, parallelism between 1 and {}",
                    Self::MAX_MEMORY_KIB,
                    Self::MAX_TIME_COST,
                    Self::MAX_PARALLELISM
                ),
            });
        }
        Ok(Self {
            memory_kib,
            time_cost,
            parallelism,
        })
    }

    fn decode(encoded: &str) -> Option<Decoded> {
        if encoded.len() > MAX_ENCODED_LEN {
            return None;
        }
        let mut parts = encoded.strip_prefix("argon2$")?.split('$');
        let algorithm = match parts.next()? {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return None,
        };
        let mut next = parts.next()?;
        // Hashes from before version 19 may omit `v=`.
        let version = match next.strip_prefix("v=") {
            Some(v) => {
                next = parts.next()?;
                match v {
                    "19" => Version::V0x13,
                    "16" => Version::V0x10,
                    _ => return None,
                }
            }
            None => Version::V0x10,
        };
        let mut costs = next.split(',');
        let mut cost = |name: &str| {
            let value = costs.next()?.strip_prefix(name)?;
            u32::try_from(parse_decimal(value, u64::from(u32::MAX))?).ok()
        };
        let (memory_kib, time_cost, parallelism) = (cost("m=")?, cost("t=")?, cost("p=")?);
        if costs.next().is_some() {
            return None;
        }
        let salt = B64_PHC.decode(parts.next()?).ok()?;
        let hash = B64_PHC.decode(parts.next()?).ok()?;
        if parts.next().is_some()
            || !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt.len())
            || !HASH_LENS.contains(&hash.len())
        {
            return None;
        }
        params(memory_kib, time_cost, parallelism, hash.len())?;
        Some(Decoded {
            algorithm,
            version,
            memory_kib,
            time_cost,
            parallelism,
            salt,
            hash,
        })
    }
}

/// argon2's parameters when valid and within our caps.
fn params(memory_kib: u32, time_cost: u32, parallelism: u32, hash_len: usize) -> Option<Params> {
    if memory_kib > Argon2Hasher::MAX_MEMORY_KIB
        || !(1..=Argon2Hasher::MAX_TIME_COST).contains(&time_cost)
        || !(1..=Argon2Hasher::MAX_PARALLELISM).contains(&parallelism)
    {
        return None;
    }
    Params::new(memory_kib, time_cost, parallelism, Some(hash_len)).ok()
}

/// The digest of `password` under `params`; `None` if argon2 refuses.
fn digest(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: &[u8],
    hash_len: usize,
) -> Option<Vec<u8>> {
    let mut out = vec![0u8; hash_len];
    Argon2::new(algorithm, version, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

impl Hasher for Argon2Hasher {
    fn algorithm(&self) -> &'static str {
        "argon2"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
        check_password_len(password)?;
        check_salt(self.algorithm(), salt)?;
        if salt.len() < MIN_SALT_LEN {
            return Err(HashError::InvalidSalt {
                algorithm: self.algorithm().to_owned(),
                reason: "it must be at least 8 bytes",
            });
        }
        let failed = || HashError::Failed {
            algorithm: self.algorithm().to_owned(),
        };
        let params = params(self.memory_kib, self.time_cost, self.parallelism, HASH_LEN)
            .ok_or_else(failed)?;
        let hash = digest(
            Algorithm::Argon2id,
            Version::V0x13,
            params,
            password,
            salt.as_bytes(),
            HASH_LEN,
        )
        .ok_or_else(failed)?;
        Ok(format!(
            "argon2$argon2id$v=19$m={},t={},p={}${}${}",
            self.memory_kib,
            self.time_cost,
            self.parallelism,
            B64_PHC.encode(salt),
            B64_PHC.encode(hash)
        ))
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        let Some(d) = Self::decode(encoded) else {
            return false;
        };
        let Some(params) = params(d.memory_kib, d.time_cost, d.parallelism, d.hash.len()) else {
            return false;
        };
        digest(
            d.algorithm,
            d.version,
            params,
            password,
            &d.salt,
            d.hash.len(),
        )
        .is_some_and(|again| ct_eq(&again, &d.hash))
    }

    fn must_update(&self, encoded: &str) -> bool {
        Self::decode(encoded).is_none_or(|d| {
            d.algorithm != Algorithm::Argon2id
                || d.version != Version::V0x13
                || d.memory_kib < self.memory_kib
                || d.time_cost < self.time_cost
                || d.hash.len() < HASH_LEN
                || salt_is_weak(d.salt.len())
        })
    }

    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        let d = Self::decode(encoded)?;
        Some(
            SafeSummary::new(self.algorithm())
                .with("variety", d.algorithm.as_str())
                .with("version", u32::from(d.version))
                .with("memory cost", d.memory_kib)
                .with("time cost", d.time_cost)
                .with("parallelism", d.parallelism),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's Argon2PasswordHasher (argon2-cffi 25.1): a cheap subclass,
    // then the real defaults.
    const DJANGO_CHEAP: &str = "argon2$argon2id$v=19$m=256,t=1,p=2$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$6Y6RZSV12OSaes7ODYyPPqwWnaFFfblFJgCUcA8JjQg";
    const DJANGO_DEFAULT: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$xxk2kluVSVtjlIPDBEsQ3PlZ45SjTVTdtMn/477ektM";
    // argon2-cffi `hash_secret` with OWASP's parameters and salt `seasaltseasaltseasalt1`.
    const OWASP: &str = "argon2$argon2id$v=19$m=19456,t=2,p=1$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$2EM9y7oKvR8QiXs4cirxRc9t2FAL6o/NUmpUmyygna0";
    // Older varieties and versions, from argon2-cffi.
    const ARGON2I: &str = "argon2$argon2i$v=19$m=256,t=1,p=1$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$eJhQv52jix/1u1yoPju8EECHVF7QA5Z4AkNbHXw0X+Y";
    const ARGON2D: &str = "argon2$argon2d$v=19$m=256,t=1,p=1$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$yFN/LD2v9FY4XHwk3o/8tEe2/GxmuU3zRwWMfyDvgtU";
    const V16: &str = "argon2$argon2i$v=16$m=256,t=1,p=1$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$APDYoPx3l9ahOTd+/jfk9MQtJnmYsn48BCzowgqlPq8";
    const V16_BARE: &str = "argon2$argon2i$m=256,t=1,p=1$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$APDYoPx3l9ahOTd+/jfk9MQtJnmYsn48BCzowgqlPq8";

    #[test]
    fn django_and_argon2_cffi_vectors_verify() {
        let hasher = Argon2Hasher::default();
        for encoded in [
            DJANGO_CHEAP,
            DJANGO_DEFAULT,
            OWASP,
            ARGON2I,
            ARGON2D,
            V16,
            V16_BARE,
        ] {
            assert!(hasher.verify("lètmein", encoded), "{encoded}");
            assert!(!hasher.verify("letmein", encoded), "{encoded}");
        }
    }

    #[test]
    fn encode_matches_argon2_cffi() {
        assert_eq!(
            Argon2Hasher::default()
                .encode("lètmein", "seasaltseasaltseasalt1")
                .expect("encode"),
            OWASP
        );
        assert_eq!(
            Argon2Hasher::with_params(256, 1, 2)
                .expect("params")
                .encode("lètmein", "seasaltseasaltseasalt1")
                .expect("encode"),
            DJANGO_CHEAP
        );
    }

    #[test]
    fn must_update_only_when_weaker_or_older() {
        let hasher = Argon2Hasher::default();
        assert!(!hasher.must_update(OWASP));
        assert!(!hasher.must_update(DJANGO_DEFAULT), "more memory is kept");
        assert!(hasher.must_update(DJANGO_CHEAP), "less memory");
        assert!(hasher.must_update(ARGON2I));
        assert!(hasher.must_update(V16));
        let t1 = Argon2Hasher::with_params(19_456, 1, 1)
            .expect("params")
            .encode("pw", "seasaltseasaltseasalt1")
            .expect("encode");
        assert!(hasher.must_update(&t1), "one pass");
        let short_salt = Argon2Hasher::default()
            .encode("pw", "12345678")
            .expect("encode");
        assert!(hasher.must_update(&short_salt), "salt under 128 bits");
        assert!(hasher.must_update("argon2$garbage"));
    }

    #[test]
    fn malformed_and_absurd_hashes_are_refused_quickly() {
        let hasher = Argon2Hasher::default();
        let salt = "c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ";
        let hash = "6Y6RZSV12OSaes7ODYyPPqwWnaFFfblFJgCUcA8JjQg";
        let start = std::time::Instant::now();
        for encoded in [
            String::new(),
            "argon2".into(),
            "argon2$".into(),
            "argon2$argon2id".into(),
            "argon2$argon2id$v=19".into(),
            "argon2$argon2id$v=19$m=256,t=1,p=2".into(),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2${salt}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2${salt}$"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2${salt}${hash}$"),
            format!("argon2$argon2x$v=19$m=256,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=20$m=256,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$t=1,m=256,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2,k=1${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=0256,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=4294967295,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=99999999999,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=262145,t=1,p=1${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1000000,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=0,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=0${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=65${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=8,t=1,p=2${salt}${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2$c2Vhc2E${hash}"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2${salt}$6Y6R"),
            format!("argon2$argon2id$v=19$m=256,t=1,p=2$!!!!${hash}"),
            format!(
                "argon2$argon2id$v=19$m=256,t=1,p=2${salt}${}",
                "A".repeat(2000)
            ),
            format!("$argon2id$v=19$m=256,t=1,p=2${salt}${hash}"),
        ] {
            assert!(!hasher.verify("lètmein", &encoded), "{encoded}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn bad_parameters_and_salts_are_errors() {
        assert!(Argon2Hasher::with_params(Argon2Hasher::MAX_MEMORY_KIB + 1, 2, 1).is_err());
        assert!(Argon2Hasher::with_params(19_456, 0, 1).is_err());
        assert!(Argon2Hasher::with_params(19_456, 17, 1).is_err());
        assert!(Argon2Hasher::with_params(8, 1, 2).is_err());
        assert!(Argon2Hasher::with_params(102_400, 2, 8).is_ok());
        let hasher = Argon2Hasher::with_params(64, 1, 1).expect("params");
        assert!(hasher.encode("pw", "short").is_err());
        assert!(hasher.encode("pw", "").is_err());
        assert!(hasher.encode("pw", "has$dollar").is_err());
    }

    #[test]
    fn made_hashes_round_trip_and_summarise() {
        let hasher = Argon2Hasher::with_params(64, 1, 1).expect("params");
        for password in ["", "pässwörd", &"long".repeat(512)] {
            let encoded = hasher.make(password).expect("make");
            assert!(hasher.verify(password, &encoded));
            assert!(!hasher.verify("other", &encoded));
            assert!(!hasher.must_update(&encoded));
        }
        assert_eq!(
            hasher.safe_summary(DJANGO_DEFAULT).map(|s| s.to_string()),
            Some(
                "algorithm: argon2 variety: argon2id version: 19 memory cost: 102400 \
                 time cost: 2 parallelism: 8"
                    .into()
            )
        );
    }
}
