//! New passwords and password hashes: the checks of a new password (shared by the add
//! form of a model with a password field, its password page and the admin's own
//! password-change page) and Django's masked summary of a hash.

use std::collections::HashMap;

use batteries_auth::hashers::{Hashers, is_password_usable, make_password_async};
use batteries_auth::user::validate_username;
use batteries_auth::validators::{UserAttributes, Validators};
use sea_orm::Value;

use super::{FieldErrors, form_value};
use crate::config::user_admin::INVALID_USERNAME;
use crate::model::{ModelInfo, Row};

/// Django's message for two new passwords that differ.
pub(crate) const MISMATCH: &str = "The two password fields didn’t match.";

/// Which of the two new-password fields an error belongs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The password.
    First,
    /// Its confirmation.
    Second,
}

/// Django's `SetPasswordMixin.validate_passwords` and `validate_password_for_user`: the
/// two entries must be given and equal, and the password must pass the validators
/// (their messages go under the confirmation, as Django puts them).
pub(crate) fn check_new_password(
    password1: &str,
    password2: &str,
    user: Option<&dyn UserAttributes>,
) -> Vec<(Slot, Vec<String>)> {
    let required = || vec!["This field is required.".to_owned()];
    let mut errors = Vec::new();
    if password1.is_empty() {
        errors.push((Slot::First, required()));
    }
    if password2.is_empty() {
        errors.push((Slot::Second, required()));
    }
    if !errors.is_empty() {
        return errors;
    }
    if password1 != password2 {
        return vec![(Slot::Second, vec![MISMATCH.to_owned()])];
    }
    if let Err(e) = Validators::default().validate(password1, user) {
        errors.push((Slot::Second, e.messages().map(str::to_owned).collect()));
    }
    errors
}

/// The attributes the similarity validator compares a password with, from a row.
pub(crate) fn row_attributes(info: &ModelInfo, row: &Row) -> HashMap<String, String> {
    ["username", "first_name", "last_name", "email"]
        .into_iter()
        .filter_map(|name| {
            let i = info.field_index(name)?;
            Some((name.to_owned(), info.fields[i].form_value(&row.values[i])))
        })
        .collect()
}

/// The add form of a model with a password field: checks `password1`/`password2`
/// against each other and the validators (errors by field into `errors`), and when the
/// whole form is valid hashes the password (off the executor) into `values`. After a
/// successful add the user opens on its change form, as Django's `UserAdmin` does, so
/// `_continue` is added to `form` unless another add was asked for.
pub(crate) async fn add_form_password(
    info: &ModelInfo,
    form: &mut Vec<(String, String)>,
    values: &mut Vec<(usize, Value)>,
    errors: &mut FieldErrors,
) {
    let Some(column) = info.password.column else {
        return;
    };
    if let Some(name) = form_value(form, "username")
        && info.field_index("username").is_some()
        && !name.is_empty()
        && validate_username(&name).is_err()
    {
        errors
            .entry("username".into())
            .or_default()
            .push(INVALID_USERNAME.into());
    }
    let password1 = form_value(form, "password1").unwrap_or_default();
    let password2 = form_value(form, "password2").unwrap_or_default();
    let attributes: HashMap<String, String> = ["username", "first_name", "last_name", "email"]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), form_value(form, k)?)))
        .collect();
    for (slot, messages) in check_new_password(&password1, &password2, Some(&attributes)) {
        let name = match slot {
            Slot::First => "password1",
            Slot::Second => "password2",
        };
        errors.entry(name.into()).or_default().extend(messages);
    }
    if !errors.is_empty() {
        return;
    }
    match make_password_async(password1).await {
        Ok(hash) => values.push((column, Value::from(hash))),
        Err(e) => {
            errors
                .entry("password1".into())
                .or_default()
                .push(e.to_string());
        }
    }
    if !form.iter().any(|(k, _)| k == "_addanother") {
        form.push(("_continue".into(), "1".into()));
    }
}

/// Django's `mask_hash`: the first `show` characters, then one `*` per character left.
pub(crate) fn mask_hash(hash: &str, show: usize) -> String {
    hash.chars()
        .enumerate()
        .map(|(i, c)| if i < show { c } else { '*' })
        .collect()
}

/// What Django's `ReadOnlyPasswordHashWidget` shows of `encoded`: `(label, value)`
/// pairs, the algorithm and its parameters then the salt and digest masked; or a lone
/// label for an unusable password ("No password set.") or one that no hasher reads.
pub(crate) fn password_summary(encoded: &str) -> Vec<(String, Option<String>)> {
    if encoded.is_empty() || !is_password_usable(encoded) {
        return vec![("No password set.".into(), None)];
    }
    let Some(summary) = Hashers::default().safe_summary(encoded) else {
        return vec![(
            "Invalid password format or unknown hashing algorithm.".into(),
            None,
        )];
    };
    let mut out: Vec<(String, Option<String>)> = summary
        .entries()
        .iter()
        .map(|(label, value)| ((*label).to_owned(), Some(value.clone())))
        .collect();
    for (label, secret, show) in salt_and_hash(encoded) {
        out.push((label.to_owned(), Some(mask_hash(&secret, show))));
    }
    out
}

