//! Django's `CommonPasswordValidator` and its list of common passwords.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use flate2::read::GzDecoder;

use super::{PasswordValidator, UserAttributes, ValidationError};

/// Django's list, gzipped, as Django ships it (see `data/README.md`).
static DJANGO_LIST_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

/// Django's list, decompressed on first use and kept for the life of the process.
fn django_list() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        // The bytes are compiled in and checked by a unit test; failing to read them
        // would be a broken build, not a run-time condition.
        read_list(GzDecoder::new(DJANGO_LIST_GZ)).expect("the embedded password list is valid")
    })
}

/// One password a line; surrounding white space trimmed, lower-cased, blank lines
/// skipped.
fn read_list(reader: impl Read) -> std::io::Result<HashSet<String>> {
    let mut set = HashSet::new();
    for line in BufReader::new(reader).lines() {
        let line = line?;
        let password = normalize(&line);
        if !password.is_empty() {
            set.insert(password);
        }
    }
    Ok(set)
}

/// Django's `password.lower().strip()`.
fn normalize(password: &str) -> String {
    password.to_lowercase().trim().to_owned()
}

/// Refuses passwords found, whatever their case and surrounding white space, in a list
/// of common passwords: by default Django's 19,640, compiled into the crate and
/// decompressed once, on first use.
///
/// ```
/// use batteries_auth::validators::{CommonPasswordValidator, PasswordValidator};
///
/// let v = CommonPasswordValidator::default();
/// assert_eq!(
///     v.validate("Password1", None).unwrap_err().message(),
///     "This password is too common.",
/// );
/// assert!(v.validate("gravel-lantern-orbit", None).is_ok());
///
/// let ours = CommonPasswordValidator::from_passwords(["Batteries", "hunter2"]);
/// assert!(ours.validate("BATTERIES", None).is_err());
/// assert!(ours.validate("Password1", None).is_ok());
/// ```
#[derive(Clone, Default)]
pub struct CommonPasswordValidator {
    /// `None`: Django's list.
    custom: Option<Arc<HashSet<String>>>,
}

impl CommonPasswordValidator {
    /// Django's list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of your own (compared lower-cased and trimmed, as passwords are).
    pub fn from_passwords<I>(passwords: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let set = passwords
            .into_iter()
            .map(|p| normalize(p.as_ref()))
            .filter(|p| !p.is_empty())
            .collect();
        Self {
            custom: Some(Arc::new(set)),
        }
    }

    /// A list read from a file of one password a line, gzipped or not (Django's
    /// `password_list_path`).
    ///
    /// # Errors
    /// When the file cannot be read, or is not UTF-8.
    pub fn from_file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        let set = if bytes.starts_with(&[0x1f, 0x8b]) {
            read_list(GzDecoder::new(bytes.as_slice()))?
        } else {
            read_list(bytes.as_slice())?
        };
        Ok(Self {
            custom: Some(Arc::new(set)),
        })
    }

    fn list(&self) -> &HashSet<String> {
        self.custom.as_deref().unwrap_or_else(|| django_list())
    }

    /// Whether `password` is on the list.
    pub fn is_common(&self, password: &str) -> bool {
        self.list().contains(&normalize(password))
    }

    /// How many passwords the list holds (decompresses Django's list if needed).
    pub fn len(&self) -> usize {
        self.list().len()
    }

    /// Whether the list is empty (every password passes).
    pub fn is_empty(&self) -> bool {
        self.list().is_empty()
    }
}

impl fmt::Debug for CommonPasswordValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = match &self.custom {
            None => "django",
            Some(_) => "custom",
        };
        f.debug_struct("CommonPasswordValidator")
            .field("list", &list)
            .finish()
    }
}

impl PasswordValidator for CommonPasswordValidator {
    fn validate(
        &self,
        password: &str,
        _user: Option<&dyn UserAttributes>,
    ) -> Result<(), ValidationError> {
        if self.is_common(password) {
            return Err(ValidationError::new(
                "password_too_common",
                "This password is too common.",
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be a commonly used password.".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn djangos_list_is_embedded_whole() {
        let v = CommonPasswordValidator::default();
        assert_eq!(v.len(), 19_640);
        // First and last lines of Django's file.
        assert!(v.is_common("123456"));
        assert!(v.is_common("fallen_angel"));
        assert!(
            django_list()
                .iter()
                .all(|p| *p == normalize(p) && !p.is_empty())
        );
    }

    #[test]
    fn lookup_ignores_case_and_surrounding_space() {
        let v = CommonPasswordValidator::default();
        for common in [
            "password",
            "PASSWORD",
            "  PassWord\t",
            "qwerty",
            "iloveyou",
            "123456",
        ] {
            let err = v.validate(common, None).unwrap_err();
            assert_eq!(err.code(), "password_too_common", "{common:?}");
            assert_eq!(err.message(), "This password is too common.");
        }
        for rare in ["pass word", "gravel-lantern-orbit", ""] {
            assert!(v.validate(rare, None).is_ok(), "{rare:?}");
        }
        assert_eq!(
            v.help_text(),
            "Your password can’t be a commonly used password."
        );
        assert_eq!(
            format!("{v:?}"),
            r#"CommonPasswordValidator { list: "django" }"#
        );
    }

    #[test]
    fn lists_of_your_own_from_memory_and_files() {
        let v = CommonPasswordValidator::from_passwords(["Secret ", "", "hunter2"]);
        assert_eq!(v.len(), 2);
        assert!(v.is_common("SECRET"));
        assert!(!v.is_common("password"));

        let dir = std::env::temp_dir().join(format!("batteries-common-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("list.txt");
        std::fs::write(&plain, "alpha\nBeta\n\n").unwrap();
        let v = CommonPasswordValidator::from_file(&plain).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v.is_common("beta"));

        let gz = dir.join("list.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"gamma\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let v = CommonPasswordValidator::from_file(&gz).unwrap();
        assert!(v.is_common("Gamma"));
        assert!(!v.is_empty());

        assert!(CommonPasswordValidator::from_file(dir.join("missing")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
