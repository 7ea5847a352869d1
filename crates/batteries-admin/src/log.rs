//! The admin's history: who added, changed or deleted what, and when, in Django's own
//! table `django_admin_log`.
//!
//! The table, its columns and its change messages are Django's, so a database shared
//! with (or moved from) a Django project keeps one history: Django's admin shows the
//! entries batteries writes, and [`history`] shows Django's. The table is created by
//! [`crate::migrations::migrations`], after `batteries-auth`'s tables.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use batteries_admin::log::{ActionFlag, ChangeMessage, NewEntry, history, log_action};
//! use batteries_auth::UserManager;
//! use batteries_auth::entities::content_type;
//! use batteries_orm::migration::compose;
//! use sea_orm::{ActiveModelTrait, Set};
//! use sea_orm_migration::{MigrationTrait, MigratorTrait};
//!
//! struct Migrator;
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         compose([
//!             batteries_auth::migrations::migrations(),
//!             batteries_admin::migrations::migrations(),
//!         ])
//!         .expect("unique migration names")
//!     }
//! }
//!
//! let db = sea_orm::Database::connect("sqlite::memory:").await?;
//! Migrator::up(&db, None).await?;
//! let ann = UserManager::new().create_user(&db, "ann", None, None).await?;
//! let post = content_type::ActiveModel {
//!     app_label: Set("blog".into()),
//!     model: Set("post".into()),
//!     ..Default::default()
//! }
//! .insert(&db)
//! .await?;
//!
//! log_action(&db, NewEntry {
//!     user_id: ann.id,
//!     content_type_id: post.id,
//!     object_id: "1",
//!     object_repr: "Hello, world",
//!     flag: ActionFlag::Change,
//!     message: ChangeMessage::changed(&["Title", "Body"]),
//! })
//! .await?;
//!
//! let entries = history(&db, post.id, "1", 100).await?;
//! assert_eq!(entries[0].username, "ann");
//! assert_eq!(entries[0].flag, ActionFlag::Change);
//! assert_eq!(entries[0].message, "Changed Title and Body.");
//! # Ok(()) }
//! ```

pub mod entity;
mod message;

use batteries_auth::entities::user;
use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, DbErr, EntityTrait as _, JoinType,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, RelationTrait as _,
};

pub use message::{ChangeMessage, get_change_message};

use entity::Column;

/// What an entry records: Django's `ADDITION`, `CHANGE` and `DELETION`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i16)]
pub enum ActionFlag {
    /// An object was added (`1`).
    Addition = 1,
    /// An object was changed (`2`).
    Change = 2,
    /// An object was deleted (`3`).
    Deletion = 3,
}

impl ActionFlag {
    /// The flag stored in `action_flag`.
    pub fn as_i16(self) -> i16 {
        self as i16
    }

    /// The flag for a stored `action_flag`, `None` for a number Django does not use.
    pub fn from_i16(value: i16) -> Option<Self> {
        match value {
            1 => Some(Self::Addition),
            2 => Some(Self::Change),
            3 => Some(Self::Deletion),
            _ => None,
        }
    }
}

impl From<ActionFlag> for i16 {
    fn from(flag: ActionFlag) -> Self {
        flag.as_i16()
    }
}

/// One action to record with [`log_action`] or [`log_actions`].
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// Who acted (`auth_user.id`).
    pub user_id: i32,
    /// The object's model (`django_content_type.id`).
    pub content_type_id: i32,
    /// The object's primary key as text (`"42"`).
    pub object_id: &'a str,
    /// The object's text (its display string); stored truncated to 200 characters,
    /// as Django does. Stored verbatim otherwise: escaping is the template's job.
    pub object_repr: &'a str,
    /// What was done.
    pub flag: ActionFlag,
    /// What changed.
    pub message: ChangeMessage,
}

/// One line of an object's history, as Django's history page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When.
    pub action_time: DateTime<Utc>,
    /// Who (`auth_user.username`).
    pub username: String,
    /// What was done.
    pub flag: ActionFlag,
    /// What changed, as text ([`get_change_message`]); not HTML-escaped.
    pub message: String,
}

/// The length Django gives `object_repr`, in characters.
const OBJECT_REPR_MAX_CHARS: usize = 200;

