//! Django-style query-string filters over an allow-list of columns.
//!
//! A [`FilterSet`] names the columns a client may filter, search and order by; parsing a
//! query string gives [`QueryParams`], which apply to any `Select` of the entity. Field
//! names, lookups and orderings are checked against the allow-list and every value is
//! parsed by its column type and bound as a parameter, so nothing from the query string
//! reaches SQL text.
//!
//! | query string | meaning |
//! | --- | --- |
//! | `title=Hello` / `title__exact=Hello` | equal |
//! | `title__iexact=hello` | equal ignoring case |
//! | `views__gt=10`, `__gte`, `__lt`, `__lte` | comparisons |
//! | `id__in=1,2,3` | one of (comma separated) |
//! | `created__range=2024-01-01,2024-12-31` | between, inclusive |
//! | `title__contains=Rust`, `__icontains` | substring (`i`: ignoring case) |
//! | `title__startswith=`, `__istartswith`, `__endswith`, `__iendswith` | prefix / suffix |
//! | `rating__isnull=true` | `IS NULL` / `IS NOT NULL` |
//! | `search=rust async` | every word in one of the search fields (ignoring case) |
//! | `ordering=-created,title` | order; `-` for descending |
//! | `page=2&per_page=20` | offset pagination (see [`crate::paginate`]); `page` from 1 to 2,147,483,647 |
//! | `cursor=...` | keyset pagination (see [`crate::keyset`]) |
//!
//! ```
//! # use sea_orm::entity::prelude::*;
//! # mod post {
//! #     use sea_orm::entity::prelude::*;
//! #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//! #     #[sea_orm(table_name = "post")]
//! #     pub struct Model {
//! #         #[sea_orm(primary_key)]
//! #         pub id: i32,
//! #         pub title: String,
//! #         pub views: i32,
//! #     }
//! #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//! #     pub enum Relation {}
//! #     impl ActiveModelBehavior for ActiveModel {}
//! # }
//! use batteries_orm::filter::FilterSet;
//! use sea_orm::{DbBackend, QueryTrait};
//!
//! let filters = FilterSet::<post::Entity>::new()
//!     .field(post::Column::Title)
//!     .field(post::Column::Views)
//!     .search([post::Column::Title])
//!     .default_ordering("-views");
//!
//! let params = filters.parse("title__icontains=rust&views__gte=10").unwrap();
//! let sql = params
//!     .apply(post::Entity::find(), DbBackend::Sqlite)
//!     .build(DbBackend::Sqlite)
//!     .to_string();
//! assert!(sql.contains(r#"LOWER("post"."title") LIKE LOWER('%rust%') ESCAPE '!'"#), "{sql}");
//!
//! let err = filters.parse("titel=x").unwrap_err();
//! assert_eq!(err.to_string(), "unknown filter field `titel`; allowed: title, views");
//! ```

use std::fmt;
use std::marker::PhantomData;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DbBackend, EntityTrait, IdenStatic, Iterable, Order,
    PrimaryKeyToColumn, QueryFilter, QueryOrder, Select, Value,
};
use sha2::{Digest, Sha256};

use crate::error::FilterError;
use crate::paginate::{MAX_PAGE, MAX_PER_PAGE};
use crate::value::{Kind, truncate};

/// The most parameters a query string may carry.
const MAX_PARAMS: usize = 64;
/// The longest query string accepted, in bytes.
const MAX_QUERY_LEN: usize = 8 * 1024;
/// The most values an `__in` lookup may list.
const MAX_IN_VALUES: usize = 500;
/// The most words a search may have.
const MAX_SEARCH_TERMS: usize = 10;

