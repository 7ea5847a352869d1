//! Keyset ("cursor") pagination with opaque, tamper-evident cursors.
//!
//! Offset pagination reads and discards every row before the page; keyset pagination
//! seeks straight to it with `WHERE (created, id) < (last_created, last_id)`, so page
//! 10,000 costs what page 1 costs (see `docs/performance.md`). The position travels in
//! a cursor the client hands back: the last row's ordering values, a digest of the
//! listing's filters and ordering, and the time it was issued, signed with
//! HMAC-SHA256. A cursor that was altered, made with another key, replayed against
//! another filter or ordering, or is older than [`Keyset::max_age`] is refused with a
//! [`CursorError`].
//!
//! The ordering must be unique to give stable pages: [`Keyset::page`] appends the
//! primary key when it is missing. Ordering columns must be `NOT NULL`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> batteries_orm::Result<()> {
//! # use sea_orm::{entity::prelude::*, ConnectionTrait, Schema, Set};
//! # mod post {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "post")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub views: i32,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! # let db = batteries_orm::db::connect("sqlite::memory:").await?;
//! # db.execute(&Schema::new(db.get_database_backend()).create_table_from_entity(post::Entity)).await?;
//! # for i in 1..=5 { post::ActiveModel { views: Set(i % 2), ..Default::default() }.insert(&db).await?; }
//! use batteries_orm::filter::FilterSet;
//! use batteries_orm::keyset::Keyset;
//!
//! let filters = FilterSet::<post::Entity>::new().field(post::Column::Views);
//! let keyset = Keyset::new(b"a secret key of at least 32 bytes!!");
//!
//! let params = filters.parse("ordering=-views&per_page=2").unwrap();
//! let first = keyset.page_for(&db, post::Entity::find(), &params).await?;
//! assert_eq!(first.items.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 3]);
//!
//! let next = first.next_cursor.unwrap();
//! let params = filters.parse(&format!("ordering=-views&per_page=2&cursor={next}")).unwrap();
//! let second = keyset.page_for(&db, post::Entity::find(), &params).await?;
//! assert_eq!(second.items.iter().map(|p| p.id).collect::<Vec<_>>(), [5, 2]);
//!
//! // The same cursor with another ordering is refused.
//! let params = filters.parse(&format!("ordering=views&cursor={next}")).unwrap();
//! assert!(keyset.page_for(&db, post::Entity::find(), &params).await.is_err());
//! # Ok(()) }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    ModelTrait, Order, PrimaryKeyToColumn, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{CursorError, Error, Result};
use crate::filter::QueryParams;
use crate::paginate::{MAX_PER_PAGE, check_bound};
use crate::value::{Kind, to_json_exact};

type HmacSha256 = Hmac<Sha256>;
const MAC_LEN: usize = 32;
/// Cursors longer than this are refused before any decoding.
const MAX_CURSOR_LEN: usize = 4096;

/// One page of a keyset listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KeysetPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The cursor of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
    /// The page size.
    pub per_page: u64,
}

/// Signs and verifies cursors, and fetches keyset pages.
#[derive(Clone)]
#[must_use]
pub struct Keyset {
    key: Vec<u8>,
    max_age: Option<Duration>,
}

impl std::fmt::Debug for Keyset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyset")
            .field("key", &"***")
            .field("max_age", &self.max_age)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The last row's values, in ordering order.
    v: Vec<serde_json::Value>,
    /// Hex of the first 16 bytes of the listing's fingerprint.
    f: String,
    /// Issued at, seconds since the Unix epoch.
    t: u64,
}

