//! `django_admin_log`: the admin's history, one row per addition, change or deletion,
//! with Django's table, column names and types.
//!
//! Written in SeaORM's expanded form (rather than `DeriveEntityModel`) for one reason:
//! [`Column::ActionFlag`] is selected as `-(-action_flag)`. Django makes the column a
//! `smallint unsigned` on MySQL and MariaDB, which the MySQL driver refuses to decode
//! into the model's `i16`; negated twice it is a signed integer of the same value on
//! every backend (still a `smallint` on PostgreSQL), so the entity reads the table that
//! our migration or Django's created alike. (With sea-orm's `mariadb-use-returning`
//! feature, inserting through the `ActiveModel` on MariaDB would read the unsigned
//! column back as it is and fail: write entries with [`super::log_action`].)

use batteries_auth::entities::{content_type, user};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ColumnName, ColumnRef, ForeignKeyAction, Func};

/// The `django_admin_log` table.
#[derive(Copy, Clone, Default, Debug, DeriveEntity)]
pub struct Entity;

impl EntityName for Entity {
    fn table_name(&self) -> &'static str {
        "django_admin_log"
    }
}

/// A row of `django_admin_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveModel, DeriveActiveModel)]
pub struct Model {
    /// Primary key.
    pub id: i32,
    /// When the action was taken.
    pub action_time: DateTimeUtc,
    /// The primary key of the object acted on, as text (`"42"`); `None` only in rows
    /// written outside the admin.
    pub object_id: Option<String>,
    /// The object's text at the time (its `__str__` in Django), at most 200 characters.
    pub object_repr: String,
    /// 1 addition, 2 change, 3 deletion: see [`super::ActionFlag`].
    pub action_flag: i16,
    /// Django's JSON change message (`[{"changed": {"fields": ["Title"]}}]`) or plain
    /// text; [`super::get_change_message`] turns either into the text to show.
    pub change_message: String,
    /// The object's content type; `None` once that content type has been deleted.
    pub content_type_id: Option<i32>,
    /// Who acted (`auth_user`); their rows go when they do.
    pub user_id: i32,
}

/// The columns of `django_admin_log`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveColumn)]
pub enum Column {
    /// `id`
    Id,
    /// `action_time`
    ActionTime,
    /// `object_id`
    ObjectId,
    /// `object_repr`
    ObjectRepr,
    /// `action_flag`, selected as `-(-action_flag)` (see the module docs).
    ActionFlag,
    /// `change_message`
    ChangeMessage,
    /// `content_type_id`
    ContentTypeId,
    /// `user_id`
    UserId,
}

/// The primary key, `id`.
#[derive(Copy, Clone, Debug, EnumIter, DerivePrimaryKey)]
pub enum PrimaryKey {
    /// `id`
    Id,
}

impl PrimaryKeyTrait for PrimaryKey {
    type ValueType = i32;

    fn auto_increment() -> bool {
        true
    }
}

impl ColumnTrait for Column {
    type EntityName = Entity;

    fn def(&self) -> ColumnDef {
        match self {
            Self::Id | Self::UserId => ColumnType::Integer.def(),
            Self::ActionTime => ColumnType::TimestampWithTimeZone.def(),
            Self::ObjectId => ColumnType::Text.def().null(),
            Self::ObjectRepr => ColumnType::String(StringLen::N(200)).def(),
            Self::ActionFlag => ColumnType::SmallInteger.def(),
            Self::ChangeMessage => ColumnType::Text.def(),
            Self::ContentTypeId => ColumnType::Integer.def().null(),
        }
    }

    fn select_as(&self, expr: Expr) -> Expr {
        match (self, &expr) {
            // A bare column is what `RETURNING` lists (after an insert or update on
            // PostgreSQL and SQLite, where the column is signed); SeaORM reads it back
            // by name and gives it no alias, so it must stay a bare column there.
            // Selects use the table-qualified column, which is aliased.
            (Self::ActionFlag, Expr::Column(ColumnRef::Column(ColumnName(None, _)))) => expr,
            // Unary minus, twice: `-(-(action_flag))`. sea-query has no unary minus,
            // and a custom expression's placeholder differs by backend (`$1`, `?`),
            // which `select_as` does not know; a "function" named `-` prints the same
            // everywhere.
            (Self::ActionFlag, _) => Func::cust("-").arg(Func::cust("-").arg(expr)).into(),
            _ => expr,
        }
    }
}

/// The log's foreign keys.
#[derive(Copy, Clone, Debug, EnumIter)]
pub enum Relation {
    /// `user_id` -> `auth_user.id`, on delete cascade.
    User,
    /// `content_type_id` -> `django_content_type.id`, on delete set null.
    ContentType,
}

impl RelationTrait for Relation {
    fn def(&self) -> RelationDef {
        match self {
            Self::User => Entity::belongs_to(user::Entity)
                .from(Column::UserId)
                .to(user::Column::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .into(),
            Self::ContentType => Entity::belongs_to(content_type::Entity)
                .from(Column::ContentTypeId)
                .to(content_type::Column::Id)
                .on_delete(ForeignKeyAction::SetNull)
                .into(),
        }
    }
}

impl Related<user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<content_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ContentType.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait as _};

    use super::*;

    #[test]
    fn the_flag_is_selected_negated_twice_under_its_own_name() {
        for (backend, expected) in [
            (
                DbBackend::Postgres,
                r#"-(-("django_admin_log"."action_flag")) AS "action_flag""#,
            ),
            (
                DbBackend::Sqlite,
                r#"-(-("django_admin_log"."action_flag")) AS "action_flag""#,
            ),
            (
                DbBackend::MySql,
                "-(-(`django_admin_log`.`action_flag`)) AS `action_flag`",
            ),
        ] {
            let sql = Entity::find().build(backend).to_string();
            assert!(sql.contains(expected), "{backend:?}: {sql}");
        }
    }
}
