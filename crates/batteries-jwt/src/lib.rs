#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod cache;
#[cfg(feature = "database")]
mod database;
#[cfg(feature = "database")]
pub mod entity;
mod error;
mod keys;
#[cfg(feature = "database")]
mod m20261208_000001_jwt_create_refresh;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod token;
mod users;

#[cfg(feature = "database")]
pub use database::DatabaseRefreshStore;
pub use error::JwtError;
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::{JwtKey, KeySet};
pub use memory::MemoryRefreshStore;
#[cfg(feature = "redis")]
pub use redis::RedisRefreshStore;
pub use store::{Consumed, RefreshRecord, RefreshStore};
pub use token::Claims;

pub use batteries_core::{Clock, ManualClock, SystemClock};

/// The migration creating `batteries_jwt_refresh`, the table of
/// [`DatabaseRefreshStore`] (named `m20261208_000001_jwt_create_refresh`). It is
/// in [`migrations()`], not in `batteries-auth`'s: the table is created only where the
/// database store is used.
///
/// ```
/// use batteries_orm::migration::MigrationSet;
///
/// let set = MigrationSet::new("my-app").with(batteries_jwt::migration());
/// assert_eq!(set.names(), ["m20261208_000001_jwt_create_refresh"]);
/// ```
#[cfg(feature = "database")]
pub fn migration() -> impl sea_orm_migration::MigrationTrait {
    m20261208_000001_jwt_create_refresh::Migration
}

/// The migrations of `batteries-jwt`: [`migration()`] alone, to compose with the
/// application's (and `batteries-auth`'s) when a [`DatabaseRefreshStore`] is used.
#[cfg(feature = "database")]
pub fn migrations() -> batteries_orm::migration::MigrationSet {
    batteries_orm::migration::MigrationSet::new("batteries-jwt").with(migration())
}

/// The `typ` of access tokens.
pub const ACCESS: &str = "access";
/// The `typ` of refresh tokens.
pub const REFRESH: &str = "refresh";
/// The claim of refresh tokens holding the time of the login that started their
/// family (seconds since the Unix epoch; the name comes from `OpenID` Connect).
/// Rotation carries it.
pub const AUTH_TIME: &str = "auth_time";
/// The claim of refresh tokens holding the user's session auth hash at login (with
/// [`Jwt::with_users`]).
pub const AUTH_HASH: &str = "sah";

/// How [`Jwt`] issues and checks tokens.
///
/// ```
/// use std::time::Duration;
/// use batteries_jwt::JwtConfig;
///
/// let config = JwtConfig::new("https://auth.example.com", "api")
///     .with_access_ttl(Duration::from_mins(10))
///     .with_leeway(Duration::from_secs(5));
/// assert_eq!(config.refresh_ttl, Duration::from_hours(14 * 24));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtConfig {
    /// `iss` of the tokens issued, and the only one accepted.
    pub issuer: String,
    /// `aud` of the tokens issued, and the one a token must contain.
    pub audience: String,
    /// Lifetime of access tokens (default 5 minutes).
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens, renewed by each rotation (default 14 days), but
    /// never past the family's [`family_ttl`](Self::family_ttl).
    pub refresh_ttl: Duration,
    /// Absolute lifetime of a refresh-token family, counted from the login (default 30
    /// days): rotation carries the login time (`auth_time`), and a refresh past it is
    /// [`JwtError::FamilyExpired`] however recently the family was used.
    pub family_ttl: Duration,
    /// How long after a refresh token was exchanged a second presentation of it is
    /// refused with [`JwtError::RefreshRaced`] *without* revoking its family (default 0:
    /// off, every reuse revokes). For clients that may send one refresh token twice in
    /// parallel (several tabs, a retry after a timeout): the loser is refused and uses
    /// the pair the winner received. A replay inside the window is not detected as
    /// theft, so keep it to a few seconds.
    pub reuse_grace: Duration,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 seconds).
    pub leeway: Duration,
    /// How many verified access tokens [`Jwt::verify_access`] remembers (default 4096;
    /// 0 turns the cache off). A client sends the same access token with every request
    /// of its lifetime: remembered, its signature is checked once instead of every time
    /// (an Ed25519 check costs tens of microseconds, more than a small handler). Only
    /// tokens that verified are remembered, by the SHA-256 of their text; `exp`, `nbf`
    /// and `iat` are checked again on every use. About 1 KB per token.
    pub verified_cache: usize,
}

