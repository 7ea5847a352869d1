//! [`EntityAdmin`]: a [`ModelAdmin`] built for one entity, implementing [`AdminModel`].

use std::collections::HashMap;

use std::sync::Arc;

use async_trait::async_trait;
use batteries_orm::filter::FilterSet;
use batteries_orm::paginate::Paginator;
use batteries_orm::value::{Kind, set_column, to_json};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, IntoActiveModel, Iterable, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationDef, RelationTrait, Value,
};

use batteries_auth::AuthUser;

use super::action::Action;
use super::field::{ForeignKey, label_of, pk_string};
use super::hooks::{
    AdminAction, DeleteHook, DisplayFn, FieldsetsHook, ObjectPerms, ReadonlyHook, SaveHook,
};
use super::inline::InlineSet;
use super::{
    AdminModel, DatePart, ExportFrom, ListError, ListPage, ModelInfo, Row, SaveError,
    expand_date_params,
};

pub(crate) struct EntityAdmin<E: EntityTrait> {
    pub(crate) info: ModelInfo,
    pub(crate) columns: Vec<E::Column>,
    pub(crate) filters: FilterSet<E>,
    pub(crate) computed: Vec<DisplayFn<E::Model>>,
    pub(crate) display: Option<DisplayFn<E::Model>>,
    pub(crate) on_save: Option<SaveHook<E::ActiveModel>>,
    pub(crate) on_delete: Option<DeleteHook<E::Model>>,
    pub(crate) actions: Vec<AdminAction<E::Model>>,
    pub(crate) object_perms: ObjectPerms<E::Model>,
    pub(crate) readonly_hook: Option<ReadonlyHook<E::Model>>,
    pub(crate) fieldsets_hook: Option<FieldsetsHook<E::Model, E::Column>>,
    pub(crate) inlines: Vec<InlineSet>,
}

pub(crate) fn foreign_keys<E: EntityTrait>() -> HashMap<String, ForeignKey>
where
    E::Relation: RelationTrait,
{
    let mut out = HashMap::new();
    for relation in E::Relation::iter() {
        let def: RelationDef = relation.def();
        // `belongs_to` relations are the ones whose `from_col` is this entity's foreign
        // key column; SeaORM marks them `is_owner == false` (`has_many`/`has_one` are
        // the reverse of the other entity's `belongs_to`).
        if def.is_owner {
            continue;
        }
        if let (
            sea_orm::Identity::Unary(from),
            sea_orm::Identity::Unary(to),
            sea_orm::sea_query::TableRef::Table(table, _),
        ) = (&def.from_col, &def.to_col, &def.to_tbl)
        {
            out.insert(
                from.to_string(),
                ForeignKey {
                    table: table.1.to_string(),
                    column: to.to_string(),
                    on_delete: def.on_delete.as_ref().map(|a| {
                        use sea_orm::sea_query::ForeignKeyAction as A;
                        match a {
                            A::Cascade => "CASCADE",
                            A::SetNull => "SET NULL",
                            A::SetDefault => "SET DEFAULT",
                            A::Restrict => "RESTRICT",
                            _ => "NO ACTION",
                        }
                        .to_owned()
                    }),
                },
            );
        }
    }
    out
}

impl<E> EntityAdmin<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    fn pk_column(&self) -> E::Column {
        self.columns[self.info.pk]
    }

    fn parse_pk(&self, pk: &str) -> Option<Value> {
        let field = self.info.pk_field();
        field.kind.parse(pk).ok()
    }

    fn row(&self, model: &E::Model) -> Row {
        let values: Vec<Value> = self.columns.iter().map(|c| model.get(*c)).collect();
        let pk = pk_string(&values[self.info.pk]);
        let repr = match &self.display {
            Some(f) => f(model),
            None => format!("{} object ({pk})", label_of(&self.info.verbose_name)),
        };
        Row {
            model: (self.object_perms.any()
                || self.readonly_hook.is_some()
                || self.fieldsets_hook.is_some())
            .then(|| Arc::new(model.clone()) as Arc<dyn std::any::Any + Send + Sync>),
            pk,
            computed: self.computed.iter().map(|f| f(model)).collect(),
            values,
            repr,
        }
    }

    async fn models_by_pk(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        pks: &[String],
    ) -> Result<Vec<E::Model>, DbErr> {
        let values: Vec<Value> = pks.iter().filter_map(|p| self.parse_pk(p)).collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        E::find()
            .filter(self.pk_column().is_in(values))
            .order_by_asc(self.pk_column())
            .all(db)
            .await
    }
}

