//! Fixtures in Django's JSON format: `dumpdata` and `loaddata` for SeaORM entities.
//!
//! ```json
//! [
//! {"model": "blog.author", "pk": 1, "fields": {"name": "Zoë", "email": ""}},
//! {"model": "blog.post", "pk": 1, "fields": {"author": 1, "title": "Hello", "created": "2024-01-02T03:04:05Z", "rating": "4.50"}}
//! ]
//! ```
//!
//! Register each entity under its Django label (`app_label.model_name`), parents before
//! children. Values are written as Django writes them (datetimes with milliseconds and
//! `Z`, decimals as strings with the column's scale, a foreign key `author_id` as the
//! field `author`), so fixtures move both ways between Django and batteries.
//!
//! * [`Fixtures::dump`] streams rows ordered by primary key straight to the writer: memory
//!   does not grow with the table.
//! * [`Fixtures::dump_with_progress`] does the same and tells a callback how far it got
//!   (a command-line progress bar, for instance).
//! * [`Fixtures::load`] parses the document as a stream on a blocking thread and inserts
//!   in batches, all inside one transaction. A bad record is a [`FixtureError`] naming
//!   its index, model and field, and nothing is saved. On PostgreSQL the primary-key
//!   sequences are moved past the loaded rows, as Django's `loaddata` does.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! # use sea_orm::{entity::prelude::*, ConnectionTrait, Schema};
//! # mod tag {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "blog_tag")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub name: String,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! # db.execute(&Schema::new(db.get_database_backend()).create_table_from_entity(tag::Entity)).await?;
//! use batteries_orm::fixtures::Fixtures;
//!
//! let fixtures = Fixtures::new().register::<tag::Entity>("blog.tag");
//! let report = fixtures
//!     .load_str(&db, r#"[{"model": "blog.tag", "pk": 7, "fields": {"name": "rust"}}]"#)
//!     .await?;
//! assert_eq!(report.records, 1);
//!
//! let mut out = Vec::new();
//! fixtures.dump(&db, &[], &mut out).await?;
//! let dumped: serde_json::Value = serde_json::from_slice(&out).unwrap();
//! assert_eq!(dumped[0]["pk"], 7);
//!
//! // A bad record names itself, and nothing is saved.
//! let err = fixtures
//!     .load_str(&db, r#"[{"model": "blog.tag", "pk": 8, "fields": {"name": "ok"}},
//!                        {"model": "blog.tag", "pk": 9, "fields": {"nmae": "typo"}}]"#)
//!     .await
//!     .unwrap_err();
//! assert!(err.to_string().starts_with("fixture record #1 (blog.tag), field `nmae`"), "{err}");
//! assert_eq!(tag::Entity::find().count(&db).await?, 1);
//! # Ok(()) }
//! ```

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic, Identity,
    Iterable, ModelTrait, PrimaryKeyToColumn, PrimaryKeyTrait, QueryOrder, RelationTrait,
    Statement, TransactionTrait,
};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::error::{FixtureError, Result};
use crate::paginate::{Paginator, Total};
use crate::value::{Kind, set_column, to_json};

/// Bound parameters per batched `INSERT` (SQLite allows 32,766).
const MAX_PARAMS_PER_BATCH: usize = 30_000;
/// Rows per batched `INSERT`, at most.
const MAX_ROWS_PER_BATCH: usize = 1_000;
/// Records parsed ahead of the inserts.
const CHANNEL_DEPTH: usize = 1_024;

/// A registry of entities that can be dumped and loaded, each under a Django label.
#[derive(Default)]
#[must_use]
pub struct Fixtures {
    models: Vec<Box<dyn FixtureModel>>,
}

impl fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixtures")
            .field("models", &self.labels())
            .finish()
    }
}

/// What [`Fixtures::load`] saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadReport {
    /// Records saved.
    pub records: usize,
    /// Records saved per model label, in the order first seen.
    pub per_model: Vec<(String, usize)>,
}

