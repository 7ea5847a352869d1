//! Django's `UserAdmin` for batteries-auth's `auth_user` ([`user_admin`]), and the pieces
//! of it any entity with a [`ModelAdmin::password_field`] gets: the masked hash summary on
//! the change form, `password1`/`password2` on the add form, and the checks of a new
//! password shared with the admin's own password-change page.

use std::collections::HashMap;

use batteries_auth::entities::{group, permission, user, user_groups, user_permissions};
use batteries_auth::hashers::{
    Hashers, is_password_usable, make_password_async, make_unusable_password,
};
use batteries_auth::user::{normalize_username, validate_username};
use batteries_auth::validators::{UserAttributes, Validators};
use sea_orm::{ActiveValue, Value};
use serde_json::{Value as Json, json};

use crate::m2m::ManyToMany;
use crate::model::{ModelAdmin, ModelInfo, Row};
use crate::views::{FieldErrors, form_value};

/// Django's `UserAdmin`: the admin of batteries-auth's `auth_user` (app label `auth`,
/// model `user`), ready to register.
///
/// - changelist: username, email, first and last name, staff status; filters on staff,
///   superuser and active status; search in username, names and e-mail; ordered by
///   username;
/// - add form: username, password and password confirmation; the two must match and the
///   password must pass batteries-auth's [`Validators`]; it is hashed (argon2id) off the
///   async executor, never shown back, and the new user opens on its change form;
/// - change form: the password is never an input nor its hash, only Django's masked
///   summary (`algorithm: argon2 … salt: abcdef****** hash: 012345**…`) with a link to
///   `auth/user/<id>/password/`, the page that sets a new one (it needs the `change`
///   permission, and writes "Changed password." to the history);
/// - the JSON API and its OpenAPI document leave the `password` column out: it is
///   never output and never written there (users created through the API get an
///   unusable password; set one on the password page). Creating through the API takes
///   exactly the add form's fields (`username`); anything else is refused with a 400;
/// - stricter than Django, on purpose: only superusers may set `is_superuser`,
///   `groups` and `user_permissions` ([`ModelAdmin::superuser_only`]), and only they
///   may change, delete or set the password of a superuser
///   ([`ModelAdmin::superuser_only_if`]). A staff user with `auth.change_user` still
///   edits other users' names, e-mail, active and staff status.
///
/// It is a [`ModelAdmin`] like any other, so every option can still be changed:
///
/// ```
/// use batteries_admin::{AdminSite, user_admin};
///
/// let site = AdminSite::new().register(user_admin().list_per_page(50));
/// ```
///
/// Groups and permissions (Django's `filter_horizontal = ("groups",
/// "user_permissions")`) are not edited here yet.
pub fn user_admin() -> ModelAdmin<user::Entity> {
    use user::Column as C;
    ModelAdmin::<user::Entity>::new()
        .app_label("auth")
        .model_name("user")
        .verbose_name("user", "users")
        .list_display([C::Username, C::Email, C::FirstName, C::LastName, C::IsStaff])
        .list_filter([C::IsStaff, C::IsSuperuser, C::IsActive])
        .search_fields([C::Username, C::FirstName, C::LastName, C::Email])
        .ordering("username")
        .password_field(C::Password)
        .fieldset(None, [C::Username, C::Password])
        .fieldset(Some("Personal info"), [C::FirstName, C::LastName, C::Email])
        .fieldset(
            Some("Permissions"),
            [C::IsActive, C::IsStaff, C::IsSuperuser],
        )
        // Django's `filter_horizontal = ("groups", "user_permissions")`, at the end of
        // "Permissions". Not on the add form, which has its own fieldsets.
        .many_to_many(
            ManyToMany::<user_groups::Entity, group::Entity>::new("groups")
                .help_text(
                    "The groups this user belongs to. A user will get all permissions granted to each of their groups.",
                )
                .display(|g| g.name.clone())
                .fieldset("Permissions")
                .filter_horizontal()
                .superuser_only(),
        )
        .many_to_many(
            ManyToMany::<user_permissions::Entity, permission::Entity>::new("user_permissions")
                .label("User permissions")
                .help_text("Specific permissions for this user.")
                .display(|p| format!("{} | {}", p.codename, p.name))
                .fieldset("Permissions")
                .filter_horizontal()
                .superuser_only(),
        )
        // Stricter than Django (issue 16): only superusers grant superuser status,
        // groups and permissions, and only they change (or delete, or set the password
        // of) a superuser.
        .superuser_only([C::IsSuperuser])
        .superuser_only_if(|u| u.is_superuser)
        .default_value(C::IsActive, true)
        .fieldset(Some("Important dates"), [C::LastLogin, C::DateJoined])
        .add_fieldset(None, [C::Username])
        .blank([C::FirstName, C::LastName, C::Email])
        .label(C::FirstName, "First name")
        .label(C::LastName, "Last name")
        .label(C::Email, "Email address")
        .label(C::IsActive, "Active")
        .label(C::IsStaff, "Staff status")
        .label(C::IsSuperuser, "Superuser status")
        .help_text(
            C::Username,
            "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.",
        )
        .help_text(
            C::IsActive,
            "Designates whether this user should be treated as active. Unselect this instead of deleting accounts.",
        )
        .help_text(
            C::IsStaff,
            "Designates whether the user can log into this admin site.",
        )
        .help_text(
            C::IsSuperuser,
            "Designates that this user has all permissions without explicitly assigning them.",
        )
        .display(|u| u.username.clone())
        .on_save(user_defaults)
}

