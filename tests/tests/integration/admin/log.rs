//! The admin's history in Django's `django_admin_log`: logging, reading an object's
//! history, change message texts, and Django itself reading and writing the same table.

use std::io::Write as _;
use std::process::{Command, Stdio};

use batteries::auth::UserManager;
use batteries::auth::entities::{content_type, user};
use batteries::orm::migration::compose;
use batteries::orm::testing::{Backend, TestDb};
use batteries_admin::log::{
    ActionFlag, ChangeMessage, NewEntry, entity, get_change_message, history, log_action,
    log_actions,
};
use batteries_tests::backend_tests;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, Statement,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde_json::{Value, json};

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        compose([
            batteries::auth::migrations::migrations(),
            batteries_admin::migrations::migrations(),
        ])
        .expect("unique names")
    }
}

backend_tests!(
    history_is_oldest_first_with_usernames,
    object_repr_is_cut_to_200_characters,
    many_entries_are_logged_in_bulk,
    history_shows_djangos_change_message_texts,
    markup_is_stored_verbatim,
    entries_follow_their_user_and_content_type,
    django_reads_our_history_and_we_read_djangos,
);

/// Migrates `db` and returns two users' ids and a `blog.post` content type id.
async fn setup(db: &DatabaseConnection) -> (i32, i32, i32) {
    Migrator::up(db, None).await.expect("migrations");
    let users = UserManager::new();
    let ann = users.create_user(db, "ann", None, None).await.expect("ann");
    let bob = users.create_user(db, "bob", None, None).await.expect("bob");
    let post = content_type(db, "blog", "post").await;
    (ann.id, bob.id, post)
}

async fn content_type(db: &impl ConnectionTrait, app_label: &str, model: &str) -> i32 {
    content_type::ActiveModel {
        app_label: Set(app_label.into()),
        model: Set(model.into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("content type")
    .id
}

fn entry(
    user_id: i32,
    content_type_id: i32,
    object_id: &str,
    flag: ActionFlag,
    message: ChangeMessage,
) -> NewEntry<'_> {
    NewEntry {
        user_id,
        content_type_id,
        object_id,
        object_repr: "Hello",
        flag,
        message,
    }
}

async fn history_is_oldest_first_with_usernames(db: &TestDb) {
    let conn = db.conn();
    let (ann, bob, post) = setup(conn).await;
    let page = content_type(conn, "blog", "page").await;
    let added = ChangeMessage::added();
    log_action(conn, entry(ann, post, "1", ActionFlag::Addition, added))
        .await
        .unwrap();
    let changed = ChangeMessage::changed(&["Title", "Body"]);
    log_action(conn, entry(bob, post, "1", ActionFlag::Change, changed))
        .await
        .unwrap();
    // Other objects: another post, and object "1" of another model.
    let other = ChangeMessage::changed(&["Slug"]);
    log_action(
        conn,
        entry(ann, post, "2", ActionFlag::Change, other.clone()),
    )
    .await
    .unwrap();
    log_action(conn, entry(ann, page, "1", ActionFlag::Change, other))
        .await
        .unwrap();

    let entries = history(conn, post, "1", 100).await.unwrap();
    let seen: Vec<_> = entries
        .iter()
        .map(|e| (e.username.as_str(), e.flag, e.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ann", ActionFlag::Addition, "Added."),
            ("bob", ActionFlag::Change, "Changed Title and Body."),
        ]
    );
    assert!(entries[0].action_time <= entries[1].action_time);
    let first = history(conn, post, "1", 1).await.unwrap();
    assert_eq!(first, entries[..1]);
    assert!(history(conn, post, "3", 100).await.unwrap().is_empty());

    // The rows hold Django's values, and the entity reads them on every backend.
    let rows = entity::Entity::find()
        .filter(entity::Column::ObjectId.eq("1"))
        .filter(entity::Column::ContentTypeId.eq(post))
        .order_by_asc(entity::Column::Id)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].user_id, bob);
    assert_eq!(rows[1].action_flag, 2);
    assert_eq!(rows[1].object_repr, "Hello");
    assert_eq!(
        rows[1].change_message,
        r#"[{"changed": {"fields": ["Title", "Body"]}}]"#
    );
    assert_eq!(rows[1].action_time, entries[1].action_time);
    // The relation joins the user.
    let author = rows[1]
        .find_related(user::Entity)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(author.username, "bob");
}