/// A Django field lookup: the part after `__` in `title__icontains`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lookup {
    /// `field=v` or `field__exact=v`.
    Exact,
    /// Equal ignoring case.
    IExact,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// One of a comma-separated list.
    In,
    /// Substring, case-sensitive.
    Contains,
    /// Substring, ignoring case.
    IContains,
    /// Prefix, case-sensitive.
    StartsWith,
    /// Prefix, ignoring case.
    IStartsWith,
    /// Suffix, case-sensitive.
    EndsWith,
    /// Suffix, ignoring case.
    IEndsWith,
    /// `true`: `IS NULL`; `false`: `IS NOT NULL`.
    IsNull,
    /// Between two comma-separated bounds, inclusive.
    Range,
}

impl Lookup {
    const ALL: [Lookup; 15] = [
        Lookup::Exact,
        Lookup::IExact,
        Lookup::Gt,
        Lookup::Gte,
        Lookup::Lt,
        Lookup::Lte,
        Lookup::In,
        Lookup::Contains,
        Lookup::IContains,
        Lookup::StartsWith,
        Lookup::IStartsWith,
        Lookup::EndsWith,
        Lookup::IEndsWith,
        Lookup::IsNull,
        Lookup::Range,
    ];

    /// The lookup's name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Exact => "exact",
            Lookup::IExact => "iexact",
            Lookup::Gt => "gt",
            Lookup::Gte => "gte",
            Lookup::Lt => "lt",
            Lookup::Lte => "lte",
            Lookup::In => "in",
            Lookup::Contains => "contains",
            Lookup::IContains => "icontains",
            Lookup::StartsWith => "startswith",
            Lookup::IStartsWith => "istartswith",
            Lookup::EndsWith => "endswith",
            Lookup::IEndsWith => "iendswith",
            Lookup::IsNull => "isnull",
            Lookup::Range => "range",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

    fn applies_to(self, kind: &Kind) -> bool {
        match self {
            Lookup::IsNull => true,
            Lookup::Exact | Lookup::In => !matches!(kind, Kind::Json | Kind::Bytes | Kind::Other),
            Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte | Lookup::Range => {
                kind.is_ordered()
            }
            Lookup::IExact
            | Lookup::Contains
            | Lookup::IContains
            | Lookup::StartsWith
            | Lookup::IStartsWith
            | Lookup::EndsWith
            | Lookup::IEndsWith => kind.is_text(),
        }
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Field<C> {
    name: String,
    column: C,
    kind: Kind,
}

/// The allow-list of fields a client may filter, search and order an entity by, and the
/// names of the reserved parameters. Build it once and share it (it is `Send + Sync`).
#[must_use]
pub struct FilterSet<E: EntityTrait> {
    fields: Vec<Field<E::Column>>,
    search: Vec<E::Column>,
    default_ordering: Vec<(usize, Order)>,
    default_ordering_src: Option<String>,
    ignored: Vec<String>,
    search_param: String,
    default_per_page: u64,
    max_per_page: u64,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> Default for FilterSet<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: EntityTrait> fmt::Debug for FilterSet<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterSet")
            .field("fields", &self.allowed_fields())
            .field("search_param", &self.search_param)
            .finish_non_exhaustive()
    }
}

impl<E: EntityTrait> FilterSet<E> {
    /// An empty allow-list: nothing may be filtered or ordered until fields are added.
    pub fn new() -> Self {
        Self {
            fields: Vec::new(),
            search: Vec::new(),
            default_ordering: Vec::new(),
            default_ordering_src: None,
            ignored: Vec::new(),
            search_param: "search".into(),
            default_per_page: 20,
            max_per_page: 100,
            _entity: PhantomData,
        }
    }

    /// Allows filtering and ordering by `column`, under the column's own name.
    pub fn field(self, column: E::Column) -> Self {
        let name = column.as_str().to_owned();
        self.field_as(name, column)
    }

    /// Allows filtering and ordering by `column` under another public name (for
    /// example `author` for the `author_id` column).
    pub fn field_as(mut self, name: impl Into<String>, column: E::Column) -> Self {
        let name = name.into();
        let kind = Kind::of(column.def().get_column_type());
        self.fields.retain(|f| f.name != name);
        self.fields.push(Field { name, column, kind });
        self
    }

