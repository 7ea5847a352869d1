//! Attacks on the login paths (issue 16): a throttle that spelling variants cannot
//! multiply, a per-IP limit on the admin's and the blog's login forms, NFKC usernames.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use batteries::auth::entities::user;
use batteries::auth::throttle::{LoginThrottle, MemoryThrottleStore};
use batteries::auth::{AuthBackend, Authenticator, Credentials, ModelBackend, UserManager};
use batteries::middleware::ratelimit::ClientIp;
use batteries::orm::testing::{Backend, TestDb};
use batteries_tests::admin_app::{self, PASSWORD};
use batteries_tests::browser::{Browser, Reply};
use http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

const READER_PASSWORD: &str = "a reader's long passphrase";

/// Spellings of `reader`: MariaDB's default collation matches the first five to it
/// (case, accents, trailing spaces); NFKC makes the fullwidth one `reader` everywhere.
const VARIANTS: [&str; 6] = [
    "READER",
    "RÉADÉR",
    "reader  ",
    "reáder",
    "Reader",
    "ｒｅａｄｅｒ",
];

fn throttled(db: &TestDb) -> Authenticator<user::Model> {
    Authenticator::new()
        .with_backend(ModelBackend::new(db.conn().clone()))
        .with_throttle(
            LoginThrottle::new(MemoryThrottleStore::new())
                .with_username_limit(5, Duration::from_mins(15))
                .with_ip_limit(20, Duration::from_mins(15)),
        )
}

async fn spelling_variants_share_one_budget(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    UserManager::new()
        .create_user(db.conn(), "reader", None, Some(READER_PASSWORD))
        .await
        .unwrap();
    let backend = ModelBackend::new(db.conn().clone());
    // The spellings this database takes for `reader`.
    let mut accepted = vec!["reader"];
    for variant in VARIANTS {
        let right = Credentials::new(variant, READER_PASSWORD);
        if backend.authenticate(&right).await.unwrap().is_some() {
            accepted.push(variant);
        }
    }
    assert!(
        accepted.contains(&"ｒｅａｄｅｒ"),
        "NFKC at login: {accepted:?}"
    );
    if db.backend() == Backend::MySql {
        // The attack as reported: each of these logs in as `reader` on MariaDB.
        for variant in ["RÉADÉR", "reader  ", "reáder"] {
            assert!(accepted.contains(&variant), "{variant}: {accepted:?}");
        }
    }
    let auth = throttled(db);
    // Five wrong passwords, each under another accepted spelling, from no known IP.
    for i in 0..5 {
        let name = accepted[i % accepted.len()];
        let wrong = Credentials::new(name, "wrong password");
        assert!(auth.authenticate(&wrong).await.unwrap().is_none());
    }
    // `reader` is locked under every spelling: none has a budget of its own.
    for name in &accepted {
        let right = Credentials::new(*name, READER_PASSWORD);
        assert!(
            auth.authenticate(&right).await.unwrap().is_none(),
            "{name:?} still logs in after 5 failures on {:?}",
            db.backend()
        );
    }
    // Unknown names are counted by their normalised name: `ＧＨＯＳＴ` is `ghost`.
    for name in ["ghost", "GHOST", "ＧＨＯＳＴ", "ghost ", "Ghost"] {
        let wrong = Credentials::new(name, "wrong password");
        assert!(auth.authenticate(&wrong).await.unwrap().is_none());
    }
    UserManager::new()
        .create_user(db.conn(), "ghost", None, Some(READER_PASSWORD))
        .await
        .unwrap();
    let ghost = Credentials::new("ghost", READER_PASSWORD);
    // `ghost` now exists: its budget is its own (keyed by its pk), so it logs in.
    assert!(auth.authenticate(&ghost).await.unwrap().is_some());
}

/// The admin test site with a login throttle, finding the client's address from axum's
/// `ConnectInfo` (the site is served with connect info).
async fn throttled_admin(db: &TestDb) -> admin_app::Running {
    admin_app::setup(db.conn()).await;
    let admin = admin_app::site()
        .authenticator(throttled(db))
        .client_ip(ClientIp::new().with_peer(|parts| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        }))
        .build(db.conn().clone(), admin_app::secret())
        .await
        .unwrap();
    admin_app::seed_users(db.conn()).await;
    admin_app::serve_with(db.conn(), admin, "127.0.0.1:0".parse().unwrap()).await
}

/// The admin form's CSRF token.
fn token(page: &Reply) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page.body.find(marker).expect("a form with a CSRF token");
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').expect("the token ends")].to_owned()
}

async fn admin_login(b: &mut Browser, username: &str, password: &str) -> Reply {
    let page = b.get("/admin/login/").await;
    let t = token(&page);
    b.post_form(
        "/admin/login/",
        &[
            ("csrfmiddlewaretoken", &t),
            ("username", username),
            ("password", password),
            ("next", "/admin/"),
        ],
    )
    .await
}

