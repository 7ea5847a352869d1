//! Django's `UserAttributeSimilarityValidator`.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{PasswordValidator, UserAttributes, ValidationError};
use crate::error::{Error, Result};

/// Python's `difflib.SequenceMatcher(a=a, b=b).quick_ratio()`: twice the number of
/// characters the two strings have in common (as multisets, order ignored) over their
/// total length; `1.0` for two empty strings. An upper bound on `ratio()`, and the
/// measure Django's validator compares with `max_similarity`.
///
/// ```
/// use batteries_auth::validators::quick_ratio;
///
/// assert_eq!(quick_ratio("abcd", "bcde"), 0.75);
/// assert_eq!(quick_ratio("abc", "cba"), 1.0);
/// assert_eq!(quick_ratio("", ""), 1.0);
/// assert_eq!(quick_ratio("abc", ""), 0.0);
/// ```
pub fn quick_ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    quick_ratio_chars(&a, &b)
}

fn quick_ratio_chars(a: &[char], b: &[char]) -> f64 {
    let mut available: HashMap<char, usize> = HashMap::new();
    for &c in b {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a {
        if let Some(n) = available.get_mut(c).filter(|n| **n > 0) {
            *n -= 1;
            matches += 1;
        }
    }
    let length = a.len() + b.len();
    if length == 0 {
        1.0
    } else {
        // Python's `2.0 * matches / length`, same operations, same rounding.
        2.0 * matches as f64 / length as f64
    }
}

/// Django's `exceeds_maximum_length_ratio`: a value this much shorter than the password
/// cannot reach `max_similarity`, so the comparison is skipped.
fn exceeds_maximum_length_ratio(
    password_len: usize,
    max_similarity: f64,
    value_len: usize,
) -> bool {
    let length_bound_similarity = max_similarity / 2.0 * password_len as f64;
    password_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// Python's `re.split(r"\W+", value)`: the runs of word characters (letters, digits,
/// `_`), with an empty piece before a leading or after a trailing separator.
fn split_on_non_word(value: &str) -> Vec<String> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_separator = false;
    for c in value.chars() {
        if is_word(c) {
            if in_separator {
                parts.push(std::mem::take(&mut current));
                in_separator = false;
            }
            current.push(c);
        } else {
            in_separator = true;
        }
    }
    if in_separator {
        parts.push(std::mem::take(&mut current));
    }
    parts.push(current);
    parts
}

/// Refuses a password too similar to one of the user's attributes: by default the
/// username, first name, last name and e-mail, each compared whole and in the pieces
/// between its non-word characters (so `zoe@example.com` is compared as
/// `zoe@example.com`, `zoe`, `example` and `com`). Similarity is Django's:
/// [`quick_ratio`] of the lower-cased strings, refused at `max_similarity` (0.7) or
/// more. Attributes the user does not have, or has empty, are skipped; without a user
/// every password passes.
///
/// ```
/// use batteries_auth::validators::{PasswordValidator, UserAttributeSimilarityValidator};
///
/// let v = UserAttributeSimilarityValidator::default();
/// let user = [("username", "zoe"), ("first_name", "Zoë"), ("email", "zoe.angstrom@example.com")];
///
/// let err = v.validate("Angstrom!", Some(&user)).unwrap_err();
/// assert_eq!(err.code(), "password_too_similar");
/// assert_eq!(err.message(), "The password is too similar to the email address.");
/// assert!(v.validate("gravel-lantern-orbit", Some(&user)).is_ok());
/// assert!(v.validate("Angstrom!", None).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserAttributeSimilarityValidator {
    /// `(attribute name, verbose name)` pairs, in the order they are checked.
    attributes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    max_similarity: f64,
}

impl UserAttributeSimilarityValidator {
    /// Django's attributes of `auth_user` with their verbose names (the words used in
    /// the message).
    pub const DEFAULT_USER_ATTRIBUTES: [(&'static str, &'static str); 4] = [
        ("username", "username"),
        ("first_name", "first name"),
        ("last_name", "last name"),
        ("email", "email address"),
    ];