/// How far [`Fixtures::dump_with_progress`] got, told to its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DumpProgress<'a> {
    /// The rows of `label` are about to be written. `total` is bounded: counted exactly
    /// up to 10,000 rows, beyond that the query planner's estimate (PostgreSQL, MySQL)
    /// or a lower bound (SQLite), as [`Paginator`] counts; never an unbounded `COUNT(*)`.
    Model {
        /// The model's label.
        label: &'a str,
        /// How many rows it has, about.
        total: Total,
    },
    /// One more record of `label` was written.
    Record {
        /// The model's label.
        label: &'a str,
        /// Records of this model written so far.
        written: u64,
    },
}

impl Fixtures {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `E` under `label` (`app_label.model_name`, as in Django). Register
    /// parents before the entities that refer to them: dumps follow this order.
    ///
    /// # Panics
    /// When `E` has a composite primary key (Django fixtures name one `pk`) or the label
    /// is already taken: both are programming errors.
    pub fn register<E>(mut self, label: &str) -> Self
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
    {
        let label = label.to_ascii_lowercase();
        assert!(
            E::PrimaryKey::iter().count() == 1,
            "fixtures need a single-column primary key (`{label}`)"
        );
        assert!(
            !self.labels().contains(&label),
            "fixture label `{label}` registered twice"
        );
        self.models.push(Box::new(EntityFixture::<E>::new(label)));
        self
    }

    fn labels(&self) -> Vec<String> {
        self.models.iter().map(|m| m.label().to_owned()).collect()
    }

    fn find(&self, label: &str) -> Option<&dyn FixtureModel> {
        self.models
            .iter()
            .find(|m| m.label().eq_ignore_ascii_case(label))
            .map(AsRef::as_ref)
    }

    /// Writes the rows of the models named in `labels` (all registered models when
    /// empty), in registration order, to `out`, one record per line. Returns the number
    /// of records written.
    ///
    /// # Errors
    /// [`FixtureError::UnknownModel`] for an unknown label, [`FixtureError::Io`] when
    /// writing fails, [`crate::Error::Db`] when reading fails.
    pub async fn dump<W>(&self, db: &DatabaseConnection, labels: &[&str], out: W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        self.dump_inner(db, labels, out, false, &mut |_| {}).await
    }

