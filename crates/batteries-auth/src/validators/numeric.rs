//! Django's `NumericPasswordValidator`.

use super::{PasswordValidator, UserAttributes, ValidationError};

/// Refuses passwords made only of digits.
///
/// Like Django's `str.isdigit()`, any script's digits count (`"١٢٣٤٥٦٧٨"` is numeric) and
/// the empty password is not numeric. Unicode letter numbers and fractions (`Ⅻ`, `½`)
/// count as numeric here, where Python's `isdigit` says no.
///
/// ```
/// use batteries_auth::validators::{NumericPasswordValidator, PasswordValidator};
///
/// assert_eq!(
///     NumericPasswordValidator.validate("20240102", None).unwrap_err().message(),
///     "This password is entirely numeric.",
/// );
/// assert!(NumericPasswordValidator.validate("2024-01-02", None).is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericPasswordValidator;

impl PasswordValidator for NumericPasswordValidator {
    fn validate(
        &self,
        password: &str,
        _user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError> {
        if !password.is_empty() && password.chars().all(char::is_numeric) {
            return Err(ValidationError::new(
                "password_entirely_numeric",
                "This password is entirely numeric.",
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be entirely numeric.".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_digits_only() {
        let v = NumericPasswordValidator;
        for numeric in ["0", "1234567890", "١٢٣٤٥٦٧٨", "１２３４５６７８"] {
            let err = v.validate(numeric, None).unwrap_err();
            assert_eq!(err.code(), "password_entirely_numeric", "{numeric}");
        }
        for fine in ["", "1234567a", " 12345678", "1234 5678", "12.5", "-1"] {
            assert!(v.validate(fine, None).is_ok(), "{fine:?}");
        }
        assert_eq!(v.help_text(), "Your password can’t be entirely numeric.");
    }
}