    /// Allows every column of the entity under its own name.
    pub fn all_fields(mut self) -> Self {
        for column in E::Column::iter() {
            self = self.field(column);
        }
        self
    }

    /// The columns the `search` parameter looks in (each word must appear, ignoring
    /// case, in at least one of them).
    pub fn search(mut self, columns: impl IntoIterator<Item = E::Column>) -> Self {
        self.search = columns.into_iter().collect();
        self
    }

    /// Renames the search parameter (default `search`; Django's admin uses `q`).
    pub fn search_param(mut self, name: impl Into<String>) -> Self {
        self.search_param = name.into();
        self
    }

    /// The ordering used when the query string gives none, in the same syntax as the
    /// `ordering` parameter (`-created,title`). Fields must already be allowed.
    ///
    /// # Panics
    /// When it names a field that is not allowed: this is a programming error, caught
    /// the first time the filter set is built.
    pub fn default_ordering(mut self, ordering: &str) -> Self {
        match self.parse_ordering(ordering) {
            Ok(o) => self.default_ordering = o,
            Err(e) => panic!("invalid default ordering: {e}"),
        }
        self.default_ordering_src = Some(ordering.to_owned());
        self
    }

    /// Query parameters the application handles itself; they are accepted and ignored
    /// instead of being refused as unknown fields.
    pub fn ignore(mut self, param: impl Into<String>) -> Self {
        self.ignored.push(param.into());
        self
    }

    /// Page size when `per_page` is absent (default 20; from 1 to
    /// [`MAX_PER_PAGE`]).
    pub fn default_per_page(mut self, n: u64) -> Self {
        self.default_per_page = n.clamp(1, MAX_PER_PAGE);
        self
    }

    /// Largest `per_page` a client may ask for (default 100; from 1 to
    /// [`MAX_PER_PAGE`]). The `page` a client may ask
    /// for is at most [`MAX_PAGE`], so that the offset
    /// always fits the database's integer.
    pub fn max_per_page(mut self, n: u64) -> Self {
        self.max_per_page = n.clamp(1, MAX_PER_PAGE);
        self
    }

    fn allowed_fields(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn orderable_fields(&self) -> String {
        self.fields
            .iter()
            .filter(|f| is_orderable(&f.kind))
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn find_field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Parses a raw query string (`a=1&b__gt=2`, percent-encoded, `+` for space).
    ///
    /// # Errors
    /// A [`FilterError`] naming the offending parameter and what is allowed.
    pub fn parse(&self, query: &str) -> Result<QueryParams<'_, E>, FilterError> {
        if query.len() > MAX_QUERY_LEN {
            return Err(FilterError::TooLarge(format!(
                "{} bytes, at most {MAX_QUERY_LEN}",
                query.len()
            )));
        }
        let pairs = url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes());
        self.parse_pairs(pairs)
    }

