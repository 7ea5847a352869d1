//! What the admin knows of a column, read from SeaORM's column definitions, and how a
//! form value becomes a database value.

pub(crate) use batteries_orm::value::truncate;
use batteries_orm::value::{Kind, to_json};
use chrono::Datelike as _;
use sea_orm::Value;
use sea_orm::sea_query::{ColumnType, StringLen};
use serde_json::{Value as Json, json};

/// The years every backend stores (MySQL's `DATE` and `DATETIME` end there).
const YEARS: std::ops::RangeInclusive<i32> = 1000..=9999;

const OUT_OF_RANGE: &str = "Enter a date between the years 1000 and 9999.";

/// White space as Unicode defines it (what `char::is_whitespace` tests) and the byte
/// order mark, as a regular expression character class body, for the API's schema.
pub(crate) const SPACE_CLASS: &str = "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";

/// A foreign key from this column to another table.
#[derive(Debug, Clone)]
pub(crate) struct ForeignKey {
    /// The table pointed to.
    pub(crate) table: String,
    /// The column pointed to (usually its primary key).
    pub(crate) column: String,
    /// `ON DELETE` as SQL spells it (`CASCADE`, `SET NULL`, ...), when the entity says.
    pub(crate) on_delete: Option<String>,
}

/// One column as the admin sees it.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // flags of a column, as Django's Field has them
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) kind: Kind,
    pub(crate) nullable: bool,
    pub(crate) primary_key: bool,
    /// An auto-increment primary key: never in a form.
    pub(crate) auto: bool,
    /// The database supplies a default when the column is left out.
    pub(crate) has_default: bool,
    pub(crate) max_length: Option<u32>,
    /// `(precision, scale)` of a decimal column.
    pub(crate) digits: Option<(u32, u32)>,
    pub(crate) long_text: bool,
    pub(crate) unique: bool,
    pub(crate) foreign_key: Option<ForeignKey>,
    pub(crate) readonly: bool,
    pub(crate) blank: bool,
    pub(crate) autocomplete: bool,
    /// Edited as the related row's id in a text input (Django's `raw_id_fields`).
    pub(crate) raw_id: bool,
    /// Only superusers may set it (`ModelAdmin::superuser_only`).
    pub(crate) superuser_only: bool,
    /// The value a new row gets when the field is not given (`ModelAdmin::default_value`):
    /// the add form's initial value, and the API's when the body leaves it out.
    pub(crate) default: Option<sea_orm::Value>,
    pub(crate) help: Option<String>,
    /// Allowed values with their labels (Django's `choices`).
    pub(crate) choices: Option<Vec<(String, String)>>,
}

impl Field {
    pub(crate) fn digits_of(ty: &ColumnType) -> Option<(u32, u32)> {
        match ty {
            ColumnType::Decimal(Some((p, s))) | ColumnType::Money(Some((p, s))) => Some((*p, *s)),
            _ => None,
        }
    }

    pub(crate) fn from_column_type(ty: &ColumnType) -> (Kind, Option<u32>, bool) {
        let kind = Kind::of(ty);
        let max_length = match ty {
            ColumnType::String(StringLen::N(n)) | ColumnType::Char(Some(n)) => Some(*n),
            _ => None,
        };
        let long_text = matches!(ty, ColumnType::Text);
        (kind, max_length, long_text)
    }

    /// Whether a value must be given when adding.
    pub(crate) fn required(&self) -> bool {
        !self.nullable && !self.has_default && !self.blank && !matches!(self.kind, Kind::Bool)
    }

    /// Whether forms write this field.
    pub(crate) fn editable(&self, adding: bool) -> bool {
        if self.readonly || matches!(self.kind, Kind::Other | Kind::Bytes) {
            return false;
        }
        if self.primary_key {
            return adding && !self.auto;
        }
        true
    }