/// Rows per `INSERT` in [`log_actions`]: 7 parameters a row stays far below SQLite's
/// 32766 and PostgreSQL's 65535 bound parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Records one action, stamped now.
///
/// # Errors
/// When the database refuses the insert, for example when the user or the content
/// type does not exist.
pub async fn log_action(db: &impl ConnectionTrait, entry: NewEntry<'_>) -> Result<(), DbErr> {
    log_actions(db, vec![entry]).await
}

/// Records many actions (a bulk deletion, say) in one `INSERT` per 1000 entries, all
/// stamped with the same time; does nothing for no entries. Run it in the transaction
/// of the change it records for both to commit or roll back together.
///
/// # Errors
/// When the database refuses the insert; with more than 1000 entries the inserts
/// before the failing one stay unless `db` is a transaction.
pub async fn log_actions(
    db: &impl ConnectionTrait,
    entries: Vec<NewEntry<'_>>,
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    // Django keeps microseconds; on SQLite it stores `YYYY-MM-DD HH:MM:SS.ffffff`, and
    // so do we (a naive UTC time): the same text format sorts right next to Django's.
    let now = Utc::now().trunc_subsecs(6);
    let action_time = if backend == DbBackend::Sqlite {
        Expr::value(now.naive_utc())
    } else {
        Expr::value(now)
    };
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let mut insert = Query::insert();
        insert.into_table(entity::Entity).columns([
            Column::ActionTime,
            Column::ObjectId,
            Column::ObjectRepr,
            Column::ActionFlag,
            Column::ChangeMessage,
            Column::ContentTypeId,
            Column::UserId,
        ]);
        for entry in chunk {
            insert
                .values([
                    action_time.clone(),
                    Expr::value(entry.object_id),
                    Expr::value(truncate_chars(entry.object_repr, OBJECT_REPR_MAX_CHARS)),
                    Expr::value(entry.flag.as_i16()),
                    Expr::value(entry.message.to_json()),
                    Expr::value(entry.content_type_id),
                    Expr::value(entry.user_id),
                ])
                .map_err(|e| DbErr::Custom(format!("admin log insert: {e}")))?;
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The history of one object, oldest first, at most `limit` entries, with each
/// user's name read in the same query.
///
/// # Errors
/// When the query fails, or an entry's `action_flag` is not one Django uses
/// (1, 2 or 3).
pub async fn history(
    db: &impl ConnectionTrait,
    content_type_id: i32,
    object_id: &str,
    limit: u64,
) -> Result<Vec<HistoryEntry>, DbErr> {
    let rows: Vec<(DateTime<Utc>, i16, String, String)> = entity::Entity::find()
        .select_only()
        .column(Column::ActionTime)
        .column(Column::ActionFlag)
        .column(Column::ChangeMessage)
        .column_as(user::Column::Username, "username")
        .join(JoinType::InnerJoin, entity::Relation::User.def())
        .filter(Column::ContentTypeId.eq(content_type_id))
        .filter(Column::ObjectId.eq(object_id))
        .order_by_asc(Column::ActionTime)
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(action_time, flag, message, username)| {
            Ok(HistoryEntry {
                action_time,
                username,
                flag: ActionFlag::from_i16(flag).ok_or_else(|| {
                    DbErr::Type(format!(
                        "django_admin_log.action_flag {flag} is none of 1 (addition), \
                         2 (change), 3 (deletion)"
                    ))
                })?,
                message: get_change_message(&message),
            })
        })
        .collect()
}

/// The first `max` characters of `s` (Python's `s[:max]`), cut on a character boundary.
fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(end, _)| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("abc", 2), "ab");
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abc", 200), "abc");
        assert_eq!(truncate_chars("é☕🦀x", 3), "é☕🦀");
        let long = "☕".repeat(201);
        assert_eq!(truncate_chars(&long, 200).chars().count(), 200);
    }

    #[test]
    fn flags_round_trip_and_unknown_ones_are_none() {
        for flag in [
            ActionFlag::Addition,
            ActionFlag::Change,
            ActionFlag::Deletion,
        ] {
            assert_eq!(ActionFlag::from_i16(i16::from(flag)), Some(flag));
        }
        assert_eq!(ActionFlag::Deletion.as_i16(), 3);
        assert_eq!(ActionFlag::from_i16(0), None);
        assert_eq!(ActionFlag::from_i16(4), None);
    }
}
