//! TEMPORARY stub; replaced by the admin-log branch.
#![allow(missing_docs, unreachable_pub, dead_code, clippy::unused_async)]
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionFlag {
    Addition = 1,
    Change = 2,
    Deletion = 3,
}
pub struct ChangeMessage(String);
impl ChangeMessage {
    pub fn added() -> Self {
        Self("[{\"added\": {}}]".into())
    }
    pub fn changed(_f: &[&str]) -> Self {
        Self(String::new())
    }
    pub fn deleted() -> Self {
        Self(String::new())
    }
}
pub struct NewEntry<'a> {
    pub user_id: i32,
    pub content_type_id: i32,
    pub object_id: &'a str,
    pub object_repr: &'a str,
    pub flag: ActionFlag,
    pub message: ChangeMessage,
}
pub async fn log_action(_db: &impl ConnectionTrait, _e: NewEntry<'_>) -> Result<(), DbErr> {
    Ok(())
}
pub async fn log_actions(_db: &impl ConnectionTrait, _e: Vec<NewEntry<'_>>) -> Result<(), DbErr> {
    Ok(())
}
pub struct HistoryEntry {
    pub action_time: DateTime<Utc>,
    pub username: String,
    pub flag: ActionFlag,
    pub message: String,
}
pub async fn history(
    _db: &impl ConnectionTrait,
    _ct: i32,
    _o: &str,
    _l: u64,
) -> Result<Vec<HistoryEntry>, DbErr> {
    Ok(vec![])
}
