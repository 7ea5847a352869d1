//! Password hashing that reads and writes Django's encoded hashes
//! (`django.contrib.auth.hashers`).
//!
//! A hash is stored as `<algorithm>$<parameters and salt>$<digest>`, exactly as Django
//! stores it in `auth_user.password`, so Django and batteries can check each other's
//! passwords and share one user table.
//!
//! [`Hashers`] is Django's `PASSWORD_HASHERS`: an ordered list of [`Hasher`]s, the first
//! of which makes new hashes; all of them verify. [`Hashers::default()`] prefers argon2id
//! with OWASP's parameters and verifies every hash Django 5.2 can make:
//!
//! | algorithm (prefix) | ours | Django's class | default parameters |
//! | --- | --- | --- | --- |
//! | `argon2` | [`Argon2Hasher`] | `Argon2PasswordHasher` | argon2id, m=19456 KiB, t=2, p=1 (OWASP; Django's are m=102400, t=2, p=8) |
//! | `pbkdf2_sha256` | [`Pbkdf2Hasher::sha256`] | `PBKDF2PasswordHasher` | 1,000,000 iterations (Django 5.2) |
//! | `pbkdf2_sha1` | [`Pbkdf2Hasher::sha1`] | `PBKDF2SHA1PasswordHasher` | 1,000,000 iterations |
//! | `bcrypt_sha256` | [`BcryptHasher::sha256`] | `BCryptSHA256PasswordHasher` | cost 12 |
//! | `bcrypt` | [`BcryptHasher::plain`] | `BCryptPasswordHasher` | cost 12 |
//! | `scrypt` | [`ScryptHasher`] | `ScryptPasswordHasher` | n=2^14, r=8, p=5 (Django's) |
//! | `md5` | [`Md5Hasher`] | `MD5PasswordHasher` | salted MD5: verify legacy hashes only |
//!
//! Django 5.2 no longer ships its older `sha1`, `unsalted_md5`, `unsalted_sha1` and
//! `crypt` hashers; neither do we.
//!
//! # Upgrade on login
//!
//! [`Hashers::verify`] answers [`PasswordCheck::Valid`] with `needs_upgrade: true` when
//! the hash was made by another algorithm than the preferred one, or by the preferred
//! one with *weaker* parameters (fewer iterations, less memory, a shorter salt). The
//! caller then re-hashes the password it just checked with [`Hashers::make`] and saves
//! it. Unlike Django, which re-hashes whenever the parameters *differ*, a hash made
//! with stronger parameters is kept, so Django and batteries sharing a table do not
//! re-hash each other's passwords back and forth.
//!
//! # Limits
//!
//! Hashes come from a database, and a database can hold anything. Verifying never
//! panics and never spends unbounded time or memory: a malformed or truncated hash, an
//! unknown algorithm or a parameter beyond these caps simply does not verify.
//!
//! | what | cap |
//! | --- | --- |
//! | password | [`MAX_PASSWORD_LEN`] = 4096 bytes, Django 1.4.8–1.5's limit (longer ones neither hash nor verify) |
//! | encoded hash | [`MAX_ENCODED_LEN`] = 1024 bytes (Django's column holds 128) |
//! | salt given to `encode` | [`MAX_SALT_LEN`] = 256 bytes |
//! | argon2 | m ≤ 262,144 KiB (256 MiB), t ≤ 16, p ≤ 64, salt 8–256 bytes, digest 4–128 bytes |
//! | pbkdf2 | 1 ≤ iterations ≤ 10,000,000 |
//! | bcrypt | cost 4–16 |
//! | scrypt | n a power of two ≥ 2, memory 128·n·r ≤ 128 MiB, work n·r·p ≤ 2^23, p ≤ 64 |
//!
//! Plain `bcrypt` only reads the first 72 bytes of a password, so it refuses to *make* a
//! hash of a longer password ([`HashError::PasswordTooLong`]) and never *verifies* one
//! (it would match the hash of its first 72 bytes), as Django 5.2 with bcrypt 5 does;
//! `bcrypt_sha256` pre-hashes and has no such limit.
//!
//! Comparisons run in constant time. No error message or `Debug` output contains a
//! password, a salt or a digest.
//!
//! # Example
//!
//! ```
//! use batteries_auth::hashers::{Hashers, PasswordCheck};
//!
//! # fn main() -> Result<(), batteries_auth::hashers::HashError> {
//! let hashers = Hashers::default();
//! let encoded = hashers.make("correct horse battery staple")?;
//! assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"));
//! assert_eq!(
//!     hashers.verify("correct horse battery staple", &encoded),
//!     PasswordCheck::Valid { needs_upgrade: false },
//! );
//! assert!(!hashers.verify("wrong", &encoded).is_valid());
//!
//! // A hash made by Django's PBKDF2PasswordHasher verifies, and asks to be upgraded.
//! let from_django = "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=";
//! assert_eq!(
//!     hashers.verify("lètmein", from_django),
//!     PasswordCheck::Valid { needs_upgrade: true },
//! );
//! # Ok(())
//! # }
//! ```
//!
//! In async code, use [`Hashers::make_async`], [`Hashers::verify_async`] and
//! [`Hashers::dummy_verify_async`] (for unknown users): they hash off the executor, on
//! a small [`HashPool`] of dedicated threads.
//!
//! # Hashing under load
//!
//! One argon2id hash at the default parameters takes 19 MiB while it runs, and the
//! allocator keeps what each thread touched. The async functions therefore hash on a
//! [`HashPool`]: by default as many threads as cores (at most 8) and 8 waiting hashes
//! per thread; beyond that they fail at once with [`HashError::Busy`], which a login
//! view answers with `503 Service Unavailable` and `Retry-After: 1`
//! ([`BUSY_RETRY_AFTER`]). Memory for hashing is then about `threads × 19 MiB`
//! whatever the load. Set the size with `BATTERIES_HASH_THREADS` and
//! `BATTERIES_HASH_QUEUE`, [`HashPool::set_global`], or per registry with
//! [`Hashers::with_pool`]. The synchronous [`Hashers::make`] and [`Hashers::verify`]
//! run on the caller's thread, unbounded: keep them for scripts and tests.
//!
//! Your own order, or your own hasher:
//!
//! ```
//! use batteries_auth::hashers::{Hashers, Pbkdf2Hasher};
//!
//! # fn main() -> Result<(), batteries_auth::hashers::HashError> {
//! // Django's default: prefer pbkdf2_sha256 (keep verifying everything else).
//! let hashers = Hashers::default().preferring(Pbkdf2Hasher::sha256().with_iterations(1_200_000)?);
//! assert_eq!(hashers.preferred().map(|h| h.algorithm()), Some("pbkdf2_sha256"));
//! // Stop accepting MD5.
//! let hashers = hashers.without("md5");
//! assert!(hashers.get("md5").is_none());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, LazyLock, OnceLock};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::Rng as _;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq as _;

