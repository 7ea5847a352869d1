//! `get_or_create` / `update_or_create`, alone and racing.

use std::sync::Arc;

use batteries::orm::create::{get_or_create, update_or_create};
use batteries::orm::testing::TestDb;
use batteries_tests::backend_tests;
use batteries_tests::entities::tag;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait};

backend_tests!(
    get_or_create_creates_once_then_gets,
    update_or_create_updates_only_given_fields,
    racing_get_or_create_creates_exactly_one_row,
    racing_update_or_create_creates_exactly_one_row,
    get_or_create_inside_a_transaction_survives_a_lost_race,
    update_or_create_inside_a_transaction_stays_in_it,
);

async fn setup(db: &impl ConnectionTrait) {
    batteries_tests::create_table(db, tag::Entity)
        .await
        .expect("create tag");
}

fn defaults(label: &str) -> tag::ActiveModel {
    tag::ActiveModel {
        label: Set(label.into()),
        uses: Set(1),
        ..Default::default()
    }
}

async fn get_or_create_creates_once_then_gets(db: &TestDb) {
    let db = db.conn();
    setup(db).await;
    let (made, created) = get_or_create(db, [(tag::Column::Slug, "rust".into())], defaults("Rust"))
        .await
        .expect("create");
    assert!(created);
    assert_eq!((made.slug.as_str(), made.label.as_str()), ("rust", "Rust"));
    let (got, created) = get_or_create(db, [(tag::Column::Slug, "rust".into())], defaults("Other"))
        .await
        .expect("get");
    assert!(!created);
    assert_eq!(got, made, "defaults are not applied to an existing row");
    assert_eq!(tag::Entity::find().count(db).await.expect("count"), 1);
}

async fn update_or_create_updates_only_given_fields(db: &TestDb) {
    let db = db.conn();
    setup(db).await;
    let (made, created) =
        update_or_create(db, [(tag::Column::Slug, "orm".into())], defaults("ORM"))
            .await
            .expect("create");
    assert!(created);
    let only_label = tag::ActiveModel {
        label: Set("Object-relational mapping".into()),
        ..Default::default()
    };
    let (updated, created) = update_or_create(db, [(tag::Column::Slug, "orm".into())], only_label)
        .await
        .expect("update");
    assert!(!created);
    assert_eq!(updated.id, made.id);
    assert_eq!(updated.label, "Object-relational mapping");
    assert_eq!(updated.uses, 1, "fields not in defaults keep their value");
    let stored = tag::Entity::find_by_id(made.id)
        .one(db)
        .await
        .expect("find");
    assert_eq!(stored, Some(updated));
}

const RACERS: usize = 16;

async fn racing_get_or_create_creates_exactly_one_row(db: &TestDb) {
    let conn = Arc::new(db.conn().clone());
    setup(conn.as_ref()).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (conn, barrier) = (conn.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                get_or_create(
                    conn.as_ref(),
                    [(tag::Column::Slug, "race".into())],
                    defaults(&format!("racer {i}")),
                )
                .await
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let (model, was_created) = task
            .await
            .expect("task")
            .expect("get_or_create must not fail in a race");
        created += usize::from(was_created);
        ids.push(model.id);
    }
    assert_eq!(created, 1, "exactly one task creates the row");
    ids.dedup();
    assert_eq!(ids.len(), 1, "every task returns the same row: {ids:?}");
    assert_eq!(
        tag::Entity::find()
            .count(conn.as_ref())
            .await
            .expect("count"),
        1
    );
}

async fn racing_update_or_create_creates_exactly_one_row(db: &TestDb) {
    let conn = Arc::new(db.conn().clone());
    setup(conn.as_ref()).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (conn, barrier) = (conn.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                update_or_create(
                    conn.as_ref(),
                    [(tag::Column::Slug, "counter".into())],
                    defaults(&format!("writer {i}")),
                )
                .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let (_, was_created) = task
            .await
            .expect("task")
            .expect("update_or_create must not fail in a race");
        created += usize::from(was_created);
    }
    assert_eq!(created, 1);
    let rows = tag::Entity::find().all(conn.as_ref()).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].label.starts_with("writer "), "{rows:?}");
}

/// A refused insert must not poison the caller's transaction (PostgreSQL aborts a
/// transaction on any error unless a savepoint contains it).
async fn get_or_create_inside_a_transaction_survives_a_lost_race(db: &TestDb) {
    let conn = db.conn();
    setup(conn).await;
    let txn = conn.begin().await.expect("begin");
    let (first, created) = get_or_create(&txn, [(tag::Column::Slug, "a".into())], defaults("A"))
        .await
        .expect("create in txn");
    assert!(created);
    // A lookup that misses the row while the unique slug exists: the insert is refused
    // inside the savepoint, and the transaction goes on.
    let err = get_or_create(
        &txn,
        [
            (tag::Column::Slug, "a".into()),
            (tag::Column::Label, "not A".into()),
        ],
        defaults("not A"),
    )
    .await
    .expect_err("the unique slug refuses a second row");
    assert!(
        err.to_string().to_lowercase().contains("unique") || err.to_string().contains("Duplicate"),
        "{err}"
    );
    let (again, created) = get_or_create(&txn, [(tag::Column::Slug, "a".into())], defaults("A"))
        .await
        .expect("the transaction is still usable");
    assert!(!created);
    assert_eq!(again.id, first.id);
    sea_orm::TransactionSession::commit(txn)
        .await
        .expect("commit");
    assert_eq!(tag::Entity::find().count(conn).await.expect("count"), 1);
}

/// Inside a caller's transaction, the lookup and the insert run in savepoints of that
/// transaction (the lookup's is rolled back before the insert's begins): what they
/// write is seen in it, and is gone when the caller rolls it back.
async fn update_or_create_inside_a_transaction_stays_in_it(db: &TestDb) {
    let conn = db.conn();
    setup(conn).await;
    let txn = conn.begin().await.expect("begin");
    let (made, created) = update_or_create(&txn, [(tag::Column::Slug, "b".into())], defaults("B"))
        .await
        .expect("create in txn");
    assert!(created);
    let (updated, created) =
        update_or_create(&txn, [(tag::Column::Slug, "b".into())], defaults("Bee"))
            .await
            .expect("update in txn");
    assert!(!created);
    assert_eq!((updated.id, updated.label.as_str()), (made.id, "Bee"));
    sea_orm::TransactionSession::rollback(txn)
        .await
        .expect("rollback");
    assert_eq!(
        tag::Entity::find().count(conn).await.expect("count"),
        0,
        "the insert belonged to the rolled-back transaction"
    );

    let txn = conn.begin().await.expect("begin");
    let (made, created) = update_or_create(&txn, [(tag::Column::Slug, "b".into())], defaults("B"))
        .await
        .expect("create in txn");
    assert!(created);
    sea_orm::TransactionSession::commit(txn)
        .await
        .expect("commit");
    let stored = tag::Entity::find().all(conn).await.expect("rows");
    assert_eq!(stored, vec![made]);
}
