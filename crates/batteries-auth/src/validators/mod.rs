//! Password validation (`django.contrib.auth.password_validation`).
//!
//! A [`PasswordValidator`] looks at a candidate password, and optionally at the user
//! who wants it, and refuses it with a [`ValidationError`] or lets it through.
//! [`Validators`] is Django's `AUTH_PASSWORD_VALIDATORS`: an ordered list of them that
//! runs *every* validator and reports all refusals together ([`ValidationErrors`]).
//!
//! [`Validators::default()`] is the list that Django's `startproject` writes into new
//! settings, with Django's defaults and Django's messages:
//!
//! | ours | Django's class | refuses | message |
//! | --- | --- | --- | --- |
//! | [`UserAttributeSimilarityValidator`] | `UserAttributeSimilarityValidator` | a password too close to the username, first or last name or e-mail (similarity ≥ 0.7) | "The password is too similar to the username." |
//! | [`MinimumLengthValidator`] | `MinimumLengthValidator` | fewer than 8 characters | "This password is too short. It must contain at least 8 characters." |
//! | [`CommonPasswordValidator`] | `CommonPasswordValidator` | one of Django's 19,640 common passwords, in any case | "This password is too common." |
//! | [`NumericPasswordValidator`] | `NumericPasswordValidator` | digits only | "This password is entirely numeric." |
//!
//! [`Validators::new()`] is empty (Django's own default setting, which accepts every
//! password); add validators with [`Validators::with`], including your own: implement
//! [`PasswordValidator`].
//!
//! The user is seen through [`UserAttributes`], a name-to-value lookup: arrays of
//! pairs and maps implement it, [`AuthUserAttributes`] adapts any
//! [`AuthUser`](crate::AuthUser) (username and e-mail), and a user entity with more
//! fields can implement it directly.
//!
//! # Example
//!
//! ```
//! use batteries_auth::validators::Validators;
//!
//! let validators = Validators::default();
//! let user = [("username", "zoe"), ("email", "zoe@example.com")];
//!
//! assert!(validators.validate("correct horse battery staple", Some(&user)).is_ok());
//!
//! let errors = validators.validate("12345", Some(&user)).unwrap_err();
//! assert_eq!(
//!     errors.messages().collect::<Vec<_>>(),
//!     [
//!         "This password is too short. It must contain at least 8 characters.",
//!         "This password is too common.",
//!         "This password is entirely numeric.",
//!     ],
//! );
//! assert_eq!(errors.codes().collect::<Vec<_>>(), [
//!     "password_too_short", "password_too_common", "password_entirely_numeric",
//! ]);
//!
//! let errors = validators.validate("zoe@example.org", Some(&user)).unwrap_err();
//! assert_eq!(errors.to_string(), "The password is too similar to the email address.");
//!
//! // Twelve characters at least, the rest as Django's defaults.
//! let strict = Validators::default().with_min_length(12);
//! assert!(strict.validate("tr0ub4dor&3", None).is_err());
//! assert_eq!(strict.help_texts()[1], "Your password must contain at least 12 characters.");
//! ```
//!
//! A validator of your own:
//!
//! ```
//! use batteries_auth::validators::{
//!     PasswordValidator, UserAttributes, ValidationError, Validators,
//! };
//!
//! struct NoSpaces;
//!
//! impl PasswordValidator for NoSpaces {
//!     fn validate(
//!         &self,
//!         password: &str,
//!         _user: Option<&dyn UserAttributes>,
//!     ) -> Result<(), ValidationError> {
//!         if password.contains(' ') {
//!             return Err(ValidationError::new("password_has_space", "No spaces, please."));
//!         }
//!         Ok(())
//!     }
//!
//!     fn help_text(&self) -> String {
//!         "Your password can’t contain spaces.".to_owned()
//!     }
//! }
//!
//! let validators = Validators::default().with(NoSpaces);
//! let errors = validators.validate("a b", None).unwrap_err();
//! assert_eq!(errors.len(), 2);
//! assert_eq!(errors.to_string(), "This password is too short. It must contain at least 8 characters. No spaces, please.");
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

mod common;
mod length;
mod numeric;
mod similarity;