mod argon2;
mod bcrypt;
mod md5;
mod pbkdf2;
mod pool;
mod scrypt;

pub use self::argon2::Argon2Hasher;
pub use self::bcrypt::BcryptHasher;
pub use self::md5::Md5Hasher;
pub use self::pbkdf2::Pbkdf2Hasher;
pub use self::pool::{BUSY_RETRY_AFTER, HashPool};
pub use self::scrypt::ScryptHasher;

/// The longest password, in bytes, that is hashed or verified. Longer ones are refused
/// by [`Hashers::make`] and never verify.
pub const MAX_PASSWORD_LEN: usize = 4096;

/// The longest encoded hash, in bytes, that the built-in hashers read.
pub const MAX_ENCODED_LEN: usize = 1024;

/// The longest salt, in bytes, that the built-in hashers accept in `encode`.
pub const MAX_SALT_LEN: usize = 256;

/// Characters in a salt made by [`Hasher::salt`]: 22 of `[A-Za-z0-9]` carry 131 bits,
/// Django's `salt_entropy` of 128 bits.
const SALT_CHARS: usize = 22;

/// Django's unusable-password marker.
const UNUSABLE_PASSWORD_PREFIX: char = '!';

/// Random characters after the marker.
const UNUSABLE_PASSWORD_SUFFIX_LENGTH: usize = 40;

/// What [`Hashers::dummy_verify`] checks a password against.
const DUMMY_PASSWORD: &str = "batteries dummy password for timing";