async fn forty_usernames_from_one_ip_lock_the_admin_login(db: &TestDb) {
    let running = throttled_admin(db).await;
    let mut b = Browser::new(running.addr);
    // The admin logs in while the address is clean.
    let reply = admin_login(&mut b, "admin", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let mut b = Browser::new(running.addr);
    for i in 0..40 {
        let reply = admin_login(&mut b, &format!("guess{i}"), "wrong").await;
        assert_eq!(reply.status, StatusCode::OK, "attempt {i}");
    }
    // 127.0.0.1 is locked: the right password is refused like a wrong one.
    let reply = admin_login(&mut b, "admin", PASSWORD).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the admin logged in from an address that failed 40 times"
    );
    assert!(reply.body.contains("Please enter the correct username"));
}

async fn forty_usernames_from_one_ip_lock_the_blog_login(db: &TestDb) {
    let conn = db.conn();
    blog_axum::prepare(conn).await.expect("first start");
    blog_axum::development_reader(conn, "reader", READER_PASSWORD)
        .await
        .expect("reader");
    let settings = blog_axum::Settings {
        secret: admin_app::secret(),
        https: false,
    };
    let app = blog_axum::app(conn.clone(), &settings)
        .await
        .expect("the app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let mut b = Browser::new(addr);
    for i in 0..40 {
        let reply = b.login(&format!("guess{i}"), "wrong").await;
        assert_eq!(reply.status, StatusCode::OK, "attempt {i}");
    }
    let reply = b.login("reader", READER_PASSWORD).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the reader logged in from an address that failed 40 times"
    );
    // Another address is not locked (the lock is per IP, not global).
    let other = Authenticator::<user::Model>::new()
        .with_backend(ModelBackend::new(conn.clone()))
        .authenticate(&Credentials::new("reader", READER_PASSWORD))
        .await
        .unwrap();
    assert!(other.is_some());
    server.abort();
}

async fn usernames_are_nfkc_normalised(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let users = UserManager::new();
    users
        .create_user(db.conn(), "admin", None, Some(READER_PASSWORD))
        .await
        .unwrap();
    // Fullwidth `ａｄｍｉｎ` is `admin`: taken.
    let taken = users
        .create_user(db.conn(), "ａｄｍｉｎ", None, Some(READER_PASSWORD))
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("already exists"), "{taken}");
    // The ohm sign is stored as the Greek capital omega.
    let omega = users
        .create_user(db.conn(), "\u{2126}mega", None, Some(READER_PASSWORD))
        .await
        .unwrap();
    assert_eq!(omega.username, "\u{3a9}mega");
    let again = users
        .create_user(db.conn(), "\u{3a9}mega", None, Some(READER_PASSWORD))
        .await;
    assert!(again.is_err(), "Ωmega and Ωmega are one name");
    let count = user::Entity::find()
        .filter(user::Column::Username.contains("mega"))
        .all(db.conn())
        .await
        .unwrap()
        .len();
    assert_eq!(count, 1);
    // Logging in with either spelling finds the user (Django's login form NFKCs too).
    let found = batteries::auth::authenticate(
        db.conn(),
        &Credentials::new("\u{2126}mega", READER_PASSWORD),
    )
    .await
    .unwrap();
    assert_eq!(found.map(|u| u.id), Some(omega.id));
}

async fn the_admin_stores_usernames_nfkc(db: &TestDb) {
    admin_app::setup(db.conn()).await;
    let admin = admin_app::site()
        .register(batteries::admin::user_admin())
        .build(db.conn().clone(), admin_app::secret())
        .await
        .unwrap();
    admin_app::seed_users(db.conn()).await;
    let running = admin_app::serve_with(db.conn(), admin, "127.0.0.1:0".parse().unwrap()).await;
    let mut b = Browser::new(running.addr);
    assert_eq!(
        admin_login(&mut b, "admin", PASSWORD).await.status,
        StatusCode::FOUND
    );
    // The HTML add form: `ｚｏｅ` is stored as `zoe`.
    let add = "/admin/auth/user/add/";
    let page = b.get(add).await;
    let t = token(&page);
    let reply = b
        .post_form(
            add,
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", "ｚｏｅ"),
                ("password1", READER_PASSWORD),
                ("password2", READER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.body);
    let names: Vec<String> = user::Entity::find()
        .all(db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert!(names.contains(&"zoe".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains('ｚ')), "{names:?}");
    // Fullwidth `ａｄｍｉｎ` through the same form is refused: `admin` exists.
    let page = b.get(add).await;
    let t = token(&page);
    let reply = b
        .post_form(
            add,
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", "ａｄｍｉｎ"),
                ("password1", READER_PASSWORD),
                ("password2", READER_PASSWORD),
            ],
        )
        .await;
    assert_ne!(
        reply.status,
        StatusCode::FOUND,
        "a second `admin` was added"
    );
    let admins = user::Entity::find()
        .filter(user::Column::Username.eq("admin"))
        .all(db.conn())
        .await
        .unwrap();
    assert_eq!(admins.len(), 1);
}

batteries_tests::backend_tests!(
    spelling_variants_share_one_budget,
    forty_usernames_from_one_ip_lock_the_admin_login,
    forty_usernames_from_one_ip_lock_the_blog_login,
    usernames_are_nfkc_normalised,
    the_admin_stores_usernames_nfkc,
);
