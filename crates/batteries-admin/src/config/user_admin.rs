//! Django's `UserAdmin` for batteries-auth's `auth_user` ([`user_admin`]). The pieces any
//! entity with a [`ModelAdmin::password_field`] gets are in `service::password` (the
//! checks of a new password) and `html::password` (the form's fields).

use batteries_auth::entities::{group, permission, user, user_groups, user_permissions};
use batteries_auth::hashers::make_unusable_password;
use batteries_auth::user::{normalize_username, validate_username};
use sea_orm::ActiveValue;

use super::m2m::ManyToMany;
use super::model_admin::ModelAdmin;

/// Django's `UserAdmin`: the admin of batteries-auth's `auth_user` (app label `auth`,
/// model `user`), ready to register.
///
/// - changelist: username, email, first and last name, staff status; filters on staff,
///   superuser and active status; search in username, names and e-mail; ordered by
///   username;
/// - add form: username, password and password confirmation; the two must match and the
///   password must pass batteries-auth's [`Validators`](batteries_auth::validators::Validators); it is hashed (argon2id) off the
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

pub(crate) const INVALID_USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