/// Why hashing a password failed. Messages never contain a password, salt or digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// No hasher with this algorithm name is registered.
    #[error("unknown password hasher `{0}`")]
    UnknownAlgorithm(String),

    /// The registry holds no hasher at all.
    #[error("no password hasher is configured")]
    NoHasher,

    /// The password is longer than the hasher accepts.
    #[error("password is too long: at most {max} bytes are accepted")]
    PasswordTooLong {
        /// The limit, in bytes.
        max: usize,
    },

    /// The salt given to `encode` cannot be used.
    #[error("invalid salt for `{algorithm}`: {reason}")]
    InvalidSalt {
        /// The hasher's algorithm.
        algorithm: String,
        /// What is wrong and what is allowed.
        reason: &'static str,
    },

    /// Parameters given to a hasher's constructor are outside what it allows.
    #[error("invalid `{algorithm}` parameters: {reason}")]
    InvalidParameters {
        /// The hasher's algorithm.
        algorithm: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// The underlying implementation refused to hash.
    #[error("`{algorithm}` could not hash the password")]
    Failed {
        /// The hasher's algorithm.
        algorithm: String,
    },

    /// The background hashing task did not finish (it panicked or was cancelled).
    #[error("password hashing task {0}")]
    Task(&'static str),

    /// Every hashing thread is busy and the queue is full ([`HashPool`]): refuse the
    /// request with `503` and `Retry-After` ([`BUSY_RETRY_AFTER`]), do not count it as
    /// a failed login.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
}

/// One password-hashing algorithm, as one of Django's `PasswordHasher` classes.
///
/// Implement it to add your own algorithm to a [`Hashers`] registry. `verify` must
/// never panic, whatever `encoded` holds, and should compare in constant time.
pub trait Hasher: Send + Sync + 'static {
    /// The algorithm's name: the encoded hash's prefix up to the first `$`
    /// (`"argon2"`, `"pbkdf2_sha256"`). Must not contain `$`.
    fn algorithm(&self) -> &str;

    /// A fresh random salt for [`Hasher::encode`]. The default is Django's: 22
    /// characters of `[A-Za-z0-9]` from a CSPRNG.
    fn salt(&self) -> String {
        random_string(SALT_CHARS)
    }

    /// Hashes `password` with `salt` and this hasher's parameters, giving the encoded
    /// string to store.
    ///
    /// # Errors
    /// When the password is too long or the salt is unusable for this algorithm.
    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError>;

    /// Hashes `password` with a fresh salt ([`Hasher::salt`]).
    ///
    /// # Errors
    /// As [`Hasher::encode`].
    fn make(&self, password: &str) -> Result<String, HashError> {
        self.encode(password, &self.salt())
    }

    /// Whether `password` matches `encoded`. `false`, never a panic, for anything
    /// malformed or beyond this hasher's caps.
    fn verify(&self, password: &str, encoded: &str) -> bool;

    /// Whether `encoded` (a hash of this algorithm) was made with weaker parameters than
    /// this hasher's current ones, so that it should be re-hashed. The built-in hashers
    /// also answer `true` for a hash they cannot read; the default answers `false`.
    fn must_update(&self, encoded: &str) -> bool {
        let _ = encoded;
        false
    }

    /// The algorithm and parameters of `encoded`, without its salt or digest, for
    /// display (an admin's password field); `None` when `encoded` cannot be read.
    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        let (algorithm, _) = encoded.split_once('$')?;
        (algorithm == self.algorithm()).then(|| SafeSummary::new(algorithm))
    }
}

/// What can be shown of an encoded hash: its algorithm and parameters, never its salt
/// or digest. Displays as `algorithm: argon2 variety: argon2id …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeSummary {
    entries: Vec<(&'static str, String)>,
}

impl SafeSummary {
    /// A summary naming only the algorithm.
    pub fn new(algorithm: &str) -> Self {
        Self {
            entries: vec![("algorithm", algorithm.to_owned())],
        }
    }

    /// Adds a parameter.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.entries.push((name, value.to_string()));
        self
    }

    /// The algorithm's name.
    pub fn algorithm(&self) -> &str {
        self.entries.first().map_or("", |(_, v)| v.as_str())
    }

    /// The value of parameter `name` (as Django labels it: `"iterations"`,
    /// `"memory cost"`, `"work factor"`, …).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `(label, value)` pair, the algorithm first.
    pub fn entries(&self) -> &[(&'static str, String)] {
        &self.entries
    }
}

impl fmt::Display for SafeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}: {value}")?;
        }
        Ok(())
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum PasswordCheck {
    /// The password matches.
    Valid {
        /// The hash was made by a non-preferred algorithm or with weaker parameters:
        /// re-hash the password with [`Hashers::make`] and save it.
        needs_upgrade: bool,
    },
    /// The password does not match, or the hash is unusable, malformed or unknown.
    Invalid,
}

impl PasswordCheck {
    /// Whether the password matches.
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Valid { .. })
    }

    /// Whether the password matches and its hash should be re-made.
    pub fn needs_upgrade(self) -> bool {
        matches!(
            self,
            Self::Valid {
                needs_upgrade: true
            }
        )
    }
}