    /// [`Fixtures::dump`], telling `on_progress` about each model before its rows (with
    /// a bounded count of them, one more query per model) and after each record
    /// written. The output is the same, byte for byte.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
    /// # use sea_orm::{entity::prelude::*, ConnectionTrait, Schema};
    /// # mod tag {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    /// #     #[sea_orm(table_name = "blog_tag")]
    /// #     pub struct Model {
    /// #         #[sea_orm(primary_key)]
    /// #         pub id: i32,
    /// #         pub name: String,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// # let db = batteries_orm::db::connect("sqlite::memory:").await?;
    /// # db.execute(&Schema::new(db.get_database_backend()).create_table_from_entity(tag::Entity)).await?;
    /// use batteries_orm::fixtures::{DumpProgress, Fixtures};
    /// use batteries_orm::paginate::Total;
    ///
    /// let fixtures = Fixtures::new().register::<tag::Entity>("blog.tag");
    /// fixtures
    ///     .load_str(&db, r#"[{"model": "blog.tag", "pk": 1, "fields": {"name": "a"}},
    ///                        {"model": "blog.tag", "pk": 2, "fields": {"name": "b"}}]"#)
    ///     .await?;
    ///
    /// let mut seen = Vec::new();
    /// let mut out = Vec::new();
    /// let written = fixtures
    ///     .dump_with_progress(&db, &[], &mut out, |p| match p {
    ///         DumpProgress::Model { label, total } => seen.push(format!("{label} {}", total.value())),
    ///         DumpProgress::Record { written, .. } => seen.push(written.to_string()),
    ///         _ => {}
    ///     })
    ///     .await?;
    /// assert_eq!(written, 2);
    /// assert_eq!(seen, ["blog.tag 2", "1", "2"]);
    ///
    /// let mut plain = Vec::new();
    /// fixtures.dump(&db, &[], &mut plain).await?;
    /// assert_eq!(out, plain);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Fixtures::dump`].
    pub async fn dump_with_progress<W, F>(
        &self,
        db: &DatabaseConnection,
        labels: &[&str],
        out: W,
        mut on_progress: F,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
        F: FnMut(DumpProgress<'_>) + Send,
    {
        self.dump_inner(db, labels, out, true, &mut on_progress)
            .await
    }

    async fn dump_inner<W>(
        &self,
        db: &DatabaseConnection,
        labels: &[&str],
        out: W,
        with_totals: bool,
        on_progress: OnProgress<'_>,
    ) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let mut selected = Vec::new();
        for label in labels {
            match self.find(label) {
                Some(m) => selected.push(m),
                None => return Err(self.unknown_model(label).into()),
            }
        }
        if labels.is_empty() {
            selected = self.models.iter().map(AsRef::as_ref).collect();
        } else {
            // Keep registration order whatever order the labels came in.
            selected.sort_by_key(|m| self.models.iter().position(|n| n.label() == m.label()));
        }
        let mut out = tokio::io::BufWriter::new(out);
        out.write_all(b"[").await.map_err(FixtureError::Io)?;
        let mut written = 0;
        for model in selected {
            if with_totals {
                let total = model.total(db).await?;
                on_progress(DumpProgress::Model {
                    label: model.label(),
                    total,
                });
            }
            written += model.dump(db, &mut out, written, on_progress).await?;
        }
        out.write_all(if written == 0 { b"]\n" } else { b"\n]\n" })
            .await
            .map_err(FixtureError::Io)?;
        out.flush().await.map_err(FixtureError::Io)?;
        Ok(written)
    }

    /// Loads a fixture from a string. See [`Fixtures::load`].
    ///
    /// # Errors
    /// As [`Fixtures::load`].
    pub async fn load_str(&self, db: &DatabaseConnection, fixture: &str) -> Result<LoadReport> {
        self.load(db, std::io::Cursor::new(fixture.as_bytes().to_vec()))
            .await
    }

    /// Loads a fixture file. See [`Fixtures::load`].
    ///
    /// # Errors
    /// [`FixtureError::Io`] when the file cannot be opened, otherwise as
    /// [`Fixtures::load`].
    pub async fn load_path(
        &self,
        db: &DatabaseConnection,
        path: impl AsRef<std::path::Path>,
    ) -> Result<LoadReport> {
        let file = std::fs::File::open(path).map_err(FixtureError::Io)?;
        self.load(db, std::io::BufReader::new(file)).await
    }

    /// Loads every record of the fixture read from `reader` in one transaction: either
    /// all records are saved or none is.
    ///
    /// # Errors
    /// [`FixtureError::Syntax`] for a document that is not a JSON list,
    /// [`FixtureError::Record`] for a record that is wrong (unknown model or field, a
    /// value of the wrong type, `null` for a required field), [`FixtureError::Batch`]
    /// when the database refuses rows (a duplicate key, a missing foreign key).
    pub async fn load<R>(&self, db: &DatabaseConnection, reader: R) -> Result<LoadReport>
    where
        R: std::io::Read + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<std::result::Result<Json, FixtureError>>(CHANNEL_DEPTH);
        let parser = tokio::task::spawn_blocking(move || parse_stream(reader, &tx));

        let txn = db.begin().await?;
        let mut report = LoadReport::default();
        let mut batch = Batch::default();
        let mut index = 0;
        while let Some(item) = rx.recv().await {
            let record = item?;
            let (model, pending) = self.prepare(index, &record)?;
            if !batch.accepts(model, &pending.signature) {
                batch.flush(&txn, &mut report).await?;
            }
            batch.push(model, index, pending);
            index += 1;
        }
        batch.flush(&txn, &mut report).await?;
        // The sender is gone: the parser has finished; surface a panic as an I/O error.
        parser.await.map_err(|e| {
            FixtureError::Io(std::io::Error::other(format!("fixture parser failed: {e}")))
        })?;
        for (label, _) in &report.per_model {
            if let Some(model) = self.find(label) {
                model.reset_sequence(&txn).await?;
            }
        }
        txn.commit().await?;
        Ok(report)
    }