    /// Parses already-decoded `(name, value)` pairs, as a framework's query extractor
    /// gives them.
    ///
    /// # Errors
    /// A [`FilterError`] naming the offending parameter and what is allowed.
    pub fn parse_pairs<K, V>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<QueryParams<'_, E>, FilterError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut params = QueryParams {
            filters: Vec::new(),
            search: Vec::new(),
            ordering: None,
            page: 1,
            per_page: self.default_per_page,
            cursor: None,
            set: self,
        };
        let pairs: Vec<(K, V)> = pairs.into_iter().take(MAX_PARAMS + 1).collect();
        if pairs.len() > MAX_PARAMS {
            return Err(FilterError::TooLarge(format!(
                "more than {MAX_PARAMS} parameters"
            )));
        }
        for (key, value) in &pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "ordering" => params.ordering = Some(self.parse_ordering(value)?),
                "page" => params.page = parse_positive("page", value, MAX_PAGE)?,
                "per_page" => {
                    params.per_page = parse_positive("per_page", value, self.max_per_page)?;
                }
                "cursor" => params.cursor = Some(value.to_owned()),
                k if k == self.search_param => {
                    params.search = value
                        .split_whitespace()
                        .map(str::to_owned)
                        .take(MAX_SEARCH_TERMS)
                        .collect();
                    if !params.search.is_empty() && self.search.is_empty() {
                        return Err(FilterError::UnknownField {
                            field: k.to_owned(),
                            allowed: self.allowed_fields(),
                        });
                    }
                }
                k if self.ignored.iter().any(|i| i == k) => {}
                k => params.filters.push(self.parse_filter(k, value)?),
            }
        }
        Ok(params)
    }

    fn parse_filter(&self, key: &str, value: &str) -> Result<Filter, FilterError> {
        let (name, lookup_name) = match key.rsplit_once("__") {
            Some((name, lookup)) if self.find_field(key).is_none() => (name, Some(lookup)),
            _ => (key, None),
        };
        let Some(index) = self.find_field(name) else {
            return Err(FilterError::UnknownField {
                field: truncate(name),
                allowed: self.allowed_fields(),
            });
        };
        let field = &self.fields[index];
        let allowed_lookups = || {
            Lookup::ALL
                .iter()
                .filter(|l| l.applies_to(&field.kind))
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lookup = match lookup_name {
            None => Lookup::Exact,
            Some(l) => match Lookup::from_name(l) {
                Some(l) if l.applies_to(&field.kind) => l,
                _ => {
                    return Err(FilterError::UnknownLookup {
                        field: field.name.clone(),
                        lookup: truncate(l),
                        allowed: allowed_lookups(),
                    });
                }
            },
        };
        let invalid = |expected: String| FilterError::InvalidValue {
            field: truncate(key),
            value: truncate(value),
            expected,
        };
        let one = |s: &str| field.kind.parse(s).map_err(&invalid);
        let operand = match lookup {
            Lookup::IsNull => match Kind::Bool.parse(value) {
                Ok(Value::Bool(Some(b))) => Operand::Flag(b),
                _ => return Err(invalid(Kind::Bool.expected())),
            },
            Lookup::In => {
                let items: Vec<&str> = value.split(',').filter(|s| !s.is_empty()).collect();
                if items.is_empty() || items.len() > MAX_IN_VALUES {
                    return Err(invalid(format!(
                        "a comma-separated list of 1 to {MAX_IN_VALUES} values, each {}",
                        field.kind.expected()
                    )));
                }
                Operand::Many(items.into_iter().map(one).collect::<Result<_, _>>()?)
            }
            Lookup::Range => match value.split_once(',') {
                Some((a, b)) if !b.contains(',') => Operand::Pair(one(a)?, one(b)?),
                _ => {
                    return Err(invalid(format!(
                        "two comma-separated bounds, each {}",
                        field.kind.expected()
                    )));
                }
            },
            Lookup::Contains
            | Lookup::IContains
            | Lookup::StartsWith
            | Lookup::IStartsWith
            | Lookup::EndsWith
            | Lookup::IEndsWith
            | Lookup::IExact => Operand::Text(value.to_owned()),
            _ => Operand::One(one(value)?),
        };
        Ok(Filter {
            field: index,
            lookup,
            operand,
        })
    }

    fn parse_ordering(&self, value: &str) -> Result<Vec<(usize, Order)>, FilterError> {
        let mut out = Vec::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, order) = match part.strip_prefix('-') {
                Some(name) => (name, Order::Desc),
                None => (part.trim_start_matches('+'), Order::Asc),
            };
            match self.find_field(name) {
                Some(i) if is_orderable(&self.fields[i].kind) => {
                    if !out.iter().any(|(j, _)| *j == i) {
                        out.push((i, order));
                    }
                }
                _ => {
                    return Err(FilterError::UnknownOrdering {
                        field: truncate(name),
                        allowed: self.orderable_fields(),
                    });
                }
            }
        }
        Ok(out)
    }
}

fn is_orderable(kind: &Kind) -> bool {
    kind.is_ordered() || matches!(kind, Kind::Bool | Kind::Enum(_))
}