async fn object_repr_is_cut_to_200_characters(db: &TestDb) {
    let conn = db.conn();
    let (ann, _, post) = setup(conn).await;
    // 2-byte and 4-byte characters: 200 characters are 500 bytes here, and the cut
    // must fall between characters.
    let long = format!("{}{}", "é".repeat(150), "🦀".repeat(60));
    let exact = "ü".repeat(200);
    for (id, repr) in [("1", long.as_str()), ("2", exact.as_str())] {
        log_action(
            conn,
            NewEntry {
                user_id: ann,
                content_type_id: post,
                object_id: id,
                object_repr: repr,
                flag: ActionFlag::Addition,
                message: ChangeMessage::added(),
            },
        )
        .await
        .unwrap();
    }
    let rows = entity::Entity::find()
        .order_by_asc(entity::Column::Id)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(
        rows[0].object_repr,
        format!("{}{}", "é".repeat(150), "🦀".repeat(50))
    );
    assert_eq!(rows[1].object_repr, exact);
}

async fn many_entries_are_logged_in_bulk(db: &TestDb) {
    let conn = db.conn();
    let (ann, _, post) = setup(conn).await;
    log_actions(conn, Vec::new()).await.unwrap();
    assert_eq!(entity::Entity::find().count(conn).await.unwrap(), 0);

    // More than one INSERT's worth (1000 rows).
    let ids: Vec<String> = (1..=1500).map(|i| i.to_string()).collect();
    let entries = ids
        .iter()
        .map(|id| NewEntry {
            user_id: ann,
            content_type_id: post,
            object_id: id,
            object_repr: id,
            flag: ActionFlag::Deletion,
            message: ChangeMessage::deleted(),
        })
        .collect();
    log_actions(conn, entries).await.unwrap();

    let rows = entity::Entity::find()
        .order_by_asc(entity::Column::Id)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1500);
    assert!(rows.iter().zip(&ids).all(|(row, id)| {
        row.object_id.as_deref() == Some(id.as_str())
            && row.object_repr == *id
            && row.action_flag == 3
            && row.action_time == rows[0].action_time
    }));
    let last = history(conn, post, "1500", 100).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0].flag, last[0].message.as_str()),
        (ActionFlag::Deletion, "Deleted.")
    );
}

async fn history_shows_djangos_change_message_texts(db: &TestDb) {
    let conn = db.conn();
    let (ann, _, post) = setup(conn).await;
    for (flag, message) in [
        (ActionFlag::Addition, ChangeMessage::added()),
        (ActionFlag::Change, ChangeMessage::changed(&["Title"])),
        (
            ActionFlag::Change,
            ChangeMessage::changed(&["Title", "Body", "Título"]),
        ),
        (ActionFlag::Change, ChangeMessage::changed(&[])),
        (ActionFlag::Deletion, ChangeMessage::deleted()),
    ] {
        log_action(conn, entry(ann, post, "7", flag, message))
            .await
            .unwrap();
    }
    // Rows written by something else: a plain message, and Django's inline messages.
    for message in [
        "Imported from the old site.",
        r#"[{"added": {"name": "choice", "object": "Yes"}}, {"deleted": {"name": "choice", "object": "No"}}]"#,
    ] {
        entity::ActiveModel {
            action_time: Set(Utc::now()),
            object_id: Set(Some("7".into())),
            object_repr: Set("Hello".into()),
            action_flag: Set(2),
            change_message: Set(message.into()),
            content_type_id: Set(Some(post)),
            user_id: Set(ann),
            ..Default::default()
        }
        .insert(conn)
        .await
        .unwrap();
    }
    let texts: Vec<String> = history(conn, post, "7", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        texts,
        [
            "Added.",
            "Changed Title.",
            "Changed Title, Body and Título.",
            "No fields changed.",
            "Deleted.",
            "Imported from the old site.",
            "Added choice “Yes”. Deleted choice “No”.",
        ]
    );
}

async fn markup_is_stored_verbatim(db: &TestDb) {
    let conn = db.conn();
    let (ann, _, post) = setup(conn).await;
    let repr = "<script>alert('x')</script> & \"quotes\"";
    log_action(
        conn,
        NewEntry {
            user_id: ann,
            content_type_id: post,
            object_id: "<1>",
            object_repr: repr,
            flag: ActionFlag::Change,
            message: ChangeMessage::changed(&["<b>Title</b>"]),
        },
    )
    .await
    .unwrap();
    let row = entity::Entity::find().one(conn).await.unwrap().unwrap();
    assert_eq!(row.object_repr, repr);
    assert_eq!(row.object_id.as_deref(), Some("<1>"));
    let entries = history(conn, post, "<1>", 10).await.unwrap();
    assert_eq!(entries[0].message, "Changed <b>Title</b>.");
}

