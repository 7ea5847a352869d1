//! Offset pagination with a bounded count.
//!
//! [`Paginator::page`] fetches one page and a total. The total is counted exactly up to
//! a threshold (by counting a `LIMIT`ed sub-query, so the database stops early); beyond
//! it, the total is the query planner's estimate on PostgreSQL and MySQL, or the proven
//! lower bound on SQLite, and [`Total`] says which. No unbounded `COUNT(*)` ever runs.
//!
//! Page numbers and sizes are bounded: each is at most [`MAX_PAGE`] / [`MAX_PER_PAGE`]
//! (2,147,483,647), so the `OFFSET` and `LIMIT` that reach SQL stay below 2⁶² and fit the
//! signed 64-bit integer every backend binds them as. A larger number is refused with
//! [`FilterError::InvalidPage`] (a `400` at the edge), never sent to the database. A
//! page past the last one comes back empty; [`Page::is_past_end`] says so, and the
//! handlers we ship answer it with `404`, as Django's `Paginator.page` does.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! # use sea_orm::{entity::prelude::*, ConnectionTrait, Schema, Set};
//! # mod post {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
//! #     #[sea_orm(table_name = "post")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub title: String,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! # let backend = db.get_database_backend();
//! # db.execute(&Schema::new(backend).create_table_from_entity(post::Entity)).await?;
//! # for i in 1..=45 {
//! #     post::ActiveModel { title: Set(format!("post {i}")), ..Default::default() }.insert(&db).await?;
//! # }
//! use batteries_orm::paginate::{Paginator, Total};
//!
//! let page = Paginator::new().page(&db, post::Entity::find(), 3, 20).await?;
//! assert_eq!(page.items.len(), 5);
//! assert_eq!(page.total, Total::Exact(45));
//! assert!(!page.has_next);
//! assert_eq!(page.num_pages(), 3);
//! # Ok(()) }
//! ```

use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QuerySelect, QueryTrait, Select,
    Statement,
};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::error::{Error, FilterError, Result};
use crate::filter::QueryParams;

/// The largest page number [`Paginator::page`] and [`crate::filter::FilterSet::parse`]
/// accept (`i32::MAX`).
pub const MAX_PAGE: u64 = 2_147_483_647;

/// The largest page size [`Paginator::page`] and [`crate::keyset::Keyset::page`] accept
/// (`i32::MAX`); [`crate::filter::FilterSet::max_per_page`] is clamped to it. With
/// [`MAX_PAGE`] it keeps `(page - 1) * per_page + per_page + 1` below `i64::MAX`.
pub const MAX_PER_PAGE: u64 = 2_147_483_647;

/// The largest count limit: the bounded count asks for one row more, which must still
/// fit a signed 64-bit `LIMIT`.
const MAX_COUNT_LIMIT: u64 = i64::MAX as u64 - 1;

/// Checks a page number or size against its bound (`0` is read as `1`).
pub(crate) fn check_bound(param: &'static str, n: u64, max: u64) -> Result<u64> {
    if n > max {
        return Err(Error::Filter(FilterError::InvalidPage {
            param,
            value: n.to_string(),
            expected: format!("expected an integer from 1 to {max}"),
        }));
    }
    Ok(n.max(1))
}

/// How many rows a listing has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Total {
    /// Counted.
    Exact(u64),
    /// Beyond the counting threshold: the query planner's estimate (never below the
    /// rows known to exist).
    Estimate(u64),
    /// Beyond the counting threshold on a backend without planner estimates (SQLite):
    /// at least this many.
    AtLeast(u64),
}

impl Total {
    /// The number, whatever its kind.
    pub fn value(self) -> u64 {
        match self {
            Total::Exact(n) | Total::Estimate(n) | Total::AtLeast(n) => n,
        }
    }

    /// Whether the number was counted exactly.
    pub fn is_exact(self) -> bool {
        matches!(self, Total::Exact(_))
    }

    fn kind(self) -> &'static str {
        match self {
            Total::Exact(_) => "exact",
            Total::Estimate(_) => "estimate",
            Total::AtLeast(_) => "at_least",
        }
    }
}

