//! The set-up the admin tests repeat, built once: the test site ([`admin_app`]) on a
//! fresh database with its users and library, served in this process, and browsers
//! logged in through the admin's login form.
//!
//! ```ignore
//! let site = AdminFixture::new(db.conn())
//!     .library(3, 10)
//!     .with_staff("exporter", &["view_book", "export_book"])
//!     .build()
//!     .await;
//! let (mut browser, csrf) = site.logged_in("exporter").await;
//! ```

#![allow(clippy::missing_panics_doc)]

use std::net::SocketAddr;

use batteries::admin::AdminSite;
use batteries::auth::UserManager;
use batteries::auth::entities::{permission, user, user_permissions};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::admin_app::{self, PASSWORD, Running};
use crate::browser::{Browser, Reply};

/// What to set up; [`AdminFixture::build`] does it.
#[must_use]
pub struct AdminFixture<'a> {
    db: &'a DatabaseConnection,
    site: Option<AdminSite>,
    authors: usize,
    books: usize,
    superusers: Vec<String>,
    staff: Vec<(String, Vec<String>)>,
}

impl<'a> AdminFixture<'a> {
    /// The test site's registrations ([`admin_app::site`]) on `db`, with the seeded users
    /// ([`admin_app::seed_users`]: `admin`, `editor`, `viewer`, `outsider`) and no library.
    pub fn new(db: &'a DatabaseConnection) -> Self {
        Self {
            db,
            site: None,
            authors: 0,
            books: 0,
            superusers: Vec::new(),
            staff: Vec::new(),
        }
    }

    /// Registrations of the test's own instead of the test site's, on the same tables.
    pub fn site(mut self, site: AdminSite) -> Self {
        self.site = Some(site);
        self
    }

    /// `authors` authors and `books` books ([`admin_app::seed_library`]).
    pub fn library(mut self, authors: usize, books: usize) -> Self {
        self.authors = authors;
        self.books = books;
        self
    }

    /// A further superuser `name` (password [`PASSWORD`]).
    pub fn with_superuser(mut self, name: &str) -> Self {
        self.superusers.push(name.to_owned());
        self
    }

    /// A further staff user `name` (password [`PASSWORD`]) with the permissions
    /// `codenames` (such as `view_book`).
    pub fn with_staff(mut self, name: &str, codenames: &[&str]) -> Self {
        self.staff.push((
            name.to_owned(),
            codenames.iter().map(|c| (*c).to_owned()).collect(),
        ));
        self
    }

    /// Creates the tables, builds the admin (which creates the permissions), adds the
    /// users and the library, and serves the site on a free port of 127.0.0.1.
    pub async fn build(self) -> Running {
        let db = self.db;
        admin_app::setup(db).await;
        // Built before the users are added: it creates the permissions they get.
        let admin = if let Some(site) = self.site {
            Some(
                site.build(db.clone(), admin_app::secret())
                    .await
                    .expect("admin builds"),
            )
        } else {
            let _ = admin_app::admin(db, &admin_app::secret()).await;
            None
        };
        admin_app::seed_users(db).await;
        if self.authors > 0 || self.books > 0 {
            admin_app::seed_library(db, self.authors, self.books).await;
        }
        let users = UserManager::new();
        for name in &self.superusers {
            users
                .create_superuser(db, name, None, Some(PASSWORD))
                .await
                .expect("superuser");
        }
        for (name, codenames) in &self.staff {
            let codenames: Vec<&str> = codenames.iter().map(String::as_str).collect();
            staff_user(db, name, &codenames).await;
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        match admin {
            Some(admin) => admin_app::serve_with(db, admin, addr).await,
            None => admin_app::serve(db, addr).await,
        }
    }
}

impl Running {
    /// A browser on this site, logged in as nobody.
    pub fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }

    /// A browser on this site logged in as `username` ([`api_login`]), and the CSRF token
    /// for API writes.
    pub async fn logged_in(&self, username: &str) -> (Browser, String) {
        let mut browser = self.browser();
        let token = api_login(&mut browser, username).await;
        (browser, token)
    }
}

/// The CSRF token of the first form on an admin page.
pub fn token(page: &Reply) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page.body.find(marker).expect("a form with a CSRF token");
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').expect("a closing quote")].to_owned()
}

/// Logs `username` (password [`PASSWORD`]) in through the admin's login form, asserting
/// it is let in.
pub async fn login(b: &mut Browser, username: &str) {
    let page = b.get("/admin/login/").await;
    let t = token(&page);
    let reply = b
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, 302, "{username} logs in: {}", reply.body);
}

/// [`login`], then the CSRF token of the admin index, for API writes.
pub async fn api_login(b: &mut Browser, username: &str) -> String {
    login(b, username).await;
    token(&b.get("/admin/").await)
}

/// Creates the staff user `name` (password [`PASSWORD`]) with the permissions
/// `codenames`; returns its id.
pub async fn staff_user(db: &DatabaseConnection, name: &str, codenames: &[&str]) -> i32 {
    let user = UserManager::new()
        .create_user(db, name, None, Some(PASSWORD))
        .await
        .expect("user");
    let mut active: user::ActiveModel = user.clone().into();
    active.is_staff = Set(true);
    active.update(db).await.expect("staff");
    grant(db, user.id, codenames).await;
    user.id
}

/// Grants the permissions `codenames` to the user `user_id`.
pub async fn grant(db: &DatabaseConnection, user_id: i32, codenames: &[&str]) {
    for codename in codenames {
        let perm = permission::Entity::find()
            .filter(permission::Column::Codename.eq(*codename))
            .one(db)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("permission {codename} exists"));
        user_permissions::ActiveModel {
            user_id: Set(user_id),
            permission_id: Set(perm.id),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("grant");
    }
}

/// Grants the permissions `codenames` to the user called `username`.
pub async fn grant_to(db: &DatabaseConnection, username: &str, codenames: &[&str]) {
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("user {username} exists"));
    grant(db, user.id, codenames).await;
}
