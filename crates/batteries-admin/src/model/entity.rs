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
    PrimaryKeyToColumn, PrimaryKeyTrait, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    RelationTrait, Value,
};

use batteries_auth::AuthUser;

use crate::field::{Field, ForeignKey, label_of, pk_string};

use super::{
    Action, AdminModel, ChangelistOptions, Column, DatePart, DeleteHook, DisplayFn, ExportFrom,
    ListError, ListItem, ListPage, ModelAdmin, ModelInfo, ObjectPerms, PasswordInfo, Row,
    SaveError, SaveHook, expand_date_params,
};

pub(crate) struct EntityAdmin<E: EntityTrait> {
    info: ModelInfo,
    columns: Vec<E::Column>,
    filters: FilterSet<E>,
    computed: Vec<DisplayFn<E::Model>>,
    display: Option<DisplayFn<E::Model>>,
    on_save: Option<SaveHook<E::ActiveModel>>,
    on_delete: Option<DeleteHook<E::Model>>,
    actions: Vec<Action<E::Model>>,
    object_perms: ObjectPerms<E::Model>,
    readonly_hook: Option<super::ReadonlyHook<E::Model>>,
    fieldsets_hook: Option<super::FieldsetsHook<E::Model, E::Column>>,
    inlines: Vec<crate::inline::InlineSet>,
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

/// Checks `date_hierarchy` and `list_editable` (Django's rules) and gives their
/// field indices.
fn changelist_options<E: EntityTrait>(
    options: &ChangelistOptions<E>,
    fields: &[Field],
    list_display: &[Column],
    list_display_links: &[usize],
    table: &str,
    index_of: impl Fn(&E::Column) -> usize,
) -> Result<(Option<usize>, Vec<usize>), String> {
    let date_hierarchy = match &options.date_hierarchy {
        Some(c) => {
            let i = index_of(c);
            if !matches!(
                fields[i].kind,
                Kind::Date | Kind::DateTime | Kind::DateTimeTz
            ) {
                return Err(format!(
                    "date_hierarchy `{}` of `{table}` is not a date or date-time column",
                    fields[i].name
                ));
            }
            Some(i)
        }
        None => None,
    };
    let mut list_editable = Vec::new();
    for c in &options.list_editable {
        let i = index_of(c);
        let name = &fields[i].name;
        let Some(position) = list_display
            .iter()
            .position(|col| matches!(col, Column::Field(j) if *j == i))
        else {
            return Err(format!(
                "list_editable `{name}` of `{table}` is not in list_display"
            ));
        };
        if list_display_links.contains(&position) {
            return Err(format!(
                "list_editable `{name}` of `{table}` links to the change form (list_display_links); it cannot be both"
            ));
        }
        let field = &fields[i];
        if !field.editable(false) || matches!(field.kind, Kind::Json) {
            return Err(format!(
                "list_editable `{name}` of `{table}` is read-only, the primary key, or not editable in a cell"
            ));
        }
        if !list_editable.contains(&i) {
            list_editable.push(i);
        }
    }
    Ok((date_hierarchy, list_editable))
}

impl<E> EntityAdmin<E>
where
    E: EntityTrait,
    E::Model: FromQueryResult + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    pub(crate) fn new(admin: ModelAdmin<E>) -> Result<Self, String> {
        let table = E::default().table_name().to_owned();
        let mut pks = E::PrimaryKey::iter();
        let (Some(pk_col), None) = (pks.next().map(PrimaryKeyToColumn::into_column), pks.next())
        else {
            return Err(format!(
                "`{table}` needs a single-column primary key to be registered"
            ));
        };
        let auto = <E::PrimaryKey as PrimaryKeyTrait>::auto_increment();
        let fks = foreign_keys::<E>();
        let (app_default, model_default) = match table.split_once('_') {
            Some((app, model)) => (app.to_owned(), model.to_owned()),
            None => ("app".to_owned(), table.clone()),
        };
        let app_label = admin.app_label.clone().unwrap_or(app_default);
        let model_name = admin
            .model_name
            .clone()
            .unwrap_or(model_default)
            .to_lowercase();
        let verbose_name = admin
            .verbose_name
            .clone()
            .unwrap_or_else(|| model_name.replace('_', " "));
        let verbose_name_plural = admin
            .verbose_name_plural
            .clone()
            .unwrap_or_else(|| format!("{verbose_name}s"));
        let columns: Vec<E::Column> = E::Column::iter().collect();
        let has = |list: &[E::Column], c: &E::Column| list.iter().any(|x| x.as_str() == c.as_str());
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| {
                let def = c.def();
                let name = c.as_str().to_owned();
                let (kind, max_length, long_text) = Field::from_column_type(def.get_column_type());
                let primary_key = c.as_str() == pk_col.as_str();
                Field {
                    label: admin
                        .labels
                        .get(&name)
                        .cloned()
                        .unwrap_or_else(|| label_of(&name)),
                    help: admin.help.get(&name).cloned(),
                    choices: admin.choices.get(&name).cloned(),
                    kind,
                    nullable: def.is_null(),
                    primary_key,
                    auto: primary_key && auto,
                    has_default: def.get_column_default().is_some() || (primary_key && auto),
                    max_length,
                    digits: Field::digits_of(def.get_column_type()),
                    long_text,
                    unique: def.is_unique() || primary_key,
                    foreign_key: fks.get(&name).cloned(),
                    readonly: has(&admin.readonly_fields, c)
                        || admin
                            .password
                            .column
                            .is_some_and(|p| p.as_str() == c.as_str()),
                    blank: has(&admin.blank, c),
                    autocomplete: has(&admin.autocomplete_fields, c),
                    raw_id: has(&admin.raw_id_fields, c),
                    superuser_only: has(&admin.access.superuser_only, c),
                    default: admin
                        .access
                        .defaults
                        .iter()
                        .rev()
                        .find(|(d, _)| d.as_str() == c.as_str())
                        .map(|(_, v)| v.clone()),
                    name,
                }
            })
            .collect();
        if let Some(f) = fields.iter().find(|f| f.raw_id && f.foreign_key.is_none()) {
            return Err(format!(
                "raw_id_fields: `{}` of `{table}` is not a foreign key",
                f.name
            ));
        }
        let index_of = |c: &E::Column| {
            columns
                .iter()
                .position(|x| x.as_str() == c.as_str())
                .unwrap_or_default()
        };
        let pk = index_of(&pk_col);

