//! [`Claims`], and the signing and verifying of compact JWS tokens.
//!
//! Verifying does not use `jsonwebtoken::decode`: it parses the header itself (so the
//! key is chosen by `kid` before anything else, and `alg` must equal that key's
//! algorithm), checks the signature with jsonwebtoken's aws-lc-rs backend, then reads
//! every registered claim with its exact JSON type against the injected clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::shorten;
use super::{JwtError, KeySet};

/// Longest token accepted, in bytes: a bound on the work an anonymous request causes.
pub(super) const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Claims this module sets itself, which extra claims may not overwrite.
pub(super) const REGISTERED: [&str; 11] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "typ",
    "fam",
    super::AUTH_TIME,
    super::AUTH_HASH,
];

/// The claims of a verified token.
///
/// Tokens issued by [`Jwt`](crate::Jwt) always carry `nbf`, `iat`, `jti` and `typ`;
/// an [`ExternalIssuer`](crate::ExternalIssuer)'s may lack them. Times are seconds since
/// the Unix epoch. `aud` serializes as a string when it holds one audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: whom the token is about (a user id).
    pub sub: String,
    /// The issuer.
    pub iss: String,
    /// The audiences.
    #[serde(with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry.
    pub exp: i64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The token's unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The kind of token: `access` or `refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The family of a refresh token: every token obtained by rotating one login's
    /// refresh token shares it (claim `fam`).
    #[serde(default, rename = "fam", skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Whether `aud` contains `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud.iter().any(|a| a == audience)
    }
}

mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub(super) fn serialize<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
        match aud {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        })
    }
}

/// What a verifier expects of a token besides a good signature.
#[derive(Debug)]
pub(super) struct Expect<'a> {
    /// Accepted issuers (one must equal `iss`).
    pub issuers: &'a [String],
    /// Accepted audiences (one must be in `aud`).
    pub audiences: &'a [String],
    /// The required `typ`, if any.
    pub typ: Option<&'static str>,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
    /// When set, the algorithms accepted besides the key's own constraint.
    pub algorithms: Option<&'a [Algorithm]>,
}

/// Signs `claims` with the set's signing key.
pub(super) fn sign(keys: &KeySet, claims: &Claims) -> Result<String, JwtError> {
    let key = keys
        .signing_key()
        .ok_or_else(|| JwtError::Key("the key set has no signing key".to_owned()))?;
    let encoding = key
        .encoding_key()
        .ok_or_else(|| JwtError::Key(format!("key `{}` cannot sign", key.kid())))?;
    let mut header = Header::new(key.algorithm());
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, encoding)
        .map_err(|e| JwtError::Key(format!("signing failed: {e}")))
}

fn b64_json(part: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(what))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(what)),
    }
}