#[async_trait]
impl<E> AdminModel for EntityAdmin<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn object_allows(&self, user: &dyn AuthUser, action: Action, row: &Row) -> bool {
        let model = || {
            row.model
                .as_ref()
                .and_then(|m| m.downcast_ref::<E::Model>())
        };
        if let Some(superuser_only) = &self.object_perms.superuser_only
            && matches!(action, Action::Change | Action::Delete)
            && !user.is_superuser()
        {
            // A row read without its model cannot be judged: refuse.
            match model() {
                Some(m) if !superuser_only(m) => {}
                _ => return false,
            }
        }
        let hook = match action {
            Action::View => &self.object_perms.view,
            Action::Change => &self.object_perms.change,
            Action::Delete => &self.object_perms.delete,
            Action::Add | Action::Export => return true,
        };
        let Some(hook) = hook else { return true };
        // A row read without its model cannot be judged: refuse.
        row.model
            .as_ref()
            .and_then(|m| m.downcast_ref::<E::Model>())
            .is_some_and(|m| hook(user, m))
    }

    fn has_object_hooks(&self) -> bool {
        self.object_perms.any()
    }

    fn denied_fields(&self, user: &dyn AuthUser, row: Option<&Row>) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if !user.is_superuser() {
            names.extend(
                self.info
                    .fields
                    .iter()
                    .filter(|f| f.superuser_only)
                    .map(|f| f.name.clone()),
            );
            names.extend(
                self.info
                    .m2m
                    .iter()
                    .filter(|m| m.meta().superuser_only)
                    .map(|m| m.meta().name.clone()),
            );
        }
        if let Some(hook) = &self.readonly_hook {
            let model = row.and_then(|r| r.model.as_ref()?.downcast_ref::<E::Model>());
            if row.is_some() && model.is_none() {
                // A row read without its model cannot be judged: every field is denied.
                names.extend(self.info.fields.iter().map(|f| f.name.clone()));
                names.extend(self.info.m2m.iter().map(|m| m.meta().name.clone()));
            } else {
                names.extend(hook(user, model));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    fn fieldsets_for(
        &self,
        user: &dyn AuthUser,
        row: Option<&Row>,
    ) -> Option<Vec<(Option<String>, Vec<usize>)>> {
        let hook = self.fieldsets_hook.as_ref()?;
        let model = row.and_then(|r| r.model.as_ref()?.downcast_ref::<E::Model>());
        if row.is_some() && model.is_none() {
            return Some(Vec::new());
        }
        let index_of = |c: &E::Column| self.columns.iter().position(|x| x.as_str() == c.as_str());
        Some(
            hook(user, model)
                .into_iter()
                .map(|(title, cols)| (title, cols.iter().filter_map(index_of).collect()))
                .collect(),
        )
    }

    async fn list(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        count_limit: u64,
    ) -> Result<ListPage, ListError> {
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let params = self
            .filters
            .parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| ListError::Query(e.to_string()))?;
        let page = Paginator::new()
            .count_limit(count_limit)
            .page_for(db, E::find(), &params)
            .await
            .map_err(|e| match e {
                batteries_orm::Error::Db(e) => ListError::Db(e),
                other => ListError::Query(other.to_string()),
            })?;
        Ok(ListPage {
            rows: page.items.iter().map(|m| self.row(m)).collect(),
            total: page.total,
            number: page.number,
            per_page: page.per_page,
            has_next: page.has_next,
        })
    }

    async fn matching_pks(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        cap: u64,
    ) -> Result<Option<Vec<String>>, ListError> {
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let pairs = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let params = self
            .filters
            .parse_pairs(pairs)
            .map_err(|e| ListError::Query(e.to_string()))?;
        let rows = params
            .apply(E::find(), db.get_database_backend())
            .limit(cap + 1)
            .all(db)
            .await
            .map_err(ListError::Db)?;
        if rows.len() as u64 > cap {
            return Ok(None);
        }
        Ok(Some(
            rows.iter()
                .map(|m| pk_string(&m.get(self.pk_column())))
                .collect(),
        ))
    }

    async fn dates(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        column: usize,
        part: DatePart,
    ) -> Result<Vec<i64>, ListError> {
        use sea_orm::sea_query::{Expr, SimpleExpr};
        let pairs = expand_date_params(&self.info, pairs).map_err(ListError::Query)?;
        let params = self
            .filters
            .parse_pairs(
                pairs
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "page" | "per_page" | "ordering" | "cursor")
                    })
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|e| ListError::Query(e.to_string()))?;
        let backend = db.get_database_backend();
        let col = self.columns[column];
        let utc = matches!(self.info.fields[column].kind, Kind::DateTimeTz);
        // The part as a BIGINT on every backend; date-times in UTC (SQLite's strftime
        // converts offsets to UTC; sqlx's MySQL sessions run in UTC). The column's
        // placeholder is `$1` for PostgreSQL and `?` for the others.
        let sql = match (backend, part) {
            (sea_orm::DbBackend::Sqlite, DatePart::Year) => "CAST(strftime('%Y', ?) AS INTEGER)",
            (sea_orm::DbBackend::Sqlite, DatePart::Month) => "CAST(strftime('%m', ?) AS INTEGER)",
            (sea_orm::DbBackend::Sqlite, DatePart::Day) => "CAST(strftime('%d', ?) AS INTEGER)",
            (sea_orm::DbBackend::MySql, DatePart::Year) => "CAST(YEAR(?) AS SIGNED)",
            (sea_orm::DbBackend::MySql, DatePart::Month) => "CAST(MONTH(?) AS SIGNED)",
            (sea_orm::DbBackend::MySql, DatePart::Day) => "CAST(DAY(?) AS SIGNED)",
            (_, DatePart::Year) if utc => {
                "CAST(EXTRACT(YEAR FROM $1 AT TIME ZONE 'UTC') AS BIGINT)"
            }
            (_, DatePart::Month) if utc => {
                "CAST(EXTRACT(MONTH FROM $1 AT TIME ZONE 'UTC') AS BIGINT)"
            }
            (_, DatePart::Day) if utc => "CAST(EXTRACT(DAY FROM $1 AT TIME ZONE 'UTC') AS BIGINT)",
            (_, DatePart::Year) => "CAST(EXTRACT(YEAR FROM $1) AS BIGINT)",
            (_, DatePart::Month) => "CAST(EXTRACT(MONTH FROM $1) AS BIGINT)",
            (_, DatePart::Day) => "CAST(EXTRACT(DAY FROM $1) AS BIGINT)",
        };
        let part_expr: SimpleExpr = Expr::cust_with_exprs(sql, [Expr::col(col)]);
        let mut found: Vec<i64> = E::find()
            .select_only()
            .column_as(part_expr, "part")
            .filter(params.condition(backend))
            .filter(col.is_not_null())
            .distinct()
            .limit(10_000)
            .into_tuple::<i64>()
            .all(db)
            .await
            .map_err(ListError::Db)?;
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    async fn get(&self, db: &DatabaseConnection, pk: &str) -> Result<Option<Row>, DbErr> {
        let Some(value) = self.parse_pk(pk) else {
            return Ok(None);
        };
        Ok(E::find()
            .filter(self.pk_column().eq(value))
            .one(db)
            .await?
            .map(|m| self.row(&m)))
    }

    async fn get_many(&self, db: &DatabaseConnection, pks: &[String]) -> Result<Vec<Row>, DbErr> {
        Ok(self
            .models_by_pk(db, pks)
            .await?
            .iter()
            .map(|m| self.row(m))
            .collect())
    }

    async fn reprs(
        &self,
        db: &DatabaseConnection,
        values: Vec<Value>,
    ) -> Result<HashMap<String, String>, DbErr> {
        if values.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = E::find()
            .filter(self.pk_column().is_in(values))
            .all(db)
            .await?;
        Ok(rows
            .iter()
            .map(|m| {
                let row = self.row(m);
                (row.pk, row.repr)
            })
            .collect())
    }

    async fn choices(
        &self,
        db: &DatabaseConnection,
        term: Option<&str>,
        limit: u64,
    ) -> Result<Vec<(String, String)>, DbErr> {
        let mut select = E::find();
        if let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) {
            let mut any = sea_orm::Condition::any();
            if !self.info.search.is_empty() {
                // The changelist's own search, so both find the same rows.
                if let Ok(params) = self.filters.parse_pairs([("q", term)]) {
                    any = any.add(params.condition(db.get_database_backend()));
                }
            }
            if let Ok(pk) = self.info.pk_field().kind.parse(term) {
                any = any.add(self.pk_column().eq(pk));
            }
            select = select.filter(any);
        }
        let rows = select
            .order_by_asc(self.pk_column())
            .limit(limit)
            .all(db)
            .await?;
        Ok(rows
            .iter()
            .map(|m| {
                let row = self.row(m);
                (row.pk, row.repr)
            })
            .collect())
    }

    async fn related(
        &self,
        db: &DatabaseConnection,
        column: usize,
        values: Vec<Value>,
        examples: u64,
    ) -> Result<(u64, Vec<String>), DbErr> {
        if values.is_empty() {
            return Ok((0, Vec::new()));
        }
        let select = E::find().filter(self.columns[column].is_in(values));
        let count = select.clone().count(db).await?;
        let first = select
            .order_by_asc(self.pk_column())
            .limit(examples)
            .all(db)
            .await?;
        Ok((count, first.iter().map(|m| self.row(m).repr).collect()))
    }

    async fn insert(
        &self,
        db: &sea_orm::DatabaseTransaction,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        let mut active = <E::ActiveModel as ActiveModelTrait>::default();
        for (i, value) in values {
            set_column(&mut active, self.columns[i], value).map_err(|e| SaveError::Field(i, e))?;
        }
        if let Some(hook) = &self.on_save {
            hook(&mut active, false).map_err(SaveError::Invalid)?;
        }
        let model = active.insert(db).await?;
        Ok(self.row(&model))
    }

    async fn update(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pk: &str,
        values: Vec<(usize, Value)>,
    ) -> Result<Row, SaveError> {
        let Some(pk_value) = self.parse_pk(pk) else {
            return Err(SaveError::NotFound);
        };
        let Some(model) = E::find()
            .filter(self.pk_column().eq(pk_value))
            .one(db)
            .await?
        else {
            return Err(SaveError::NotFound);
        };
        let mut active = model.clone().into_active_model();
        for (i, value) in values {
            let kind = &self.info.fields[i].kind;
            if to_json(&model.get(self.columns[i]), kind) != to_json(&value, kind) {
                set_column(&mut active, self.columns[i], value)
                    .map_err(|e| SaveError::Field(i, e))?;
            }
        }
        if let Some(hook) = &self.on_save {
            hook(&mut active, true).map_err(SaveError::Invalid)?;
        }
        if !active.is_changed() {
            return Ok(self.row(&model));
        }
        let model = active.update(db).await?;
        Ok(self.row(&model))
    }

    async fn delete(
        &self,
        db: &sea_orm::DatabaseTransaction,
        pks: &[String],
    ) -> Result<u64, SaveError> {
        let models = self.models_by_pk(db, pks).await?;
        if let Some(hook) = &self.on_delete {
            for m in &models {
                hook(m).map_err(SaveError::Invalid)?;
            }
        }
        if models.is_empty() {
            return Ok(0);
        }
        let values: Vec<Value> = models.iter().map(|m| m.get(self.pk_column())).collect();
        if !self.info.m2m.is_empty() {
            // Their join rows go with them, whether or not the database cascades.
            let parents: Vec<Vec<Value>> = models
                .iter()
                .map(|m| self.columns.iter().map(|c| m.get(*c)).collect())
                .collect();
            super::m2m::clear(db, &self.info, &parents).await?;
        }
        let result = E::delete_many()
            .filter(self.pk_column().is_in(values))
            .exec(db)
            .await?;
        Ok(result.rows_affected)
    }

    async fn export_batch(
        &self,
        db: &DatabaseConnection,
        pairs: &[(String, String)],
        from: Option<ExportFrom>,
        size: u64,
    ) -> Result<(Vec<Row>, Option<ExportFrom>), ListError> {
        let pairs = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page" && k != "format")
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let params = self
            .filters
            .parse_pairs(pairs)
            .map_err(|e| ListError::Query(e.to_string()))?;
        let backend = db.get_database_backend();
        let order = params.order_by();
        let size = size.max(1);
        if order.iter().all(|(c, _)| !c.def().is_null()) {
            // A keyset: each batch is an index range, however deep into the table.
            let cursor = match from {
                Some(ExportFrom::Keyset(c)) => Some(c),
                _ => None,
            };
            let page = export_keyset()
                .page(
                    db,
                    E::find().filter(params.condition(backend)),
                    &order,
                    cursor.as_deref(),
                    size,
                    &params.fingerprint(),
                )
                .await
                .map_err(|e| match e {
                    batteries_orm::Error::Db(e) => ListError::Db(e),
                    other => ListError::Query(other.to_string()),
                })?;
            let rows = page.items.iter().map(|m| self.row(m)).collect();
            return Ok((rows, page.next_cursor.map(ExportFrom::Keyset)));
        }
        let offset = match from {
            Some(ExportFrom::Offset(n)) => n,
            _ => 0,
        };
        let items = params
            .apply(E::find(), backend)
            .offset(offset)
            .limit(size)
            .all(db)
            .await
            .map_err(ListError::Db)?;
        let next = (items.len() as u64 == size).then_some(ExportFrom::Offset(offset + size));
        Ok((items.iter().map(|m| self.row(m)).collect(), next))
    }

    async fn run_action(
        &self,
        db: &DatabaseConnection,
        name: &str,
        pks: &[String],
    ) -> Result<String, String> {
        let Some(action) = self.actions.iter().find(|a| a.name == name) else {
            return Err(format!(
                "No action named {}.",
                crate::model::field::truncate(name)
            ));
        };
        let models = self
            .models_by_pk(db, pks)
            .await
            .map_err(|_| "The database is unavailable; nothing was done.".to_owned())?;
        if models.is_empty() {
            return Err("No items selected; nothing was done.".into());
        }
        (action.f)(db.clone(), models).await
    }

    fn inlines(&self) -> &[InlineSet] {
        &self.inlines
    }

    async fn children(
        &self,
        db: &DatabaseConnection,
        column: usize,
        value: Value,
    ) -> Result<Vec<Row>, DbErr> {
        let models = E::find()
            .filter(self.columns[column].eq(value))
            .order_by_asc(self.pk_column())
            .all(db)
            .await?;
        Ok(models
            .into_iter()
            .map(|m| {
                let mut row = self.row(&m);
                if row.model.is_none() {
                    row.model = Some(Arc::new(m));
                }
                row
            })
            .collect())
    }
}

/// The signer of export cursors. They never leave the process (the next batch is asked
/// for by the export's own loop, never by a client), so a fixed key is enough.
fn export_keyset() -> &'static batteries_orm::keyset::Keyset {
    static KEYSET: std::sync::OnceLock<batteries_orm::keyset::Keyset> = std::sync::OnceLock::new();
    KEYSET.get_or_init(|| {
        batteries_orm::keyset::Keyset::new(b"batteries-admin export cursors, in-process only")
            .max_age(None)
    })
}