    fn unknown_model(&self, label: &str) -> FixtureError {
        FixtureError::UnknownModel {
            model: label.to_owned(),
            registered: self.labels().join(", "),
        }
    }

    fn prepare<'a>(
        &'a self,
        index: usize,
        record: &Json,
    ) -> Result<(&'a dyn FixtureModel, Pending)> {
        let fail = |model: &str, field: Option<&str>, message: String| FixtureError::Record {
            index,
            model: model.to_owned(),
            field: field.map(str::to_owned),
            message,
        };
        let Json::Object(obj) = record else {
            return Err(fail("?", None, "a record must be a JSON object".into()).into());
        };
        let Some(label) = obj.get("model").and_then(Json::as_str) else {
            return Err(fail("?", None, "missing the `model` label".into()).into());
        };
        let Some(model) = self.find(label) else {
            let registered = self.labels().join(", ");
            return Err(fail(
                label,
                None,
                format!("unknown model; registered: {registered}"),
            )
            .into());
        };
        let empty = Map::new();
        let fields = match obj.get("fields") {
            Some(Json::Object(f)) => f,
            None => &empty,
            Some(_) => return Err(fail(label, None, "`fields` must be an object".into()).into()),
        };
        let pk = obj.get("pk").filter(|pk| !pk.is_null());
        let pending = model
            .build(pk, fields)
            .map_err(|(field, message)| fail(model.label(), field.as_deref(), message))?;
        Ok((model, pending))
    }
}

/// Parses `[record, record, ...]` and sends each record as soon as it is read.
fn parse_stream<R: std::io::Read>(
    reader: R,
    tx: &mpsc::Sender<std::result::Result<Json, FixtureError>>,
) {
    struct Records<'a>(&'a mpsc::Sender<std::result::Result<Json, FixtureError>>);

    impl<'de> DeserializeSeed<'de> for Records<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Records<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of fixture records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            while let Some(record) = seq.next_element::<Json>()? {
                if self.0.blocking_send(Ok(record)).is_err() {
                    // The loader stopped (it found an error); stop reading.
                    return Ok(());
                }
            }
            Ok(())
        }
    }

    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Records(tx).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = result {
        let err = if e.is_io() {
            FixtureError::Io(std::io::Error::other(e.to_string()))
        } else {
            FixtureError::Syntax {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }
        };
        let _ = tx.blocking_send(Err(err));
    }
}

/// A record converted to an active model, waiting in a batch.
struct Pending {
    model: Box<dyn Any + Send>,
    /// Which columns are set: rows of one `INSERT` must set the same ones.
    signature: Vec<bool>,
}

#[derive(Default)]
struct Batch<'a> {
    model: Option<&'a dyn FixtureModel>,
    signature: Vec<bool>,
    first: usize,
    last: usize,
    rows: Vec<Box<dyn Any + Send>>,
}

impl<'a> Batch<'a> {
    fn accepts(&self, model: &dyn FixtureModel, signature: &[bool]) -> bool {
        match self.model {
            None => true,
            Some(m) => {
                m.label() == model.label()
                    && self.signature == signature
                    && self.rows.len() < MAX_ROWS_PER_BATCH
                    && (self.rows.len() + 1) * signature.len() <= MAX_PARAMS_PER_BATCH
            }
        }
    }

    fn push(&mut self, model: &'a dyn FixtureModel, index: usize, pending: Pending) {
        if self.rows.is_empty() {
            self.model = Some(model);
            self.signature = pending.signature;
            self.first = index;
        }
        self.last = index;
        self.rows.push(pending.model);
    }

    async fn flush(&mut self, txn: &DatabaseTransaction, report: &mut LoadReport) -> Result<()> {
        let Some(model) = self.model.take() else {
            return Ok(());
        };
        let rows = std::mem::take(&mut self.rows);
        let n = rows.len();
        model
            .insert(txn, rows)
            .await
            .map_err(|e| FixtureError::Batch {
                first: self.first,
                last: self.last,
                model: model.label().to_owned(),
                message: e.to_string(),
            })?;
        report.records += n;
        match report
            .per_model
            .iter_mut()
            .find(|(l, _)| l == model.label())
        {
            Some((_, count)) => *count += n,
            None => report.per_model.push((model.label().to_owned(), n)),
        }
        Ok(())
    }
}