/// Django's `PASSWORD_HASHERS`: hashers in order of preference. The first makes new
/// hashes; every one verifies hashes of its algorithm.
///
/// Cheap to clone (one [`Arc`]); `Send + Sync + 'static`. The default prefers argon2id
/// and verifies every algorithm Django makes (see the [module docs](self)).
#[derive(Clone)]
pub struct Hashers {
    inner: Arc<Inner>,
    /// Where the async API hashes; `None`: [`HashPool::global`].
    pool: Option<HashPool>,
}

struct Inner {
    hashers: Vec<Arc<dyn Hasher>>,
    /// A hash of [`DUMMY_PASSWORD`] by the preferred hasher, made on first need.
    dummy: OnceLock<Option<String>>,
}

static DEFAULT: LazyLock<Hashers> = LazyLock::new(|| {
    Hashers::new(vec![
        Arc::new(Argon2Hasher::default()),
        Arc::new(Pbkdf2Hasher::sha256()),
        Arc::new(Pbkdf2Hasher::sha1()),
        Arc::new(BcryptHasher::sha256()),
        Arc::new(BcryptHasher::plain()),
        Arc::new(ScryptHasher::default()),
        Arc::new(Md5Hasher),
    ])
});

impl Default for Hashers {
    /// argon2 (preferred), `pbkdf2_sha256`, `pbkdf2_sha1`, `bcrypt_sha256`, `bcrypt`,
    /// scrypt, md5, each with its default parameters.
    fn default() -> Self {
        DEFAULT.clone()
    }
}

impl fmt::Debug for Hashers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hashers")
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .finish()
    }
}