/// Checks the username and, when adding, fills what the add form does not ask for
/// (Django's model defaults): active, not staff, joined now, no password yet.
fn user_defaults(u: &mut user::ActiveModel, changing: bool) -> Result<(), String> {
    if let ActiveValue::Set(name) = &mut u.username {
        // NFKC, as Django's `normalize_username`: `ａｄｍｉｎ` is `admin` (and taken).
        *name = normalize_username(name);
        if validate_username(name).is_err() {
            return Err(INVALID_USERNAME.into());
        }
    }
    if changing {
        return Ok(());
    }
    let unset = |v: bool| !v;
    if unset(u.password.is_set()) {
        u.password = ActiveValue::Set(make_unusable_password());
    }
    for field in [&mut u.first_name, &mut u.last_name, &mut u.email] {
        if unset(field.is_set()) {
            *field = ActiveValue::Set(String::new());
        }
    }
    if unset(u.is_active.is_set()) {
        u.is_active = ActiveValue::Set(true);
    }
    for flag in [&mut u.is_staff, &mut u.is_superuser] {
        if unset(flag.is_set()) {
            *flag = ActiveValue::Set(false);
        }
    }
    if unset(u.last_login.is_set()) {
        u.last_login = ActiveValue::Set(None);
    }
    if unset(u.date_joined.is_set()) {
        u.date_joined = ActiveValue::Set(chrono::Utc::now());
    }
    Ok(())
}

const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";

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

/// Adjusts a form's fieldsets (as `views::form` builds them) for the password field:
/// on the change form its hash becomes the masked summary with a link to the password
/// page (none when `read_only`); on the add form `password1` and `password2` join the
/// first fieldset. Never is the hash, nor a posted password, put in the page.
pub(crate) fn password_fields(
    info: &ModelInfo,
    fieldsets: &mut Json,
    existing: Option<&Row>,
    errors: &FieldErrors,
    read_only: bool,
) {
    let Some(column) = info.password.column else {
        return;
    };
    let name = &info.fields[column].name;
    let Some(sets) = fieldsets.as_array_mut() else {
        return;
    };
    if let Some(row) = existing {
        let encoded = match &row.values[column] {
            Value::String(Some(s)) => s.clone(),
            _ => String::new(),
        };
        let usable = !encoded.is_empty() && is_password_usable(&encoded);
        for set in sets.iter_mut() {
            let Some(fields) = set["fields"].as_array_mut() else {
                continue;
            };
            for field in fields.iter_mut().filter(|f| f["name"] == json!(name)) {
                field["value"] = json!("");
                field["display"] = json!("");
                field["widget"] = json!("readonly");
                field["readonly"] = json!(true);
                field["password_summary"] = json!(
                    password_summary(&encoded)
                        .into_iter()
                        .map(|(label, value)| json!({"label": label, "value": value}))
                        .collect::<Vec<_>>()
                );
                if !read_only {
                    field["password_url"] = json!("../password/");
                    field["password_button"] = json!(if usable {
                        "Reset password"
                    } else {
                        "Set password"
                    });
                }
                field["help"] = json!(
                    "Raw passwords are not stored, so there is no way to see the user’s password."
                );
            }
        }
    } else {
        // Adding: no hash yet, so no row for it; the two passwords instead.
        for set in sets.iter_mut() {
            if let Some(fields) = set["fields"].as_array_mut() {
                fields.retain(|f| f["name"] != json!(name));
            }
        }
        let Some(first) = sets.first_mut().and_then(|s| s["fields"].as_array_mut()) else {
            return;
        };
        let help = Validators::default().help_texts().join(" ");
        for (field, label, help) in [
            ("password1", "Password", help.as_str()),
            (
                "password2",
                "Password confirmation",
                "Enter the same password as before, for verification.",
            ),
        ] {
            first.push(json!({
                "name": field,
                "label": label,
                "widget": "password",
                "value": "",
                "required": true,
                "readonly": false,
                "display": "",
                "help": help,
                "errors": errors.get(field).cloned().unwrap_or_default(),
                "attrs": {},
            }));
        }
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