    /// Django's default threshold.
    pub const DEFAULT_MAX_SIMILARITY: f64 = 0.7;

    /// Django's attributes and threshold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compares with these attributes instead: `(name, verbose name)` pairs, where the
    /// name is looked up through [`UserAttributes`] and the verbose name fills the
    /// message ("The password is too similar to the *verbose name*.").
    #[must_use]
    pub fn with_attributes<N, V>(mut self, attributes: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<Cow<'static, str>>,
        V: Into<Cow<'static, str>>,
    {
        self.attributes = attributes
            .into_iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect();
        self
    }

    /// Refuses at this similarity or more (Django's `max_similarity`).
    ///
    /// # Errors
    /// [`Error::InvalidField`] when `max_similarity` is below 0.1 (or not a number):
    /// nearly every password would be refused, so Django refuses the setting.
    pub fn with_max_similarity(mut self, max_similarity: f64) -> Result<Self> {
        if max_similarity.is_nan() || max_similarity < 0.1 {
            return Err(Error::InvalidField {
                field: "max_similarity",
                message: format!("must be at least 0.1, not {max_similarity}"),
            });
        }
        self.max_similarity = max_similarity;
        Ok(self)
    }

    /// The threshold.
    pub fn max_similarity(&self) -> f64 {
        self.max_similarity
    }

    /// The attributes compared, with their verbose names.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    fn too_similar(&self, password: &[char], value: &str) -> bool {
        let value = value.to_lowercase();
        let mut parts = split_on_non_word(&value);
        parts.push(value);
        parts.iter().any(|part| {
            let part: Vec<char> = part.chars().collect();
            !exceeds_maximum_length_ratio(password.len(), self.max_similarity, part.len())
                && quick_ratio_chars(password, &part) >= self.max_similarity
        })
    }
}

impl Default for UserAttributeSimilarityValidator {
    fn default() -> Self {
        Self {
            attributes: Self::DEFAULT_USER_ATTRIBUTES
                .iter()
                .map(|&(n, v)| (Cow::Borrowed(n), Cow::Borrowed(v)))
                .collect(),
            max_similarity: Self::DEFAULT_MAX_SIMILARITY,
        }
    }
}

