//! [`JwtError`]: why a token was refused, or a key or store failed.

use jsonwebtoken::Algorithm;

/// Why a token was refused, a key could not be loaded, or the refresh store failed.
///
/// Each way a token can be wrong is a variant of its own, so tests and logs can tell
/// them apart; the HTTP edge maps them all to `401 Unauthorized` (except [`Key`] and
/// [`Store`], which are the server's fault). Messages never contain a key, a secret or
/// a token.
///
/// [`Key`]: JwtError::Key
/// [`Store`]: JwtError::Store
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a JWS in compact form: not three base64url parts, a header or payload that is
    /// not a JSON object, a header without `alg`, or a critical (`crit`) header.
    #[error("malformed token: {0}")]
    Malformed(&'static str),

    /// The header names no `kid`: every key is chosen by its id.
    #[error("the token's header has no `kid`")]
    MissingKid,

    /// The header's `kid` names no key of the set (shortened to 64 characters).
    #[error("unknown key id `{0}`")]
    UnknownKid(String),

    /// The header's `alg` is not the algorithm of the key named by `kid` (or not one the
    /// verifier allows): `none`, or an HMAC algorithm on an RSA key, say.
    #[error("algorithm `{found}` is not allowed for this key; expected {expected:?}")]
    AlgorithmNotAllowed {
        /// The header's `alg` (shortened to 16 characters).
        found: String,
        /// The key's algorithm.
        expected: Algorithm,
    },

    /// The signature does not match the header and payload.
    #[error("invalid signature")]
    InvalidSignature,

    /// `exp` has passed, leeway included.
    #[error("the token has expired")]
    Expired,

    /// `nbf` is still in the future, leeway included.
    #[error("the token is not valid yet")]
    NotYetValid,

    /// `iat` is in the future beyond the leeway.
    #[error("the token was issued in the future")]
    IssuedInFuture,

    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,

    /// `aud` does not contain the expected audience.
    #[error("wrong audience")]
    WrongAudience,

    /// `typ` is not the expected kind of token: a refresh token used as an access
    /// token, say.
    #[error("wrong token type; expected `{expected}`")]
    WrongTokenType {
        /// The type that was expected (`access` or `refresh`).
        expected: &'static str,
    },

    /// A claim that must be present is absent.
    #[error("the `{claim}` claim is missing")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },

    /// A claim has the wrong JSON type (`"exp": "9999999999"`), or an extra claim given
    /// to an issuing method would overwrite a registered one.
    #[error("the `{claim}` claim is invalid")]
    InvalidClaim {
        /// The claim (shortened to 64 characters).
        claim: String,
    },

    /// The refresh token was already exchanged: it was stolen or replayed. Its whole
    /// family is now revoked.
    #[error("refresh token reused; its session has been revoked")]
    RefreshReused,

    /// The store does not know the refresh token (never recorded, or purged).
    #[error("unknown refresh token")]
    RefreshUnknown,

    /// The refresh token's family was revoked (reuse, logout, or the subject's logout
    /// everywhere).
    #[error("refresh token revoked")]
    RefreshRevoked,

    /// A concurrent request exchanged this refresh token moments ago, within
    /// [`JwtConfig::reuse_grace`](crate::JwtConfig::reuse_grace): refused, but the family
    /// is left alive (the client uses the pair the other request received).
    #[error("refresh token just exchanged by another request")]
    RefreshRaced,

    /// The refresh token's family is older than [`JwtConfig::family_ttl`](crate::JwtConfig::family_ttl),
    /// counted from the login (`auth_time`): the user logs in again.
    #[error("the session has reached its maximum lifetime")]
    FamilyExpired,

    /// The token's user no longer exists or is inactive. Its family is revoked.
    #[error("the user no longer exists or is inactive")]
    UserInactive,

    /// The user's password changed since the login (the session auth hash carried by
    /// the refresh token no longer matches). Its family is revoked.
    #[error("the user's password has changed")]
    PasswordChanged,

    /// The [`Jwt`](crate::Jwt) was built without saying how users are checked: call
    /// [`Jwt::with_users`](crate::Jwt::with_users) or
    /// [`Jwt::without_user_check`](crate::Jwt::without_user_check).
    #[error("configuration error: {0}")]
    Config(&'static str),

    /// A key could not be loaded or used: a malformed PEM, a too-short HMAC secret, an
    /// algorithm that does not fit the key, a set without a signing key.
    #[error("key error: {0}")]
    Key(String),

    /// The refresh store could not be reached or refused the update.
    #[error("refresh store error: {0}")]
    Store(String),
}

impl JwtError {
    /// Whether the error says the token is unacceptable (rather than a key or the store
    /// failing): the edge answers `401` to these and `500` or `503` to the others.
    pub fn is_token_error(&self) -> bool {
        !matches!(
            self,
            JwtError::Key(_) | JwtError::Store(_) | JwtError::Config(_)
        )
    }
}

/// `s` cut to at most `max` characters, control characters replaced by `?`, for
/// echoing attacker-chosen text in errors (and the logs they end up in).
pub(super) fn shorten(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
