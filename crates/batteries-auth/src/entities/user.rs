//! `auth_user`: Django's built-in user.

use sea_orm::entity::prelude::*;

use crate::user::AuthUser;

/// A row of `auth_user`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_user")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The encoded password hash (`argon2$argon2id$...`), or `!...` when unusable.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub password: String,
    /// When the user last logged in.
    pub last_login: Option<DateTimeUtc>,
    /// Has every permission.
    pub is_superuser: bool,
    /// Unique login name.
    #[sea_orm(column_type = "String(StringLen::N(150))", unique)]
    pub username: String,
    /// Given name.
    #[sea_orm(column_type = "String(StringLen::N(150))")]
    pub first_name: String,
    /// Family name.
    #[sea_orm(column_type = "String(StringLen::N(150))")]
    pub last_name: String,
    /// E-mail address, may be empty.
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub email: String,
    /// May use the admin.
    pub is_staff: bool,
    /// May log in.
    pub is_active: bool,
    /// When the account was created.
    pub date_joined: DateTimeUtc,
}

// The password hash stays out of logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .field("is_superuser", &self.is_superuser)
            .finish_non_exhaustive()
    }
}

/// No relations are declared; the join tables are queried directly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl AuthUser for Model {
    fn pk_string(&self) -> String {
        self.id.to_string()
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password
    }
    fn email(&self) -> &str {
        &self.email
    }
    fn is_active(&self) -> bool {
        self.is_active
    }
    fn is_staff(&self) -> bool {
        self.is_staff
    }
    fn is_superuser(&self) -> bool {
        self.is_superuser
    }
    fn last_login(&self) -> Option<DateTimeUtc> {
        self.last_login
    }
}

impl crate::validators::UserAttributes for Model {
    fn attribute(&self, name: &str) -> Option<&str> {
        match name {
            "username" => Some(&self.username),
            "first_name" => Some(&self.first_name),
            "last_name" => Some(&self.last_name),
            "email" => Some(&self.email),
            _ => None,
        }
    }
}