impl Keyset {
    /// Cursors signed with `secret` (use your application's secret key, or a key derived
    /// from it; 32 bytes or more) and valid for a day.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            key: secret.as_ref().to_vec(),
            max_age: Some(Duration::from_hours(24)),
        }
    }

    /// How long a cursor stays valid (`None`: for ever).
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    fn encode(&self, values: Vec<serde_json::Value>, fingerprint: &[u8]) -> String {
        let payload = Payload {
            v: values,
            f: hex16(fingerprint),
            t: now(),
        };
        let mut bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn decode(
        &self,
        cursor: &str,
        fingerprint: &[u8],
        arity: usize,
    ) -> Result<Vec<serde_json::Value>> {
        let err = |e| Error::InvalidCursor(e);
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(err(CursorError::Malformed));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| err(CursorError::Malformed))?;
        if bytes.len() <= MAC_LEN {
            return Err(err(CursorError::Malformed));
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(payload);
        // Constant-time comparison.
        mac.verify_slice(tag)
            .map_err(|_| err(CursorError::BadSignature))?;
        let payload: Payload =
            serde_json::from_slice(payload).map_err(|_| err(CursorError::Malformed))?;
        if payload.f != hex16(fingerprint) || payload.v.len() != arity {
            return Err(err(CursorError::WrongListing));
        }
        if let Some(max_age) = self.max_age
            && now().saturating_sub(payload.t) > max_age.as_secs()
        {
            return Err(err(CursorError::Expired));
        }
        Ok(payload.v)
    }

    /// Fetches the page after `cursor` (the first page when `None`) of `select` in
    /// `order`, `per_page` rows. `fingerprint` identifies the listing (its filters and
    /// ordering); a cursor is only accepted with the fingerprint it was made with.
    ///
    /// # Errors
    /// [`Error::Filter`] with [`crate::FilterError::InvalidPage`] when `per_page` is
    /// above [`MAX_PER_PAGE`] (`0` is read as `1`); [`Error::InvalidCursor`] for a
    /// cursor that is forged, damaged, expired or from another listing;
    /// [`Error::KeysetOrdering`] when the ordering has a nullable column; [`Error::Db`]
    /// when the query fails.
    pub async fn page<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        order: &[(E::Column, Order)],
        cursor: Option<&str>,
        per_page: u64,
        fingerprint: &[u8],
    ) -> Result<KeysetPage<E::Model>>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        C: ConnectionTrait,
    {
        // At most 2^31 - 1: the limit below (one row more) fits any backend's integer.
        let per_page = check_bound("per_page", per_page, MAX_PER_PAGE)?;
        let order = unique_order::<E>(order);
        if let Some((column, _)) = order.iter().find(|(c, _)| c.def().is_null()) {
            return Err(Error::KeysetOrdering(format!(
                "column `{}` is nullable; order by NOT NULL columns",
                column.as_str()
            )));
        }
        let kinds: Vec<Kind> = order
            .iter()
            .map(|(c, _)| Kind::of(c.def().get_column_type()))
            .collect();
        let mut select = select;
        if let Some(cursor) = cursor {
            let raw = self.decode(cursor, fingerprint, order.len())?;
            let mut values = Vec::with_capacity(raw.len());
            for (json, kind) in raw.iter().zip(&kinds) {
                let value = kind
                    .parse_json(json)
                    .map_err(|_| Error::InvalidCursor(CursorError::Malformed))?;
                values.push(value);
            }
            select = select.filter(after(&order, values));
        }
        for (column, dir) in &order {
            select = select.order_by(*column, dir.clone());
        }
        let mut items = select.limit(per_page + 1).all(db).await?;
        let has_next = items.len() as u64 > per_page;
        items.truncate(per_page as usize);
        let next_cursor = match items.last() {
            Some(last) if has_next => {
                let values = order
                    .iter()
                    .map(|(c, _)| to_json_exact(&last.get(*c)))
                    .collect();
                Some(self.encode(values, fingerprint))
            }
            _ => None,
        };
        Ok(KeysetPage {
            items,
            next_cursor,
            per_page,
        })
    }

    /// Fetches the keyset page that `params` asks for: its filters, search, ordering,
    /// `cursor` and `per_page`.
    ///
    /// # Errors
    /// As [`Keyset::page`].
    pub async fn page_for<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        params: &QueryParams<'_, E>,
    ) -> Result<KeysetPage<E::Model>>
    where
        E: EntityTrait,
        E::Model: FromQueryResult + Send + Sync,
        C: ConnectionTrait,
    {
        let select = select.filter(params.condition(db.get_database_backend()));
        self.page(
            db,
            select,
            &params.order_by(),
            params.cursor(),
            params.per_page(),
            &params.fingerprint(),
        )
        .await
    }
}

