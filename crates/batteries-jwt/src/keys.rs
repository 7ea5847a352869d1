//! [`JwtKey`] and [`KeySet`]: keys chosen by `kid`, each bound to one algorithm.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

use super::JwtError;

/// One key: its id (`kid`), the one algorithm it is used with, the key that verifies
/// and, when this side signs, the key that signs.
///
/// A token is verified only with the algorithm its key was made for: a key made by
/// [`from_rsa_pem`](Self::from_rsa_pem) with RS256 never accepts an HS256 token, whatever
/// the token's header says. `Debug` shows the id and algorithm, never key material.
///
/// ```
/// use batteries_jwt::{Algorithm, JwtKey};
///
/// let key = JwtKey::generate_ed25519("2026-11")?;
/// assert_eq!(key.algorithm(), Algorithm::EdDSA);
/// assert!(key.can_sign());
///
/// // HMAC secrets shorter than the hash are refused.
/// assert!(JwtKey::hmac("h1", Algorithm::HS256, b"too short").is_err());
/// # Ok::<(), batteries_jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    kid: String,
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    /// The public key as a JWK; `None` for HMAC secrets, which are never published.
    public: Option<Jwk>,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

fn key_error(what: &str, e: &jsonwebtoken::errors::Error) -> JwtError {
    JwtError::Key(format!("{what}: {e}"))
}

impl JwtKey {
    /// A new random Ed25519 key (`EdDSA`, the default algorithm).
    ///
    /// Every call makes a different key: a key generated at start-up dies with the
    /// process, and the tokens it signed with it. For several instances or restarts,
    /// generate a PEM once ([`generate_ed25519_pem`](Self::generate_ed25519_pem)), keep it
    /// in your secret store and load it with [`from_ed25519_pem`](Self::from_ed25519_pem).
    ///
    /// # Errors
    /// [`JwtError::Key`] when the system's random generator fails.
    pub fn generate_ed25519(kid: impl Into<String>) -> Result<Self, JwtError> {
        let pkcs8 = generate_ed25519_pkcs8()?;
        Self::signing(kid, Algorithm::EdDSA, EncodingKey::from_ed_der(&pkcs8))
    }

