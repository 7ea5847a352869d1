//! What the fuzz targets share: an entity with a column of every kind the parsers know,
//! one Tokio runtime and one in-memory SQLite database per process, and small helpers to
//! split a fuzzer's input.

use std::sync::OnceLock;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Schema, Set};
use tokio::runtime::Runtime;

/// A table with a column of every kind `batteries_orm::value::Kind` tells apart, nullable
/// and not, so that each parser meets each kind.
pub mod kind {
    use sea_orm::entity::prelude::*;

    /// A database enum (`Kind::Enum`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "fuzz_status")]
    pub enum Status {
        /// `draft`.
        #[sea_orm(string_value = "draft")]
        Draft,
        /// `published`.
        #[sea_orm(string_value = "published")]
        Published,
    }

    /// One row.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "fuzz_kind")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub flag: bool,
        pub maybe: Option<bool>,
        pub tiny: i8,
        pub small: i16,
        pub big: i64,
        pub tiny_u: u8,
        pub small_u: u16,
        pub unsigned: u32,
        pub real: f32,
        pub double: f64,
        #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
        pub price: Decimal,
        #[sea_orm(column_type = "String(StringLen::N(20))")]
        pub title: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub note: Option<String>,
        pub day: Date,
        pub at: Time,
        pub stamp: DateTime,
        pub moment: DateTimeUtc,
        pub uid: Uuid,
        pub doc: Json,
        pub blob: Vec<u8>,
        pub status: Status,
        pub count: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A `BIGINT UNSIGNED` column, in a table of its own, without rows: sea-orm cannot read
/// a `u64` back from SQLite, but values for it still reach SQL in filters.
pub mod unsigned {
    use sea_orm::entity::prelude::*;

    /// One row.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "fuzz_unsigned")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub big_u: u64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The process's Tokio runtime (current thread: the fuzzer runs one input at a time).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    })
}

/// The process's in-memory SQLite database, with the `fuzz_kind` table and three rows,
/// and the empty `fuzz_unsigned` table.
pub fn db() -> &'static DatabaseConnection {
    static DB: OnceLock<DatabaseConnection> = OnceLock::new();
    DB.get_or_init(|| {
        runtime().block_on(async {
            let db = batteries_orm::db::connect("sqlite::memory:")
                .await
                .expect("SQLite in memory");
            let schema = Schema::new(db.get_database_backend());
            db.execute(&schema.create_table_from_entity(kind::Entity))
                .await
                .expect("create fuzz_kind");
            db.execute(&schema.create_table_from_entity(unsigned::Entity))
                .await
                .expect("create fuzz_unsigned");
            for row in sample_rows() {
                row.insert(&db).await.expect("insert a sample row");
            }
            db
        })
    })
}

/// Rows with ordinary and extreme values.
pub fn sample_rows() -> Vec<kind::ActiveModel> {
    use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
    let row = |i: i32, title: &str, big: i64, y: i32| kind::ActiveModel {
        id: Set(i),
        flag: Set(i % 2 == 0),
        maybe: Set((i == 2).then_some(true)),
        tiny: Set(i8::try_from(i).unwrap_or(0) - 1),
        small: Set(i16::MIN + i16::try_from(i).unwrap_or(0)),
        big: Set(big),
        tiny_u: Set(u8::MAX),
        small_u: Set(7),
        unsigned: Set(u32::MAX - 1),
        real: Set(0.5),
        double: Set(-1.25e300),
        price: Set(rust_decimal::Decimal::new(12_345, 2)),
        title: Set(title.to_owned()),
        body: Set(format!("{title} % _ ! * ? [ body")),
        note: Set((i == 3).then(|| "ünïcødé".to_owned())),
        day: Set(day(y, 2, 28)),
        at: Set(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).expect("a time")),
        stamp: Set(day(y, 1, 1).and_hms_opt(0, 0, 0).expect("a datetime")),
        moment: Set(Utc
            .with_ymd_and_hms(y, 6, 30, 12, 0, 0)
            .single()
            .expect("a UTC datetime")),
        uid: Set(uuid::Uuid::from_u128(u128::try_from(i).unwrap_or(0))),
        doc: Set(serde_json::json!({"k": [i, null, "x"]})),
        blob: Set(vec![0, 255, u8::try_from(i).unwrap_or(0)]),
        status: Set(if i == 1 {
            kind::Status::Draft
        } else {
            kind::Status::Published
        }),
        count: Set((i != 2).then_some(i)),
    };
    vec![
        row(1, "Rust", i64::MAX, 1000),
        row(2, "Django", i64::MIN, 2024),
        row(3, "Rust and Django", 0, 9999),
    ]
}

/// Splits `data` at its first `sep` byte: `(before, after)`, or `(data, [])`.
pub fn split(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// `data` as text (invalid UTF-8 replaced, as a lossy HTTP layer would).
pub fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Removes every row but the sample ones (after a fixture load).
pub async fn reset(db: &DatabaseConnection) {
    use sea_orm::{ColumnTrait, QueryFilter};
    let _ = kind::Entity::delete_many()
        .filter(kind::Column::Id.gt(3))
        .exec(db)
        .await;
}

/// The admin's parsers for [`kind`]: as registered plainly, and with the options that
/// change how a field reads its input (choices, blank, read-only, a fieldset).
pub fn admin_forms() -> &'static [batteries_admin::fuzzing::Forms; 2] {
    use batteries_admin::ModelAdmin;
    use batteries_admin::fuzzing::Forms;
    static FORMS: OnceLock<[Forms; 2]> = OnceLock::new();
    FORMS.get_or_init(|| {
        let plain = Forms::new(ModelAdmin::<kind::Entity>::new()).expect("register fuzz_kind");
        let tuned = Forms::new(
            ModelAdmin::<kind::Entity>::new()
                .choices(kind::Column::Small, [(1, "One"), (-2, "Minus two")])
                .choices(kind::Column::Title, [("a", "A"), ("b", "B")])
                .blank([kind::Column::Body])
                .readonly_fields([kind::Column::Count])
                .fieldset(
                    Some("Some"),
                    [
                        kind::Column::Flag,
                        kind::Column::Price,
                        kind::Column::Moment,
                    ],
                ),
        )
        .expect("register fuzz_kind with options");
        [plain, tuned]
    })
}
