//! Index advice: the columns the admin filters, orders and searches by, checked against
//! the indexes the database has (for `manage check`).

use std::collections::HashSet;
use std::fmt;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::config::AdminSite;
use crate::model::ModelInfo;

/// A column the admin queries by that no index serves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexAdvice {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// What the admin does with it (`list_filter`, `ordering`, `search_fields`).
    pub used_by: &'static str,
    /// A statement that creates a fitting index.
    pub sql: String,
}

impl fmt::Display for IndexAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} ({}) has no index: {}",
            self.table, self.column, self.used_by, self.sql
        )
    }
}

/// The indexes of a table: the first column of each, and (PostgreSQL) the definitions.
struct Indexes {
    leading: HashSet<String>,
    definitions: Vec<String>,
}

async fn indexes(db: &DatabaseConnection, table: &str) -> Result<Indexes, DbErr> {
    let backend = db.get_database_backend();
    let mut leading = HashSet::new();
    let mut definitions = Vec::new();
    match backend {
        DbBackend::Postgres => {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT a.attname AS col, pg_get_indexdef(i.indexrelid) AS def \
                     FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
                     LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
                     WHERE t.relname = $1 AND pg_table_is_visible(t.oid)",
                    [table.into()],
                ))
                .await?;
            for row in rows {
                if let Ok(col) = row.try_get::<String>("", "col") {
                    leading.insert(col);
                }
                if let Ok(def) = row.try_get::<String>("", "def") {
                    definitions.push(def);
                }
            }
        }
        DbBackend::MySql => {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT COLUMN_NAME AS col FROM information_schema.STATISTICS \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1",
                    [table.into()],
                ))
                .await?;
            for row in rows {
                if let Ok(col) = row.try_get::<String>("", "col") {
                    leading.insert(col);
                }
            }
        }
        _ => {
            // SQLite: the first column of each index (primary keys included, as
            // `sqlite_autoindex_*` or the rowid).
            let list = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT il.name AS idx, ii.name AS col FROM pragma_index_list(?) il \
                     JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0",
                    [table.into()],
                ))
                .await?;
            for row in list {
                if let Ok(col) = row.try_get::<String>("", "col") {
                    leading.insert(col);
                }
            }
        }
    }
    Ok(Indexes {
        leading,
        definitions,
    })
}

fn advice(info: &ModelInfo, field: usize, used_by: &'static str) -> IndexAdvice {
    let table = &info.table;
    let column = &info.fields[field].name;
    let sql = if used_by == "search_fields" {
        format!(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX {table}_{column}_trgm ON {table} USING gin (LOWER({column}) gin_trgm_ops);"
        )
    } else {
        format!("CREATE INDEX {table}_{column} ON {table} ({column});")
    };
    IndexAdvice {
        table: table.clone(),
        column: column.clone(),
        used_by,
        sql,
    }
}

impl AdminSite {
    /// The indexes the registered models' changelists would use but the database lacks:
    /// a B-tree index starting with each `list_filter` column and with the first column
    /// of the default ordering, and (PostgreSQL only, where one helps `LOWER(col) LIKE
    /// '%word%'`) a trigram index on each search field. Primary keys count as indexed.
    ///
    /// # Errors
    /// The database could not be asked.
    pub async fn index_advice(&self, db: &DatabaseConnection) -> Result<Vec<IndexAdvice>, DbErr> {
        let backend = db.get_database_backend();
        let mut out = Vec::new();
        for model in self.models() {
            let info = model.info();
            let found = indexes(db, &info.table).await?;
            let indexed = |i: usize| i == info.pk || found.leading.contains(&info.fields[i].name);
            let mut wanted: Vec<(usize, &'static str)> = info
                .list_filter
                .iter()
                .map(|&i| (i, "list_filter"))
                .collect();
            let first = info
                .default_ordering
                .split(',')
                .next()
                .map(|p| p.trim().trim_start_matches('-'))
                .and_then(|name| info.field_index(name));
            if let Some(i) = first {
                wanted.push((i, "ordering"));
            }
            let mut seen = HashSet::new();
            for (i, used_by) in wanted {
                if !indexed(i) && seen.insert(i) {
                    out.push(advice(info, i, used_by));
                }
            }
            if backend == DbBackend::Postgres {
                for &i in &info.search {
                    let name = &info.fields[i].name;
                    let trigram = found
                        .definitions
                        .iter()
                        .any(|d| d.contains("gin_trgm_ops") && d.contains(name.as_str()));
                    if !trigram {
                        out.push(advice(info, i, "search_fields"));
                    }
                }
            }
        }
        Ok(out)
    }
}