    /// A new random Ed25519 private key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`),
    /// for [`from_ed25519_pem`](Self::from_ed25519_pem). The PEM is a secret.
    ///
    /// # Errors
    /// [`JwtError::Key`] when the system's random generator fails.
    pub fn generate_ed25519_pem() -> Result<String, JwtError> {
        let der = generate_ed25519_pkcs8()?;
        let b64 = STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    /// An Ed25519 signing key (`EdDSA`) from its PKCS#8 PEM.
    ///
    /// # Errors
    /// [`JwtError::Key`] when the PEM does not hold an Ed25519 private key.
    pub fn from_ed25519_pem(kid: impl Into<String>, private_pem: &str) -> Result<Self, JwtError> {
        let encoding = EncodingKey::from_ed_pem(private_pem.as_bytes())
            .map_err(|e| key_error("not an Ed25519 private key PEM", &e))?;
        Self::signing(kid, Algorithm::EdDSA, encoding)
    }

    /// An HMAC key (HS256, HS384 or HS512) from a shared secret, which signs and
    /// verifies. The secret is never published in the JWKS: only parties holding it
    /// can verify the tokens.
    ///
    /// # Errors
    /// [`JwtError::Key`] when `algorithm` is not an HMAC algorithm, or the secret is
    /// shorter than the hash's output (32 bytes for HS256, 48 for HS384, 64 for HS512,
    /// as RFC 7518 §3.2 requires).
    pub fn hmac(
        kid: impl Into<String>,
        algorithm: Algorithm,
        secret: &[u8],
    ) -> Result<Self, JwtError> {
        let min = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(JwtError::Key(format!(
                    "{other:?} is not an HMAC algorithm; expected HS256, HS384 or HS512"
                )));
            }
        };
        if secret.len() < min {
            return Err(JwtError::Key(format!(
                "an {algorithm:?} secret needs at least {min} bytes, got {}",
                secret.len()
            )));
        }
        Ok(Self {
            kid: kid.into(),
            algorithm,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
            public: None,
        })
    }

    /// An RSA signing key (RS256/384/512 or PS256/384/512) from its PEM (PKCS#1 or
    /// PKCS#8), through aws-lc-rs (no `rsa` crate, RUSTSEC-2023-0071).
    ///
    /// # Errors
    /// [`JwtError::Key`] when `algorithm` is not an RSA one, or the PEM does not hold an
    /// RSA private key aws-lc-rs accepts (2048 bits at least).
    pub fn from_rsa_pem(
        kid: impl Into<String>,
        algorithm: Algorithm,
        private_pem: &str,
    ) -> Result<Self, JwtError> {
        expect_family(algorithm, AlgorithmFamily::Rsa)?;
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .map_err(|e| key_error("not an RSA private key PEM", &e))?;
        Self::signing(kid, algorithm, encoding)
    }

    /// An ECDSA signing key (ES256 on P-256, ES384 on P-384) from its PKCS#8 PEM.
    ///
    /// # Errors
    /// [`JwtError::Key`] when `algorithm` is not ES256 or ES384, or the PEM does not hold
    /// a private key on that algorithm's curve.
    pub fn from_ec_pem(
        kid: impl Into<String>,
        algorithm: Algorithm,
        private_pem: &str,
    ) -> Result<Self, JwtError> {
        expect_family(algorithm, AlgorithmFamily::Ec)?;
        let encoding = EncodingKey::from_ec_pem(private_pem.as_bytes())
            .map_err(|e| key_error("not an EC private key PEM", &e))?;
        Self::signing(kid, algorithm, encoding)
    }

    /// A verify-only key from a public key PEM (`-----BEGIN PUBLIC KEY-----`, or
    /// `BEGIN RSA PUBLIC KEY` for RSA) for an asymmetric `algorithm`.
    ///
    /// # Errors
    /// [`JwtError::Key`] when `algorithm` is an HMAC one, or the PEM does not hold a
    /// public key of its family.
    pub fn from_public_pem(
        kid: impl Into<String>,
        algorithm: Algorithm,
        public_pem: &str,
    ) -> Result<Self, JwtError> {
        let pem = public_pem.as_bytes();
        let decoding = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => {
                return Err(JwtError::Key(
                    "an HMAC key has no public PEM; use JwtKey::hmac".to_owned(),
                ));
            }
        }
        .map_err(|e| key_error("not a public key PEM of the algorithm's family", &e))?;
        let jwk = Jwk::from_decoding_key(&decoding, Some(algorithm))
            .map_err(|e| key_error("unusable public key", &e))?;
        Self::verifying(kid.into(), algorithm, &jwk)
    }

    /// A verify-only key from a public JWK, such as one key of an identity provider's
    /// JWKS. The key must have a `kid`. Its algorithm is its `alg`, or when absent the
    /// usual one of its key type: RS256 for RSA, ES256 or ES384 by curve, `EdDSA` for
    /// Ed25519.
    ///
    /// # Errors
    /// [`JwtError::Key`] when the JWK has no `kid`, is meant for encryption (`"use":
    /// "enc"`), is a symmetric (`oct`) key, or its `alg` is unsupported or does not fit
    /// its key type.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwtError> {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| JwtError::Key("the JWK has no `kid`".to_owned()))?;
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err(JwtError::Key(format!("JWK `{kid}` is for encryption")));
        }
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (_, AlgorithmParameters::OctetKey(_)) => {
                return Err(JwtError::Key(format!(
                    "JWK `{kid}` is a symmetric key; HMAC secrets are not taken from a JWKS"
                )));
            }
            (Some(alg), _) => jwk_algorithm(*alg)
                .ok_or_else(|| JwtError::Key(format!("JWK `{kid}`: unsupported `alg`")))?,
            (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (None, AlgorithmParameters::EllipticCurve(p)) => match p.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err(JwtError::Key(format!("JWK `{kid}`: unsupported curve"))),
            },
            (None, AlgorithmParameters::OctetKeyPair(p)) if p.curve == EllipticCurve::Ed25519 => {
                Algorithm::EdDSA
            }
            (None, _) => return Err(JwtError::Key(format!("JWK `{kid}`: unsupported key type"))),
        };
        let fits = match (&jwk.algorithm, algorithm.family()) {
            (AlgorithmParameters::RSA(_), AlgorithmFamily::Rsa) => true,
            (AlgorithmParameters::EllipticCurve(p), AlgorithmFamily::Ec) => {
                matches!(
                    (&p.curve, algorithm),
                    (EllipticCurve::P256, Algorithm::ES256)
                        | (EllipticCurve::P384, Algorithm::ES384)
                )
            }
            (AlgorithmParameters::OctetKeyPair(p), AlgorithmFamily::Ed) => {
                p.curve == EllipticCurve::Ed25519
            }
            _ => false,
        };
        if !fits {
            return Err(JwtError::Key(format!(
                "JWK `{kid}`: {algorithm:?} does not fit its key type"
            )));
        }
        Self::verifying(kid, algorithm, jwk)
    }

    fn signing(
        kid: impl Into<String>,
        algorithm: Algorithm,
        encoding: EncodingKey,
    ) -> Result<Self, JwtError> {
        // Deriving the public key parses the private one with aws-lc-rs: a key that does
        // not fit the algorithm (a P-384 key for ES256) fails here, not at signing time.
        let jwk = Jwk::from_encoding_key(&encoding, algorithm)
            .map_err(|e| key_error("unusable private key", &e))?;
        let mut key = Self::verifying(kid.into(), algorithm, &jwk)?;
        key.encoding = Some(encoding);
        Ok(key)
    }

    fn verifying(kid: String, algorithm: Algorithm, jwk: &Jwk) -> Result<Self, JwtError> {
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|e| key_error("unusable public key", &e))?;
        let mut public = jwk.clone();
        public.common = jsonwebtoken::jwk::CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(algorithm.into()),
            key_id: Some(kid.clone()),
            ..Default::default()
        };
        Ok(Self {
            kid,
            algorithm,
            decoding,
            encoding: None,
            public: Some(public),
        })
    }

    /// The key's id, the `kid` of the tokens it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm the key signs and verifies with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether the key can sign (it holds a private key or an HMAC secret).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// The public key as a JWK (with `kid`, `alg` and `"use": "sig"`); `None` for an HMAC
    /// key, whose secret is never published.
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public.as_ref()
    }

    pub(super) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(super) fn encoding_key(&self) -> Option<&EncodingKey> {
        self.encoding.as_ref()
    }
}