impl JwtConfig {
    /// Tokens of `issuer` for `audience`, with the default lifetimes and leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl: Duration::from_mins(5),
            refresh_ttl: Duration::from_hours(14 * 24),
            family_ttl: Duration::from_hours(30 * 24),
            reuse_grace: Duration::ZERO,
            leeway: Duration::from_secs(30),
            verified_cache: 4096,
        }
    }

    /// Sets the lifetime of access tokens.
    #[must_use]
    pub fn with_access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Sets the lifetime of refresh tokens.
    #[must_use]
    pub fn with_refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Sets the absolute lifetime of a refresh-token family (from login).
    #[must_use]
    pub fn with_family_ttl(mut self, ttl: Duration) -> Self {
        self.family_ttl = ttl;
        self
    }

    /// Sets the grace window for a refresh token presented twice in parallel (see
    /// [`JwtConfig::reuse_grace`]).
    #[must_use]
    pub fn with_reuse_grace(mut self, grace: Duration) -> Self {
        self.reuse_grace = grace;
        self
    }

    /// Sets the clock skew tolerated.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets how many verified access tokens are remembered (0: none, every use checks
    /// the signature). See [`JwtConfig::verified_cache`].
    #[must_use]
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.verified_cache = capacity;
        self
    }
}

/// An access token and a refresh token, shaped as an OAuth 2 token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The access token, for `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token, for [`Jwt::refresh`].
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Issues and verifies this app's tokens. Cheap to clone: clones share the keys, the
/// configuration, the store and the clock.
///
/// See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct Jwt {
    keys: Arc<KeySet>,
    config: Arc<JwtConfig>,
    store: Arc<dyn RefreshStore>,
    clock: Arc<dyn Clock>,
    /// Verified access tokens; `None` when [`JwtConfig::verified_cache`] is 0.
    verified: Option<Arc<cache::VerifiedCache>>,
    users: UserCheck,
}

/// Whether tokens are tied to users that must stay active with their password.
#[derive(Clone)]
enum UserCheck {
    /// Neither [`Jwt::with_users`] nor [`Jwt::without_user_check`] was called:
    /// issuing and refreshing refuse to run.
    Unset,
    Unchecked,
    Checked(Arc<users::Users>),
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("keys", &self.keys)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// 128 random bits, base64url: a `jti` or a family id.
fn random_id() -> String {
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Jwt {
    /// Tokens signed by `keys`' signing key, checked against `config`, refresh tokens
    /// recorded in `store`.
    ///
    /// # Errors
    /// [`JwtError::Key`] when `keys` has no signing key.
    pub fn new(
        keys: KeySet,
        config: JwtConfig,
        store: impl RefreshStore + 'static,
    ) -> Result<Self, JwtError> {
        if keys.signing_key().is_none() {
            return Err(JwtError::Key(
                "the key set has no key that can sign".to_owned(),
            ));
        }
        let verified = (config.verified_cache > 0)
            .then(|| Arc::new(cache::VerifiedCache::new(config.verified_cache)));
        Ok(Self {
            keys: Arc::new(keys),
            config: Arc::new(config),
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            verified,
            users: UserCheck::Unset,
        })
    }

    /// Ties refresh tokens to their users, loaded by `loader` (for `auth_user`:
    /// `batteries_auth::ModelBackend`): a login ([`issue_pair`](Self::issue_pair))
    /// needs an active user and records its session auth hash (under `secret`) in the
    /// refresh token; a [`refresh`](Self::refresh) loads the user again and refuses,
    /// revoking the family, when the user is gone or inactive
    /// ([`JwtError::UserInactive`]) or changed password ([`JwtError::PasswordChanged`]):
    /// Django's session rule, so that deactivating a user or changing a password ends
    /// their refresh tokens without a hook in the code that did it. Costs one user load
    /// per login and per refresh. Access tokens are not checked here (the auth
    /// middleware loads the user of each bearer request).
    ///
    /// One of this or [`without_user_check`](Self::without_user_check) is required:
    /// until then [`issue_pair`](Self::issue_pair) and [`refresh`](Self::refresh) fail
    /// with [`JwtError::Config`].
    #[must_use]
    pub fn with_users<L: batteries_core::UserLoader + 'static>(
        mut self,
        loader: L,
        secret: batteries_core::SessionSecret,
    ) -> Self {
        self.users = UserCheck::Checked(Arc::new(users::Users::new(loader, secret)));
        self
    }

    /// Issues and refreshes tokens for subjects that are not users of a
    /// [`UserLoader`](batteries_core::UserLoader) (services, tests): a refresh then checks only
    /// the token, its family and the family's lifetime. See
    /// [`with_users`](Self::with_users).
    #[must_use]
    pub fn without_user_check(mut self) -> Self {
        self.users = UserCheck::Unchecked;
        self
    }

    fn users(&self) -> Result<Option<&users::Users>, JwtError> {
        match &self.users {
            UserCheck::Unset => Err(JwtError::Config(
                "refresh tokens need Jwt::with_users or Jwt::without_user_check",
            )),
            UserCheck::Unchecked => Ok(None),
            UserCheck::Checked(users) => Ok(Some(users)),
        }
    }

    /// Takes the time from `clock` (a [`ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The JWKS document of the public keys (never an HMAC secret), to serve at
    /// `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        self.keys.jwks()
    }

