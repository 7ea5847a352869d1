//! Turning a [`ModelAdmin`] into the [`EntityAdmin`] the site drives: its options checked
//! and resolved against the entity's columns.

use batteries_orm::filter::FilterSet;
use batteries_orm::value::Kind;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, EntityTrait, FromQueryResult, IdenStatic,
    IntoActiveModel, Iterable, PrimaryKeyToColumn, PrimaryKeyTrait,
};

use super::model_admin::{ChangelistOptions, ListItem, ModelAdmin};
use crate::model::field::{Field, label_of};
use crate::model::{Column, EntityAdmin, ModelInfo, PasswordInfo, foreign_keys};

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
}
