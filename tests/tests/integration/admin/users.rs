//! The user admin (`batteries_admin::user_admin`, Django's `UserAdmin`) over HTTP on each
//! backend: the add form's two passwords and validators, the change form's masked hash
//! summary, the password page for another user (and for oneself), permissions, and the
//! hash kept out of every page and of the JSON API.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use batteries::admin::log::entity as log_entry;
use batteries::auth::UserManager;
use batteries::auth::entities::{group, permission, user, user_groups, user_permissions};
use batteries::auth::hashers::check_password;
use batteries::orm::testing::TestDb;
use batteries_tests::admin_app::{self, PASSWORD};
use batteries_tests::admin_fixture::{AdminFixture, grant, token};
use batteries_tests::backend_tests;
use batteries_tests::browser::{Browser, Reply};
use bytes::Bytes;
use http::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

backend_tests!(
    user_add_form_checks_and_hashes_the_password,
    user_change_form_shows_only_a_masked_summary,
    user_password_page_sets_a_new_password,
    user_password_page_needs_the_change_permission,
    user_api_never_returns_the_hash,
    user_password_summary_matches_djangos,
    user_groups_and_permissions_are_picked_on_the_change_form,
    user_api_add_takes_only_the_add_form_fields,
    staff_cannot_grant_themselves_superuser_powers,
    staff_cannot_change_a_superuser,
    list_editable_keeps_superuser_only_fields,
);

const NEW_PASSWORD: &str = "a fresh passphrase 42";

/// The test library plus the user admin, served; the seeded users exist.
async fn site(db: &TestDb) -> (admin_app::Running, SocketAddr) {
    let site = admin_app::site().register(batteries::admin::user_admin());
    let task = AdminFixture::new(db.conn()).site(site).build().await;
    let addr = task.addr;
    (task, addr)
}