    fn claims(
        &self,
        subject: &str,
        typ: &'static str,
        ttl: Duration,
        now: i64,
        family: Option<String>,
        extra: Map<String, Value>,
    ) -> Result<Claims, JwtError> {
        if subject.is_empty() || subject.len() > 255 {
            return Err(JwtError::InvalidClaim {
                claim: "sub".to_owned(),
            });
        }
        if let Some(reserved) = extra
            .keys()
            .find(|k| token::REGISTERED.contains(&k.as_str()))
        {
            return Err(JwtError::InvalidClaim {
                claim: reserved.clone(),
            });
        }
        Ok(Claims {
            sub: subject.to_owned(),
            iss: self.config.issuer.clone(),
            aud: vec![self.config.audience.clone()],
            exp: now.saturating_add(seconds(ttl)),
            nbf: Some(now),
            iat: Some(now),
            jti: Some(random_id()),
            typ: Some(typ.to_owned()),
            family,
            extra,
        })
    }

    /// An access token for `subject` carrying the `extra` claims (roles, a tenant...).
    ///
    /// # Errors
    /// [`JwtError::InvalidClaim`] when `subject` is empty or longer than 255 bytes, or
    /// `extra` holds a registered claim (`sub`, `iss`, `aud`, `exp`, `nbf`, `iat`, `jti`,
    /// `typ`, `fam`); [`JwtError::Key`] when signing fails.
    pub fn issue_access(
        &self,
        subject: &str,
        extra: Map<String, Value>,
    ) -> Result<String, JwtError> {
        let now = self.clock.now().timestamp();
        let claims = self.claims(subject, ACCESS, self.config.access_ttl, now, None, extra)?;
        token::sign(&self.keys, &claims)
    }

    /// An access token and a refresh token of a new family for `subject` (at login).
    /// The family lives at most [`JwtConfig::family_ttl`] from now.
    ///
    /// # Errors
    /// As [`issue_access`](Self::issue_access); [`JwtError::Store`] when recording the
    /// refresh token (or loading the user) fails; with [`with_users`](Self::with_users),
    /// [`JwtError::UserInactive`] when `subject` is no active user;
    /// [`JwtError::Config`] without [`with_users`](Self::with_users) or
    /// [`without_user_check`](Self::without_user_check).
    pub async fn issue_pair(&self, subject: &str) -> Result<TokenPair, JwtError> {
        let hash = match self.users()? {
            Some(users) => Some(users.hash(subject).await?),
            None => None,
        };
        let now = self.clock.now();
        let (pair, record) =
            self.pair_in_family(subject, random_id(), now.timestamp(), hash, now)?;
        self.store.insert(&record, now).await?;
        Ok(pair)
    }

