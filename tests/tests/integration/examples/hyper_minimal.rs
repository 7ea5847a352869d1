//! The hyper-minimal example, served on loopback and driven by a browser-like client.

use batteries::auth::UserManager;
use batteries::auth::sessions::SessionSecret;
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::browser::Browser;
use http::StatusCode;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

backend_tests!(hyper_minimal_logs_in_guards_and_logs_out);

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        batteries::orm::migration::compose([
            batteries::auth::migrations::migrations(),
            batteries::admin::migrations::migrations(),
        ])
        .expect("unique names")
    }
}

async fn hyper_minimal_logs_in_guards_and_logs_out(db: &TestDb) {
    let conn = db.conn().clone();
    Migrator::up(&conn, None).await.expect("migrations");
    UserManager::new()
        .create_user(&conn, "demo", None, Some("a long enough password"))
        .await
        .expect("user");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let secret = SessionSecret::new("hyper-minimal test secret, long enough").expect("secret");
    let admin = hyper_minimal::admin(&conn, &secret).await.expect("admin");
    let config = hyper_minimal::Config {
        secret,
        https: false,
        admin: Some(admin),
    };
    let server = tokio::spawn(hyper_minimal::serve(listener, conn.clone(), config));

    let mut browser = Browser::new(addr);
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("not logged in"), "{}", home.body);
    assert_eq!(home.header("x-frame-options"), Some("DENY"));

    let private = browser.get("/private").await;
    assert_eq!(private.status, StatusCode::FOUND);
    assert_eq!(private.location(), Some("/login?next=%2Fprivate"));

    let page = browser.get("/login?next=/private").await;
    let token = page.form_token().expect("token");
    let wrong = browser
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "demo"),
                ("password", "nope"),
            ],
        )
        .await;
    assert!(
        wrong.body.contains("Invalid username or password."),
        "{}",
        wrong.body
    );
    let token = wrong.form_token().expect("token");
    let ok = browser
        .post_form(
            "/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "demo"),
                ("password", "a long enough password"),
                ("next", "/private"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.body);
    assert_eq!(ok.location(), Some("/private"));
    let private = browser.get("/private").await;
    assert_eq!(private.status, StatusCode::OK);
    assert!(private.body.contains("Only demo sees this."));

    let home = browser.get("/").await;
    let token = home.form_token().expect("the logout form carries a token");
    let forged = browser.post_form("/logout", &[]).await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "logout needs the token"
    );
    let out = browser
        .post_form("/logout", &[("csrfmiddlewaretoken", &token)])
        .await;
    assert_eq!(out.status, StatusCode::FOUND);
    assert_eq!(browser.get("/private").await.status, StatusCode::FOUND);

    // The admin, on the same hyper service: anonymous visitors go to its login page.
    let anonymous = browser.get("/admin/").await;
    assert_eq!(anonymous.status, StatusCode::FOUND);
    assert_eq!(anonymous.location(), Some("/admin/login/?next=%2Fadmin%2F"));
    UserManager::new()
        .create_superuser(&conn, "boss", None, Some("another long password"))
        .await
        .expect("superuser");
    let page = browser.get("/admin/login/?next=/admin/").await;
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let at = page
        .body
        .find(marker)
        .expect("the admin login form has a token")
        + marker.len();
    let token = page.body[at..].split('"').next().expect("token").to_owned();
    let login = browser
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "boss"),
                ("password", "another long password"),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(login.status, StatusCode::FOUND, "{}", login.body);
    assert_eq!(login.location(), Some("/admin/"));
    let users = browser.get("/admin/auth/user/?q=dem").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("demo"), "{}", users.body);
    assert!(
        !users.body.contains("Select boss"),
        "the search leaves boss out"
    );
    // The users are batteries' UserAdmin: two passwords on the add form.
    let add = browser.get("/admin/auth/user/add/").await;
    assert_eq!(add.status, StatusCode::OK);
    assert!(add.body.contains("name=\"password2\""), "{}", add.body);
    server.abort();
}
