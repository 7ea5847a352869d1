//! Django's `PBKDF2PasswordHasher` (`pbkdf2_sha256`) and `PBKDF2SHA1PasswordHasher`
//! (`pbkdf2_sha1`): `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>`.

use sha1::Sha1;
use sha2::Sha256;

use super::{
    HashError, Hasher, MAX_ENCODED_LEN, MAX_PASSWORD_LEN, SafeSummary, b64_padded,
    check_password_len, check_salt, ct_eq, parse_decimal, salt_is_weak,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha256,
    Sha1,
}

/// PBKDF2-HMAC with SHA-256 (`pbkdf2_sha256`, Django's default) or SHA-1
/// (`pbkdf2_sha1`). The digest is as long as the hash function's output, as in Django.
///
/// ```
/// use batteries_auth::hashers::{Hasher, Pbkdf2Hasher};
///
/// # fn main() -> Result<(), batteries_auth::hashers::HashError> {
/// let hasher = Pbkdf2Hasher::sha256().with_iterations(1000)?;
/// let encoded = hasher.encode("lètmein", "seasalt")?;
/// assert_eq!(encoded, "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=");
/// assert!(hasher.verify("lètmein", &encoded));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pbkdf2Hasher {
    digest: Digest,
    iterations: u32,
}

impl Default for Pbkdf2Hasher {
    /// [`Pbkdf2Hasher::sha256`].
    fn default() -> Self {
        Self::sha256()
    }
}

impl Pbkdf2Hasher {
    /// Django 5.2's iteration count, so that hashes made here are current for Django.
    pub const DEFAULT_ITERATIONS: u32 = 1_000_000;

    /// The most iterations a hash may ask for (ten times Django 5.2's).
    pub const MAX_ITERATIONS: u32 = 10_000_000;

    /// `pbkdf2_sha256` with [`Self::DEFAULT_ITERATIONS`].
    pub fn sha256() -> Self {
        Self {
            digest: Digest::Sha256,
            iterations: Self::DEFAULT_ITERATIONS,
        }
    }

    /// `pbkdf2_sha1` with [`Self::DEFAULT_ITERATIONS`].
    pub fn sha1() -> Self {
        Self {
            digest: Digest::Sha1,
            iterations: Self::DEFAULT_ITERATIONS,
        }
    }

    /// The same hasher making hashes with `iterations`.
    ///
    /// # Errors
    /// Unless `1 <= iterations <= MAX_ITERATIONS`.
    pub fn with_iterations(self, iterations: u32) -> Result<Self, HashError> {
        if !(1..=Self::MAX_ITERATIONS).contains(&iterations) {
            return Err(HashError::InvalidParameters {
                algorithm: self.algorithm().to_owned(),
                reason: format!("iterations must be between 1 and {}", Self::MAX_ITERATIONS),
            });
        }
        Ok(Self { iterations, ..self })
    }

    /// The iterations of new hashes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    fn derive(self, password: &str, salt: &str, iterations: u32) -> String {
        let (pw, s) = (password.as_bytes(), salt.as_bytes());
        let digest = match self.digest {
            Digest::Sha256 => b64_padded(&::pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(
                pw, s, iterations,
            )),
            Digest::Sha1 => b64_padded(&::pbkdf2::pbkdf2_hmac_array::<Sha1, 20>(pw, s, iterations)),
        };
        format!("{}${iterations}${salt}${digest}", self.algorithm())
    }

    /// `(iterations, salt, digest)` of a well-formed hash within the caps.
    fn decode(self, encoded: &str) -> Option<(u32, &str, &str)> {
        if encoded.len() > MAX_ENCODED_LEN {
            return None;
        }
        let rest = encoded.strip_prefix(self.algorithm())?.strip_prefix('$')?;
        let mut parts = rest.splitn(3, '$');
        let iterations = parse_decimal(parts.next()?, u64::from(Self::MAX_ITERATIONS))?;
        let salt = parts.next()?;
        let digest = parts.next()?;
        if iterations == 0 || salt.is_empty() || digest.is_empty() {
            return None;
        }
        Some((u32::try_from(iterations).ok()?, salt, digest))
    }
}

