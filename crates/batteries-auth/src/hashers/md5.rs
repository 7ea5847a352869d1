//! Django's `MD5PasswordHasher`: `md5$<salt>$<hex md5(salt + password)>`.

use std::fmt::Write as _;

use ::md5::{Digest as _, Md5};

use super::{
    HashError, Hasher, MAX_ENCODED_LEN, MAX_PASSWORD_LEN, SafeSummary, check_password_len,
    check_salt, ct_eq, salt_is_weak,
};

/// Salted MD5 (`md5`). Fast, hence weak: it is in [`Hashers::default`] to verify (and
/// upgrade) legacy hashes, never to make new ones, though [`Hasher::make`] works (for
/// tests that must be fast).
///
/// As in Django 5.2, hashes with an empty salt (`md5$$…`, once Django's
/// `UnsaltedMD5PasswordHasher`) do not verify.
///
/// [`Hashers::default`]: super::Hashers::default
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Md5Hasher;

impl Md5Hasher {
    fn digest(password: &str, salt: &str) -> String {
        let mut md5 = Md5::new();
        md5.update(salt.as_bytes());
        md5.update(password.as_bytes());
        let mut out = String::with_capacity(4 + salt.len() + 32);
        out.push_str("md5$");
        out.push_str(salt);
        out.push('$');
        for byte in md5.finalize() {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    fn salt_of(encoded: &str) -> Option<&str> {
        if encoded.len() > MAX_ENCODED_LEN {
            return None;
        }
        let (salt, hash) = encoded.strip_prefix("md5$")?.split_once('$')?;
        (!salt.is_empty() && !hash.is_empty()).then_some(salt)
    }
}

impl Hasher for Md5Hasher {
    fn algorithm(&self) -> &'static str {
        "md5"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, HashError> {
        check_password_len(password)?;
        check_salt(self.algorithm(), salt)?;
        Ok(Self::digest(password, salt))
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        Self::salt_of(encoded)
            .is_some_and(|salt| ct_eq(Self::digest(password, salt).as_bytes(), encoded.as_bytes()))
    }

    fn must_update(&self, encoded: &str) -> bool {
        Self::salt_of(encoded).is_none_or(|salt| salt_is_weak(salt.chars().count()))
    }

    fn safe_summary(&self, encoded: &str) -> Option<SafeSummary> {
        Self::salt_of(encoded).map(|_| SafeSummary::new(self.algorithm()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2's MD5PasswordHasher.
    const DJANGO: &str = "md5$seasaltseasaltseasalt1$d40497d3861888ac0ef97ad41b2127d7";
    const DJANGO_EMPTY: &str = "md5$seasaltseasaltseasalt1$7890d77969137970afee55b037667827";

    #[test]
    fn django_vectors_verify_and_encode() {
        assert!(Md5Hasher.verify("lètmein", DJANGO));
        assert!(!Md5Hasher.verify("letmein", DJANGO));
        assert!(Md5Hasher.verify("", DJANGO_EMPTY));
        assert_eq!(
            Md5Hasher
                .encode("lètmein", "seasaltseasaltseasalt1")
                .expect("encode"),
            DJANGO
        );
        assert!(!Md5Hasher.must_update(DJANGO));
        assert!(Md5Hasher.must_update("md5$short$d40497d3861888ac0ef97ad41b2127d7"));
    }

    #[test]
    fn malformed_hashes_do_not_verify() {
        for encoded in [
            "",
            "md5",
            "md5$",
            "md5$$",
            "md5$seasaltseasaltseasalt1",
            "md5$seasaltseasaltseasalt1$",
            "md5$$8ba1a0b3e8d2b8d5c6c1f1a5f2d6e1a9",
            "md5$seasaltseasaltseasalt1$D40497D3861888AC0EF97AD41B2127D7",
            "md5$seasaltseasaltseasalt1$d40497d3861888ac0ef97ad41b2127d",
        ] {
            assert!(!Md5Hasher.verify("lètmein", encoded), "{encoded}");
        }
        assert!(Md5Hasher.encode("pw", "").is_err());
    }

    #[test]
    fn made_hashes_round_trip() {
        let encoded = Md5Hasher.make("pässwörd").expect("make");
        assert!(Md5Hasher.verify("pässwörd", &encoded));
        assert!(!Md5Hasher.verify("passwort", &encoded));
        assert!(!Md5Hasher.must_update(&encoded));
    }
}