type BuildError = (Option<String>, String);

/// The callback of [`Fixtures::dump_with_progress`], as the models receive it.
type OnProgress<'f> = &'f mut (dyn for<'a> FnMut(DumpProgress<'a>) + Send);

#[async_trait]
trait FixtureModel: Send + Sync {
    fn label(&self) -> &str;
    fn build(
        &self,
        pk: Option<&Json>,
        fields: &Map<String, Json>,
    ) -> std::result::Result<Pending, BuildError>;
    async fn insert(
        &self,
        txn: &DatabaseTransaction,
        rows: Vec<Box<dyn Any + Send>>,
    ) -> std::result::Result<(), DbErr>;
    async fn dump(
        &self,
        db: &DatabaseConnection,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        written_before: u64,
        on_progress: OnProgress<'_>,
    ) -> Result<u64>;
    async fn total(&self, db: &DatabaseConnection) -> Result<Total>;
    async fn reset_sequence(&self, txn: &DatabaseTransaction) -> Result<()>;
}

struct FixtureField<C> {
    column: C,
    /// The field name in fixtures (`author` for the `author_id` foreign key).
    field: String,
    kind: Kind,
    nullable: bool,
}

struct EntityFixture<E: EntityTrait> {
    label: String,
    pk: E::Column,
    pk_kind: Kind,
    columns: Vec<FixtureField<E::Column>>,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> EntityFixture<E> {
    fn new(label: String) -> Self {
        let Some(pk) = E::PrimaryKey::iter()
            .next()
            .map(PrimaryKeyToColumn::into_column)
        else {
            unreachable!("register checks for a single-column primary key")
        };
        // Foreign-key columns of belongs-to relations: Django names the field without
        // its `_id` suffix.
        let table = E::default().table_name().to_owned();
        let fk_columns: Vec<String> = E::Relation::iter()
            .map(|r| r.def())
            .filter(|def| !def.is_owner && def.from_tbl.sea_orm_table().to_string() == table)
            .filter_map(|def| match def.from_col {
                Identity::Unary(c) => Some(c.to_string()),
                _ => None,
            })
            .collect();
        let columns = E::Column::iter()
            .filter(|c| c.as_str() != pk.as_str())
            .map(|column| {
                let name = column.as_str();
                let field = match name.strip_suffix("_id") {
                    Some(base) if fk_columns.iter().any(|f| f == name) => base.to_owned(),
                    _ => name.to_owned(),
                };
                let def = column.def();
                FixtureField {
                    column,
                    field,
                    kind: Kind::of(def.get_column_type()),
                    nullable: def.is_null(),
                }
            })
            .collect();
        Self {
            label,
            pk,
            pk_kind: Kind::of(pk.def().get_column_type()),
            columns,
            _entity: PhantomData,
        }
    }

    fn field_names(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.field.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn find_column(&self, field: &str) -> Option<&FixtureField<E::Column>> {
        self.columns
            .iter()
            .find(|c| c.field == field)
            .or_else(|| self.columns.iter().find(|c| c.column.as_str() == field))
    }
}

#[async_trait]
impl<E> FixtureModel for EntityFixture<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    fn label(&self) -> &str {
        &self.label
    }

    fn build(
        &self,
        pk: Option<&Json>,
        fields: &Map<String, Json>,
    ) -> std::result::Result<Pending, BuildError> {
        let mut model = <E::ActiveModel as ActiveModelBehavior>::new();
        let all: Vec<E::Column> = E::Column::iter().collect();
        let mut signature = vec![false; all.len()];
        let position = |c: &E::Column| {
            all.iter()
                .position(|x| x.as_str() == c.as_str())
                .unwrap_or(0)
        };
        if let Some(pk) = pk {
            let value = self
                .pk_kind
                .parse_json(pk)
                .map_err(|expected| (Some("pk".to_owned()), format!("expected {expected}")))?;
            set_column(&mut model, self.pk, value).map_err(|e| (Some("pk".to_owned()), e))?;
            signature[position(&self.pk)] = true;
        }
        for (name, json) in fields {
            let Some(col) = self.find_column(name) else {
                return Err((
                    Some(name.clone()),
                    format!(
                        "unknown field; fields of {}: {}",
                        self.label,
                        self.field_names()
                    ),
                ));
            };
            if json.is_array() && col.kind != Kind::Json {
                return Err((
                    Some(name.clone()),
                    "many-to-many fields are not supported in fixtures yet".into(),
                ));
            }
            if json.is_null() && !col.nullable {
                return Err((
                    Some(name.clone()),
                    "null given for a field that is not nullable".into(),
                ));
            }
            let value = col.kind.parse_json(json).map_err(|expected| {
                (
                    Some(name.clone()),
                    format!("expected {expected}, got {}", short(json)),
                )
            })?;
            set_column(&mut model, col.column, value).map_err(|e| (Some(name.clone()), e))?;
            signature[position(&col.column)] = true;
        }
        Ok(Pending {
            model: Box::new(model),
            signature,
        })
    }

    async fn insert(
        &self,
        txn: &DatabaseTransaction,
        rows: Vec<Box<dyn Any + Send>>,
    ) -> std::result::Result<(), DbErr> {
        let models: Vec<E::ActiveModel> = rows
            .into_iter()
            .filter_map(|row| row.downcast::<E::ActiveModel>().ok().map(|m| *m))
            .collect();
        E::insert_many(models).exec_without_returning(txn).await?;
        Ok(())
    }

    async fn dump(
        &self,
        db: &DatabaseConnection,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        written_before: u64,
        on_progress: OnProgress<'_>,
    ) -> Result<u64> {
        let mut stream = E::find().order_by_asc(self.pk).stream(db).await?;
        let mut written = 0;
        let label = Json::String(self.label.clone()).to_string();
        while let Some(model) = stream.try_next().await? {
            let mut line = String::with_capacity(256);
            line.push_str(if written_before + written == 0 {
                "\n"
            } else {
                ",\n"
            });
            line.push_str("{\"model\": ");
            line.push_str(&label);
            line.push_str(", \"pk\": ");
            line.push_str(&to_json(&model.get(self.pk), &self.pk_kind).to_string());
            line.push_str(", \"fields\": {");
            for (i, col) in self.columns.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                line.push_str(&Json::String(col.field.clone()).to_string());
                line.push_str(": ");
                line.push_str(&to_json(&model.get(col.column), &col.kind).to_string());
            }
            line.push_str("}}");
            out.write_all(line.as_bytes())
                .await
                .map_err(FixtureError::Io)?;
            written += 1;
            on_progress(DumpProgress::Record {
                label: &self.label,
                written,
            });
        }
        Ok(written)
    }

    async fn total(&self, db: &DatabaseConnection) -> Result<Total> {
        // A one-row page: two rows read, then a count bounded by the paginator's limit.
        let page = Paginator::new()
            .page(db, E::find().order_by_asc(self.pk), 1, 1)
            .await?;
        Ok(page.total)
    }

    async fn reset_sequence(&self, txn: &DatabaseTransaction) -> Result<()> {
        if txn.get_database_backend() != DbBackend::Postgres
            || !<E::PrimaryKey as PrimaryKeyTrait>::auto_increment()
            || !matches!(self.pk_kind, Kind::Int { .. })
        {
            return Ok(());
        }
        let table = E::default().table_name().replace('"', "\"\"");
        let pk = self.pk.as_str().replace('"', "\"\"");
        // Identifiers come from the entity definition, not from the fixture.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk}'), \
             COALESCE(MAX(\"{pk}\"), 1), MAX(\"{pk}\") IS NOT NULL) FROM \"{table}\""
        );
        txn.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await?;
        Ok(())
    }
}

fn short(json: &Json) -> String {
    crate::value::truncate(&json.to_string())
}