async fn login(addr: SocketAddr, username: &str, password: &str) -> Browser {
    let mut b = Browser::new(addr);
    let page = b.get("/admin/login/").await;
    let t = token(&page);
    let reply = b
        .post_form(
            "/admin/login/",
            &[
                ("csrfmiddlewaretoken", &t),
                ("username", username),
                ("password", password),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{username} logs in");
    b
}

/// Posts a form from `page_path` (fetching it first for its token).
async fn submit(b: &mut Browser, page_path: &str, fields: &[(&str, &str)]) -> Reply {
    let page = b.get(page_path).await;
    let t = token(&page);
    let mut all = vec![("csrfmiddlewaretoken", t.as_str())];
    all.extend_from_slice(fields);
    b.post_form(page_path, &all).await
}

async fn user_named(db: &TestDb, name: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(name))
        .one(db.conn())
        .await
        .unwrap()
}

/// Asserts that no part of `hash` that could help an attacker is in `body`.
fn assert_hash_absent(body: &str, hash: &str) {
    assert!(!body.contains(hash), "the full hash is shown");
    // The salt and the digest (bcrypt's salt-and-checksum), where long enough to tell.
    let parts: Vec<&str> = hash.split('$').collect();
    for secret in &parts[parts.len().saturating_sub(2)..] {
        assert!(
            secret.len() < 8 || !body.contains(secret),
            "{secret} of {hash} is shown"
        );
    }
}

async fn user_add_form_checks_and_hashes_the_password(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let mut b = login(addr, "admin", PASSWORD).await;
    let add = "/admin/auth/user/add/";
    let form = b.get(add).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for field in ["username", "password1", "password2"] {
        assert!(form.body.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(
        form.body.contains("type=\"password\" name=\"password1\""),
        "{}",
        form.body
    );
    assert!(
        !form.body.contains("name=\"is_superuser\""),
        "add form: Django's add_fieldsets"
    );
    let users_before = user::Entity::find().count(db.conn()).await.unwrap();

    // The two passwords differ: an error under the confirmation, nothing created, and
    // neither password is sent back.
    let mismatch = submit(
        &mut b,
        add,
        &[
            ("username", "newbie"),
            ("password1", NEW_PASSWORD),
            ("password2", "another passphrase 43"),
            ("_save", "1"),
        ],
    )
    .await;
    assert_eq!(
        mismatch.status,
        StatusCode::BAD_REQUEST,
        "{}",
        mismatch.body
    );
    assert!(
        mismatch
            .body
            .contains("The two password fields didn’t match."),
        "{}",
        mismatch.body
    );
    assert!(
        mismatch.body.contains("value=\"newbie\""),
        "the username is kept"
    );
    assert!(!mismatch.body.contains(NEW_PASSWORD), "never echoed");
    assert!(
        !mismatch.body.contains("another passphrase 43"),
        "never echoed"
    );
    assert!(user_named(db, "newbie").await.is_none());

    // A weak password: the validators' messages.
    let weak = submit(
        &mut b,
        add,
        &[
            ("username", "newbie"),
            ("password1", "12345678"),
            ("password2", "12345678"),
        ],
    )
    .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(
        weak.body.contains("This password is too common."),
        "{}",
        weak.body
    );
    assert!(weak.body.contains("This password is entirely numeric."));
    assert!(!weak.body.contains("12345678"), "never echoed");
    // Similar to the username being created.
    let similar = submit(
        &mut b,
        add,
        &[
            ("username", "marguerite.duras"),
            ("password1", "marguerite.duras"),
            ("password2", "marguerite.duras"),
        ],
    )
    .await;
    assert_eq!(similar.status, StatusCode::BAD_REQUEST);
    assert!(
        similar.body.contains("too similar to the username"),
        "{}",
        similar.body
    );
    // A bad username.
    let bad_name = submit(
        &mut b,
        add,
        &[
            ("username", "no spaces!"),
            ("password1", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_name.body.contains("Enter a valid username."),
        "{}",
        bad_name.body
    );
    assert_eq!(
        user::Entity::find().count(db.conn()).await.unwrap(),
        users_before,
        "nothing created"
    );

    // A good one: created, hashed, and opened on its change form.
    let added = submit(
        &mut b,
        add,
        &[
            ("username", "newbie"),
            ("password1", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
            ("_save", "1"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::FOUND, "{}", added.body);
    let newbie = user_named(db, "newbie").await.expect("created");
    let change = format!("/admin/auth/user/{}/change/", newbie.id);
    assert_eq!(added.location(), Some(change.as_str()));
    assert!(
        newbie.password.starts_with("argon2$argon2id$"),
        "hashed with argon2id"
    );
    assert!(check_password(NEW_PASSWORD, &newbie.password), "can log in");
    assert!(!check_password("another passphrase 43", &newbie.password));
    assert!(newbie.is_active && !newbie.is_staff && !newbie.is_superuser);
    let page = b.get(&change).await;
    assert!(
        page.body
            .contains("The user “newbie” was added successfully. You may edit it again below."),
        "{}",
        page.body
    );
    let logged = log_entry::Entity::find()
        .filter(log_entry::Column::ObjectId.eq(newbie.id.to_string()))
        .one(db.conn())
        .await
        .unwrap()
        .expect("history");
    assert_eq!(logged.change_message, "[{\"added\": {}}]");
    // A taken username: refused, and the passwords are not sent back.
    let taken = submit(
        &mut b,
        add,
        &[
            ("username", "newbie"),
            ("password1", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST, "{}", taken.body);
    assert!(taken.body.contains("already exists"), "{}", taken.body);
    assert!(!taken.body.contains(NEW_PASSWORD), "never echoed");
    // The new user authenticates with batteries-auth.
    let found = batteries::auth::authenticate(
        db.conn(),
        &batteries::auth::Credentials::new("newbie", NEW_PASSWORD),
    )
    .await
    .unwrap();
    assert_eq!(found.map(|u| u.id), Some(newbie.id));
}

async fn user_change_form_shows_only_a_masked_summary(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let mut b = login(addr, "admin", PASSWORD).await;
    let editor = user_named(db, "editor").await.unwrap();
    let change = format!("/admin/auth/user/{}/change/", editor.id);
    let page = b.get(&change).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_hash_absent(&page.body, &editor.password);
    assert!(
        !page.body.contains("name=\"password\""),
        "no password input"
    );
    let digest = editor.password.rsplit('$').next().unwrap();
    let masked = format!("{}{}", &digest[..6], "*".repeat(digest.len() - 6));
    for shown in [
        "<strong>algorithm</strong>: <bdi>argon2</bdi>".to_owned(),
        "<strong>variety</strong>: <bdi>argon2id</bdi>".to_owned(),
        "<strong>version</strong>: <bdi>19</bdi>".to_owned(),
        "<strong>memory cost</strong>: <bdi>".to_owned(),
        "<strong>salt</strong>: <bdi>".to_owned(),
        format!("<strong>hash</strong>: <bdi>{masked}</bdi>"),
        "<a class=\"button\" href=\"../password/\">Reset password</a>".to_owned(),
    ] {
        assert!(page.body.contains(&shown), "{shown} in {}", page.body);
    }

    // A posted `password` is ignored; the other fields are saved.
    let saved = submit(
        &mut b,
        &change,
        &[
            ("username", "editor"),
            ("password", "plain text injected"),
            ("first_name", "Eddie"),
            ("last_name", ""),
            ("email", "editor@example.com"),
            ("is_active", "on"),
            ("is_staff", "on"),
            ("last_login", ""),
            ("date_joined", "2026-01-02T03:04:05"),
            ("_continue", "1"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    let after = user_named(db, "editor").await.unwrap();
    assert_eq!(after.first_name, "Eddie");
    assert_eq!(after.password, editor.password, "the hash is unchanged");
    assert!(check_password(PASSWORD, &after.password));

    // Nor is it in the changelist, the history or a form with errors.
    let list = b.get("/admin/auth/user/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("editor@example.com"));
    assert_hash_absent(&list.body, &editor.password);
    let history = b
        .get(&format!("/admin/auth/user/{}/history/", editor.id))
        .await;
    assert!(history.body.contains("Changed"), "{}", history.body);
    assert_hash_absent(&history.body, &editor.password);
    let invalid = submit(&mut b, &change, &[("username", ""), ("password", "x")]).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_hash_absent(&invalid.body, &editor.password);
    // The hash cannot be filtered or ordered by.
    assert_eq!(
        b.get(&format!("/admin/auth/user/?password={}", editor.password))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        b.get("/admin/auth/user/?ordering=password").await.status,
        StatusCode::BAD_REQUEST
    );

    // No usable password: Django's "No password set." and "Set password".
    let nopass = UserManager::new()
        .create_user(db.conn(), "nopass", None, None)
        .await
        .unwrap();
    let page = b
        .get(&format!("/admin/auth/user/{}/change/", nopass.id))
        .await;
    assert!(
        page.body.contains("<strong>No password set.</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Set password</a>"));
    assert!(!page.body.contains(&nopass.password));
    // An unknown algorithm.
    let mut odd: user::ActiveModel = nopass.into();
    odd.password = Set("sha9000$x$y".into());
    let odd = odd.update(db.conn()).await.unwrap();
    let page = b.get(&format!("/admin/auth/user/{}/change/", odd.id)).await;
    assert!(
        page.body
            .contains("<strong>Invalid password format or unknown hashing algorithm.</strong>"),
        "{}",
        page.body
    );
}

async fn user_password_page_sets_a_new_password(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let mut b = login(addr, "admin", PASSWORD).await;
    let mut editor_session = login(addr, "editor", PASSWORD).await;
    let editor = user_named(db, "editor").await.unwrap();
    let path = format!("/admin/auth/user/{}/password/", editor.id);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Enter a new password for the user <strong>editor</strong>."),
        "{}",
        page.body
    );
    assert_hash_absent(&page.body, &editor.password);

    let mismatch = submit(
        &mut b,
        &path,
        &[
            ("password1", NEW_PASSWORD),
            ("password2", "another passphrase 43"),
        ],
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch
            .body
            .contains("The two password fields didn’t match.")
    );
    assert!(!mismatch.body.contains(NEW_PASSWORD));
    let weak = submit(
        &mut b,
        &path,
        &[("password1", "editor"), ("password2", "editor")],
    )
    .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.body.contains("too short"), "{}", weak.body);
    assert!(
        weak.body.contains("too similar to the username"),
        "{}",
        weak.body
    );
    // Without the CSRF token: refused.
    let forged = b
        .post_form(
            &path,
            &[("password1", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        user_named(db, "editor").await.unwrap().password,
        editor.password,
        "nothing changed yet"
    );

    let done = submit(
        &mut b,
        &path,
        &[("password1", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let change = format!("/admin/auth/user/{}/change/", editor.id);
    assert_eq!(done.location(), Some(change.as_str()));
    let after = user_named(db, "editor").await.unwrap();
    assert!(
        check_password(NEW_PASSWORD, &after.password),
        "the new one works"
    );
    assert!(
        !check_password(PASSWORD, &after.password),
        "the old one fails"
    );
    let page = b.get(&change).await;
    assert!(
        page.body.contains("Password changed successfully."),
        "{}",
        page.body
    );
    let history = b
        .get(&format!("/admin/auth/user/{}/history/", editor.id))
        .await;
    assert!(
        history.body.contains("Changed password."),
        "{}",
        history.body
    );
    let entry = log_entry::Entity::find()
        .filter(log_entry::Column::ObjectId.eq(editor.id.to_string()))
        .one(db.conn())
        .await
        .unwrap()
        .expect("logged");
    assert_eq!(
        entry.change_message,
        "[{\"changed\": {\"fields\": [\"password\"]}}]"
    );
    assert_eq!(
        editor_session.get("/admin/").await.status,
        StatusCode::FOUND,
        "the user's own sessions end"
    );
    login(addr, "editor", NEW_PASSWORD).await;

    // One's own password: this session stays logged in.
    let admin = user_named(db, "admin").await.unwrap();
    let own = format!("/admin/auth/user/{}/password/", admin.id);
    let mut other_admin = login(addr, "admin", PASSWORD).await;
    let done = submit(
        &mut b,
        &own,
        &[("password1", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert_eq!(
        b.get("/admin/").await.status,
        StatusCode::OK,
        "still logged in"
    );
    assert_eq!(
        other_admin.get("/admin/").await.status,
        StatusCode::FOUND,
        "the other session ends"
    );
    let missing = b.get("/admin/auth/user/99999/password/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn user_password_page_needs_the_change_permission(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let admin = user_named(db, "admin").await.unwrap();
    let path = format!("/admin/auth/user/{}/password/", admin.id);
    // The editor has no permission on users; the viewer may only view them.
    let viewer = user_named(db, "viewer").await.unwrap();
    grant(db.conn(), viewer.id, &["view_user"]).await;
    for name in ["editor", "viewer"] {
        let mut b = login(addr, name, PASSWORD).await;
        assert_eq!(b.get(&path).await.status, StatusCode::FORBIDDEN, "{name}");
        let index = b.get("/admin/").await;
        let t = token(&index);
        let posted = b
            .post_form(
                &path,
                &[
                    ("csrfmiddlewaretoken", &t),
                    ("password1", NEW_PASSWORD),
                    ("password2", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(
            user_named(db, "admin").await.unwrap().password,
            admin.password,
            "nothing changed"
        );
    }
    // The viewer sees the summary, read-only, without the link.
    let mut b = login(addr, "viewer", PASSWORD).await;
    let page = b
        .get(&format!("/admin/auth/user/{}/change/", admin.id))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<strong>algorithm</strong>"));
    assert!(!page.body.contains("Reset password"));
    assert_hash_absent(&page.body, &admin.password);
    let before = log_entry::Entity::find().count(db.conn()).await.unwrap();
    assert_eq!(before, 0, "no history written");
}

async fn api(b: &mut Browser, method: Method, path: &str, body: Option<&Value>, t: &str) -> Reply {
    let mut headers = vec![("accept", "application/json"), ("x-csrftoken", t)];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let bytes = body.map_or_else(Bytes::new, |v| Bytes::from(v.to_string()));
    b.send(method, path, &headers, bytes).await
}

async fn user_api_never_returns_the_hash(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let mut b = login(addr, "admin", PASSWORD).await;
    let t = token(&b.get("/admin/").await);
    let editor = user_named(db, "editor").await.unwrap();

    let list = api(&mut b, Method::GET, "/admin/api/auth/user/", None, &t).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let results = list.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 4);
    assert!(
        results.iter().all(|u| u.get("password").is_none()),
        "{results:?}"
    );
    assert!(results.iter().all(|u| u.get("username").is_some()));
    assert!(!list.body.contains("argon2"), "{}", list.body);

    let one = format!("/admin/api/auth/user/{}/", editor.id);
    let retrieved = api(&mut b, Method::GET, &one, None, &t).await;
    assert_eq!(retrieved.status, StatusCode::OK);
    assert_eq!(retrieved.json()["username"], "editor");
    assert!(retrieved.json().get("password").is_none());
    assert_hash_absent(&retrieved.body, &editor.password);

    let doc = api(&mut b, Method::GET, "/admin/api/openapi.json", None, &t).await;
    assert_eq!(doc.status, StatusCode::OK);
    let schemas = doc.json()["components"]["schemas"].clone();
    let user_schemas: Vec<(&String, &Value)> = schemas
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("AuthUser"))
        .collect();
    assert!(!user_schemas.is_empty(), "{schemas}");
    for (name, schema) in user_schemas {
        assert!(
            schema["properties"].get("password").is_none(),
            "{name}: {schema}"
        );
        assert!(
            !schema["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("password"))),
            "{name}"
        );
    }

    // Written through the API: the password is ignored; a new user gets an unusable one.
    let patched = api(
        &mut b,
        Method::PATCH,
        &one,
        Some(&json!({"first_name": "Ed", "password": "plain"})),
        &t,
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert!(patched.json().get("password").is_none(), "{}", patched.body);
    assert_eq!(
        user_named(db, "editor").await.unwrap().password,
        editor.password
    );
    let created = api(
        &mut b,
        Method::POST,
        "/admin/api/auth/user/",
        // The add form's fields only (issue 16): the others are set after.
        Some(&json!({"username": "apiuser"})),
        &t,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.json().get("password").is_none());
    let apiuser = user_named(db, "apiuser").await.expect("created");
    assert!(apiuser.password.starts_with('!'), "unusable until set");
}

/// What Django's `UserChangeForm` shows of each hash (`tests/django/password_summary.py`).
fn django_summaries(python: &std::path::Path, hashes: &[String]) -> Vec<Value> {
    let mut child = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/password_summary.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run password_summary.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(json!(hashes).to_string().as_bytes())
        .expect("write request");
    let output = child
        .wait_with_output()
        .expect("password_summary.py output");
    assert!(
        output.status.success(),
        "password_summary.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Value>(&output.stdout)
        .expect("JSON from password_summary.py")
        .as_array()
        .expect("a list")
        .clone()
}

async fn user_password_summary_matches_djangos(db: &TestDb) {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    let (_task, addr) = site(db).await;
    let mut b = login(addr, "admin", PASSWORD).await;
    let registry = batteries::auth::hashers::Hashers::default();
    let seeded = user_named(db, "editor").await.unwrap();
    let hashes: Vec<String> = vec![
        seeded.password.clone(),
        // Made by Django 5.2 (batteries-auth's known-answer vectors).
        "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=".into(),
        "argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdHNlYXNhbHRzZWFzYWx0MQ$xxk2kluVSVtjlIPDBEsQ3PlZ45SjTVTdtMn/477ektM".into(),
        "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuulyx/yrfLnuLCi6gwFG5mrkJjuQKpL6S".into(),
        registry.make_with("scrypt", "s3cret").unwrap(),
        registry.make_with("md5", "s3cret").unwrap(),
        batteries::auth::hashers::make_unusable_password(),
        String::new(),
        "sha9000$x$y".into(),
    ];
    let django = django_summaries(&python, &hashes);
    assert_eq!(django.len(), hashes.len());
    let target = user_named(db, "viewer").await.unwrap();
    let change = format!("/admin/auth/user/{}/change/", target.id);
    for (hash, theirs) in hashes.iter().zip(&django) {
        let mut active: user::ActiveModel = target.clone().into();
        active.password = Set(hash.clone());
        active.update(db.conn()).await.unwrap();
        let page = b.get(&change).await;
        assert_eq!(page.status, StatusCode::OK);
        // The summary as the change form renders it, from Django's entries.
        let expected: String = theirs["summary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| match entry[1].as_str() {
                Some(value) => format!(
                    "<strong>{}</strong>: <bdi>{value}</bdi> ",
                    entry[0].as_str().unwrap()
                ),
                None => format!("<strong>{}</strong> ", entry[0].as_str().unwrap()),
            })
            .collect();
        let shown = format!("<p>{}</p>", expected.trim_end_matches(' ').to_owned() + " ");
        assert!(
            page.body.contains(&shown),
            "{hash}: expected {shown} in {}",
            page.body
        );
        let button = format!(">{}</a>", theirs["button"].as_str().unwrap());
        assert!(page.body.contains(&button), "{hash}: {button}");
        if hash.contains('$') {
            assert_hash_absent(&page.body, hash);
        }
    }
}

async fn user_groups_and_permissions_are_picked_on_the_change_form(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let editors = group::ActiveModel {
        name: Set("Editors".into()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .unwrap();
    let view_author = permission::Entity::find()
        .filter(permission::Column::Codename.eq("view_author"))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    let mut b = login(addr, "admin", PASSWORD).await;
    // The add form keeps to username and passwords, as Django's.
    let add = b.get("/admin/auth/user/add/").await;
    assert!(!add.body.contains("name=\"groups\""), "{}", add.body);

    let viewer = user_named(db, "viewer").await.unwrap();
    let change = format!("/admin/auth/user/{}/change/", viewer.id);
    let page = b.get(&change).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "name=\"groups\"",
        "name=\"user_permissions\"",
        ">Editors<",
        "view_author | ",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    let gid = editors.id.to_string();
    let pid = view_author.id.to_string();
    let form = |groups: Option<&'static str>| {
        let mut f: Vec<(&str, String)> = vec![
            ("username", "viewer".into()),
            ("first_name", String::new()),
            ("last_name", String::new()),
            ("email", String::new()),
            ("is_active", "on".into()),
            ("is_staff", "on".into()),
            ("last_login", String::new()),
            ("date_joined", "2026-01-02T03:04:05".into()),
            ("_continue", "1".into()),
        ];
        if groups.is_some() {
            f.push(("groups", gid.clone()));
            f.push(("user_permissions", pid.clone()));
        }
        f
    };
    let fields = form(Some("set"));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = submit(&mut b, &change, &refs).await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    let groups: Vec<i32> = user_groups::Entity::find()
        .filter(user_groups::Column::UserId.eq(viewer.id))
        .all(db.conn())
        .await
        .unwrap()
        .iter()
        .map(|g| g.group_id)
        .collect();
    assert_eq!(groups, [editors.id]);
    let perms: Vec<i32> = user_permissions::Entity::find()
        .filter(user_permissions::Column::UserId.eq(viewer.id))
        .all(db.conn())
        .await
        .unwrap()
        .iter()
        .map(|p| p.permission_id)
        .collect();
    assert_eq!(
        perms,
        [view_author.id],
        "the set is replaced by what was posted"
    );
    // The permission chosen counts at once.
    let mut viewer_b = login(addr, "viewer", PASSWORD).await;
    assert_eq!(
        viewer_b.get("/admin/library/author/").await.status,
        StatusCode::OK
    );

    // Posting none empties both.
    let fields = form(None);
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = submit(&mut b, &change, &refs).await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    assert_eq!(
        user_groups::Entity::find()
            .filter(user_groups::Column::UserId.eq(viewer.id))
            .count(db.conn())
            .await
            .unwrap(),
        0
    );
}

async fn permission_id(db: &TestDb, codename: &str) -> i32 {
    permission::Entity::find()
        .filter(permission::Column::Codename.eq(codename))
        .one(db.conn())
        .await
        .unwrap()
        .expect("permission exists")
        .id
}

/// The permission ids and group ids of user `id`, sorted.
async fn grants_of(db: &TestDb, id: i32) -> (Vec<i32>, Vec<i32>) {
    let mut perms: Vec<i32> = user_permissions::Entity::find()
        .filter(user_permissions::Column::UserId.eq(id))
        .all(db.conn())
        .await
        .unwrap()
        .iter()
        .map(|p| p.permission_id)
        .collect();
    perms.sort_unstable();
    let mut groups: Vec<i32> = user_groups::Entity::find()
        .filter(user_groups::Column::UserId.eq(id))
        .all(db.conn())
        .await
        .unwrap()
        .iter()
        .map(|g| g.group_id)
        .collect();
    groups.sort_unstable();
    (perms, groups)
}

async fn new_group(db: &TestDb, name: &str) -> i32 {
    group::ActiveModel {
        name: Set(name.into()),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .unwrap()
    .id
}

/// Issue 16, finding 5: a staff user holding only `auth.add_user` created a superuser
/// through the API's add, which read the change form's fields. It now takes exactly the
/// add form's (`username`); anything else is refused naming it, and nothing is created.
/// Finding 12a: the user created is active, as Django's default says.
async fn user_api_add_takes_only_the_add_form_fields(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let viewer = user_named(db, "viewer").await.unwrap();
    grant(db.conn(), viewer.id, &["add_user"]).await;
    let delete_user = permission_id(db, "delete_user").await;
    let admins = new_group(db, "Admins").await;
    let mut b = login(addr, "viewer", PASSWORD).await;
    let t = token(&b.get("/admin/").await);
    for body in [
        json!({"username": "mallory", "is_superuser": true, "is_staff": true,
               "user_permissions": [delete_user]}),
        json!({"username": "mallory", "is_superuser": true}),
        json!({"username": "mallory", "is_staff": true}),
        json!({"username": "mallory", "user_permissions": [delete_user]}),
        json!({"username": "mallory", "groups": [admins]}),
        json!({"username": "mallory", "is_active": false}),
        json!({"username": "mallory", "password": "plain text"}),
        json!({"username": "mallory", "date_joined": "2026-01-02T03:04:05Z"}),
    ] {
        let reply = api(
            &mut b,
            Method::POST,
            "/admin/api/auth/user/",
            Some(&body),
            &t,
        )
        .await;
        assert!(
            matches!(
                reply.status,
                StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
            ),
            "{body}: {} {}",
            reply.status,
            reply.body
        );
        for key in body.as_object().unwrap().keys() {
            if key != "username" {
                assert!(
                    reply.json()["fields"].get(key).is_some(),
                    "{body}: {key} named in {}",
                    reply.body
                );
            }
        }
        assert!(
            user_named(db, "mallory").await.is_none(),
            "{body}: none created"
        );
    }
    let created = api(
        &mut b,
        Method::POST,
        "/admin/api/auth/user/",
        Some(&json!({"username": "mallory"})),
        &t,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mallory = user_named(db, "mallory").await.expect("created");
    assert!(mallory.is_active, "active by default, as in Django");
    assert!(!mallory.is_staff && !mallory.is_superuser);
    assert_eq!(grants_of(db, mallory.id).await, (vec![], vec![]));

    // A superuser's add takes the add form's fields too; the rest is set after.
    let mut a = login(addr, "admin", PASSWORD).await;
    let t = token(&a.get("/admin/").await);
    let refused = api(
        &mut a,
        Method::POST,
        "/admin/api/auth/user/",
        Some(&json!({"username": "root2", "is_superuser": true})),
        &t,
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.json()["fields"]["is_superuser"].is_array());
    assert!(user_named(db, "root2").await.is_none());
    // The OpenAPI document's create schema says so.
    let doc = api(&mut a, Method::GET, "/admin/api/openapi.json", None, &t).await;
    let schemas = &doc.json()["components"]["schemas"];
    let input: Vec<&String> = schemas["AuthUserInput"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(input, ["username"], "{}", schemas["AuthUserInput"]);
    assert_eq!(schemas["AuthUserInput"]["additionalProperties"], false);
    assert!(schemas["AuthUserPatch"]["properties"]["is_superuser"].is_object());
}

/// Issue 16, finding 6: a staff user with `auth.change_user` made itself superuser and
/// granted itself permissions and groups (the API and the change form). Only superusers
/// may set those now; other fields stay editable, and a body that sends them back
/// unchanged (a `GET` then `PUT`) is accepted.
async fn staff_cannot_grant_themselves_superuser_powers(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let viewer = user_named(db, "viewer").await.unwrap();
    grant(db.conn(), viewer.id, &["change_user"]).await;
    let delete_book = permission_id(db, "delete_book").await;
    let admins = new_group(db, "Admins").await;
    let before = grants_of(db, viewer.id).await;
    let mut b = login(addr, "viewer", PASSWORD).await;
    let t = token(&b.get("/admin/").await);
    let me = format!("/admin/api/auth/user/{}/", viewer.id);
    for body in [
        json!({"is_superuser": true}),
        json!({"user_permissions": [delete_book]}),
        json!({"groups": [admins]}),
        json!({"first_name": "Vee", "is_superuser": true}),
    ] {
        let key = body
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "first_name")
            .unwrap()
            .clone();
        let mut full = api(&mut b, Method::GET, &me, None, &t).await.json();
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        for (method, body) in [(Method::PATCH, &body), (Method::PUT, &full)] {
            let reply = api(&mut b, method.clone(), &me, Some(body), &t).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {body}: {}",
                reply.body
            );
            assert!(reply.json()["fields"].get(&key).is_some(), "{}", reply.body);
        }
    }
    let now = user_named(db, "viewer").await.unwrap();
    assert!(!now.is_superuser);
    assert_eq!(now.first_name, viewer.first_name, "nothing saved");
    assert_eq!(grants_of(db, viewer.id).await, before);
    // The same values sent back are accepted with the others changed.
    let mut round = api(&mut b, Method::GET, &me, None, &t).await.json();
    round["first_name"] = json!("Vee");
    let put = api(&mut b, Method::PUT, &me, Some(&round), &t).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let now = user_named(db, "viewer").await.unwrap();
    assert_eq!(now.first_name, "Vee");
    assert!(!now.is_superuser);
    assert_eq!(grants_of(db, viewer.id).await, before);

    // The change form shows them as text and never reads them.
    let change = format!("/admin/auth/user/{}/change/", viewer.id);
    let page = b.get(&change).await;
    assert_eq!(page.status, StatusCode::OK);
    for input in [
        "name=\"is_superuser\"",
        "name=\"groups\"",
        "name=\"user_permissions\"",
    ] {
        assert!(!page.body.contains(input), "{input} in {}", page.body);
    }
    assert!(page.body.contains("name=\"is_staff\""), "{}", page.body);
    let gid = admins.to_string();
    let pid = delete_book.to_string();
    let saved = submit(
        &mut b,
        &change,
        &[
            ("username", "viewer"),
            ("first_name", "Form"),
            ("last_name", ""),
            ("email", ""),
            ("is_active", "on"),
            ("is_staff", "on"),
            ("is_superuser", "on"),
            ("groups", &gid),
            ("user_permissions", &pid),
            ("last_login", ""),
            ("date_joined", "2026-01-02T03:04:05"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    let now = user_named(db, "viewer").await.unwrap();
    assert_eq!(now.first_name, "Form", "the other fields are saved");
    assert!(!now.is_superuser, "is_superuser is not read");
    assert_eq!(grants_of(db, viewer.id).await, before, "nor the sets");

    // A superuser may.
    let mut a = login(addr, "admin", PASSWORD).await;
    let t = token(&a.get("/admin/").await);
    let granted = api(
        &mut a,
        Method::PATCH,
        &me,
        Some(&json!({"is_superuser": true, "groups": [admins]})),
        &t,
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert!(user_named(db, "viewer").await.unwrap().is_superuser);
}

/// Issue 16, finding 6: with `auth.change_user` a staff user reset a superuser's
/// password (and could deactivate one). A superuser's row is now changed, deleted and
/// given a password by superusers only, on every path; nothing changes when refused.
async fn staff_cannot_change_a_superuser(db: &TestDb) {
    let (_task, addr) = site(db).await;
    let viewer = user_named(db, "viewer").await.unwrap();
    for codename in ["view_user", "change_user", "delete_user"] {
        grant(db.conn(), viewer.id, &[codename]).await;
    }
    let admin = user_named(db, "admin").await.unwrap();
    let editor = user_named(db, "editor").await.unwrap();
    let mut b = login(addr, "viewer", PASSWORD).await;
    let t = token(&b.get("/admin/").await);
    let target = format!("/admin/api/auth/user/{}/", admin.id);
    for body in [
        json!({"is_active": false}),
        json!({"is_staff": false}),
        json!({"first_name": "Pwned"}),
    ] {
        let reply = api(&mut b, Method::PATCH, &target, Some(&body), &t).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{body}: {}",
            reply.body
        );
    }
    let deleted = api(&mut b, Method::DELETE, &target, None, &t).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN, "{}", deleted.body);
    // The password page, the change form and the bulk deletion.
    let password = format!("/admin/auth/user/{}/password/", admin.id);
    assert_eq!(b.get(&password).await.status, StatusCode::FORBIDDEN);
    let index = token(&b.get("/admin/").await);
    let posted = b
        .post_form(
            &password,
            &[
                ("csrfmiddlewaretoken", &index),
                ("password1", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    let change = format!("/admin/auth/user/{}/change/", admin.id);
    let page = b.get(&change).await;
    assert_eq!(page.status, StatusCode::OK, "viewable");
    assert!(
        !page.body.contains("name=\"is_active\""),
        "read-only: {}",
        page.body
    );
    let posted = b
        .post_form(
            &change,
            &[
                ("csrfmiddlewaretoken", &index),
                ("username", "admin"),
                ("date_joined", "2026-01-02T03:04:05"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);
    let id = admin.id.to_string();
    let bulk = b
        .post_form(
            "/admin/auth/user/",
            &[
                ("csrfmiddlewaretoken", &index),
                ("action", "delete_selected"),
                ("_selected_action", &id),
                ("post", "yes"),
            ],
        )
        .await;
    assert_eq!(bulk.status, StatusCode::FORBIDDEN, "{}", bulk.body);
    let now = user_named(db, "admin").await.expect("not deleted");
    assert_eq!(now.password, admin.password, "the password is unchanged");
    assert!(now.is_active && now.is_staff && now.is_superuser);
    assert_eq!(now.first_name, admin.first_name);
    // Other staff users are still theirs to manage.
    let reply = api(
        &mut b,
        Method::PATCH,
        &format!("/admin/api/auth/user/{}/", editor.id),
        Some(&json!({"is_active": false})),
        &t,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(!user_named(db, "editor").await.unwrap().is_active);
    assert_eq!(
        b.get(&format!("/admin/auth/user/{}/password/", editor.id))
            .await
            .status,
        StatusCode::OK
    );
    let log = log_entry::Entity::find()
        .filter(log_entry::Column::ObjectId.eq(admin.id.to_string()))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(log, 0, "no history for the superuser");
}

/// `list_editable` with a superuser-only column: a staff user's cells for it stay text
/// and a posted value is never read; a superuser's row is no form at all.
async fn list_editable_keeps_superuser_only_fields(db: &TestDb) {
    use user::Column as C;
    admin_app::setup(db.conn()).await;
    let admin = admin_app::site()
        .register(
            batteries::admin::user_admin()
                .list_display([C::Username, C::IsStaff, C::IsSuperuser])
                .list_editable([C::IsStaff, C::IsSuperuser]),
        )
        .build(db.conn().clone(), admin_app::secret())
        .await
        .expect("admin builds");
    admin_app::seed_users(db.conn()).await;
    let task =
        admin_app::serve_with(db.conn(), admin.clone(), "127.0.0.1:0".parse().unwrap()).await;
    let viewer = user_named(db, "viewer").await.unwrap();
    let root = user_named(db, "admin").await.unwrap();
    grant(db.conn(), viewer.id, &["change_user"]).await;

    // The rule, as the admin applies it.
    let fields = |v: Option<Vec<String>>| v.expect("registered and found");
    let on_self = fields(
        admin
            .settable_fields("auth", "user", &viewer, Some(&viewer.id.to_string()))
            .await
            .unwrap(),
    );
    for name in ["username", "first_name", "is_active", "is_staff"] {
        assert!(on_self.iter().any(|n| n == name), "{name} in {on_self:?}");
    }
    for name in ["is_superuser", "groups", "user_permissions", "password"] {
        assert!(!on_self.iter().any(|n| n == name), "{name} in {on_self:?}");
    }
    let on_root = admin
        .settable_fields("auth", "user", &viewer, Some(&root.id.to_string()))
        .await
        .unwrap();
    assert_eq!(on_root, Some(vec![]));
    let adding = fields(
        admin
            .settable_fields("auth", "user", &viewer, None)
            .await
            .unwrap(),
    );
    assert_eq!(adding, ["username"]);
    let by_root = fields(
        admin
            .settable_fields("auth", "user", &root, Some(&viewer.id.to_string()))
            .await
            .unwrap(),
    );
    for name in ["is_superuser", "groups", "user_permissions"] {
        assert!(by_root.iter().any(|n| n == name), "{name} in {by_root:?}");
    }

    let mut b = login(task.addr, "viewer", PASSWORD).await;
    let list = b.get("/admin/auth/user/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("-is_staff\""), "{}", list.body);
    assert!(!list.body.contains("-is_superuser\""), "{}", list.body);
    let id = viewer.id.to_string();
    let saved = submit(
        &mut b,
        "/admin/auth/user/",
        &[
            ("form-TOTAL_FORMS", "1"),
            ("form-0-id", &id),
            ("form-0-is_staff", "on"),
            ("form-0-is_superuser", "on"),
            ("_save", "Save"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    assert!(!user_named(db, "viewer").await.unwrap().is_superuser);
    let root_id = root.id.to_string();
    let refused = submit(
        &mut b,
        "/admin/auth/user/",
        &[
            ("form-TOTAL_FORMS", "1"),
            ("form-0-id", &root_id),
            ("form-0-is_staff", ""),
            ("_save", "Save"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(user_named(db, "admin").await.unwrap().is_staff);
}
