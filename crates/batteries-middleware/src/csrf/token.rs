//! Django's masked CSRF tokens: a 32-character secret per session, sent to forms as a
//! 64-character token that is masked afresh on each render (BREACH).

use rand::Rng;
use subtle::ConstantTimeEq;

/// Django's `CSRF_ALLOWED_CHARS`.
const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Length of the secret (Django's `CSRF_SECRET_LENGTH`).
pub const SECRET_LEN: usize = 32;
/// Length of a masked token (Django's `CSRF_TOKEN_LENGTH`).
pub const TOKEN_LEN: usize = 2 * SECRET_LEN;

fn random_chars(n: usize) -> Vec<u8> {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())])
        .collect()
}

fn index(c: u8) -> Option<usize> {
    CHARS.iter().position(|&x| x == c)
}

/// A new random secret (the one login also makes).
pub fn new_secret() -> String {
    batteries_sessions::new_csrf_secret()
}

/// `secret` masked with a fresh random mask: Django's `_mask_cipher_secret`.
pub fn mask(secret: &str) -> String {
    let mask = random_chars(SECRET_LEN);
    let cipher = secret.bytes().zip(&mask).map(|(s, &m)| {
        let (s, m) = (index(s).unwrap_or(0), index(m).unwrap_or(0));
        CHARS[(s + m) % CHARS.len()]
    });
    let token: Vec<u8> = mask.iter().copied().chain(cipher).collect();
    String::from_utf8(token).unwrap_or_default()
}

/// The secret inside a masked token (Django's `_unmask_cipher_token`); a 32-character
/// token is taken as an unmasked secret, as Django does. `None` for malformed tokens.
fn unmask(token: &str) -> Option<Vec<u8>> {
    let bytes = token.as_bytes();
    if bytes.iter().any(|&b| index(b).is_none()) {
        return None;
    }
    match bytes.len() {
        SECRET_LEN => Some(bytes.to_vec()),
        TOKEN_LEN => {
            let (mask, cipher) = bytes.split_at(SECRET_LEN);
            Some(
                cipher
                    .iter()
                    .zip(mask)
                    .map(|(&c, &m)| {
                        let (c, m) = (index(c).unwrap_or(0), index(m).unwrap_or(0));
                        CHARS[(c + CHARS.len() - m) % CHARS.len()]
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Whether `token` (masked or not) carries `secret`, compared in constant time.
pub fn matches(token: &str, secret: &str) -> bool {
    unmask(token).is_some_and(|s| bool::from(s.as_slice().ct_eq(secret.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_differ_but_carry_the_secret() {
        let secret = new_secret();
        let (a, b) = (mask(&secret), mask(&secret));
        assert_eq!(a.len(), TOKEN_LEN);
        assert_ne!(a, b, "each render masks afresh");
        assert!(matches(&a, &secret) && matches(&b, &secret));
        assert!(matches(&secret, &secret), "an unmasked secret is accepted");
    }

    #[test]
    fn other_tokens_do_not_match() {
        let secret = new_secret();
        assert!(!matches(&mask(&new_secret()), &secret));
        assert!(!matches("", &secret));
        assert!(!matches(&"!".repeat(TOKEN_LEN), &secret));
        assert!(!matches(&mask(&secret)[..TOKEN_LEN - 1], &secret));
    }

    #[test]
    fn django_masks_unmask_here() {
        // Made by Django 5.2: `_mask_cipher_secret("a" * 32)` with the mask "b" * 32.
        let token = format!("{}{}", "b".repeat(32), "b".repeat(32));
        // (index(a)=0 + index(b)=1) % 62 = 1 -> 'b'
        assert!(matches(&token, &"a".repeat(32)));
    }
}
