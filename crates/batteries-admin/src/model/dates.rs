//! The changelist's date parameters: `date_hierarchy` drill-down and the From/To range.

use batteries_orm::value::Kind;

use super::ModelInfo;

/// A part of a date the `date_hierarchy` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Year,
    Month,
    Day,
}

/// The `__year`, `__month` and `__day` pairs of one field, as given.
type DrillParams = [Option<(String, String)>; 3];

/// Rewrites the changelist's date parameters into lookups `FilterSet` knows, as ranges
/// an index can serve (`>= start AND < end`, never a function of the column):
///
/// - `<f>__year=2024`, `<f>__month=3`, `<f>__day=7` (Django's `date_hierarchy`),
/// - `<f>__range__gte=2024-01-01` and `<f>__range__lte=2024-01-31` (the From/To form,
///   both days included; empty values are ignored).
///
/// Date-times are cut at UTC midnights. Other pairs pass unchanged.
///
/// # Errors
/// A readable message for a malformed or impossible value.
pub(crate) fn expand_date_params(
    info: &ModelInfo,
    pairs: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    use chrono::{Datelike, NaiveDate};
    let is_date = |name: &str| {
        info.field_index(name).filter(|&i| {
            matches!(
                info.fields[i].kind,
                Kind::Date | Kind::DateTime | Kind::DateTimeTz
            )
        })
    };
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let in_range = |d: NaiveDate| (1000..=9999).contains(&d.year());
    let mut out = Vec::with_capacity(pairs.len());
    // field -> (year, month, day) as given.
    let mut drill: Vec<(String, DrillParams)> = Vec::new();
    for (k, v) in pairs {
        let part = [("__year", 0), ("__month", 1), ("__day", 2)]
            .into_iter()
            .find_map(|(suffix, n)| {
                k.strip_suffix(suffix)
                    .filter(|f| is_date(f).is_some())
                    .map(|f| (f, n))
            });
        if let Some((f, n)) = part {
            let at = drill
                .iter()
                .position(|(name, _)| name == f)
                .unwrap_or_else(|| {
                    drill.push((f.to_owned(), [None, None, None]));
                    drill.len() - 1
                });
            drill[at].1[n] = Some((k.clone(), v.clone()));
            continue;
        }
        let range = [("__range__gte", false), ("__range__lte", true)]
            .into_iter()
            .find_map(|(suffix, upper)| {
                k.strip_suffix(suffix)
                    .filter(|f| is_date(f).is_some())
                    .map(|f| (f, upper))
            });
        if let Some((f, upper)) = range {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .filter(|d| in_range(*d))
                .ok_or_else(|| {
                    format!(
                        "{}: {} is not a date (YYYY-MM-DD, years 1000 to 9999)",
                        crate::model::field::truncate(k),
                        crate::model::field::truncate(v)
                    )
                })?;
            if upper {
                // Up to and including that day.
                if let Some(next) = d.succ_opt().filter(|d| in_range(*d)) {
                    out.push((format!("{f}__lt"), day(next)));
                }
            } else {
                out.push((format!("{f}__gte"), day(d)));
            }
            continue;
        }
        out.push((k.clone(), v.clone()));
    }
    for (f, params) in drill {
        let Some((start, end)) = drill_bounds(&f, params)? else {
            continue;
        };
        out.push((format!("{f}__gte"), day(start)));
        if let Some(end) = end.filter(|e| in_range(*e)) {
            out.push((format!("{f}__lt"), day(end)));
        }
    }
    Ok(out)
}

/// The days a field's `__year`/`__month`/`__day` parameters select: the first, and the
/// day after the last (`None` past the calendar); `None` without any of them.
fn drill_bounds(
    f: &str,
    [year, month, dom]: DrillParams,
) -> Result<Option<(chrono::NaiveDate, Option<chrono::NaiveDate>)>, String> {
    use chrono::{Months, NaiveDate};
    let y = drill_number(year.as_ref(), 1000, 9999)?;
    let m = drill_number(month.as_ref(), 1, 12)?;
    let d = drill_number(dom.as_ref(), 1, 31)?;
    let (start, end) = match (y, m, d) {
        (None, None, None) => return Ok(None),
        (Some(y), None, None) => {
            let start = NaiveDate::from_ymd_opt(y as i32, 1, 1);
            (
                start,
                start.and_then(|s| s.checked_add_months(Months::new(12))),
            )
        }
        (Some(y), Some(m), None) => {
            let start = NaiveDate::from_ymd_opt(y as i32, m, 1);
            (
                start,
                start.and_then(|s| s.checked_add_months(Months::new(1))),
            )
        }
        (Some(y), Some(m), Some(d)) => {
            let start = NaiveDate::from_ymd_opt(y as i32, m, d);
            if start.is_none() {
                return Err(format!("{f}: {y:04}-{m:02}-{d:02} is not a date"));
            }
            (start, start.and_then(|s| s.succ_opt()))
        }
        _ => {
            return Err(format!(
                "{f}__month needs {f}__year, and {f}__day needs both"
            ));
        }
    };
    let start = start.ok_or_else(|| format!("{f}: not a date"))?;
    Ok(Some((start, end)))
}

/// A drill-down parameter `(name, value)` as a number from `lo` to `hi`.
fn drill_number(p: Option<&(String, String)>, lo: u32, hi: u32) -> Result<Option<u32>, String> {
    match p {
        None => Ok(None),
        Some((k, v)) => match v.trim().parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "{}: {} is not a number from {lo} to {hi}",
                crate::model::field::truncate(k),
                crate::model::field::truncate(v)
            )),
        },
    }
}

#[cfg(test)]
mod date_param_tests {
    use super::expand_date_params;
    use crate::config::ModelAdmin;
    use crate::model::{AdminModel as _, EntityAdmin, ModelInfo};

    #[allow(unreachable_pub, reason = "SeaORM's derives make public items")]
    mod event {
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "app_event")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub day: Date,
        }
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    }

    fn info() -> ModelInfo {
        let admin = EntityAdmin::new(ModelAdmin::<event::Entity>::new()).unwrap();
        admin.info().clone()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn drill_down_and_range_become_half_open_ranges() {
        let info = info();
        let out = expand_date_params(
            &info,
            &pairs(&[("day__year", "2024"), ("day__month", "12"), ("id", "3")]),
        )
        .unwrap();
        assert_eq!(
            out,
            pairs(&[
                ("id", "3"),
                ("day__gte", "2024-12-01"),
                ("day__lt", "2025-01-01")
            ])
        );
        let out = expand_date_params(
            &info,
            &pairs(&[
                ("day__range__gte", "2024-02-01"),
                ("day__range__lte", "2024-02-29"),
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            pairs(&[("day__gte", "2024-02-01"), ("day__lt", "2024-03-01")])
        );
        // The last year has no upper bound rather than an unparseable one.
        let out = expand_date_params(&info, &pairs(&[("day__year", "9999")])).unwrap();
        assert_eq!(out, pairs(&[("day__gte", "9999-01-01")]));
        // Not a date field: left to the filter set, which refuses it.
        let out = expand_date_params(&info, &pairs(&[("id__year", "1")])).unwrap();
        assert_eq!(out, pairs(&[("id__year", "1")]));
    }

    #[test]
    fn bad_dates_are_readable_errors() {
        let info = info();
        for (k, v) in [
            ("day__year", "20x4"),
            ("day__month", "3"),
            ("day__range__gte", "2024-02-30"),
        ] {
            let e = expand_date_params(&info, &pairs(&[(k, v)])).unwrap_err();
            assert!(e.contains("day"), "{e}");
        }
    }
}