impl Hashers {
    /// A registry of `hashers`, the first preferred. When two share an algorithm name,
    /// the first one wins.
    pub fn new(hashers: Vec<Arc<dyn Hasher>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                hashers,
                dummy: OnceLock::new(),
            }),
            pool: None,
        }
    }

    fn rebuilt(&self, edit: impl FnOnce(&mut Vec<Arc<dyn Hasher>>)) -> Self {
        let mut hashers = self.inner.hashers.clone();
        edit(&mut hashers);
        Self {
            pool: self.pool.clone(),
            ..Self::new(hashers)
        }
    }

    /// Runs the async API's hashes on `pool` instead of [`HashPool::global`].
    #[must_use]
    pub fn with_pool(mut self, pool: HashPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The pool the async API hashes on.
    pub fn pool(&self) -> &HashPool {
        self.pool.as_ref().unwrap_or_else(|| HashPool::global())
    }

    /// Adds `hasher`: it replaces the hasher of the same algorithm where that one
    /// stood, or else verifies last.
    #[must_use]
    pub fn with(&self, hasher: impl Hasher) -> Self {
        let hasher: Arc<dyn Hasher> = Arc::new(hasher);
        self.rebuilt(|list| {
            match list
                .iter()
                .position(|h| h.algorithm() == hasher.algorithm())
            {
                Some(i) => list[i] = hasher,
                None => list.push(hasher),
            }
        })
    }

    /// Puts `hasher` first, so that it makes new hashes (and replaces any hasher of the
    /// same algorithm).
    #[must_use]
    pub fn preferring(&self, hasher: impl Hasher) -> Self {
        let hasher: Arc<dyn Hasher> = Arc::new(hasher);
        self.rebuilt(|list| {
            list.retain(|h| h.algorithm() != hasher.algorithm());
            list.insert(0, hasher);
        })
    }

    /// Drops the hasher of `algorithm`: its hashes stop verifying.
    #[must_use]
    pub fn without(&self, algorithm: &str) -> Self {
        self.rebuilt(|list| list.retain(|h| h.algorithm() != algorithm))
    }

    /// The hasher that makes new hashes.
    pub fn preferred(&self) -> Option<&dyn Hasher> {
        self.inner.hashers.first().map(AsRef::as_ref)
    }

    /// The hasher of `algorithm`.
    pub fn get(&self, algorithm: &str) -> Option<&dyn Hasher> {
        self.inner
            .hashers
            .iter()
            .find(|h| h.algorithm() == algorithm)
            .map(AsRef::as_ref)
    }

    /// The algorithm names, preferred first.
    pub fn algorithms(&self) -> impl Iterator<Item = &str> {
        self.inner.hashers.iter().map(|h| h.algorithm())
    }

    /// Django's `identify_hasher`: the hasher named by `encoded`'s prefix. `None` for
    /// an unusable password or an unknown algorithm.
    pub fn identify(&self, encoded: &str) -> Option<&dyn Hasher> {
        if !is_password_usable(encoded) {
            return None;
        }
        let (algorithm, _) = encoded.split_once('$')?;
        self.get(algorithm)
    }

    /// Hashes `password` with the preferred hasher and a fresh salt.
    ///
    /// # Errors
    /// [`HashError::NoHasher`] for an empty registry; [`HashError::PasswordTooLong`]
    /// beyond [`MAX_PASSWORD_LEN`] (or 72 bytes for plain `bcrypt`).
    pub fn make(&self, password: &str) -> Result<String, HashError> {
        let hasher = self.preferred().ok_or(HashError::NoHasher)?;
        check_password_len(password)?;
        hasher.make(password)
    }

    /// Hashes `password` with the hasher of `algorithm` (to make a hash of an older
    /// algorithm, in tests or migrations).
    ///
    /// # Errors
    /// [`HashError::UnknownAlgorithm`] when no hasher has that name; else as
    /// [`Hashers::make`].
    pub fn make_with(&self, algorithm: &str, password: &str) -> Result<String, HashError> {
        let hasher = self
            .get(algorithm)
            .ok_or_else(|| HashError::UnknownAlgorithm(algorithm.to_owned()))?;
        check_password_len(password)?;
        hasher.make(password)
    }

    /// Django's `verify_password`: whether `password` matches `encoded`, and whether
    /// the hash should be re-made with the preferred hasher.
    ///
    /// An unusable password (`!…`) or an unknown algorithm is
    /// [`PasswordCheck::Invalid`] after one dummy hash, so it costs as much time as a
    /// wrong password.
    pub fn verify(&self, password: &str, encoded: &str) -> PasswordCheck {
        let Some(preferred) = self.preferred() else {
            return PasswordCheck::Invalid;
        };
        if password.len() > MAX_PASSWORD_LEN {
            // The length is the caller's own input: nothing to hide by timing.
            return PasswordCheck::Invalid;
        }
        let Some(hasher) = self.identify(encoded) else {
            self.dummy_verify(password);
            return PasswordCheck::Invalid;
        };
        if !hasher.verify(password, encoded) {
            return PasswordCheck::Invalid;
        }
        let needs_upgrade =
            hasher.algorithm() != preferred.algorithm() || preferred.must_update(encoded);
        PasswordCheck::Valid { needs_upgrade }
    }

    /// Whether a (valid) `encoded` would be re-made: it is of a non-preferred or unknown
    /// algorithm, or has weaker parameters than the preferred hasher's.
    pub fn must_update(&self, encoded: &str) -> bool {
        let Some(preferred) = self.preferred() else {
            return false;
        };
        match self.identify(encoded) {
            Some(hasher) => {
                hasher.algorithm() != preferred.algorithm() || preferred.must_update(encoded)
            }
            None => true,
        }
    }

    /// The algorithm and parameters of `encoded`, without salt or digest.
    pub fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        self.identify(encoded)?.safe_summary(encoded)
    }

    /// Runs the preferred hasher once on a fixed hash, for as long as checking a real
    /// password takes: call it when the user does not exist, so that an unknown username
    /// answers as slowly as a wrong password.
    pub fn dummy_verify(&self, password: &str) {
        let Some(preferred) = self.preferred() else {
            return;
        };
        let dummy = self
            .inner
            .dummy
            .get_or_init(|| preferred.make(DUMMY_PASSWORD).ok());
        let _ = preferred.verify(password, dummy.as_deref().unwrap_or_default());
    }

    /// [`Hashers::make`] on the [`HashPool`].
    ///
    /// # Errors
    /// As [`Hashers::make`]; [`HashError::Busy`] when the pool's queue is full;
    /// [`HashError::Task`] if the task panicked.
    pub async fn make_async(&self, password: String) -> Result<String, HashError> {
        let this = self.clone();
        self.pool().run(move || this.make(&password)).await?
    }

    /// [`Hashers::verify`] on the [`HashPool`].
    ///
    /// # Errors
    /// [`HashError::Busy`] when the pool's queue is full (the password was not
    /// checked: do not count it as a failure); [`HashError::Task`] if the task
    /// panicked.
    pub async fn verify_async(
        &self,
        password: String,
        encoded: String,
    ) -> Result<PasswordCheck, HashError> {
        let this = self.clone();
        self.pool()
            .run(move || this.verify(&password, &encoded))
            .await
    }

    /// [`Hashers::dummy_verify`] on the [`HashPool`].
    ///
    /// # Errors
    /// As [`Hashers::verify_async`].
    pub async fn dummy_verify_async(&self, password: String) -> Result<(), HashError> {
        let this = self.clone();
        self.pool().run(move || this.dummy_verify(&password)).await
    }
}