    /// A new pair in `family`, and the record of its refresh token (not stored yet).
    fn pair_in_family(
        &self,
        subject: &str,
        family: String,
        auth_time: i64,
        hash: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, RefreshRecord), JwtError> {
        let at = now.timestamp();
        let access = self.claims(
            subject,
            ACCESS,
            self.config.access_ttl,
            at,
            None,
            Map::new(),
        )?;
        let mut refresh = self.claims(
            subject,
            REFRESH,
            self.config.refresh_ttl,
            at,
            Some(family.clone()),
            Map::new(),
        )?;
        // Rotation renews the token's lifetime, never the family's.
        refresh.exp = refresh
            .exp
            .min(auth_time.saturating_add(seconds(self.config.family_ttl)));
        refresh.extra.insert(AUTH_TIME.to_owned(), auth_time.into());
        if let Some(hash) = hash {
            refresh.extra.insert(AUTH_HASH.to_owned(), hash.into());
        }
        let access_token = token::sign(&self.keys, &access)?;
        let refresh_token = token::sign(&self.keys, &refresh)?;
        let record = RefreshRecord {
            jti: refresh.jti.unwrap_or_default(),
            family,
            subject: subject.to_owned(),
            expires_at: DateTime::from_timestamp(refresh.exp, 0)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        };
        let pair = TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: self.config.access_ttl.as_secs(),
        };
        Ok((pair, record))
    }

    fn verify_typed(&self, token: &str, typ: &'static str, now: i64) -> Result<Claims, JwtError> {
        let issuers = std::slice::from_ref(&self.config.issuer);
        let audiences = std::slice::from_ref(&self.config.audience);
        let expect = token::Expect {
            issuers,
            audiences,
            typ: Some(typ),
            leeway: seconds(self.config.leeway),
            algorithms: None,
        };
        token::verify(&self.keys, token, &expect, now)
    }

    /// Verifies an access token: signature by a key of the set with that key's
    /// algorithm, issuer, audience, times, and `typ: "access"`. Touches no store.
    ///
    /// # Errors
    /// The [`JwtError`] variant naming the first check that failed.
    ///
    /// A token that verified before is found in the cache ([`JwtConfig::verified_cache`])
    /// and only its times are checked again; the outcome is the same.
    pub fn verify_access(&self, token: &str) -> Result<Claims, JwtError> {
        self.verify_access_shared(token)
            .map(|claims| Claims::clone(&claims))
    }

    /// The subject (`sub`, the user's primary key) of a valid access token: what
    /// [`verify_access`](Self::verify_access) checks, without copying the other claims.
    /// The auth middleware calls this on every bearer request.
    ///
    /// # Errors
    /// As [`verify_access`](Self::verify_access).
    pub fn verify_access_subject(&self, token: &str) -> Result<String, JwtError> {
        self.verify_access_shared(token)
            .map(|claims| claims.sub.clone())
    }

    fn verify_access_shared(&self, token: &str) -> Result<Arc<Claims>, JwtError> {
        let now = self.clock.now().timestamp();
        let Some(cache) = self
            .verified
            .as_ref()
            .filter(|_| token.len() <= token::MAX_TOKEN_LEN)
        else {
            return self.verify_typed(token, ACCESS, now).map(Arc::new);
        };
        let leeway = seconds(self.config.leeway);
        let digest = cache::digest(token);
        if let Some(claims) = cache.get(&digest) {
            token::check_times(&claims, leeway, now)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.verify_typed(token, ACCESS, now)?);
        cache.insert(digest, claims.clone(), now, leeway);
        Ok(claims)
    }

    /// Verifies a refresh token as [`verify_access`](Self::verify_access) does an
    /// access token, without consulting the store (so without knowing whether it was
    /// used or revoked).
    ///
    /// # Errors
    /// The [`JwtError`] variant naming the first check that failed.
    pub fn verify_refresh(&self, token: &str) -> Result<Claims, JwtError> {
        self.verify_typed(token, REFRESH, self.clock.now().timestamp())
    }

    /// Exchanges a refresh token for a new pair in the same family, consuming it.
    ///
    /// In order: the token must verify; its family must be younger than
    /// [`JwtConfig::family_ttl`] (from its `auth_time`); with
    /// [`with_users`](Self::with_users), its user must still be active with the same
    /// password (else the family is revoked); then the store consumes it atomically.
    /// The user is checked before the token is consumed, so a failing user store leaves
    /// the token usable for a retry.
    ///
    /// # Errors
    /// The verification errors of [`verify_refresh`](Self::verify_refresh);
    /// [`JwtError::FamilyExpired`] past the family's lifetime;
    /// [`JwtError::UserInactive`] or [`JwtError::PasswordChanged`] (the family is then
    /// revoked); [`JwtError::RefreshReused`] when the token was already exchanged (its
    /// family is then revoked), unless within [`JwtConfig::reuse_grace`] of that
    /// exchange: [`JwtError::RefreshRaced`], family kept;
    /// [`JwtError::RefreshRevoked`] when its family was revoked,
    /// [`JwtError::RefreshUnknown`] when the store does not know it,
    /// [`JwtError::Store`] when the store or the user loader fails,
    /// [`JwtError::Config`] without [`with_users`](Self::with_users) or
    /// [`without_user_check`](Self::without_user_check).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, JwtError> {
        let users = self.users()?;
        let now = self.clock.now();
        let claims = self.verify_typed(refresh_token, REFRESH, now.timestamp())?;
        let jti = claims
            .jti
            .clone()
            .ok_or(JwtError::MissingClaim { claim: "jti" })?;
        let family = claims
            .family
            .clone()
            .ok_or(JwtError::MissingClaim { claim: "fam" })?;
        let auth_time = match claims.extra.get(AUTH_TIME) {
            None => return Err(JwtError::MissingClaim { claim: AUTH_TIME }),
            Some(value) => value.as_i64().ok_or_else(|| JwtError::InvalidClaim {
                claim: AUTH_TIME.to_owned(),
            })?,
        };
        if now.timestamp() >= auth_time.saturating_add(seconds(self.config.family_ttl)) {
            return Err(JwtError::FamilyExpired);
        }
        let hash = match users {
            None => None,
            Some(users) => {
                let presented = match claims.extra.get(AUTH_HASH) {
                    None => return Err(JwtError::MissingClaim { claim: AUTH_HASH }),
                    Some(value) => value.as_str().ok_or_else(|| JwtError::InvalidClaim {
                        claim: AUTH_HASH.to_owned(),
                    })?,
                };
                match users.check(&claims.sub, presented).await {
                    Ok(hash) => Some(hash),
                    Err(error) if error.is_token_error() => {
                        self.store.revoke_family(&family).await?;
                        tracing::info!(%family, %error, "refresh refused; family revoked");
                        return Err(error);
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        // The successor is made first, then the store consumes the token and records
        // the successor in one atomic step: no failure between the two can leave a
        // consumed token without a successor (whose retry would look like a replay).
        let (pair, successor) =
            self.pair_in_family(&claims.sub, family.clone(), auth_time, hash, now)?;
        match self.store.rotate(&jti, &successor, now).await? {
            Consumed::Fresh {
                family: stored,
                subject,
            } => {
                if stored != family || subject != claims.sub {
                    return Err(JwtError::RefreshUnknown);
                }
                Ok(pair)
            }
            Consumed::AlreadyUsed {
                family: stored,
                used_at,
            } => {
                let grace = chrono::Duration::from_std(self.config.reuse_grace)
                    .unwrap_or(chrono::Duration::MAX);
                if !self.config.reuse_grace.is_zero()
                    && used_at.is_some_and(|at| (now - at).abs() <= grace)
                {
                    tracing::debug!(family = %stored, "refresh token presented twice in the grace window");
                    return Err(JwtError::RefreshRaced);
                }
                self.store.revoke_family(&stored).await?;
                tracing::warn!(family = %stored, "refresh token reused; family revoked");
                Err(JwtError::RefreshReused)
            }
            Consumed::FamilyRevoked => Err(JwtError::RefreshRevoked),
            Consumed::Unknown => Err(JwtError::RefreshUnknown),
        }
    }

    /// Revokes the family of `refresh_token` (logout of one device): neither it nor any
    /// token rotated from the same login can be refreshed again.
    ///
    /// # Errors
    /// The verification errors of [`verify_refresh`](Self::verify_refresh);
    /// [`JwtError::Store`] when the store fails.
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), JwtError> {
        let claims = self.verify_refresh(refresh_token)?;
        let family = claims
            .family
            .ok_or(JwtError::MissingClaim { claim: "fam" })?;
        self.revoke_family(&family).await
    }

    /// Revokes the refresh-token family `family` (the `fam` claim of its tokens).
    ///
    /// # Errors
    /// [`JwtError::Store`] when the store fails.
    pub async fn revoke_family(&self, family: &str) -> Result<(), JwtError> {
        self.store.revoke_family(family).await
    }

    /// Revokes every refresh-token family of `subject` (logout everywhere). A password
    /// change or a deactivation needs no call with [`with_users`](Self::with_users).
    /// Access tokens already issued live out their short lifetime.
    ///
    /// # Errors
    /// [`JwtError::Store`] when the store fails.
    pub async fn revoke_subject(&self, subject: &str) -> Result<(), JwtError> {
        self.store.revoke_subject(subject).await
    }

    /// Deletes the refresh tokens that expired (beyond the leeway) from the store;
    /// returns how many. Run it from a periodic job.
    ///
    /// # Errors
    /// [`JwtError::Store`] when the store fails.
    pub async fn clear_expired(&self) -> Result<u64, JwtError> {
        let leeway = chrono::Duration::from_std(self.config.leeway).unwrap_or_default();
        self.store.clear_expired(self.clock.now() - leeway).await
    }
}

/// Verifies tokens of another issuer (an identity provider) by its JWKS.
///
/// ```
/// use batteries_jwt::{Algorithm, ExternalIssuer, Jwt, JwtConfig, JwtKey, KeySet, MemoryRefreshStore};
///
/// // The other side: an issuer publishing its JWKS.
/// let keys = KeySet::new().with_key(JwtKey::generate_ed25519("idp-1")?);
/// let idp = Jwt::new(keys, JwtConfig::new("https://idp.example", "my-api"), MemoryRefreshStore::new())?;
/// let token = idp.issue_access("alice", serde_json::Map::new())?;
/// let jwks = serde_json::to_string(&idp.jwks()).unwrap();
///
/// // This side: only its JWKS, issuer, audience and the algorithms allowed.
/// let external = ExternalIssuer::new(&jwks, "https://idp.example", "my-api", &[Algorithm::EdDSA, Algorithm::RS256])?;
/// assert_eq!(external.verify(&token)?.sub, "alice");
/// # Ok::<(), batteries_jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct ExternalIssuer {
    keys: KeySet,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    typ: Option<&'static str>,
    leeway: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ExternalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalIssuer")
            .field("keys", &self.keys)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl ExternalIssuer {
    /// Tokens of `issuer` for `audience`, signed by a key of the JWKS document `jwks`
    /// with one of `algorithms` (each key still accepts only its own algorithm).
    ///
    /// # Errors
    /// [`JwtError::Key`] when `jwks` is not a JWKS with a usable key, or `algorithms`
    /// is empty or holds an HMAC algorithm.
    pub fn new(
        jwks: &str,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        Self::with_keys(KeySet::from_jwks(jwks)?, issuer, audience, algorithms)
    }

    /// As [`new`](Self::new), with keys already loaded.
    ///
    /// # Errors
    /// [`JwtError::Key`] when `algorithms` is empty or holds an HMAC algorithm.
    pub fn with_keys(
        keys: KeySet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        if algorithms.is_empty() {
            return Err(JwtError::Key("no algorithm allowed".to_owned()));
        }
        if let Some(hmac) = algorithms
            .iter()
            .find(|a| a.family() == jsonwebtoken::AlgorithmFamily::Hmac)
        {
            return Err(JwtError::Key(format!(
                "{hmac:?} needs a shared secret; an external issuer is verified by public keys"
            )));
        }
        Ok(Self {
            keys,
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            algorithms: algorithms.to_vec(),
            typ: None,
            leeway: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
        })
    }

    /// Also accepts `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires the `typ` claim to be `typ` (such as [`ACCESS`]).
    #[must_use]
    pub fn with_token_type(mut self, typ: &'static str) -> Self {
        self.typ = Some(typ);
        self
    }

    /// Sets the clock skew tolerated (default 30 seconds).
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Takes the time from `clock` (a [`ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The issuer's keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token`: signature, algorithm, issuer, audience, times (and `typ` when
    /// required).
    ///
    /// # Errors
    /// The [`JwtError`] variant naming the first check that failed.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let expect = token::Expect {
            issuers: &self.issuers,
            audiences: &self.audiences,
            typ: self.typ,
            leeway: seconds(self.leeway),
            algorithms: Some(&self.algorithms),
        };
        token::verify(&self.keys, token, &expect, self.clock.now().timestamp())
    }
}

#[cfg(test)]
mod tests;