/// Verifies `token`'s signature with the key its `kid` names, then its claims at `now`
/// (seconds since the Unix epoch).
pub(super) fn verify(
    keys: &KeySet,
    token: &str,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("the token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let header = b64_json(header_b64, "the header is not a base64url JSON object")?;
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: extensions we do not understand must be refused.
        return Err(JwtError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    let Some(Value::String(alg)) = header.get("alg") else {
        return Err(JwtError::Malformed("the header has no `alg` string"));
    };
    let kid = match header.get("kid") {
        None | Some(Value::Null) => return Err(JwtError::MissingKid),
        Some(Value::String(kid)) => kid,
        Some(_) => return Err(JwtError::Malformed("the header's `kid` is not a string")),
    };
    let key = keys
        .get(kid)
        .ok_or_else(|| JwtError::UnknownKid(shorten(kid, 64)))?;
    // The key decides the algorithm; the header must agree. `none`, and HS256 on an RSA
    // key's public bytes, fail here.
    let allowed = expect
        .algorithms
        .is_none_or(|list| list.contains(&key.algorithm()));
    if !allowed || alg.parse::<Algorithm>().ok() != Some(key.algorithm()) {
        return Err(JwtError::AlgorithmNotAllowed {
            found: shorten(alg, 16),
            expected: key.algorithm(),
        });
    }
    if URL_SAFE_NO_PAD.decode(signature_b64).is_err() {
        return Err(JwtError::Malformed("the signature is not base64url"));
    }
    let message = &token[..header_b64.len() + 1 + payload_b64.len()];
    let valid = jsonwebtoken::crypto::verify(
        signature_b64,
        message.as_bytes(),
        key.decoding_key(),
        key.algorithm(),
    )
    .map_err(|e| JwtError::Key(format!("verifying with key `{}` failed: {e}", key.kid())))?;
    if !valid {
        return Err(JwtError::InvalidSignature);
    }
    let payload = b64_json(payload_b64, "the payload is not a base64url JSON object")?;
    check_claims(payload, expect, now)
}

/// Reads the registered claims with their exact types, then checks them.
fn check_claims(
    mut payload: Map<String, Value>,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Claims, JwtError> {
    let claims = Claims {
        sub: required(string(&mut payload, "sub")?, "sub")?,
        iss: required(string(&mut payload, "iss")?, "iss")?,
        aud: required(audience(&mut payload)?, "aud")?,
        exp: required(numeric_date(&mut payload, "exp")?, "exp")?,
        nbf: numeric_date(&mut payload, "nbf")?,
        iat: numeric_date(&mut payload, "iat")?,
        jti: string(&mut payload, "jti")?,
        typ: string(&mut payload, "typ")?,
        family: string(&mut payload, "fam")?,
        extra: payload,
    };
    if !expect.issuers.contains(&claims.iss) {
        return Err(JwtError::WrongIssuer);
    }
    if !expect.audiences.iter().any(|a| claims.has_audience(a)) {
        return Err(JwtError::WrongAudience);
    }
    check_times(&claims, expect.leeway, now)?;
    if let Some(expected) = expect.typ {
        match claims.typ.as_deref() {
            Some(typ) if typ == expected => {}
            None => return Err(JwtError::MissingClaim { claim: "typ" }),
            Some(_) => return Err(JwtError::WrongTokenType { expected }),
        }
    }
    Ok(claims)
}

/// The checks of `exp`, `nbf` and `iat` at `now`, with `leeway` seconds of skew: the only
/// ones whose outcome changes after a token has verified once.
pub(super) fn check_times(claims: &Claims, leeway: i64, now: i64) -> Result<(), JwtError> {
    if now >= claims.exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
    {
        return Err(JwtError::NotYetValid);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(JwtError::IssuedInFuture);
    }
    Ok(())
}

fn required<T>(value: Option<T>, claim: &'static str) -> Result<T, JwtError> {
    value.ok_or(JwtError::MissingClaim { claim })
}

fn invalid(claim: &str) -> JwtError {
    JwtError::InvalidClaim {
        claim: shorten(claim, 64),
    }
}

/// A string claim, removed from the payload; absent (or `null`) is `None`, any other
/// type is an error.
fn string(
    payload: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Option<String>, JwtError> {
    match payload.remove(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(claim)),
    }
}

/// A `NumericDate` (RFC 7519 §2): a JSON number of seconds, fractions truncated. A string
/// (`"9999999999"`), a boolean or a number out of range is an error, never "absent".
fn numeric_date(
    payload: &mut Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, JwtError> {
    match payload.remove(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    // Within ±2^53, where every f64 is exact and the cast cannot overflow.
                    #[allow(clippy::cast_possible_truncation)]
                    Some(f) if f.is_finite() && f.abs() < 9_007_199_254_740_992.0 => {
                        Ok(Some(f.trunc() as i64))
                    }
                    _ => Err(invalid(claim)),
                }
            }
        }
        Some(_) => Err(invalid(claim)),
    }
}

/// `aud`: a string or an array of strings.
fn audience(payload: &mut Map<String, Value>) -> Result<Option<Vec<String>>, JwtError> {
    match payload.remove("aud") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s])),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(invalid("aud")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid("aud")),
    }
}
