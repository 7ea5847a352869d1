//! What a sign-up or admin user form checks: the username (Django's
//! `UnicodeUsernameValidator`), the e-mail's normalisation, the password validators
//! (similarity to the user's attributes, length, common and numeric passwords), and a
//! reset link's `uidb64`. The input is a username, an e-mail and a password, split at
//! NUL bytes.
#![no_main]

use std::sync::OnceLock;

use batteries_auth::tokens::decode_uid;
use batteries_auth::user::{normalize_email, validate_username};
use batteries_auth::validators::Validators;
use batteries_fuzz::{split, text};
use libfuzzer_sys::fuzz_target;

fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(Validators::default)
}

fuzz_target!(|data: &[u8]| {
    let (username, rest) = split(data, 0);
    let (email, password) = split(rest, 0);
    let (username, email, password) = (text(username), text(email), text(password));
    if validate_username(&username).is_ok() {
        assert!(!username.is_empty() && username.chars().count() <= 150);
    }
    let email = normalize_email(&email);
    let user = [
        ("username", username.as_ref()),
        ("email", email.as_str()),
        ("first_name", password.get(..3).unwrap_or_default()),
    ];
    let _ = validators().validate(&password, Some(&user));
    let _ = decode_uid(&username);
});