impl PasswordValidator for UserAttributeSimilarityValidator {
    fn validate(
        &self,
        password: &str,
        user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError> {
        let Some(user) = user else {
            return Ok(());
        };
        let password: Vec<char> = password.to_lowercase().chars().collect();
        for (name, verbose_name) in &self.attributes {
            let Some(value) = user.attribute(name).filter(|v| !v.is_empty()) else {
                continue;
            };
            if self.too_similar(&password, value) {
                return Err(ValidationError::new(
                    "password_too_similar",
                    format!("The password is too similar to the {verbose_name}."),
                ));
            }
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be too similar to your other personal information.".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str, user: &dyn UserAttributes) -> Option<String> {
        UserAttributeSimilarityValidator::default()
            .validate(password, Some(user))
            .err()
            .map(|e| e.message().to_owned())
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        // Values printed by CPython 3.11's difflib.
        let cases = [
            ("abcd", "bcde", 0.75),
            ("testclient", "testclient", 1.0),
            ("password", "username", 0.375),
            ("a", "aaaaaaaaaa", 0.181_818_181_818_181_82),
            (
                "zoe@example.org",
                "zoe@example.com",
                0.866_666_666_666_666_7,
            ),
            ("ééa", "aé", 0.8),
            ("", "", 1.0),
            ("", "x", 0.0),
        ];
        for (a, b, expected) in cases {
            let got = quick_ratio(a, b);
            assert!(got.to_bits() == f64::to_bits(expected), "{a} {b}: {got}");
        }
    }

    #[test]
    fn split_matches_python_re_split() {
        let cases: [(&str, &[&str]); 6] = [
            ("john.doe@example.com", &["john", "doe", "example", "com"]),
            ("a..b", &["a", "b"]),
            (".a", &["", "a"]),
            ("a.", &["a", ""]),
            ("", &[""]),
            ("zoë_ångström-x", &["zoë_ångström", "x"]),
        ];
        for (value, expected) in cases {
            assert_eq!(split_on_non_word(value), expected, "{value}");
        }
    }

    // Django's own test cases (tests/auth_tests/test_validators.py), in our words.
    #[test]
    fn djangos_cases() {
        let user = [
            ("username", "testclient"),
            ("first_name", "Test"),
            ("last_name", "Client"),
            ("email", "testclient@example.com"),
        ];
        assert_eq!(
            check("testclient", &user).as_deref(),
            Some("The password is too similar to the username.")
        );
        assert_eq!(
            check("example.com", &user).as_deref(),
            Some("The password is too similar to the email address.")
        );
        assert_eq!(
            check("client", &user).as_deref(),
            Some("The password is too similar to the username.")
        );
        assert_eq!(check("testclient", &[("username", "x")]), None);

        let only_first =
            UserAttributeSimilarityValidator::new().with_attributes([("first_name", "first name")]);
        assert_eq!(
            only_first
                .validate("testclient", Some(&user))
                .err()
                .map(|e| e.message().to_owned()),
            None
        );
        let err = only_first.validate("tEST", Some(&user)).unwrap_err();
        assert_eq!(
            err.message(),
            "The password is too similar to the first name."
        );

        // A stricter threshold (Django's test uses max_similarity=1).
        let strict = UserAttributeSimilarityValidator::new()
            .with_max_similarity(1.0)
            .unwrap();
        assert!(strict.validate("testclient", Some(&user)).is_err());
        assert!(strict.validate("testclien", Some(&user)).is_ok());
        // quick_ratio ignores order, as Django's check does.
        assert!(strict.validate("clienttest", Some(&user)).is_err());

        assert!(
            UserAttributeSimilarityValidator::default()
                .validate("testclient", None)
                .is_ok()
        );
    }

    #[test]
    fn a_tenth_the_length_is_not_compared() {
        let user = [("username", "a")];
        // 10 characters against 1: skipped, though quick_ratio says 0.18 anyway.
        assert_eq!(check("aaaaaaaaaa", &user), None);
        // Equal lengths are always compared.
        assert!(check("A", &user).is_some());
        // With max_similarity 0.1 a long password is still compared against short
        // values that reach the bound.
        let loose = UserAttributeSimilarityValidator::new()
            .with_max_similarity(0.1)
            .unwrap();
        assert!(
            loose
                .validate("abcdefghij", Some(&[("username", "a")]))
                .is_err()
        );
    }

    #[test]
    fn empty_and_missing_attributes_are_skipped() {
        let user = [("username", ""), ("email", "")];
        assert_eq!(check("", &user), None);
        // Django quirk kept: an empty password matches the empty piece after a
        // trailing separator.
        assert!(check("", &[("username", "zoe.")]).is_some());
    }

    #[test]
    fn comparison_ignores_case_beyond_ascii() {
        let user = [("last_name", "ÅNGSTRÖM")];
        assert_eq!(
            check("ångström", &user).as_deref(),
            Some("The password is too similar to the last name.")
        );
    }

    #[test]
    fn max_similarity_below_a_tenth_is_refused() {
        for bad in [0.09, -1.0, f64::NAN] {
            let err = UserAttributeSimilarityValidator::new()
                .with_max_similarity(bad)
                .unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("invalid max_similarity: must be at least 0.1"),
                "{err}"
            );
        }
        let v = UserAttributeSimilarityValidator::new();
        assert!((v.max_similarity() - 0.7).abs() < f64::EPSILON);
        assert_eq!(v.attributes().count(), 4);
        assert_eq!(
            v.help_text(),
            "Your password can’t be too similar to your other personal information."
        );
    }
}