/// `order` with the primary key appended where missing, so rows are totally ordered.
fn unique_order<E: EntityTrait>(order: &[(E::Column, Order)]) -> Vec<(E::Column, Order)> {
    let mut out = order.to_vec();
    for pk in E::PrimaryKey::iter() {
        let column = pk.into_column();
        if !out.iter().any(|(c, _)| c.as_str() == column.as_str()) {
            out.push((column, Order::Asc));
        }
    }
    out
}

/// The rows strictly after `values` in `order`.
///
/// When every column goes the same way this is one row-value comparison,
/// `(a, b) > (x, y)`, which an index on `(a, b)` answers with a single range scan; mixed
/// directions expand to `a > x OR (a = x AND b < y) ...`.
fn after<C: ColumnTrait>(order: &[(C, Order)], values: Vec<Value>) -> Condition {
    let all_asc = order.iter().all(|(_, o)| matches!(o, Order::Asc));
    let all_desc = order.iter().all(|(_, o)| matches!(o, Order::Desc));
    if all_asc || all_desc {
        let cols = Expr::tuple(order.iter().map(|(c, _)| c.into_expr()));
        // `save_as` casts to a PostgreSQL enum type where the column needs it.
        let vals = Expr::tuple(
            order
                .iter()
                .zip(values)
                .map(|((c, _), v)| c.save_as(Expr::val(v))),
        );
        return Condition::all().add(if all_asc {
            cols.gt(vals)
        } else {
            cols.lt(vals)
        });
    }
    let mut any = Condition::any();
    for (i, (column, dir)) in order.iter().enumerate() {
        let mut branch = Condition::all();
        for ((earlier, _), v) in order.iter().zip(&values).take(i) {
            branch = branch.add(ColumnTrait::eq(earlier, v.clone()));
        }
        let v = values[i].clone();
        branch = branch.add(match dir {
            Order::Desc => ColumnTrait::lt(column, v),
            _ => ColumnTrait::gt(column, v),
        });
        any = any.add(branch);
    }
    // The first column's bound alone lets the planner use an index on it.
    let (first, dir) = &order[0];
    let first_bound = match dir {
        Order::Desc => ColumnTrait::lte(first, values[0].clone()),
        _ => ColumnTrait::gte(first, values[0].clone()),
    };
    Condition::all().add(first_bound).add(any)
}

fn hex16(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().take(16).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_detects_tampering() {
        let ks = Keyset::new(b"k".repeat(32));
        let fp = [7u8; 32];
        let c = ks.encode(vec![serde_json::json!(5), serde_json::json!("x")], &fp);
        assert_eq!(ks.decode(&c, &fp, 2).unwrap().len(), 2);

        // Flip one character of the payload.
        let mut bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
        bytes[6] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert!(matches!(
            ks.decode(&forged, &fp, 2),
            Err(Error::InvalidCursor(
                CursorError::BadSignature | CursorError::Malformed
            ))
        ));
        // Another key.
        let other = Keyset::new(b"j".repeat(32));
        assert!(matches!(
            other.decode(&c, &fp, 2),
            Err(Error::InvalidCursor(CursorError::BadSignature))
        ));
        // Another listing.
        assert!(matches!(
            ks.decode(&c, &[8u8; 32], 2),
            Err(Error::InvalidCursor(CursorError::WrongListing))
        ));
        assert!(matches!(
            ks.decode("not a cursor!", &fp, 2),
            Err(Error::InvalidCursor(CursorError::Malformed))
        ));
    }

    #[test]
    fn expired_cursor_is_refused() {
        let ks = Keyset::new(b"k".repeat(32)).max_age(Some(Duration::from_mins(1)));
        let payload = Payload {
            v: vec![serde_json::json!(1)],
            f: hex16(&[1u8; 32]),
            t: now() - 3600,
        };
        let mut bytes = serde_json::to_vec(&payload).unwrap();
        let mut mac = ks.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        let cursor = URL_SAFE_NO_PAD.encode(bytes);
        assert!(matches!(
            ks.decode(&cursor, &[1u8; 32], 1),
            Err(Error::InvalidCursor(CursorError::Expired))
        ));
    }
}