    /// The HTML widget for this field.
    pub(crate) fn widget(&self) -> &'static str {
        if self.foreign_key.is_some() {
            if self.raw_id {
                return "raw_id";
            }
            return if self.autocomplete {
                "autocomplete"
            } else {
                "select"
            };
        }
        if self.choices.is_some() {
            return "select";
        }
        match &self.kind {
            Kind::Bool if self.nullable => "nullbool",
            Kind::Bool => "checkbox",
            Kind::Int { .. } | Kind::Float | Kind::Decimal { .. } => "number",
            Kind::Text if self.long_text => "textarea",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::DateTime | Kind::DateTimeTz => "datetime",
            Kind::Uuid => "uuid",
            Kind::Json => "json",
            Kind::Enum(_) => "select",
            Kind::Bytes | Kind::Other => "readonly",
            _ => "text",
        }
    }

    /// HTML attributes for the input (`step`, `min`, `max`, `maxlength`).
    pub(crate) fn attrs(&self) -> Json {
        let mut attrs = serde_json::Map::new();
        match &self.kind {
            Kind::Int { min, max } => {
                attrs.insert("step".into(), json!("1"));
                attrs.insert("min".into(), json!(min.to_string()));
                attrs.insert("max".into(), json!(max.to_string()));
            }
            Kind::Float => {
                attrs.insert("step".into(), json!("any"));
            }
            Kind::Decimal { scale } => {
                let step = match scale {
                    Some(0) => "1".to_owned(),
                    Some(s) => format!("0.{}1", "0".repeat(*s as usize - 1)),
                    None => "any".to_owned(),
                };
                attrs.insert("step".into(), json!(step));
            }
            Kind::DateTime | Kind::DateTimeTz | Kind::Time => {
                attrs.insert("step".into(), json!("1"));
            }
            _ => {}
        }
        if let Some(n) = self.max_length {
            attrs.insert("maxlength".into(), json!(n));
        }
        Json::Object(attrs)
    }

    /// Parses what a form posted for this field. `None` means "absent" (an unchecked
    /// checkbox is `false`, not absent).
    pub(crate) fn parse_form(&self, raw: Option<&str>) -> Result<Option<Value>, String> {
        if matches!(self.kind, Kind::Bool) && !self.nullable {
            let checked =
                raw.is_some_and(|v| !v.is_empty() && v != "false" && v != "0" && v != "off");
            return Ok(Some(Value::Bool(Some(checked))));
        }
        let raw = raw.unwrap_or("");
        if raw.trim().is_empty() {
            if self.nullable || matches!(self.kind, Kind::Bool) {
                return Ok(Some(self.kind.null()));
            }
            if matches!(self.kind, Kind::Text) && self.blank {
                return Ok(Some(Value::String(Some(String::new()))));
            }
            if self.has_default {
                return Ok(None);
            }
            return Err("This field is required.".into());
        }
        if matches!(self.kind, Kind::Bool) {
            return match raw {
                "true" | "1" | "yes" | "on" => Ok(Some(Value::Bool(Some(true)))),
                "false" | "0" | "no" | "off" => Ok(Some(Value::Bool(Some(false)))),
                _ => Err("Select a valid choice.".into()),
            };
        }
        if let Some(max) = self.max_length {
            let len = raw.chars().count();
            if len > max as usize {
                return Err(format!(
                    "Ensure this value has at most {max} characters (it has {len})."
                ));
            }
        }
        if let Kind::Enum(variants) = &self.kind
            && !variants.iter().any(|v| v == raw)
        {
            return Err(format!(
                "Select a valid choice. {} is not one of the available choices.",
                truncate(raw)
            ));
        }
        if let Some(choices) = &self.choices
            && !choices.iter().any(|(v, _)| v == raw)
        {
            return Err(format!(
                "Select a valid choice. {} is not one of the available choices.",
                truncate(raw)
            ));
        }
        let raw = if matches!(self.kind, Kind::Text | Kind::Json) {
            raw
        } else {
            raw.trim()
        };
        let value = self
            .kind
            .parse(raw)
            .map_err(|expected| format!("Enter {expected}."))?;
        self.check(&value)?;
        Ok(Some(value))
    }

    /// Checks what the column type cannot hold but the parser let through: NUL
    /// characters (PostgreSQL refuses them) and decimals with too many digits.
    pub(crate) fn check(&self, value: &Value) -> Result<(), String> {
        match value {
            Value::String(Some(s)) if s.contains('\0') => {
                Err("Null characters are not allowed.".into())
            }
            Value::Json(Some(j)) if j.to_string().contains("\\u0000") => {
                Err("Null characters are not allowed.".into())
            }
            Value::Decimal(Some(d)) => match self.digits {
                Some((precision, scale)) => {
                    let whole = d.trunc().abs().to_string().trim_start_matches('0').len() as u32;
                    if whole > precision.saturating_sub(scale) {
                        Err(format!(
                            "Ensure that there are no more than {} digits before the decimal point.",
                            precision.saturating_sub(scale)
                        ))
                    } else {
                        Ok(())
                    }
                }
                None => Ok(()),
            },
            Value::Double(Some(f)) if !f.is_finite() => Err("Enter a finite number.".into()),
            Value::ChronoDate(Some(d)) if !YEARS.contains(&d.year()) => Err(OUT_OF_RANGE.into()),
            Value::ChronoDateTime(Some(d)) if !YEARS.contains(&d.year()) => {
                Err(OUT_OF_RANGE.into())
            }
            Value::ChronoDateTimeUtc(Some(d)) if !YEARS.contains(&d.year()) => {
                Err(OUT_OF_RANGE.into())
            }
            _ => Ok(()),
        }
    }

    /// Parses a JSON API value for this field (`null` where allowed).
    pub(crate) fn parse_json(&self, json: &Json) -> Result<Value, String> {
        if json.is_null() {
            if self.nullable {
                return Ok(self.kind.null());
            }
            return Err("This field may not be null.".into());
        }
        let normalized = match self.kind {
            Kind::Int { .. } => integral(json),
            _ => None,
        };
        let json = normalized.as_ref().unwrap_or(json);
        if let (Some(max), Some(s)) = (self.max_length, json.as_str()) {
            let len = s.chars().count();
            if len > max as usize {
                return Err(format!(
                    "Ensure this value has at most {max} characters (it has {len})."
                ));
            }
        }
        if let Some(choices) = &self.choices {
            let text = match json {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !choices.iter().any(|(v, _)| *v == text) {
                return Err(format!("\"{}\" is not a valid choice.", truncate(&text)));
            }
        }
        // The JSON type the schema documents, and no other (`0` is not `false`).
        let wrong_type = match &self.kind {
            Kind::Bool => (!json.is_boolean()).then_some("true or false"),
            Kind::Int { .. } => (!json.is_i64() && !json.is_u64()).then_some("an integer"),
            Kind::Float => (!json.is_number()).then_some("a number"),
            // A JSON number may have lost digits on the way; the schema asks for text.
            Kind::Decimal { .. } => {
                (!json.is_string()).then_some("a decimal number as a JSON string (\"12.50\")")
            }
            Kind::Text => (!json.is_string()).then_some("text (a JSON string)"),
            Kind::Date | Kind::Time | Kind::DateTime | Kind::DateTimeTz | Kind::Uuid => {
                (!json.is_string()).then_some("a JSON string")
            }
            _ => None,
        };
        if let Some(expected) = wrong_type {
            return Err(format!("Enter {expected}."));
        }
        if matches!(self.kind, Kind::Text)
            && json.as_str().is_some_and(is_blank)
            && !self.blank
            && !self.nullable
        {
            return Err("This field may not be blank.".into());
        }
        let value = self
            .kind
            .parse_json(json)
            .map_err(|expected| format!("Enter {expected}."))?;
        self.check(&value)?;
        Ok(value)
    }

    /// The value as a form shows it in its input.
    pub(crate) fn form_value(&self, value: &Value) -> String {
        match (&self.kind, to_json(value, &self.kind)) {
            (_, Json::Null) => String::new(),
            (Kind::DateTime | Kind::DateTimeTz, Json::String(s)) => {
                // <input type=datetime-local> wants `YYYY-MM-DDTHH:MM:SS`.
                s.trim_end_matches('Z').chars().take(19).collect()
            }
            (Kind::Json, j) => serde_json::to_string_pretty(&j).unwrap_or_default(),
            (_, Json::String(s)) => s,
            (_, other) => other.to_string(),
        }
    }

    /// The value as a changelist cell or a read-only field shows it.
    pub(crate) fn display(&self, value: &Value) -> String {
        if let Some(choices) = &self.choices {
            let raw = self.form_value(value);
            if let Some((_, label)) = choices.iter().find(|(v, _)| *v == raw) {
                return label.clone();
            }
        }
        match (&self.kind, to_json(value, &self.kind)) {
            (_, Json::Null) => "-".into(),
            (Kind::DateTimeTz, Json::String(s)) => {
                let s = s.trim_end_matches('Z').replacen('T', " ", 1);
                format!("{} UTC", s.chars().take(19).collect::<String>())
            }
            (Kind::DateTime, Json::String(s)) => s.replacen('T', " ", 1).chars().take(19).collect(),
            (Kind::Json, j) => j.to_string(),
            (_, Json::String(s)) => s,
            (_, other) => other.to_string(),
        }
    }
}