async fn entries_follow_their_user_and_content_type(db: &TestDb) {
    let conn = db.conn();
    let (ann, bob, post) = setup(conn).await;
    for user in [ann, bob] {
        log_action(
            conn,
            entry(
                user,
                post,
                "1",
                ActionFlag::Addition,
                ChangeMessage::added(),
            ),
        )
        .await
        .unwrap();
    }
    // Deleting a content type keeps its entries, without the content type (SET NULL).
    content_type::Entity::delete_by_id(post)
        .exec(conn)
        .await
        .unwrap();
    let rows = entity::Entity::find().all(conn).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.content_type_id.is_none()));
    // Deleting a user deletes their entries (CASCADE), as Django does.
    user::Entity::delete_by_id(bob).exec(conn).await.unwrap();
    let rows = entity::Entity::find().all(conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, ann);
}

fn django(python: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut child = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/admin_log.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run admin_log.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("admin_log.py output");
    assert!(
        output.status.success(),
        "admin_log.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from admin_log.py")
}

#[test]
fn change_message_texts_match_djangos() {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    let mut stored: Vec<String> = [
        ChangeMessage::added(),
        ChangeMessage::changed(&["Title"]),
        ChangeMessage::changed(&["Title", "Body"]),
        ChangeMessage::changed(&["A", "B", "C", "D"]),
        ChangeMessage::changed(&["Título", "☕🦀", "say \"hi\"\n\t", "back\\slash", "\u{7f}"]),
        ChangeMessage::changed(&[]),
        ChangeMessage::deleted(),
    ]
    .iter()
    .map(ChangeMessage::to_json)
    .collect();
    stored.extend(
        [
            "",
            "A plain message.",
            "[not json",
            "[]",
            r#"[{"added": null}]"#,
            r#"[{"added": {"name": "choice", "object": "Yes"}}, {"changed": {"name": "choice", "object": "No", "fields": ["Votes", "Text"]}}, {"deleted": {"name": "choice", "object": "Maybe"}}]"#,
            r#"[{"changed": {"fields": []}}]"#,
            r#"[{"changed": {"fields": "ab"}}]"#,
            r#"[{"added": {"name": "row", "object": 7}}]"#,
            r#"[{"other": 1}, "text", ["x"]]"#,
            r#"[{"added": {}, "changed": {"fields": ["X"]}}]"#,
            // Django raises on these.
            r#"[{"deleted": {}}]"#,
            r#"[{"changed": {}}]"#,
            r#"[{"changed": {"name": "choice", "fields": ["X"]}}]"#,
            r#"[{"added": {"name": "x"}}]"#,
            r#"[{"added": [1]}]"#,
            r#"["added"]"#,
            r#"[["changed"]]"#,
            "[1]",
            "[null]",
        ]
        .map(str::to_owned),
    );
    let input = serde_json::to_string(&stored).unwrap();
    let theirs = django(&python, &["texts"], Some(&input));
    let theirs = theirs.as_array().expect("a list");
    assert_eq!(theirs.len(), stored.len());
    for (stored, theirs) in stored.iter().zip(theirs) {
        let ours = get_change_message(stored);
        match theirs {
            Value::String(text) => assert_eq!(&ours, text, "for {stored}"),
            // Where Django raises, we show the stored text.
            _ => assert_eq!(&ours, stored, "Django raised {theirs} for {stored}"),
        }
    }
}

/// The entries as Django's history page lists them.
fn django_history(python: &std::path::Path, url: &str, ct: i32, object_id: &str) -> Vec<Value> {
    let read = django(python, &["read", url, &ct.to_string(), object_id], None);
    read.as_array().expect("a list").clone()
}