pub use common::CommonPasswordValidator;
pub use length::MinimumLengthValidator;
pub use numeric::NumericPasswordValidator;
pub use similarity::{UserAttributeSimilarityValidator, quick_ratio};

/// One validator's refusal: a stable `code` for programs (Django's codes, such as
/// `password_too_short`) and a `message` for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    code: Cow<'static, str>,
    message: String,
}

impl ValidationError {
    /// A refusal with `code` and `message`.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The machine-readable code (`password_too_common`).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message ("This password is too common.").
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Every reason a password was refused, in the order of the validators, reported
/// together. Its `Display` is the messages joined by spaces. Never empty when returned
/// by [`Validators::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_joined(.0))]
pub struct ValidationErrors(Vec<ValidationError>);

fn display_joined(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(ValidationError::message)
        .collect::<Vec<_>>()
        .join(" ")
}

impl ValidationErrors {
    /// The refusals, in the order of the validators.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// Iterates over the refusals, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// The messages, in order.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(ValidationError::message)
    }

    /// The codes, in order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(ValidationError::code)
    }

    /// Whether a validator refused with `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.codes().any(|c| c == code)
    }

    /// How many refusals there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> Self {
        Self(vec![error])
    }
}

impl From<Vec<ValidationError>> for ValidationErrors {
    fn from(errors: Vec<ValidationError>) -> Self {
        Self(errors)
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The user's attributes by name, as Django's validators read them with
/// `getattr(user, name)`: `username`, `first_name`, `last_name`, `email`, or whatever
/// names a validator is configured with.
///
/// ```
/// use batteries_auth::validators::UserAttributes;
///
/// struct Member { nickname: String }
///
/// impl UserAttributes for Member {
///     fn attribute(&self, name: &str) -> Option<&str> {
///         match name {
///             "username" => Some(&self.nickname),
///             _ => None,
///         }
///     }
/// }
/// ```
pub trait UserAttributes {
    /// The value of attribute `name`, `None` when the user has no such attribute.
    fn attribute(&self, name: &str) -> Option<&str>;
}

impl<const N: usize> UserAttributes for [(&str, &str); N] {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

impl UserAttributes for [(&str, &str)] {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

impl<S: BuildHasher> UserAttributes for HashMap<String, String, S> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl UserAttributes for BTreeMap<String, String> {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl<T: UserAttributes + ?Sized> UserAttributes for &T {
    fn attribute(&self, name: &str) -> Option<&str> {
        (**self).attribute(name)
    }
}

/// [`UserAttributes`] of any [`AuthUser`](crate::AuthUser): its `username` and, when
/// not empty, its `email`. A user entity with names too implements [`UserAttributes`]
/// itself.
///
/// ```
/// use batteries_auth::validators::{AuthUserAttributes, Validators};
/// # use batteries_auth::AuthUser;
/// # struct User;
/// # impl AuthUser for User {
/// #     fn pk_string(&self) -> String { "1".into() }
/// #     fn username(&self) -> &str { "alexandra" }
/// #     fn password_hash(&self) -> &str { "" }
/// #     fn is_active(&self) -> bool { true }
/// #     fn is_staff(&self) -> bool { false }
/// #     fn is_superuser(&self) -> bool { false }
/// #     fn last_login(&self) -> Option<chrono::DateTime<chrono::Utc>> { None }
/// # }
/// let user = User;
/// let errors = Validators::default()
///     .validate("alexandra.77", Some(&AuthUserAttributes(&user)))
///     .unwrap_err();
/// assert_eq!(errors.to_string(), "The password is too similar to the username.");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AuthUserAttributes<'a, U: ?Sized>(pub &'a U);

impl<U: crate::AuthUser + ?Sized> UserAttributes for AuthUserAttributes<'_, U> {
    fn attribute(&self, name: &str) -> Option<&str> {
        match name {
            "username" => Some(self.0.username()),
            "email" => Some(self.0.email()).filter(|e| !e.is_empty()),
            _ => None,
        }
    }
}

/// A password validator: Django's validator classes, one implementation each, and the
/// trait to write your own.
///
/// Validation is synchronous and should be cheap: it runs on every password change.
pub trait PasswordValidator: Send + Sync {
    /// Lets `password` through, or says why not. `user` is the user who wants the
    /// password, when known.
    ///
    /// # Errors
    /// The refusal, with its code and message.
    fn validate(
        &self,
        password: &str,
        user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError>;

    /// What this validator asks of a password, for forms ("Your password can’t be
    /// entirely numeric.").
    fn help_text(&self) -> String;

    /// Called after `user`'s password was changed to `password` (Django's
    /// `password_changed` hook, for validators that keep a history). Does nothing by
    /// default.
    fn password_changed(&self, password: &str, user: Option<&dyn UserAttributes>) {
        let _ = (password, user);
    }

    /// A name identifying the kind of validator; [`Validators::replace`] replaces the
    /// validator with the same name. Defaults to the Rust type name.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// A shared validator is a validator (keep an `Arc` to a validator with state, such as
/// a password history, and hand a clone to [`Validators::with`]).
impl<T: PasswordValidator + ?Sized> PasswordValidator for Arc<T> {
    fn validate(
        &self,
        password: &str,
        user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError> {
        (**self).validate(password, user)
    }

    fn help_text(&self) -> String {
        (**self).help_text()
    }

    fn password_changed(&self, password: &str, user: Option<&dyn UserAttributes>) {
        (**self).password_changed(password, user);
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// An ordered list of validators: Django's `AUTH_PASSWORD_VALIDATORS`. Cheap to clone.
#[derive(Clone)]
pub struct Validators {
    list: Vec<Arc<dyn PasswordValidator>>,
}

impl Validators {
    /// No validators: every password is accepted. Add some with [`Validators::with`].
    pub fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// Adds `validator` at the end.
    #[must_use]
    pub fn with(mut self, validator: impl PasswordValidator + 'static) -> Self {
        self.list.push(Arc::new(validator));
        self
    }

    /// Puts `validator` in the place of the first validator with the same
    /// [`name`](PasswordValidator::name), or adds it at the end when there is none.
    #[must_use]
    pub fn replace(mut self, validator: impl PasswordValidator + 'static) -> Self {
        let name = validator.name();
        let validator: Arc<dyn PasswordValidator> = Arc::new(validator);
        match self.list.iter().position(|v| v.name() == name) {
            Some(i) => self.list[i] = validator,
            None => self.list.push(validator),
        }
        self
    }

    /// Shorthand for `replace(MinimumLengthValidator::new(min_length))`.
    #[must_use]
    pub fn with_min_length(self, min_length: usize) -> Self {
        self.replace(MinimumLengthValidator::new(min_length))
    }

    /// Runs every validator on `password` (Django's `validate_password`).
    ///
    /// # Errors
    /// All the refusals, in the order of the validators.
    pub fn validate(
        &self,
        password: &str,
        user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationErrors> {
        let errors: Vec<ValidationError> = self
            .list
            .iter()
            .filter_map(|v| v.validate(password, user).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// Tells every validator that `user`'s password is now `password` (Django's
    /// `password_changed`).
    pub fn password_changed(&self, password: &str, user: Option<&dyn UserAttributes>) {
        for v in &self.list {
            v.password_changed(password, user);
        }
    }

    /// The help texts of the validators, in order (Django's
    /// `password_validators_help_texts`).
    pub fn help_texts(&self) -> Vec<String> {
        self.list.iter().map(PasswordValidator::help_text).collect()
    }

    /// The validators, in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn PasswordValidator> {
        self.list.iter().map(AsRef::as_ref)
    }

    /// How many validators there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none (every password passes).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Default for Validators {
    /// Django's `startproject` list: user-attribute similarity (0.7), minimum length
    /// (8), common passwords and numeric passwords.
    fn default() -> Self {
        Self::new()
            .with(UserAttributeSimilarityValidator::default())
            .with(MinimumLengthValidator::default())
            .with(CommonPasswordValidator::default())
            .with(NumericPasswordValidator)
    }
}

impl fmt::Debug for Validators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(PasswordValidator::name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_djangos_four_in_startproject_order() {
        let names: Vec<_> = Validators::default()
            .iter()
            .map(PasswordValidator::name)
            .collect();
        assert_eq!(
            names,
            [
                "batteries_auth::validators::similarity::UserAttributeSimilarityValidator",
                "batteries_auth::validators::length::MinimumLengthValidator",
                "batteries_auth::validators::common::CommonPasswordValidator",
                "batteries_auth::validators::numeric::NumericPasswordValidator",
            ]
        );
        assert!(Validators::new().is_empty());
        assert!(Validators::new().validate("", None).is_ok());
    }

    #[test]
    fn every_failure_is_reported_at_once() {
        let user = [("username", "1234567")];
        let errors = Validators::default()
            .validate("1234567", Some(&user))
            .unwrap_err();
        assert_eq!(
            errors.codes().collect::<Vec<_>>(),
            [
                "password_too_similar",
                "password_too_short",
                "password_too_common",
                "password_entirely_numeric",
            ]
        );
        assert_eq!(
            errors.to_string(),
            "The password is too similar to the username. \
             This password is too short. It must contain at least 8 characters. \
             This password is too common. \
             This password is entirely numeric."
        );
        assert!(errors.has_code("password_too_common"));
        assert!(!errors.has_code("nope"));
        let crate_error = crate::Error::from(errors.clone());
        assert_eq!(crate_error.to_string(), errors.to_string());
    }

    #[test]
    fn a_good_password_passes_all() {
        let user = [
            ("username", "zoe"),
            ("first_name", "Zoë"),
            ("last_name", "Ångström"),
            ("email", "zoe@example.com"),
        ];
        assert!(
            Validators::default()
                .validate("gravel-lantern-orbit", Some(&user))
                .is_ok()
        );
    }

    #[test]
    fn help_texts_are_djangos() {
        assert_eq!(
            Validators::default().help_texts(),
            [
                "Your password can’t be too similar to your other personal information.",
                "Your password must contain at least 8 characters.",
                "Your password can’t be a commonly used password.",
                "Your password can’t be entirely numeric.",
            ]
        );
    }

    #[test]
    fn replace_swaps_in_place_or_appends() {
        let v = Validators::default().with_min_length(12);
        assert_eq!(v.len(), 4);
        assert_eq!(
            v.help_texts()[1],
            "Your password must contain at least 12 characters."
        );
        assert!(v.validate("abcdefghijk", None).is_err());
        assert!(v.validate("abcdefghijkl", None).is_ok());
        let v = Validators::new().with_min_length(3);
        assert_eq!(v.len(), 1);
        let err = v.validate("ab", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "This password is too short. It must contain at least 3 characters."
        );
    }

    struct Recorder(std::sync::Mutex<Vec<String>>);

    impl PasswordValidator for Recorder {
        fn validate(
            &self,
            password: &str,
            _user: Option<&dyn UserAttributes>,
        ) -> Result<(), ValidationError> {
            if password == "forbidden" {
                Err(ValidationError::new("custom", "Not that one."))
            } else {
                Ok(())
            }
        }

        fn help_text(&self) -> String {
            "Anything but forbidden.".into()
        }

        fn password_changed(&self, password: &str, _user: Option<&dyn UserAttributes>) {
            self.0.lock().unwrap().push(password.to_owned());
        }
    }

    #[test]
    fn custom_validators_join_the_list() {
        let recorder = Arc::new(Recorder(std::sync::Mutex::default()));
        let v = Validators::new().with(recorder.clone());
        let err = v.validate("forbidden", None).unwrap_err();
        assert_eq!(
            err.errors(),
            [ValidationError::new("custom", "Not that one.")]
        );
        assert!(v.validate("allowed", None).is_ok());
        v.password_changed("allowed", None);
        assert_eq!(*recorder.0.lock().unwrap(), ["allowed"]);
        assert_eq!(v.help_texts(), ["Anything but forbidden."]);
        assert!(format!("{v:?}").contains("Recorder"), "{v:?}");
    }

    #[test]
    fn user_attribute_sources() {
        let map: HashMap<String, String> = [("username".to_owned(), "zoe".to_owned())].into();
        assert_eq!(map.attribute("username"), Some("zoe"));
        assert_eq!(map.attribute("email"), None);
        let pairs = [("email", "a@b.c")];
        let slice: &[(&str, &str)] = &pairs;
        assert_eq!(slice.attribute("email"), Some("a@b.c"));
        let tree: BTreeMap<String, String> = BTreeMap::new();
        assert_eq!(tree.attribute("email"), None);
    }
}
