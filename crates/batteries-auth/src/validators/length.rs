//! Django's `MinimumLengthValidator`.

use super::{PasswordValidator, UserAttributes, ValidationError};

/// Refuses passwords shorter than `min_length` characters (Unicode scalar values, as
/// Python's `len` counts them), 8 by default.
///
/// ```
/// use batteries_auth::validators::{MinimumLengthValidator, PasswordValidator};
///
/// let v = MinimumLengthValidator::default();
/// assert!(v.validate("12345678", None).is_ok());
/// assert_eq!(
///     v.validate("1234567", None).unwrap_err().message(),
///     "This password is too short. It must contain at least 8 characters.",
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumLengthValidator {
    min_length: usize,
}

impl MinimumLengthValidator {
    /// Django's default minimum length.
    pub const DEFAULT_MIN_LENGTH: usize = 8;

    /// Refuses passwords shorter than `min_length` characters.
    pub fn new(min_length: usize) -> Self {
        Self { min_length }
    }

    /// The minimum length.
    pub fn min_length(&self) -> usize {
        self.min_length
    }
}

impl Default for MinimumLengthValidator {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MIN_LENGTH)
    }
}

/// Django's `ngettext` for these two messages: English singular for exactly one.
fn characters(n: usize) -> &'static str {
    if n == 1 { "character" } else { "characters" }
}

impl PasswordValidator for MinimumLengthValidator {
    fn validate(
        &self,
        password: &str,
        _user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError> {
        if password.chars().count() < self.min_length {
            return Err(ValidationError::new(
                "password_too_short",
                format!(
                    "This password is too short. It must contain at least {} {}.",
                    self.min_length,
                    characters(self.min_length)
                ),
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        format!(
            "Your password must contain at least {} {}.",
            self.min_length,
            characters(self.min_length)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let v = MinimumLengthValidator::default();
        // Seven characters, fourteen bytes.
        assert!(v.validate("ééééééé", None).is_err());
        assert!(v.validate("éééééééé", None).is_ok());
        assert!(v.validate("", None).is_err());
    }

    #[test]
    fn messages_use_singular_for_one() {
        let one = MinimumLengthValidator::new(1);
        let err = one.validate("", None).unwrap_err();
        assert_eq!(err.code(), "password_too_short");
        assert_eq!(
            err.message(),
            "This password is too short. It must contain at least 1 character."
        );
        assert_eq!(
            one.help_text(),
            "Your password must contain at least 1 character."
        );
        assert!(one.validate("x", None).is_ok());
        let twelve = MinimumLengthValidator::new(12);
        assert_eq!(twelve.min_length(), 12);
        assert_eq!(
            twelve.validate("short", None).unwrap_err().message(),
            "This password is too short. It must contain at least 12 characters."
        );
        assert!(MinimumLengthValidator::new(0).validate("", None).is_ok());
    }
}