        let mut computed = Vec::new();
        let mut list_display = Vec::new();
        for item in admin.list_display {
            match item {
                ListItem::Column(c) => list_display.push(Column::Field(index_of(&c))),
                ListItem::Computed { name, label, f } => {
                    list_display.push(Column::Computed {
                        index: computed.len(),
                        label,
                        name,
                    });
                    computed.push(f);
                }
            }
        }
        if list_display.is_empty() {
            list_display = (0..fields.len())
                .filter(|&i| !matches!(fields[i].kind, Kind::Json | Kind::Bytes | Kind::Other))
                .filter(|&i| !fields[i].long_text)
                .take(8)
                .map(Column::Field)
                .collect();
        }
        // A password hash is never listed, searched, filtered or ordered by.
        let password = admin.password.column.as_ref().map(index_of);
        list_display.retain(|c| !matches!(c, Column::Field(i) if Some(*i) == password));
        let list_display_links: Vec<usize> = if admin.list_display_links.is_empty() {
            vec![0]
        } else {
            list_display
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    matches!(c, Column::Field(i) if admin.list_display_links.contains(&fields[*i].name))
                })
                .map(|(i, _)| i)
                .collect()
        };

        // What may be ordered and filtered: the listed columns, the filters, the pk.
        let mut sortable: Vec<usize> = vec![pk];
        for c in &list_display {
            if let Column::Field(i) = c {
                sortable.push(*i);
            }
        }
        let list_filter: Vec<usize> = admin.list_filter.iter().map(index_of).collect();
        sortable.extend(list_filter.iter().copied());
        sortable.sort_unstable();
        sortable.dedup();
        sortable.retain(|&i| Some(i) != password);
        let search: Vec<usize> = admin.search_fields.iter().map(index_of).collect();
        if password.is_some_and(|p| search.contains(&p) || list_filter.contains(&p)) {
            return Err(format!(
                "the password column of `{table}` cannot be searched or filtered"
            ));
        }
        if let Some(i) = search
            .iter()
            .find(|&&i| !matches!(fields[i].kind, Kind::Text | Kind::Enum(_)))
        {
            return Err(format!(
                "search field `{}` of `{table}` is not a text column",
                fields[*i].name
            ));
        }

        let mut filters = FilterSet::<E>::new()
            .search_param("q")
            .default_per_page(admin.list_per_page)
            .max_per_page(admin.list_per_page.max(1000))
            .ignore("_changelist_filters");
        for &i in &sortable {
            filters = filters.field(columns[i]);
        }
        filters = filters.search(admin.search_fields.iter().copied());
        let default_ordering = admin
            .ordering
            .clone()
            .unwrap_or_else(|| format!("-{}", pk_col.as_str()));
        // Validate the ordering before `default_ordering`, which panics on a bad one.
        let probe = filters.parse(&format!(
            "ordering={}",
            url::form_urlencoded::byte_serialize(default_ordering.as_bytes()).collect::<String>()
        ));
        if let Err(e) = probe {
            return Err(format!("ordering of `{table}`: {e}"));
        }
        // A total order: the primary key breaks ties, so pages never overlap.
        let pk_name = pk_col.as_str();
        let tie_break = if default_ordering
            .split(',')
            .any(|p| p.trim().trim_start_matches('-') == pk_name)
        {
            default_ordering.clone()
        } else {
            format!("{default_ordering},-{pk_name}")
        };
        let filters = filters.default_ordering(&tie_break);

        let form_columns: Vec<usize> = match &admin.fields {
            Some(cols) => cols.iter().map(index_of).collect(),
            None => (0..fields.len()).collect(),
        };
        let fieldsets: Vec<(Option<String>, Vec<usize>)> = if admin.fieldsets.is_empty() {
            vec![(None, form_columns)]
        } else {
            admin
                .fieldsets
                .iter()
                .map(|(t, cols)| (t.clone(), cols.iter().map(index_of).collect()))
                .collect()
        };

        let (date_hierarchy, list_editable) = changelist_options(
            &admin.changelist,
            &fields,
            &list_display,
            &list_display_links,
            &table,
            index_of,
        )?;

        let inlines = admin
            .inlines
            .into_iter()
            .map(|factory| factory(&table))
            .collect::<Result<Vec<_>, String>>()?;
        let m2m = admin
            .many_to_many
            .into_iter()
            .map(|m| m.build(&table, &fields))
            .collect::<Result<Vec<_>, String>>()?;
        let info = ModelInfo {
            app_label,
            model_name,
            verbose_name,
            verbose_name_plural,
            table,
            fields,
            pk,
            list_display,
            list_display_links,
            list_filter,
            search,
            sortable,
            fieldsets,
            actions: admin
                .actions
                .iter()
                .map(|a| (a.name.clone(), a.label.clone(), a.permission))
                .collect(),
            per_page: admin.list_per_page,
            default_ordering: tie_break,
            date_hierarchy,
            list_editable,
            password: PasswordInfo {
                column: admin.password.column.as_ref().map(index_of),
                add_fieldsets: admin
                    .password
                    .add_fieldsets
                    .iter()
                    .map(|(t, cols)| (t.clone(), cols.iter().map(index_of).collect()))
                    .collect(),
            },
            save_as: admin.save_as,
            m2m,
            read_only_m2m: Vec::new(),
        };
        Ok(Self {
            info,
            columns,
            filters,
            computed,
            display: admin.display,
            on_save: admin.on_save,
            on_delete: admin.on_delete,
            actions: admin.actions,
            object_perms: admin.object_perms,
            readonly_hook: admin.access.readonly_hook,
            fieldsets_hook: admin.access.fieldsets_hook,
            inlines,
        })
    }

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

    fn object_allows(&self, user: &dyn AuthUser, action: &str, row: &Row) -> bool {
        let model = || {
            row.model
                .as_ref()
                .and_then(|m| m.downcast_ref::<E::Model>())
        };
        if let Some(superuser_only) = &self.object_perms.superuser_only
            && matches!(action, "change" | "delete")
            && !user.is_superuser()
        {
            // A row read without its model cannot be judged: refuse.
            match model() {
                Some(m) if !superuser_only(m) => {}
                _ => return false,
            }
        }
        let hook = match action {
            "view" => &self.object_perms.view,
            "change" => &self.object_perms.change,
            "delete" => &self.object_perms.delete,
            _ => return true,
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
            crate::m2m::clear(db, &self.info, &parents).await?;
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
            return Err(format!("No action named {}.", crate::field::truncate(name)));
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

    fn inlines(&self) -> &[crate::inline::InlineSet] {
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
