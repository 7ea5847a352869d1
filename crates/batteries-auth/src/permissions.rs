//! Permissions: `app_label.codename`, from the user and their groups.
//!
//! [`ensure_model_permissions`] creates a model's content type and Django's four default
//! permissions (`add_`, `change_`, `delete_`, `view_`), idempotently.
//! [`load`] (or `Permissions::load` with [`PermissionsExt`]) reads everything a user may do in one query; the result answers
//! [`has_perm`](Permissions::has_perm), [`has_perms`](Permissions::has_perms),
//! [`has_module_perms`](Permissions::has_module_perms) and
//! [`all`](Permissions::all) without further queries, like Django's per-user cache.
//! Superusers have every permission, inactive users none.

use batteries_orm::create::get_or_create;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, Set, TransactionTrait};

use crate::entities::{content_type, group_permissions, permission, user_groups, user_permissions};
use crate::error::{Error, Result};
use crate::user::AuthUser;

/// The default permissions Django creates for every model.
pub const DEFAULT_ACTIONS: [&str; 4] = ["add", "change", "delete", "view"];

/// Creates (if missing) the content type of `app_label.model` and its default
/// permissions, named as Django names them (`Can add blog post`). Returns the content
/// type. Safe to call on every start and from several processes at once.
///
/// # Errors
/// [`Error::Db`] / [`Error::Orm`] when the database fails.
pub async fn ensure_model_permissions<C>(
    db: &C,
    app_label: &str,
    model: &str,
    verbose_name: &str,
) -> Result<content_type::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let model = model.to_lowercase();
    let (ct, _) = get_or_create(
        db,
        [
            (content_type::Column::AppLabel, app_label.into()),
            (content_type::Column::Model, model.clone().into()),
        ],
        content_type::ActiveModel::default(),
    )
    .await?;
    for action in DEFAULT_ACTIONS {
        get_or_create(
            db,
            [
                (permission::Column::ContentTypeId, ct.id.into()),
                (
                    permission::Column::Codename,
                    format!("{action}_{model}").into(),
                ),
            ],
            permission::ActiveModel {
                name: Set(format!("Can {action} {verbose_name}")),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(ct)
}

/// [`ensure_model_permissions`] for a SeaORM entity: the model name is its table name
/// without the `app_label_` prefix (`blog_post` in app `blog` is `post`), as Django
/// names tables; the verbose name is the model name with spaces for underscores.
///
/// # Errors
/// As [`ensure_model_permissions`].
pub async fn ensure_entity_permissions<E, C>(db: &C, app_label: &str) -> Result<content_type::Model>
where
    E: sea_orm::EntityTrait,
    C: ConnectionTrait + TransactionTrait,
{
    let table = E::default().table_name().to_owned();
    let model = table
        .strip_prefix(&format!("{app_label}_"))
        .unwrap_or(&table)
        .to_owned();
    let verbose = model.replace('_', " ");
    ensure_model_permissions(db, app_label, &model, &verbose).await
}

/// Splits `app_label.codename`.
///
/// # Errors
/// [`Error::InvalidPermission`] without exactly one dot between two non-empty parts.
pub fn parse_perm(perm: &str) -> Result<(&str, &str)> {
    match perm.split_once('.') {
        Some((app, code)) if !app.is_empty() && !code.is_empty() && !code.contains('.') => {
            Ok((app, code))
        }
        _ => Err(Error::InvalidPermission(perm.to_owned())),
    }
}

/// What one user may do: loaded once, then answered from memory (the value type is
/// `batteries-core`'s; [`load`] reads it from Django's tables).
pub use batteries_core::Permissions;

/// Loads `user`'s permissions (direct and through groups) in one query.
///
/// Users whose primary key is not an integer (custom user models outside
/// `auth_user`) get only what `is_active` / `is_superuser` imply.
///
/// # Errors
/// [`Error::Db`] when the query fails.
pub async fn load<U: AuthUser + ?Sized>(
    db: &impl ConnectionTrait,
    user: &U,
) -> Result<Permissions> {
    let perms = Permissions::for_user(user);
    // Inactive users have none and superusers have all: nothing to load.
    if !perms.is_active() || perms.is_superuser() {
        return Ok(perms);
    }
    let Ok(user_id) = user.pk_string().parse::<i32>() else {
        return Ok(perms);
    };
    let direct = Query::select()
        .column(user_permissions::Column::PermissionId)
        .from(user_permissions::Entity)
        .and_where(Expr::col(user_permissions::Column::UserId).eq(user_id))
        .to_owned();
    let via_groups = Query::select()
        .column((
            group_permissions::Entity,
            group_permissions::Column::PermissionId,
        ))
        .from(group_permissions::Entity)
        .inner_join(
            user_groups::Entity,
            Expr::col((user_groups::Entity, user_groups::Column::GroupId)).equals((
                group_permissions::Entity,
                group_permissions::Column::GroupId,
            )),
        )
        .and_where(Expr::col((user_groups::Entity, user_groups::Column::UserId)).eq(user_id))
        .to_owned();
    let query =
        Query::select()
            .column((content_type::Entity, content_type::Column::AppLabel))
            .column((permission::Entity, permission::Column::Codename))
            .from(permission::Entity)
            .inner_join(
                content_type::Entity,
                Expr::col((content_type::Entity, content_type::Column::Id))
                    .equals((permission::Entity, permission::Column::ContentTypeId)),
            )
            .cond_where(
                Expr::col((permission::Entity, permission::Column::Id))
                    .in_subquery(direct)
                    .or(Expr::col((permission::Entity, permission::Column::Id))
                        .in_subquery(via_groups)),
            )
            .to_owned();
    let mut granted = Vec::new();
    for row in db.query_all(&query).await? {
        let app: String = row.try_get("", "app_label")?;
        let code: String = row.try_get("", "codename")?;
        granted.push(format!("{app}.{code}"));
    }
    Ok(perms.with_granted(granted))
}

/// `Permissions::load(&db, &user)`: [`load`] as an associated function of
/// [`Permissions`], which lives in `batteries-core` and so cannot have it as its own.
/// In scope through `batteries_auth::PermissionsExt` (or
/// `batteries_auth::permissions::PermissionsExt`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_auth::Result<()> {
/// use batteries_auth::{Permissions, PermissionsExt as _};
/// # use sea_orm_migration::MigratorTrait;
/// # struct M;
/// # impl MigratorTrait for M {
/// #     fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
/// #         batteries_auth::migrations::migrations().into_migrations()
/// #     }
/// # }
/// let db = batteries_orm::db::connect("sqlite::memory:").await?;
/// # M::up(&db, None).await?;
/// let ada = batteries_auth::UserManager::new().create_user(&db, "ada", None, None).await?;
/// let perms = Permissions::load(&db, &ada).await?;
/// assert!(!perms.has_perm("blog.add_post"));
/// # Ok(()) }
/// ```
pub trait PermissionsExt {
    /// Loads `user`'s permissions: see [`load`].
    ///
    /// # Errors
    /// [`Error::Db`] when the query fails.
    fn load<U: AuthUser + ?Sized>(
        db: &impl ConnectionTrait,
        user: &U,
    ) -> impl std::future::Future<Output = Result<Permissions>> + Send;
}

impl PermissionsExt for Permissions {
    fn load<U: AuthUser + ?Sized>(
        db: &impl ConnectionTrait,
        user: &U,
    ) -> impl std::future::Future<Output = Result<Permissions>> + Send {
        load(db, user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_perm_requires_app_and_codename() {
        assert_eq!(parse_perm("blog.add_post").unwrap(), ("blog", "add_post"));
        for bad in ["", "blog", ".add", "blog.", "a.b.c"] {
            assert!(parse_perm(bad).is_err(), "{bad}");
        }
    }
}