/// Whether `s` holds nothing but white space ([`SPACE_CLASS`]): the API's schema asks
/// for one other character in a required text.
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
}

/// An integral JSON number written with a fraction (`3.0`) as an integer: JSON Schema
/// counts it as one, so the API takes it as one.
fn integral(json: &Json) -> Option<Json> {
    // 2^63: every float below it in magnitude with no fraction fits an `i64`.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let Json::Number(n) = json else {
        return None;
    };
    if n.is_i64() || n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    #[allow(clippy::cast_possible_truncation)] // integral and in range, checked above
    (f.fract() == 0.0 && f.abs() < LIMIT).then(|| json!(f as i64))
}

/// The value as a primary key in a URL or a form (`3`, `a1b2-...`).
pub(crate) fn pk_string(value: &Value) -> String {
    match to_json(value, &Kind::Other) {
        Json::String(s) => s,
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A label from a column name: `created_at` -> `Created at`.
pub(crate) fn label_of(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: &ColumnType, nullable: bool) -> Field {
        let (kind, max_length, long_text) = Field::from_column_type(ty);
        Field {
            name: "x".into(),
            label: "X".into(),
            kind,
            nullable,
            primary_key: false,
            auto: false,
            has_default: false,
            max_length,
            digits: Field::digits_of(ty),
            long_text,
            unique: false,
            foreign_key: None,
            readonly: false,
            blank: false,
            autocomplete: false,
            raw_id: false,
            superuser_only: false,
            default: None,
            help: None,
            choices: None,
        }
    }

    #[test]
    fn required_text_refuses_blank_and_keeps_length_limit() {
        let f = field(&ColumnType::String(StringLen::N(5)), false);
        assert_eq!(
            f.parse_form(Some("  ")),
            Err("This field is required.".into())
        );
        assert!(
            f.parse_form(Some("123456"))
                .unwrap_err()
                .contains("at most 5")
        );
        assert_eq!(
            f.parse_form(Some("héllo")),
            Ok(Some(Value::String(Some("héllo".into()))))
        );
    }

    #[test]
    fn nullable_blank_is_null_and_checkbox_absent_is_false() {
        let f = field(&ColumnType::Integer, true);
        assert_eq!(f.parse_form(Some("")), Ok(Some(Value::Int(None))));
        assert!(
            f.parse_form(Some("1 OR 1=1"))
                .unwrap_err()
                .starts_with("Enter an integer")
        );
        let b = field(&ColumnType::Boolean, false);
        assert_eq!(b.parse_form(None), Ok(Some(Value::Bool(Some(false)))));
        assert_eq!(b.parse_form(Some("on")), Ok(Some(Value::Bool(Some(true)))));
    }

    #[test]
    fn enum_values_must_be_a_variant() {
        let mut f = field(&ColumnType::Text, false);
        f.kind = Kind::Enum(vec!["draft".into(), "published".into()]);
        assert!(f.parse_form(Some("deleted")).is_err());
        assert_eq!(f.widget(), "select");
        assert_eq!(
            f.parse_form(Some("draft")),
            Ok(Some(Value::String(Some("draft".into()))))
        );
    }

    #[test]
    fn choices_make_a_select_and_refuse_other_values() {
        let mut f = field(&ColumnType::String(StringLen::N(10)), false);
        f.choices = Some(vec![("draft".into(), "Draft".into())]);
        assert_eq!(f.widget(), "select");
        assert!(f.parse_form(Some("deleted")).is_err());
        assert!(f.parse_json(&Json::from("deleted")).is_err());
        assert!(f.parse_form(Some("draft")).is_ok());
        assert_eq!(f.display(&Value::String(Some("draft".into()))), "Draft");
    }

    #[test]
    fn labels_and_datetimes_display_for_people() {
        assert_eq!(label_of("created_at"), "Created at");
        let f = field(&ColumnType::TimestampWithTimeZone, false);
        let v = f.parse_form(Some("2026-11-25T10:20:30")).unwrap().unwrap();
        assert_eq!(f.form_value(&v), "2026-11-25T10:20:30");
        assert_eq!(f.display(&v), "2026-11-25 10:20:30 UTC");
    }
}