async fn django_reads_our_history_and_we_read_djangos(db: &TestDb) {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    // Django needs a database it can open too: a file for SQLite.
    let (url, conn) = match db.backend() {
        Backend::Sqlite => {
            let url = batteries_tests::sqlite_file_url("admin_log_django");
            let conn = batteries::orm::db::connect(&url)
                .await
                .expect("sqlite file");
            (url, conn)
        }
        _ => (db.url().expect("server url"), db.conn().clone()),
    };
    let django_url = url.split('?').next().unwrap_or(&url).to_owned();
    let (ann, bob, post) = setup(&conn).await;
    // Django finds this content type by name and reuses it for its entries.
    let users = content_type(&conn, "auth", "user").await;

    // Django reads what we wrote.
    let repr = format!("<script>x</script> {}", "ß".repeat(250));
    let ours = [
        (ann, ActionFlag::Addition, ChangeMessage::added()),
        (
            bob,
            ActionFlag::Change,
            ChangeMessage::changed(&["Title", "Body", "Título"]),
        ),
        (ann, ActionFlag::Change, ChangeMessage::changed(&[])),
        (bob, ActionFlag::Deletion, ChangeMessage::deleted()),
    ];
    for (user_id, flag, message) in ours {
        log_action(
            &conn,
            NewEntry {
                user_id,
                content_type_id: post,
                object_id: "1",
                object_repr: &repr,
                flag,
                message,
            },
        )
        .await
        .unwrap();
    }
    let mine = history(&conn, post, "1", 100).await.unwrap();
    assert_eq!(mine.len(), 4);
    let theirs = django_history(&python, &django_url, post, "1");
    assert_same_history(&mine, &theirs);
    assert!(
        theirs
            .iter()
            .all(|e| e["object_repr"].as_str().unwrap()
                == repr.chars().take(200).collect::<String>())
    );

    // We read what Django writes, in order after our own entry on the same object.
    log_action(
        &conn,
        entry(
            ann,
            users,
            &ann.to_string(),
            ActionFlag::Change,
            ChangeMessage::changed(&["First name"]),
        ),
    )
    .await
    .unwrap();
    let written = django(&python, &["write", &django_url, "ann"], None);
    assert_eq!(written["content_type_id"], json!(users));
    assert_eq!(written["object_id"], json!(ann.to_string()));
    let ann_history = history(&conn, users, &ann.to_string(), 100).await.unwrap();
    let seen: Vec<_> = ann_history
        .iter()
        .map(|e| (e.username.as_str(), e.flag, e.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ann", ActionFlag::Change, "Changed First name."),
            (
                "ann",
                ActionFlag::Change,
                "Changed Email address and Staff status. Added group “editors”."
            ),
            // Django stores no message for a deletion.
            ("ann", ActionFlag::Deletion, ""),
        ]
    );
    let theirs = django_history(&python, &django_url, users, &ann.to_string());
    assert_same_history(&ann_history, &theirs);
    // Django's bulk deletion logged bob as well.
    let bob_history = history(&conn, users, &bob.to_string(), 100).await.unwrap();
    assert_eq!(bob_history.len(), 1);
    assert_eq!(bob_history[0].flag, ActionFlag::Deletion);
    // The entity reads Django's rows too (on MySQL its `smallint unsigned` flag).
    let flags: Vec<i16> = entity::Entity::find()
        .filter(entity::Column::ContentTypeId.eq(users))
        .order_by_asc(entity::Column::Id)
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action_flag)
        .collect();
    assert_eq!(flags, [2, 2, 3, 3]);

    if db.backend() == Backend::Sqlite {
        assert_sqlite_times_look_like_djangos(&conn).await;
        conn.close().await.unwrap();
        let file = std::path::PathBuf::from(django_url.trim_start_matches("sqlite://"));
        let _ = std::fs::remove_dir_all(file.parent().expect("the file's directory"));
    }
}

/// Our history and Django's list the same entries: same times, users, flags and texts.
fn assert_same_history(ours: &[batteries_admin::log::HistoryEntry], theirs: &[Value]) {
    assert_eq!(ours.len(), theirs.len(), "{theirs:?}");
    for (ours, theirs) in ours.iter().zip(theirs) {
        let time = DateTime::parse_from_rfc3339(theirs["action_time"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ours.action_time, time);
        assert_eq!(ours.username, theirs["username"].as_str().unwrap());
        assert_eq!(i64::from(ours.flag.as_i16()), theirs["action_flag"]);
        assert_eq!(ours.message, theirs["text"].as_str().unwrap(), "{theirs}");
    }
}

/// On SQLite both write `YYYY-MM-DD HH:MM:SS[.ffffff]`, so the text sorts by time.
async fn assert_sqlite_times_look_like_djangos(conn: &DatabaseConnection) {
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT action_time FROM django_admin_log",
        ))
        .await
        .unwrap();
    for row in rows {
        let text: String = row.try_get("", "action_time").unwrap();
        assert_eq!(text.as_bytes()[10], b' ', "{text}");
        assert!(!text.contains('+') && !text.ends_with('Z'), "{text}");
    }
}