/// The salt and digest of `encoded` as Django's hashers decode them, each with how many
/// characters Django's `safe_summary` leaves unmasked.
fn salt_and_hash(encoded: &str) -> Vec<(&'static str, String, usize)> {
    let parts: Vec<&str> = encoded.split('$').collect();
    match parts.as_slice() {
        // argon2$argon2id$v=19$m=..,t=..,p=..$<salt, base64>$<hash>: Django shows the
        // salt decoded (as Latin-1), the hash as stored.
        ["argon2", .., salt, hash] => {
            let salt = base64_decode(salt).map_or_else(
                || (*salt).to_owned(),
                |b| b.iter().map(|&c| char::from(c)).collect(),
            );
            vec![("salt", salt, 6), ("hash", (*hash).to_owned(), 6)]
        }
        [algorithm, _iterations, salt, hash] if algorithm.starts_with("pbkdf2_") => {
            vec![
                ("salt", (*salt).to_owned(), 6),
                ("hash", (*hash).to_owned(), 6),
            ]
        }
        // bcrypt_sha256$$2b$12$<22 characters of salt><checksum>
        [algorithm, "", _, _, data] if algorithm.starts_with("bcrypt") && data.len() > 22 => {
            let (salt, checksum) = data.split_at(22);
            vec![
                ("salt", salt.to_owned(), 6),
                ("checksum", checksum.to_owned(), 6),
            ]
        }
        ["scrypt", _, salt, _, _, hash] => {
            vec![
                ("salt", (*salt).to_owned(), 6),
                ("hash", (*hash).to_owned(), 6),
            ]
        }
        // Django's salted MD5 shows two characters of its salt.
        ["md5", salt, hash] => {
            vec![
                ("salt", (*salt).to_owned(), 2),
                ("hash", (*hash).to_owned(), 6),
            ]
        }
        _ => Vec::new(),
    }
}

/// Standard base64 (padding optional), as Python's `b64decode` reads a PHC salt.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(encoded: &str) -> String {
        password_summary(encoded)
            .into_iter()
            .map(|(l, v)| match v {
                Some(v) => format!("{l}: {v}"),
                None => l,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn mask_hash_keeps_six_characters() {
        assert_eq!(mask_hash("abcdefghij", 6), "abcdef****");
        assert_eq!(mask_hash("abc", 6), "abc");
        assert_eq!(mask_hash("", 6), "");
    }

    #[test]
    fn summaries_mask_salt_and_hash_as_django() {
        // What Django 5.2's UserChangeForm shows for the same hashes.
        assert_eq!(
            text("pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A="),
            format!(
                "algorithm: pbkdf2_sha256 iterations: 1000 salt: seasal* hash: JgZryX{}",
                "*".repeat(38)
            )
        );
        assert_eq!(
            text(
                "argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$xxk2kluVSVtjlIPDBEsQ3PlZ45SjTVTdtMn/477ektM"
            ),
            format!(
                "algorithm: argon2 variety: argon2id version: 19 memory cost: 102400 time cost: 2 \
                 parallelism: 8 salt: seasal{} hash: xxk2kl{}",
                "*".repeat(16),
                "*".repeat(37)
            )
        );
        assert_eq!(
            text("md5$seasaltseasaltseasalt1$d40497d3861888ac0ef97ad41b2127d7"),
            format!(
                "algorithm: md5 salt: se{} hash: d40497{}",
                "*".repeat(20),
                "*".repeat(26)
            )
        );
        assert_eq!(text("!abc"), "No password set.");
        assert_eq!(text(""), "No password set.");
        assert_eq!(
            text("nope$1$2"),
            "Invalid password format or unknown hashing algorithm."
        );
    }

    #[test]
    fn new_passwords_must_match_and_pass_the_validators() {
        assert_eq!(
            check_new_password("a", "b", None),
            vec![(Slot::Second, vec![MISMATCH.to_owned()])]
        );
        let weak = check_new_password("123", "123", None);
        assert_eq!(weak.len(), 1);
        assert!(
            weak[0].1.iter().any(|m| m.contains("too short")),
            "{weak:?}"
        );
        assert!(
            check_new_password(
                "correct horse battery staple",
                "correct horse battery staple",
                None
            )
            .is_empty()
        );
        assert_eq!(check_new_password("", "x", None)[0].0, Slot::First);
    }
}
