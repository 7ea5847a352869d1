//! Fixtures: Django interop both ways, all-or-nothing loads, readable errors.

use std::process::Command;

use batteries::orm::fixtures::Fixtures;
use batteries::orm::testing::TestDb;
use batteries::orm::{Error, FixtureError};
use batteries_tests::backend_tests;
use batteries_tests::entities::{author, post};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::Value as Json;

backend_tests!(
    django_dumpdata_loads_and_dumps_back_identically,
    loaded_rows_do_not_block_new_inserts,
    a_bad_record_names_itself_and_saves_nothing,
    a_refused_batch_saves_nothing,
    malformed_json_saves_nothing,
    dump_streams_large_tables,
);

fn registry() -> Fixtures {
    Fixtures::new()
        .register::<author::Entity>("blog.author")
        .register::<post::Entity>("blog.Post")
}

fn django_fixture() -> (String, Json) {
    let text =
        std::fs::read_to_string(batteries_tests::django_fixture_path()).expect("read fixture");
    let json = serde_json::from_str(&text).expect("fixture is JSON");
    (text, json)
}

async fn dump(db: &sea_orm::DatabaseConnection, labels: &[&str]) -> Json {
    let mut out = Vec::new();
    registry().dump(db, labels, &mut out).await.expect("dump");
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("dump is not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

async fn counts(db: &sea_orm::DatabaseConnection) -> (u64, u64) {
    (
        author::Entity::find()
            .count(db)
            .await
            .expect("count authors"),
        post::Entity::find().count(db).await.expect("count posts"),
    )
}

async fn django_dumpdata_loads_and_dumps_back_identically(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    let (text, original) = django_fixture();

    let report = registry()
        .load_str(conn, &text)
        .await
        .expect("Django's fixture loads");
    assert_eq!(report.records, 9);
    assert_eq!(
        report.per_model,
        [("blog.author".to_owned(), 3), ("blog.post".to_owned(), 6)]
    );

    // Values arrive typed, not as text.
    let zoe = author::Entity::find_by_id(1)
        .one(conn)
        .await
        .expect("find")
        .expect("author 1");
    assert_eq!(zoe.name, "Zoë Ångström");
    let first = post::Entity::find_by_id(1)
        .one(conn)
        .await
        .expect("find")
        .expect("post 1");
    assert_eq!(first.author_id, 1);
    assert_eq!(first.rating, Some(Decimal::new(450, 2)));
    assert_eq!(first.created.to_rfc3339(), "2024-01-02T03:04:05+00:00");
    let ids: Vec<i64> = post::Entity::find()
        .all(conn)
        .await
        .expect("all")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids.len(), 6);
    assert!(ids.contains(&13), "explicit pks are kept: {ids:?}");

    // Our dump is Django's dump, value for value.
    let ours = dump(conn, &[]).await;
    assert_eq!(ours, original, "dump differs from Django's dumpdata");

    // And Django loads our dump back to the same data.
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("batteries-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("dump-{}.json", db.backend()));
    let mut file = Vec::new();
    registry().dump(conn, &[], &mut file).await.expect("dump");
    std::fs::write(&path, &file).expect("write dump");
    let output = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/loadback.py"))
        .arg(&path)
        .output()
        .expect("run loadback.py");
    assert!(
        output.status.success(),
        "Django could not load our dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reloaded: Json = serde_json::from_slice(&output.stdout).expect("loadback prints JSON");
    assert_eq!(reloaded, original, "Django read our dump differently");
    let _ = std::fs::remove_file(path);
}

async fn loaded_rows_do_not_block_new_inserts(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    registry()
        .load_str(conn, &django_fixture().0)
        .await
        .expect("load");
    // Explicit pks up to 13 were loaded; the next automatic id must not collide
    // (PostgreSQL needs its sequence moved, as Django's loaddata does).
    let new = author::ActiveModel {
        name: Set("New".into()),
        email: Set(String::new()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("insert after load");
    assert!(new.id > 3, "{}", new.id);
}

/// 1,500 good authors (more than one batch), then a post with a misspelt field.
fn fixture_with_bad_record_at_end() -> String {
    let mut records: Vec<Json> = (1..=1500)
        .map(|i| serde_json::json!({"model": "blog.author", "pk": i + 10, "fields": {"name": format!("a{i}"), "email": ""}}))
        .collect();
    records.push(serde_json::json!({"model": "blog.post", "pk": 1, "fields": {"author": 11, "titel": "typo"}}));
    serde_json::to_string(&records).expect("json")
}

async fn a_bad_record_names_itself_and_saves_nothing(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    author::ActiveModel {
        id: Set(1),
        name: Set("Existing".into()),
        email: Set(String::new()),
    }
    .insert(conn)
    .await
    .expect("existing row");

    let err = registry()
        .load_str(conn, &fixture_with_bad_record_at_end())
        .await
        .unwrap_err();
    match &err {
        Error::Fixture(FixtureError::Record {
            index,
            model,
            field,
            message,
        }) => {
            assert_eq!(*index, 1500);
            assert_eq!(model, "blog.post");
            assert_eq!(field.as_deref(), Some("titel"));
            assert!(
                message.contains("unknown field; fields of blog.post: author, title"),
                "{message}"
            );
        }
        other => panic!("expected a record error, got {other:?}"),
    }
    assert_eq!(
        counts(conn).await,
        (1, 0),
        "nothing from the fixture is saved"
    );

    // Each kind of bad record, each naming its field.
    let cases = [
        (
            r#"[{"model": "blog.author", "pk": 2, "fields": {"name": null, "email": ""}}]"#,
            "name",
            "not nullable",
        ),
        (
            r#"[{"model": "blog.post", "pk": 2, "fields": {"author": 1, "views": "many"}}]"#,
            "views",
            "expected an integer",
        ),
        (
            r#"[{"model": "blog.post", "pk": 2, "fields": {"author": 1, "created": "yesterday"}}]"#,
            "created",
            "expected a date-time",
        ),
        (
            r#"[{"model": "blog.post", "pk": 2, "fields": {"rating": "1.2.3"}}]"#,
            "rating",
            "expected a decimal",
        ),
        (
            r#"[{"model": "blog.post", "pk": "x", "fields": {}}]"#,
            "pk",
            "expected an integer",
        ),
    ];
    for (fixture, field, message) in cases {
        let err = registry().load_str(conn, fixture).await.unwrap_err();
        match err {
            Error::Fixture(FixtureError::Record {
                index: 0,
                field: Some(f),
                message: m,
                ..
            }) => {
                assert_eq!(f, field, "{fixture}");
                assert!(m.contains(message), "{fixture}: {m}");
            }
            other => panic!("{fixture}: {other:?}"),
        }
    }
    let err = registry()
        .load_str(
            conn,
            r#"[{"model": "blog.comment", "pk": 1, "fields": {}}]"#,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("(blog.comment): unknown model; registered: blog.author, blog.post"),
        "{err}"
    );
    let err = registry()
        .load_str(conn, r#"[{"pk": 1}]"#)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("missing the `model` label"),
        "{err}"
    );
    assert_eq!(counts(conn).await, (1, 0));
}

async fn a_refused_batch_saves_nothing(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    // Post 2 points at an author that does not exist: the database refuses it.
    let fixture = r#"[
        {"model": "blog.author", "pk": 1, "fields": {"name": "Ann", "email": ""}},
        {"model": "blog.post", "pk": 1, "fields": {"author": 1, "title": "ok", "slug": "ok", "body": "", "published": true, "created": "2024-01-01T00:00:00Z", "rating": null, "views": 0}},
        {"model": "blog.post", "pk": 2, "fields": {"author": 999, "title": "orphan", "slug": "orphan", "body": "", "published": true, "created": "2024-01-01T00:00:00Z", "rating": null, "views": 0}}
    ]"#;
    let err = registry().load_str(conn, fixture).await.unwrap_err();
    assert!(
        matches!(&err, Error::Fixture(FixtureError::Batch { first: 1, last: 2, model, .. }) if model == "blog.post"),
        "{err:?}"
    );
    assert_eq!(counts(conn).await, (0, 0));
    // A duplicate primary key, likewise.
    let dup = r#"[{"model": "blog.author", "pk": 1, "fields": {"name": "A", "email": ""}},
                  {"model": "blog.author", "pk": 1, "fields": {"name": "B", "email": ""}}]"#;
    assert!(matches!(
        registry().load_str(conn, dup).await,
        Err(Error::Fixture(FixtureError::Batch { .. }))
    ));
    assert_eq!(counts(conn).await, (0, 0));
}

async fn malformed_json_saves_nothing(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    let truncated = r#"[{"model": "blog.author", "pk": 1, "fields": {"name": "A", "email": ""}},
{"model": "blog.author", "pk": 2, "fields": {"name": "B", "#;
    match registry().load_str(conn, truncated).await {
        Err(Error::Fixture(FixtureError::Syntax { line: 2, .. })) => {}
        other => panic!("{other:?}"),
    }
    for junk in ["", "{}", "not json", "[1, 2]", "[] trailing"] {
        assert!(
            registry().load_str(conn, junk).await.is_err(),
            "`{junk}` must be refused"
        );
    }
    assert_eq!(counts(conn).await, (0, 0));
    // An empty list is a valid, empty fixture.
    assert_eq!(
        registry()
            .load_str(conn, "[]")
            .await
            .expect("empty")
            .records,
        0
    );
}

async fn dump_streams_large_tables(db: &TestDb) {
    let conn = db.conn();
    batteries_tests::create_blog_tables(conn)
        .await
        .expect("tables");
    let records: Vec<Json> = (1..=5000)
        .map(|i| serde_json::json!({"model": "blog.author", "pk": i, "fields": {"name": format!("author {i}"), "email": ""}}))
        .collect();
    let text = serde_json::to_string(&records).expect("json");
    assert_eq!(
        registry()
            .load_str(conn, &text)
            .await
            .expect("load")
            .records,
        5000
    );
    let dumped = dump(conn, &["blog.author"]).await;
    assert_eq!(dumped, Json::Array(records));
    let err = registry()
        .dump(conn, &["blog.nope"], Vec::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown model `blog.nope`; registered:"),
        "{err}"
    );
}