impl Hasher for Pbkdf2Hasher {
    fn algorithm(&self) -> &'static str {
        match self.digest {
            Digest::Sha256 => "pbkdf2_sha256",
            Digest::Sha1 => "pbkdf2_sha1",
        }
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
        check_password_len(password)?;
        check_salt(self.algorithm(), salt)?;
        Ok(self.derive(password, salt, self.iterations))
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        let Some((iterations, salt, _)) = self.decode(encoded) else {
            return false;
        };
        // As Django: re-encode and compare the whole strings.
        ct_eq(
            self.derive(password, salt, iterations).as_bytes(),
            encoded.as_bytes(),
        )
    }

    fn must_update(&self, encoded: &str) -> bool {
        self.decode(encoded).is_none_or(|(iterations, salt, _)| {
            iterations < self.iterations || salt_is_weak(salt.chars().count())
        })
    }

    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        let (iterations, _, _) = self.decode(encoded)?;
        Some(SafeSummary::new(self.algorithm()).with("iterations", iterations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's PBKDF2PasswordHasher / PBKDF2SHA1PasswordHasher.
    const SHA256_1000: &str =
        "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=";
    const SHA256_DEFAULT: &str =
        "pbkdf2_sha256$1000000$seasaltseasaltseasalt1$mkdC/YrV3SKF7GV4I45j5tXoL312OSJIxxxs2khqIaU=";
    const SHA1_1000: &str = "pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=";

    fn cheap(hasher: Pbkdf2Hasher) -> Pbkdf2Hasher {
        hasher.with_iterations(1000).expect("iterations")
    }

    #[test]
    fn django_vectors_verify() {
        assert!(Pbkdf2Hasher::sha256().verify("lètmein", SHA256_1000));
        assert!(!Pbkdf2Hasher::sha256().verify("letmein", SHA256_1000));
        assert!(Pbkdf2Hasher::sha1().verify("lètmein", SHA1_1000));
        assert!(!Pbkdf2Hasher::sha1().verify("lètmein", SHA256_1000));
        assert!(!Pbkdf2Hasher::sha256().verify("lètmein", SHA1_1000));
    }

    #[test]
    fn django_default_cost_vector_verifies_without_upgrade() {
        let hasher = Pbkdf2Hasher::sha256();
        assert!(hasher.verify("lètmein", SHA256_DEFAULT));
        assert!(!hasher.must_update(SHA256_DEFAULT));
    }

    #[test]
    fn encode_matches_django() {
        assert_eq!(
            cheap(Pbkdf2Hasher::sha256())
                .encode("lètmein", "seasalt")
                .expect("encode"),
            SHA256_1000
        );
        assert_eq!(
            cheap(Pbkdf2Hasher::sha1())
                .encode("lètmein", "seasalt")
                .expect("encode"),
            SHA1_1000
        );
    }

    #[test]
    fn must_update_when_weaker() {
        let hasher = Pbkdf2Hasher::sha256();
        assert!(hasher.must_update(SHA256_1000), "fewer iterations");
        let stronger = "pbkdf2_sha256$1200000$seasaltseasaltseasalt1$AAAA";
        assert!(!hasher.must_update(stronger), "more iterations are kept");
        let short_salt = "pbkdf2_sha256$1000000$seasalt$AAAA";
        assert!(hasher.must_update(short_salt), "salt under 128 bits");
        assert!(hasher.must_update("pbkdf2_sha256$garbage"));
    }

    #[test]
    fn malformed_and_absurd_hashes_are_refused_quickly() {
        let hasher = Pbkdf2Hasher::sha256();
        let start = std::time::Instant::now();
        for encoded in [
            "",
            "pbkdf2_sha256",
            "pbkdf2_sha256$",
            "pbkdf2_sha256$1000",
            "pbkdf2_sha256$1000$seasalt",
            "pbkdf2_sha256$1000$seasalt$",
            "pbkdf2_sha256$$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$0$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$01000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$+1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$-1$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$1000000000000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "pbkdf2_sha256$99999999999999999999999$seasalt$x",
            "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4",
            "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=$",
            "pbkdf2_sha256x$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
            "PBKDF2_SHA256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=",
        ] {
            assert!(!hasher.verify("lètmein", encoded), "{encoded}");
        }
        let huge_salt = format!("pbkdf2_sha256$1000${}$x", "s".repeat(MAX_ENCODED_LEN));
        assert!(!hasher.verify("lètmein", &huge_salt));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn bad_parameters_and_salts_are_errors() {
        assert!(Pbkdf2Hasher::sha256().with_iterations(0).is_err());
        assert!(
            Pbkdf2Hasher::sha256()
                .with_iterations(Pbkdf2Hasher::MAX_ITERATIONS + 1)
                .is_err()
        );
        let hasher = cheap(Pbkdf2Hasher::sha256());
        assert!(hasher.encode("pw", "").is_err());
        assert!(hasher.encode("pw", "a$b").is_err());
        assert!(hasher.encode("pw", &"s".repeat(300)).is_err());
        assert!(
            hasher
                .encode(&"x".repeat(MAX_PASSWORD_LEN + 1), "salt")
                .is_err()
        );
    }

    #[test]
    fn made_hashes_round_trip() {
        for hasher in [cheap(Pbkdf2Hasher::sha256()), cheap(Pbkdf2Hasher::sha1())] {
            for password in ["", "pässwörd", "🔑 key"] {
                let encoded = hasher.make(password).expect("make");
                assert!(hasher.verify(password, &encoded));
                assert!(!hasher.verify("other", &encoded));
                assert!(!hasher.must_update(&encoded));
            }
        }
    }
}