/// Django's `make_password`, with the default [`Hashers`] (argon2id).
///
/// Returns a `Result` rather than panicking: a password longer than
/// [`MAX_PASSWORD_LEN`] is refused. For "no password", use
/// [`make_unusable_password`].
///
/// # Errors
/// [`HashError::PasswordTooLong`].
pub fn make_password(password: &str) -> Result<String, HashError> {
    DEFAULT.make(password)
}

/// [`make_password`] on the global [`HashPool`].
///
/// # Errors
/// As [`make_password`]; [`HashError::Busy`] when the pool's queue is full;
/// [`HashError::Task`] if the task panicked.
pub async fn make_password_async(password: String) -> Result<String, HashError> {
    DEFAULT.make_async(password).await
}

/// Django's `check_password`, with the default [`Hashers`]: whether `password`
/// matches `encoded`. Use [`Hashers::verify`] to also learn whether to upgrade.
pub fn check_password(password: &str, encoded: &str) -> bool {
    DEFAULT.verify(password, encoded).is_valid()
}

/// [`check_password`] on the global [`HashPool`].
///
/// # Errors
/// [`HashError::Busy`] when the pool's queue is full (the password was not checked);
/// [`HashError::Task`] if the task panicked.
pub async fn check_password_async(password: String, encoded: String) -> Result<bool, HashError> {
    Ok(DEFAULT.verify_async(password, encoded).await?.is_valid())
}

/// Django's `verify_password`, with the default [`Hashers`].
pub fn verify_password(password: &str, encoded: &str) -> PasswordCheck {
    DEFAULT.verify(password, encoded)
}

/// Django's `is_password_usable`: `false` for what [`make_unusable_password`] makes
/// (anything starting with `!`).
pub fn is_password_usable(encoded: &str) -> bool {
    !encoded.starts_with(UNUSABLE_PASSWORD_PREFIX)
}

/// Django's `make_password(None)`: `!` and 40 random characters, which no password
/// matches.
pub fn make_unusable_password() -> String {
    let mut out = String::with_capacity(1 + UNUSABLE_PASSWORD_SUFFIX_LENGTH);
    out.push(UNUSABLE_PASSWORD_PREFIX);
    out.push_str(&random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH));
    out
}

// Helpers shared by the built-in hashers.

/// `len` characters of `[A-Za-z0-9]`, uniformly from the thread's CSPRNG.
fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Refuses passwords beyond [`MAX_PASSWORD_LEN`].
fn check_password_len(password: &str) -> Result<(), HashError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::PasswordTooLong {
            max: MAX_PASSWORD_LEN,
        });
    }
    Ok(())
}

/// Django's `_check_encode_args`: a salt is non-empty and has no `$`; ours also has a
/// length cap.
fn check_salt(algorithm: &str, salt: &str) -> Result<(), HashError> {
    let reason = if salt.is_empty() {
        "it must not be empty"
    } else if salt.contains('$') {
        "it must not contain `$`"
    } else if salt.len() > MAX_SALT_LEN {
        "it must be at most 256 bytes"
    } else {
        return Ok(());
    };
    Err(HashError::InvalidSalt {
        algorithm: algorithm.to_owned(),
        reason,
    })
}

/// Django's `must_update_salt`: fewer than 22 characters (of a 62-character alphabet)
/// carry less than 128 bits.
fn salt_is_weak(salt_chars: usize) -> bool {
    salt_chars < SALT_CHARS
}

/// Constant-time equality (the lengths may leak; they are public in the format).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A canonical decimal number (ASCII digits, no sign, no leading zero) up to `max`.
fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    if text.is_empty()
        || text.len() > 20
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= max)
}