fn generate_ed25519_pkcs8() -> Result<Vec<u8>, JwtError> {
    let pair = aws_lc_rs::signature::Ed25519KeyPair::generate()
        .map_err(|_| JwtError::Key("generating an Ed25519 key failed".to_owned()))?;
    // PKCS#8 v1 (no embedded public key): what jsonwebtoken derives the JWK from.
    let der = pair
        .to_pkcs8v1()
        .map_err(|_| JwtError::Key("encoding an Ed25519 key failed".to_owned()))?;
    Ok(der.as_ref().to_vec())
}

fn expect_family(algorithm: Algorithm, family: AlgorithmFamily) -> Result<(), JwtError> {
    if algorithm.family() == family {
        Ok(())
    } else {
        Err(JwtError::Key(format!(
            "{algorithm:?} is not an algorithm of this key type; expected one of {:?}",
            family.algorithms()
        )))
    }
}

/// The signing algorithm of a JWK `alg`; `None` for encryption algorithms.
fn jwk_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Several keys chosen by `kid`, one of which signs.
///
/// Rotation: add the new key and make it the signing one; tokens signed by the older
/// keys keep verifying until you remove them (after the longest token lifetime):
///
/// ```
/// use batteries_jwt::{JwtKey, KeySet};
///
/// let keys = KeySet::new().with_key(JwtKey::generate_ed25519("2026-10")?);
/// assert_eq!(keys.signing_kid(), Some("2026-10"));
///
/// // A month later: sign with the new key, still verify with the old one.
/// let keys = keys.with_key(JwtKey::generate_ed25519("2026-11")?).with_signing_key("2026-11")?;
/// assert_eq!(keys.signing_kid(), Some("2026-11"));
/// assert!(keys.get("2026-10").is_some());
///
/// // Once the old key's tokens have expired:
/// let keys = keys.without_key("2026-10");
/// assert_eq!(keys.kids().collect::<Vec<_>>(), ["2026-11"]);
/// # Ok::<(), batteries_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<JwtKey>,
    signing: Option<usize>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key`, replacing a key with the same `kid`. The first key that can sign
    /// becomes the signing key, until [`with_signing_key`](Self::with_signing_key)
    /// chooses another.
    #[must_use]
    pub fn with_key(mut self, key: JwtKey) -> Self {
        if let Some(i) = self.keys.iter().position(|k| k.kid == key.kid) {
            self.keys[i] = key;
            if self.signing == Some(i) && !self.keys[i].can_sign() {
                self.signing = None;
            }
        } else {
            self.keys.push(key);
        }
        if self.signing.is_none() {
            self.signing = self.keys.iter().position(JwtKey::can_sign);
        }
        self
    }

    /// Signs with the key `kid` from now on.
    ///
    /// # Errors
    /// [`JwtError::Key`] when the set has no key `kid`, or that key cannot sign.
    pub fn with_signing_key(mut self, kid: &str) -> Result<Self, JwtError> {
        let i = self
            .keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or_else(|| JwtError::Key(format!("no key `{kid}` in the set")))?;
        if !self.keys[i].can_sign() {
            return Err(JwtError::Key(format!("key `{kid}` cannot sign")));
        }
        self.signing = Some(i);
        Ok(self)
    }

    /// Removes the key `kid`: tokens it signed stop verifying. When it was the signing
    /// key, the first remaining key that can sign takes over.
    #[must_use]
    pub fn without_key(mut self, kid: &str) -> Self {
        let signing_kid = self.signing_kid().map(str::to_owned);
        self.keys.retain(|k| k.kid != kid);
        self.signing = signing_kid
            .and_then(|s| self.keys.iter().position(|k| k.kid == s))
            .or_else(|| self.keys.iter().position(JwtKey::can_sign));
        self
    }

    /// The verify-only keys of a JWKS document (an identity provider's
    /// `/.well-known/jwks.json`). Keys that cannot verify signatures here are skipped:
    /// encryption keys, symmetric keys, keys without `kid`, unsupported algorithms.
    ///
    /// # Errors
    /// [`JwtError::Key`] when the document is not a JWKS (`{"keys": [...]}`), or none
    /// of its keys is usable.
    pub fn from_jwks(json: &str) -> Result<Self, JwtError> {
        let doc: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| JwtError::Key(format!("the JWKS is not JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| JwtError::Key("the JWKS has no `keys` array".to_owned()))?;
        let mut set = Self::new();
        for value in keys {
            let usable = serde_json::from_value::<Jwk>(value.clone())
                .ok()
                .and_then(|jwk| JwtKey::from_jwk(&jwk).ok());
            if let Some(key) = usable {
                set = set.with_key(key);
            }
        }
        if set.is_empty() {
            return Err(JwtError::Key(
                "the JWKS has no key usable for verifying signatures".to_owned(),
            ));
        }
        Ok(set)
    }

    /// The key `kid`.
    pub fn get(&self, kid: &str) -> Option<&JwtKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> Option<&JwtKey> {
        self.signing.and_then(|i| self.keys.get(i))
    }

    /// The `kid` of the key that signs new tokens.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signing_key().map(JwtKey::kid)
    }

    /// The ids of the keys, in the order they were added.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(JwtKey::kid)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JWKS document of the set's public keys, to serve at
    /// `/.well-known/jwks.json`. HMAC keys are left out: their secret is never
    /// published.
    ///
    /// ```
    /// use batteries_jwt::{Algorithm, JwtKey, KeySet};
    ///
    /// let keys = KeySet::new()
    ///     .with_key(JwtKey::generate_ed25519("ed")?)
    ///     .with_key(JwtKey::hmac("h", Algorithm::HS256, &[7; 32])?);
    /// let jwks = serde_json::to_value(keys.jwks()).unwrap();
    /// assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    /// assert_eq!(jwks["keys"][0]["kid"], "ed");
    /// assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    /// # Ok::<(), batteries_jwt::JwtError>(())
    /// ```
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(|k| k.public.clone()).collect(),
        }
    }
}