fn parse_positive(param: &'static str, value: &str, max: u64) -> Result<u64, FilterError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= 1 && n <= max => Ok(n),
        _ => Err(FilterError::InvalidPage {
            param,
            value: truncate(value),
            expected: format!("expected an integer from 1 to {max}"),
        }),
    }
}

#[derive(Debug, Clone)]
enum Operand {
    One(Value),
    Many(Vec<Value>),
    Pair(Value, Value),
    Flag(bool),
    Text(String),
}

#[derive(Debug, Clone)]
struct Filter {
    field: usize,
    lookup: Lookup,
    operand: Operand,
}

/// A parsed, validated query string, ready to apply to a `Select`.
pub struct QueryParams<'a, E: EntityTrait> {
    filters: Vec<Filter>,
    search: Vec<String>,
    ordering: Option<Vec<(usize, Order)>>,
    page: u64,
    per_page: u64,
    cursor: Option<String>,
    set: &'a FilterSet<E>,
}

impl<E: EntityTrait> fmt::Debug for QueryParams<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryParams")
            .field("filters", &self.filters)
            .field("search", &self.search)
            .field("ordering", &self.ordering)
            .field("page", &self.page)
            .field("per_page", &self.per_page)
            .finish_non_exhaustive()
    }
}

impl<E: EntityTrait> QueryParams<'_, E> {
    /// The 1-based page number (`page`, default 1).
    pub fn page(&self) -> u64 {
        self.page
    }

    /// The page size (`per_page`, bounded by [`FilterSet::max_per_page`]).
    pub fn per_page(&self) -> u64 {
        self.per_page
    }

    /// The keyset cursor (`cursor`), if one was given.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The `WHERE` condition of the filters and the search, for `backend`.
    pub fn condition(&self, backend: DbBackend) -> Condition {
        let mut cond = Condition::all();
        for f in &self.filters {
            let field = &self.set.fields[f.field];
            cond = cond.add(filter_expr(field.column, f.lookup, &f.operand, backend));
        }
        for term in &self.search {
            let mut any = Condition::any();
            for column in &self.set.search {
                any = any.add(text_match(*column, Lookup::IContains, term, backend));
            }
            cond = cond.add(any);
        }
        cond
    }

    /// The ordering: the one asked for, else the default, then the primary key as a
    /// tie-breaker so that pages never overlap.
    pub fn order_by(&self) -> Vec<(E::Column, Order)> {
        let chosen = self.ordering.as_ref().unwrap_or(&self.set.default_ordering);
        let mut out: Vec<(E::Column, Order)> = chosen
            .iter()
            .map(|(i, o)| (self.set.fields[*i].column, o.clone()))
            .collect();
        for pk in E::PrimaryKey::iter() {
            let column = pk.into_column();
            if !out.iter().any(|(c, _)| c.as_str() == column.as_str()) {
                out.push((column, Order::Asc));
            }
        }
        out
    }

    /// Applies the condition and the ordering to `select`.
    pub fn apply(&self, select: Select<E>, backend: DbBackend) -> Select<E> {
        let mut select = select.filter(self.condition(backend));
        for (column, order) in self.order_by() {
            select = select.order_by(column, order);
        }
        select
    }

    /// A digest of the filters, search and ordering (not the page): keyset cursors carry
    /// it so that a cursor cannot be replayed against another listing.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(E::default().table_name().as_bytes());
        for f in &self.filters {
            h.update(format!("|{}:{}:{:?}", f.field, f.lookup, f.operand).as_bytes());
        }
        for t in &self.search {
            h.update(format!("|s:{t}").as_bytes());
        }
        for (c, o) in self.order_by() {
            h.update(format!("|o:{}:{o:?}", c.as_str()).as_bytes());
        }
        h.finalize().into()
    }
}