/// One page of a listing.
///
/// Serializes as `{"items": [...], "number": 2, "per_page": 20, "total": 45,
/// "total_kind": "exact", "num_pages": 3, "has_next": true, "has_previous": true}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The rows of this page (empty past the last page).
    pub items: Vec<T>,
    /// The 1-based page number.
    pub number: u64,
    /// The page size asked for.
    pub per_page: u64,
    /// Rows in the whole listing.
    pub total: Total,
    /// Whether a next page has rows (known exactly, whatever the total's kind).
    pub has_next: bool,
}

impl<T> Page<T> {
    /// Whether there is a page before this one.
    pub fn has_previous(&self) -> bool {
        self.number > 1
    }

    /// The number of pages the total makes (at least 1).
    pub fn num_pages(&self) -> u64 {
        self.total.value().div_ceil(self.per_page.max(1)).max(1)
    }

    /// Whether this page lies past the last one: no rows, and not the first page (the
    /// first page of an empty listing is a real, empty page). Django's `Paginator.page`
    /// raises `EmptyPage` here and its views answer `404`; do the same.
    ///
    /// ```
    /// # use batteries_orm::paginate::{Page, Total};
    /// # fn check(page: &Page<()>) {
    /// if page.is_past_end() {
    ///     // answer 404: "page 9 is past the last page (3)"
    /// }
    /// # }
    /// ```
    pub fn is_past_end(&self) -> bool {
        self.items.is_empty() && self.number > 1
    }

    /// Transforms the items, keeping the page's numbers.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            number: self.number,
            per_page: self.per_page,
            total: self.total,
            has_next: self.has_next,
        }
    }
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Page", 8)?;
        st.serialize_field("items", &self.items)?;
        st.serialize_field("number", &self.number)?;
        st.serialize_field("per_page", &self.per_page)?;
        st.serialize_field("total", &self.total.value())?;
        st.serialize_field("total_kind", self.total.kind())?;
        st.serialize_field("num_pages", &self.num_pages())?;
        st.serialize_field("has_next", &self.has_next)?;
        st.serialize_field("has_previous", &self.has_previous())?;
        st.end()
    }
}

/// Offset pagination settings.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Paginator {
    count_limit: u64,
}

impl Default for Paginator {
    fn default() -> Self {
        Self::new()
    }
}

impl Paginator {
    /// Exact counts up to 10,000 rows, estimates beyond.
    pub fn new() -> Self {
        Self {
            count_limit: 10_000,
        }
    }

    /// Count exactly up to `limit` rows; beyond it, estimate. (`limit` is capped at
    /// `i64::MAX - 1`, the most a `LIMIT` can carry.)
    pub fn count_limit(mut self, limit: u64) -> Self {
        self.count_limit = limit.min(MAX_COUNT_LIMIT);
        self
    }