/// Python's `base64.b64encode`: standard alphabet, padded.
const B64_PADDED: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// PHC's base64 (argon2): standard alphabet, unpadded on output, padding tolerated on
/// input.
const B64_PHC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes with Python's `base64.b64encode`.
fn b64_padded(bytes: &[u8]) -> String {
    B64_PADDED.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PBKDF2_1000: &str =
        "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=";

    fn cheap_argon2() -> Argon2Hasher {
        Argon2Hasher::with_params(256, 1, 1).expect("params")
    }

    #[test]
    fn default_prefers_argon2_and_verifies_every_django_algorithm() {
        let hashers = Hashers::default();
        assert_eq!(
            hashers.algorithms().collect::<Vec<_>>(),
            [
                "argon2",
                "pbkdf2_sha256",
                "pbkdf2_sha1",
                "bcrypt_sha256",
                "bcrypt",
                "scrypt",
                "md5"
            ]
        );
        for encoded in [
            PBKDF2_1000,
            "pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=",
            "argon2$argon2id$v=19$m=256,t=1,p=2$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$6Y6RZSV12OSaes7ODYyPPqwWnaFFfblFJgCUcA8JjQg",
            "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S",
            "bcrypt$$2b$04$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG",
            "scrypt$1024$seasaltseasaltseasalt1$8$1$4Z94RlswCOaMinh6DsZdHrSpLD1+0t+YKkIDeX5rcxjbs5Gu1/qJwQPhn+3VSrG5Eihv4j9AoamLc7ZYVMRFyQ==",
            "md5$seasaltseasaltseasalt1$d40497d3861888ac0ef97ad41b2127d7",
        ] {
            assert_eq!(
                hashers.verify("lètmein", encoded),
                PasswordCheck::Valid {
                    needs_upgrade: true
                },
                "{encoded}"
            );
            assert_eq!(hashers.verify("letmein", encoded), PasswordCheck::Invalid);
            assert!(check_password("lètmein", encoded));
        }
    }

    #[test]
    fn made_hashes_verify_without_upgrade() {
        let hashers = Hashers::new(vec![Arc::new(cheap_argon2())]);
        let encoded = hashers.make("s3cret").expect("make");
        assert!(
            encoded.starts_with("argon2$argon2id$v=19$m=256,t=1,p=1$"),
            "{encoded}"
        );
        assert_eq!(
            hashers.verify("s3cret", &encoded),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
        assert!(!hashers.must_update(&encoded));
        let other = hashers.make("s3cret").expect("make");
        assert_ne!(encoded, other, "each hash has its own salt");
    }

    #[test]
    fn unusable_passwords_never_verify() {
        let unusable = make_unusable_password();
        assert_eq!(unusable.len(), 41);
        assert!(unusable.starts_with('!'));
        assert!(unusable[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(unusable, make_unusable_password());
        assert!(!is_password_usable(&unusable));
        assert!(is_password_usable(PBKDF2_1000));
        assert!(is_password_usable(""));
        let hashers = Hashers::new(vec![Arc::new(cheap_argon2())]);
        assert_eq!(hashers.verify(&unusable, &unusable), PasswordCheck::Invalid);
        assert_eq!(hashers.verify("", "!"), PasswordCheck::Invalid);
        // An unusable marker in front of a real hash does not make it usable.
        let real = hashers.make("pw").expect("make");
        assert_eq!(
            hashers.verify("pw", &format!("!{real}")),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn unknown_or_garbage_hashes_do_not_verify() {
        let hashers = Hashers::new(vec![Arc::new(cheap_argon2())]);
        for encoded in [
            "",
            "$",
            "plaintext",
            "unknown$1$2$3",
            "sha1$salt$hash",
            "argon2",
            "argon2$",
            "argon2$argon2id$v=19$m=256,t=1,p=1$$",
            "argon2$argon2id",
            "md5$seasaltseasaltseasalt1$d40497d3861888ac0ef97ad41b2127d7",
        ] {
            assert_eq!(hashers.verify("lètmein", encoded), PasswordCheck::Invalid);
            assert!(hashers.must_update(encoded));
        }
        assert!(hashers.identify("md5$a$b").is_none());
    }

    #[test]
    fn long_passwords_are_refused_quickly() {
        let hashers = Hashers::default();
        let long = "x".repeat(1 << 20);
        assert_eq!(
            hashers.make(&long),
            Err(HashError::PasswordTooLong {
                max: MAX_PASSWORD_LEN
            })
        );
        let start = std::time::Instant::now();
        assert_eq!(hashers.verify(&long, PBKDF2_1000), PasswordCheck::Invalid);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        let at_limit = "é".repeat(MAX_PASSWORD_LEN / 2);
        let encoded = Hashers::new(vec![Arc::new(cheap_argon2())])
            .make(&at_limit)
            .expect("4096 bytes are fine");
        assert!(check_password(&at_limit, &encoded));
    }

    #[test]
    fn registry_order_can_be_changed() {
        let pbkdf2 = Pbkdf2Hasher::sha256()
            .with_iterations(1000)
            .expect("iterations");
        let hashers = Hashers::default().preferring(pbkdf2);
        assert_eq!(
            hashers.preferred().map(Hasher::algorithm),
            Some("pbkdf2_sha256")
        );
        assert_eq!(
            hashers
                .algorithms()
                .filter(|a| *a == "pbkdf2_sha256")
                .count(),
            1
        );
        assert_eq!(hashers.algorithms().nth(1), Some("argon2"));
        let made = hashers.make("pw").expect("make");
        assert!(made.starts_with("pbkdf2_sha256$1000$"), "{made}");
        assert_eq!(
            hashers.verify("pw", &made),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
        // Django's old 7-character salt carries too little entropy: upgrade.
        assert!(hashers.verify("lètmein", PBKDF2_1000).needs_upgrade());

        let hashers = hashers.without("pbkdf2_sha256");
        assert_eq!(
            hashers.verify("lètmein", PBKDF2_1000),
            PasswordCheck::Invalid
        );
        let hashers = hashers.with(Pbkdf2Hasher::sha256());
        assert_eq!(hashers.algorithms().last(), Some("pbkdf2_sha256"));
        assert!(hashers.verify("lètmein", PBKDF2_1000).needs_upgrade());

        assert_eq!(
            hashers.make_with("nope", "pw"),
            Err(HashError::UnknownAlgorithm("nope".into()))
        );
        let md5 = hashers.make_with("md5", "pw").expect("md5 can make");
        assert!(md5.starts_with("md5$"));
        assert!(hashers.verify("pw", &md5).needs_upgrade());
    }

    #[test]
    fn an_empty_registry_refuses_politely() {
        let hashers = Hashers::new(Vec::new());
        assert_eq!(hashers.make("pw"), Err(HashError::NoHasher));
        assert_eq!(hashers.verify("pw", PBKDF2_1000), PasswordCheck::Invalid);
        hashers.dummy_verify("pw");
    }

    #[test]
    fn custom_hashers_plug_in() {
        struct Reverse;
        impl Hasher for Reverse {
            fn algorithm(&self) -> &'static str {
                "reverse"
            }
            fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
                Ok(format!(
                    "reverse${salt}${}",
                    password.chars().rev().collect::<String>()
                ))
            }
            fn verify(&self, password: &str, encoded: &str) -> bool {
                encoded.rsplit_once('$').is_some_and(|(_, h)| {
                    ct_eq(
                        h.as_bytes(),
                        password.chars().rev().collect::<String>().as_bytes(),
                    )
                })
            }
        }
        let hashers = Hashers::default().with(Reverse);
        let encoded = hashers.make_with("reverse", "abc").expect("make");
        assert!(encoded.ends_with("$cba"));
        assert!(hashers.verify("abc", &encoded).needs_upgrade());
        let summary = hashers.safe_summary(&encoded).expect("summary");
        assert_eq!(summary.to_string(), "algorithm: reverse");
    }

    #[test]
    fn debug_and_errors_hold_no_secrets() {
        let hashers = Hashers::default();
        assert_eq!(
            format!("{hashers:?}"),
            r#"Hashers { algorithms: ["argon2", "pbkdf2_sha256", "pbkdf2_sha1", "bcrypt_sha256", "bcrypt", "scrypt", "md5"] }"#
        );
        let err = Pbkdf2Hasher::sha256()
            .encode("hunter2", "bad$salt")
            .expect_err("bad salt");
        assert!(!err.to_string().contains("hunter2") && !err.to_string().contains("bad$salt"));
    }

    #[test]
    fn safe_summary_shows_parameters_not_secrets() {
        let hashers = Hashers::default();
        let summary = hashers.safe_summary(PBKDF2_1000).expect("summary");
        assert_eq!(
            summary.to_string(),
            "algorithm: pbkdf2_sha256 iterations: 1000"
        );
        assert_eq!(summary.get("iterations"), Some("1000"));
        assert!(hashers.safe_summary("!unusable").is_none());
        assert!(hashers.safe_summary("pbkdf2_sha256$x$y$z").is_none());
    }

    #[tokio::test]
    async fn async_versions_run_off_the_executor() {
        let hashers = Hashers::new(vec![Arc::new(cheap_argon2())]);
        let encoded = hashers.make_async("pw".into()).await.expect("make");
        assert_eq!(
            hashers.verify_async("pw".into(), encoded.clone()).await,
            Ok(PasswordCheck::Valid {
                needs_upgrade: false
            })
        );
        assert_eq!(
            hashers.verify_async("nope".into(), encoded).await,
            Ok(PasswordCheck::Invalid)
        );
        hashers
            .dummy_verify_async("pw".into())
            .await
            .expect("dummy");
        assert_eq!(
            check_password_async("lètmein".into(), PBKDF2_1000.into()).await,
            Ok(true)
        );
        let long = "x".repeat(MAX_PASSWORD_LEN + 1);
        assert!(make_password_async(long).await.is_err());
    }

    #[test]
    fn default_make_password_is_argon2id() {
        let encoded = make_password("pw").expect("make");
        assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            verify_password("pw", &encoded),
            PasswordCheck::Valid {
                needs_upgrade: false
            }
        );
    }
}