fn filter_expr<C: ColumnTrait>(
    column: C,
    lookup: Lookup,
    operand: &Operand,
    backend: DbBackend,
) -> Expr {
    // `ColumnTrait`'s operators cast values to a PostgreSQL enum type where needed.
    match (lookup, operand) {
        (Lookup::IsNull, Operand::Flag(true)) => column.into_expr().is_null(),
        (Lookup::IsNull, Operand::Flag(false)) => column.into_expr().is_not_null(),
        (Lookup::In, Operand::Many(values)) => ColumnTrait::is_in(&column, values.iter().cloned()),
        (Lookup::Range, Operand::Pair(a, b)) => ColumnTrait::between(&column, a.clone(), b.clone()),
        (Lookup::Gt, Operand::One(v)) => ColumnTrait::gt(&column, v.clone()),
        (Lookup::Gte, Operand::One(v)) => ColumnTrait::gte(&column, v.clone()),
        (Lookup::Lt, Operand::One(v)) => ColumnTrait::lt(&column, v.clone()),
        (Lookup::Lte, Operand::One(v)) => ColumnTrait::lte(&column, v.clone()),
        (_, Operand::Text(text)) => text_match(column, lookup, text, backend),
        (_, Operand::One(v)) => ColumnTrait::eq(&column, v.clone()),
        // The parser pairs each lookup with its operand; anything else matches nothing.
        _ => Expr::val(1).eq(0),
    }
}

/// The escape character of our `LIKE` patterns. Not a backslash: MySQL would read a
/// backslash in the `ESCAPE '\'` literal as an escape of its own.
const LIKE_ESCAPE: char = '!';

/// Escapes `%`, `_` and the escape character for a `LIKE ... ESCAPE '!'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_') || c == LIKE_ESCAPE {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

/// Escapes `*`, `?` and `[` for SQLite's `GLOB`.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// A text lookup. The column goes in as an expression and the pattern as a bound value;
/// only the fixed SQL around them is text.
fn text_match<C: ColumnTrait>(column: C, lookup: Lookup, text: &str, backend: DbBackend) -> Expr {
    let (any_before, any_after) = match lookup {
        Lookup::Contains | Lookup::IContains => (true, true),
        Lookup::StartsWith | Lookup::IStartsWith => (false, true),
        Lookup::EndsWith | Lookup::IEndsWith => (true, false),
        _ => (false, false),
    };
    let pattern = |escaped: String, wildcard: &str| {
        let before = if any_before { wildcard } else { "" };
        let after = if any_after { wildcard } else { "" };
        Expr::val(format!("{before}{escaped}{after}"))
    };
    let col = column.into_expr();
    let (sql, pattern) = match (lookup, backend) {
        (Lookup::IExact, _) => ("LOWER($1) = LOWER($2)", Expr::val(text.to_owned())),
        (Lookup::IContains | Lookup::IStartsWith | Lookup::IEndsWith, _) => (
            "LOWER($1) LIKE LOWER($2) ESCAPE '!'",
            pattern(like_escape(text), "%"),
        ),
        // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive matcher.
        (_, DbBackend::Sqlite) => ("$1 GLOB $2", pattern(glob_escape(text), "*")),
        // MySQL compares with the column's (usually case-insensitive) collation unless
        // the pattern is binary, as Django does for `contains`.
        (_, DbBackend::MySql) => (
            "$1 LIKE BINARY $2 ESCAPE '!'",
            pattern(like_escape(text), "%"),
        ),
        _ => ("$1 LIKE $2 ESCAPE '!'", pattern(like_escape(text), "%")),
    };
    // sea-query substitutes `$N` on PostgreSQL and `?` elsewhere.
    let sql = if backend == DbBackend::Postgres {
        sql.to_owned()
    } else {
        sql.replace("$1", "?").replace("$2", "?")
    };
    Expr::cust_with_exprs(sql, [col, pattern])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(like_escape("50%_!x"), "50!%!_!!x");
        assert_eq!(glob_escape("a*b?[c]"), "a[*]b[?][[]c]");
    }
}