    /// Fetches page `number` (1-based) of `per_page` rows of `select`, which should be
    /// ordered (pages of an unordered query may overlap). `0` is read as `1` for both.
    /// A page past the last one is empty (see [`Page::is_past_end`]).
    ///
    /// # Errors
    /// [`crate::Error::Filter`] with [`FilterError::InvalidPage`] when `number` is above
    /// [`MAX_PAGE`] or `per_page` above [`MAX_PER_PAGE`] (nothing is queried);
    /// [`crate::Error::Db`] when a query fails.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use sea_orm::entity::prelude::*;
    /// # mod post {
    /// #     use sea_orm::entity::prelude::*;
    /// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    /// #     #[sea_orm(table_name = "post")]
    /// #     pub struct Model {
    /// #         #[sea_orm(primary_key)]
    /// #         pub id: i32,
    /// #     }
    /// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    /// #     pub enum Relation {}
    /// #     impl ActiveModelBehavior for ActiveModel {}
    /// # }
    /// # let db = batteries_orm::db::connect("sqlite::memory:").await.unwrap();
    /// use batteries_orm::paginate::Paginator;
    /// use batteries_orm::{Error, FilterError};
    ///
    /// let err = Paginator::new()
    ///     .page(&db, post::Entity::find(), u64::MAX, 20)
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::Filter(FilterError::InvalidPage { param: "page", .. })));
    /// # }
    /// ```
    pub async fn page<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        number: u64,
        per_page: u64,
    ) -> Result<Page<E::Model>>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        C: ConnectionTrait,
    {
        let number = check_bound("page", number, MAX_PAGE)?;
        let per_page = check_bound("per_page", per_page, MAX_PER_PAGE)?;
        // Both at most 2^31 - 1: the offset and the limit stay below 2^62.
        let offset = (number - 1) * per_page;
        let mut items = select
            .clone()
            .offset(offset)
            .limit(per_page + 1)
            .all(db)
            .await?;
        let has_next = items.len() as u64 > per_page;
        items.truncate(per_page as usize);
        let seen = offset + items.len() as u64;
        let total = if !has_next && (!items.is_empty() || number == 1) {
            // The last page: everything before it plus what it holds.
            Total::Exact(seen)
        } else {
            let known = seen + u64::from(has_next);
            self.total(db, select.into_query(), known).await?
        };
        Ok(Page {
            items,
            number,
            per_page,
            total,
            has_next,
        })
    }

    /// Fetches the page that `params` (from a [`crate::filter::FilterSet`]) asks for:
    /// its filters, search, ordering, `page` and `per_page`.
    ///
    /// # Errors
    /// As [`Paginator::page`].
    pub async fn page_for<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        params: &QueryParams<'_, E>,
    ) -> Result<Page<E::Model>>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        C: ConnectionTrait,
    {
        let select = params.apply(select, db.get_database_backend());
        self.page(db, select, params.page(), params.per_page())
            .await
    }

    /// The total of `query`'s rows: exact up to the limit, else estimated. `known` rows
    /// are already known to exist.
    async fn total<C: ConnectionTrait>(
        &self,
        db: &C,
        mut query: SelectStatement,
        known: u64,
    ) -> Result<Total> {
        query.clear_order_by().reset_offset().reset_limit();
        let backend = db.get_database_backend();
        let counted = bounded_count(db, query.clone(), self.count_limit).await?;
        if counted <= self.count_limit {
            return Ok(Total::Exact(counted));
        }
        let floor = known.max(counted);
        Ok(match planner_estimate(db, backend, query).await? {
            Some(estimate) => Total::Estimate(estimate.max(floor)),
            None => Total::AtLeast(floor),
        })
    }
}

/// `SELECT COUNT(*) FROM (SELECT 1 FROM ... WHERE ... LIMIT limit + 1)`: stops counting
/// one row past the limit.
async fn bounded_count<C: ConnectionTrait>(
    db: &C,
    mut query: SelectStatement,
    limit: u64,
) -> Result<u64> {
    query
        .clear_selects()
        .expr(Expr::cust("1"))
        .limit(limit.min(MAX_COUNT_LIMIT) + 1);
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(query, Alias::new("bounded"))
        .to_owned();
    let row = db.query_one(&count).await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

/// The planner's row estimate for `query`, where the backend gives one.
async fn planner_estimate<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    query: SelectStatement,
) -> Result<Option<u64>> {
    let Statement { sql, values, .. } = backend.build(&query);
    let values = values.map(|v| v.0).unwrap_or_default();
    match backend {
        DbBackend::Postgres => {
            let stmt = Statement::from_sql_and_values(
                backend,
                format!("EXPLAIN (FORMAT JSON) {sql}"),
                values,
            );
            let Some(row) = db.query_one_raw(stmt).await? else {
                return Ok(None);
            };
            let plan: serde_json::Value = row.try_get_by_index(0)?;
            Ok(plan
                .pointer("/0/Plan/Plan Rows")
                .and_then(serde_json::Value::as_f64)
                .map(|n| n.max(0.0) as u64))
        }
        DbBackend::MySql => {
            let stmt = Statement::from_sql_and_values(backend, format!("EXPLAIN {sql}"), values);
            let rows = db.query_all_raw(stmt).await?;
            // The estimate of the first table read; joins are rare in listings.
            // MySQL reports `rows` as an unsigned integer, MariaDB as text.
            Ok(rows.first().and_then(|row| {
                row.try_get::<Option<u64>>("", "rows")
                    .ok()
                    .flatten()
                    .or_else(|| {
                        row.try_get::<Option<String>>("", "rows")
                            .ok()
                            .flatten()
                            .and_then(|s| s.trim().parse().ok())
                    })
            }))
        }
        _ => Ok(None),
    }
}
