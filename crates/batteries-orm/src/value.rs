//! Conversions between column types, strings, JSON and SeaORM [`Value`]s.
//!
//! Query-string filters, keyset cursors and fixtures all move values across a text
//! boundary; this module is the one place that knows how each column type is spelled
//! there. JSON follows Django's serializer (`DjangoJSONEncoder`): datetimes in ISO 8601
//! with milliseconds and `Z`, decimals as strings with the column's scale.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::ColumnType;
use sea_orm::{ActiveModelTrait, EntityTrait, Value};
use serde_json::Value as Json;

/// The family of a column, which decides how its values are parsed and which lookups
/// apply to it.
///
/// ```
/// use batteries_orm::value::Kind;
/// use sea_orm::Value;
/// use sea_orm::sea_query::ColumnType;
///
/// let kind = Kind::of(&ColumnType::SmallInteger);
/// assert_eq!(kind.parse("42"), Ok(Value::Int(Some(42))));
/// assert!(kind.parse("40000").is_err()); // beyond i16
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `true` / `false`.
    Bool,
    /// Signed or unsigned integer with its bounds (a `BIGINT UNSIGNED` column's end at
    /// `i64::MAX`, the largest integer every backend binds).
    Int {
        /// The smallest value the column holds.
        min: i128,
        /// The largest value the column holds.
        max: i128,
    },
    /// A floating-point number.
    Float,
    /// A fixed-point decimal.
    Decimal {
        /// Digits after the point, when the column fixes them.
        scale: Option<u32>,
    },
    /// Text of any length.
    Text,
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// Date and time without a time zone.
    DateTime,
    /// Date and time with a time zone (stored in UTC).
    DateTimeTz,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
    /// Raw bytes (base64 in text and JSON).
    Bytes,
    /// A database enum: one of the variants, compared as text.
    Enum(Vec<String>),
    /// A type this crate cannot parse (arrays, vectors, custom types).
    Other,
}

impl Kind {
    /// The kind of a column of type `ty`.
    pub fn of(ty: &ColumnType) -> Self {
        let int = |min: i128, max: i128| Kind::Int { min, max };
        match ty {
            ColumnType::Boolean => Kind::Bool,
            ColumnType::TinyInteger => int(i8::MIN.into(), i8::MAX.into()),
            ColumnType::SmallInteger => int(i16::MIN.into(), i16::MAX.into()),
            ColumnType::Integer => int(i32::MIN.into(), i32::MAX.into()),
            ColumnType::BigInteger => int(i64::MIN.into(), i64::MAX.into()),
            ColumnType::TinyUnsigned => int(0, u8::MAX.into()),
            ColumnType::SmallUnsigned => int(0, u16::MAX.into()),
            ColumnType::Unsigned => int(0, u32::MAX.into()),
            // Up to `i64::MAX`, not `u64::MAX`: SQLite and PostgreSQL have no unsigned
            // 64-bit integer, and sea-query-sqlx panics binding a larger `u64` there.
            ColumnType::BigUnsigned => int(0, i64::MAX.into()),
            ColumnType::Year => int(0, 9999),
            ColumnType::Float | ColumnType::Double => Kind::Float,
            ColumnType::Decimal(p) | ColumnType::Money(p) => Kind::Decimal {
                scale: p.map(|(_, s)| s),
            },
            ColumnType::Char(_) | ColumnType::String(_) | ColumnType::Text => Kind::Text,
            ColumnType::Date => Kind::Date,
            ColumnType::Time => Kind::Time,
            ColumnType::DateTime => Kind::DateTime,
            ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => Kind::DateTimeTz,
            ColumnType::Uuid => Kind::Uuid,
            ColumnType::Json | ColumnType::JsonBinary => Kind::Json,
            ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => Kind::Bytes,
            ColumnType::Enum { variants, .. } => {
                Kind::Enum(variants.iter().map(ToString::to_string).collect())
            }
            _ => Kind::Other,
        }
    }

    /// What a value of this kind looks like, for error messages.
    pub fn expected(&self) -> String {
        match self {
            Kind::Bool => "a boolean (true, false, 1 or 0)".into(),
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Float => "a number".into(),
            Kind::Decimal { .. } => "a decimal number".into(),
            Kind::Text => "text".into(),
            Kind::Date => "a date (YYYY-MM-DD)".into(),
            Kind::Time => "a time (HH:MM[:SS[.ffffff]])".into(),
            Kind::DateTime => "a date-time (YYYY-MM-DDTHH:MM:SS)".into(),
            Kind::DateTimeTz => "a date-time (YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM])".into(),
            Kind::Uuid => "a UUID".into(),
            Kind::Json => "JSON".into(),
            Kind::Bytes => "base64 bytes".into(),
            Kind::Enum(v) => format!("one of: {}", v.join(", ")),
            Kind::Other => "a value of a type batteries cannot parse".into(),
        }
    }

    /// A typed SQL `NULL` for this kind (PostgreSQL wants parameters of the right type).
    pub fn null(&self) -> Value {
        match self {
            Kind::Bool => Value::Bool(None),
            Kind::Int { max, .. } if *max <= i128::from(i32::MAX) => Value::Int(None),
            Kind::Int { .. } => Value::BigInt(None),
            Kind::Float => Value::Double(None),
            Kind::Decimal { .. } => Value::Decimal(None),
            Kind::Date => Value::ChronoDate(None),
            Kind::Time => Value::ChronoTime(None),
            Kind::DateTime => Value::ChronoDateTime(None),
            Kind::DateTimeTz => Value::ChronoDateTimeUtc(None),
            Kind::Uuid => Value::Uuid(None),
            Kind::Json => Value::Json(None),
            Kind::Bytes => Value::Bytes(None),
            Kind::Text | Kind::Enum(_) | Kind::Other => Value::String(None),
        }
    }

    /// Whether text lookups (`contains`, `startswith`, ...) make sense.
    pub fn is_text(&self) -> bool {
        matches!(self, Kind::Text | Kind::Enum(_))
    }

    /// Whether values can be ordered and compared with `<`/`>`.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Kind::Int { .. }
                | Kind::Float
                | Kind::Decimal { .. }
                | Kind::Text
                | Kind::Date
                | Kind::Time
                | Kind::DateTime
                | Kind::DateTimeTz
                | Kind::Uuid
        )
    }

    /// Parses a value given as text (a query string, a cursor, a fixture string).
    ///
    /// # Errors
    /// What a value of this kind looks like ([`Kind::expected`]).
    pub fn parse(&self, s: &str) -> Result<Value, String> {
        let bad = || self.expected();
        let s_trim = s.trim();
        Ok(match self {
            Kind::Bool => match s_trim.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Value::Bool(Some(true)),
                "false" | "0" | "no" | "off" => Value::Bool(Some(false)),
                _ => return Err(bad()),
            },
            Kind::Int { min, max } => {
                let n: i128 = s_trim.parse().map_err(|_| bad())?;
                if n < *min || n > *max {
                    return Err(bad());
                }
                int_value(n, *max)
            }
            Kind::Float => {
                let f: f64 = s_trim.parse().map_err(|_| bad())?;
                if !f.is_finite() {
                    return Err(bad());
                }
                Value::Double(Some(f))
            }
            Kind::Decimal { scale } => {
                let mut d = Decimal::from_str(s_trim)
                    .or_else(|_| Decimal::from_scientific(s_trim))
                    .map_err(|_| bad())?;
                if let Some(scale) = scale {
                    d.rescale(*scale);
                }
                Value::Decimal(Some(d))
            }
            Kind::Text | Kind::Other => Value::String(Some(s.to_owned())),
            Kind::Enum(variants) => {
                if !variants.iter().any(|v| v == s) {
                    return Err(bad());
                }
                Value::String(Some(s.to_owned()))
            }
            Kind::Date => Value::ChronoDate(Some(parse_date(s_trim).ok_or_else(bad)?)),
            Kind::Time => Value::ChronoTime(Some(parse_time(s_trim).ok_or_else(bad)?)),
            Kind::DateTime => {
                Value::ChronoDateTime(Some(parse_naive_datetime(s_trim).ok_or_else(bad)?))
            }
            Kind::DateTimeTz => {
                Value::ChronoDateTimeUtc(Some(parse_datetime_utc(s_trim).ok_or_else(bad)?))
            }
            Kind::Uuid => Value::Uuid(Some(uuid::Uuid::parse_str(s_trim).map_err(|_| bad())?)),
            Kind::Json => Value::Json(Some(Box::new(serde_json::from_str(s).map_err(|_| bad())?))),
            Kind::Bytes => {
                use base64::Engine as _;
                Value::Bytes(Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(s_trim)
                        .map_err(|_| bad())?,
                ))
            }
        })
    }

    /// Converts a JSON value (from a fixture or a cursor) to a value of this kind.
    ///
    /// # Errors
    /// What a value of this kind looks like ([`Kind::expected`]).
    pub fn parse_json(&self, json: &Json) -> Result<Value, String> {
        match (self, json) {
            (_, Json::Null) => Ok(self.null()),
            (Kind::Json, other) => Ok(Value::Json(Some(Box::new(other.clone())))),
            (Kind::Bool, Json::Bool(b)) => Ok(Value::Bool(Some(*b))),
            (Kind::Int { .. } | Kind::Float | Kind::Decimal { .. }, Json::Number(n)) => {
                self.parse(&n.to_string())
            }
            (_, Json::String(s)) => self.parse(s),
            (Kind::Bool, Json::Number(n)) => self.parse(&n.to_string()),
            _ => Err(self.expected()),
        }
    }
}

fn int_value(n: i128, max: i128) -> Value {
    if max <= i128::from(i32::MAX) {
        Value::Int(Some(n as i32))
    } else if n <= i128::from(i64::MAX) {
        Value::BigInt(Some(n as i64))
    } else {
        Value::BigUnsigned(Some(n as u64))
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
}

fn parse_naive_datetime(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// A date-time with an offset (`Z`, `+01:00`), or without one (taken as UTC, the way
/// Django reads naive values when `USE_TZ = True`), or a bare date (midnight UTC).
fn parse_datetime_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z").ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| parse_naive_datetime(s).map(|n| n.and_utc()))
}

/// Converts a database value to JSON the way Django's `dumpdata` writes it.
pub fn to_json(value: &Value, kind: &Kind) -> Json {
    match value {
        Value::Bool(Some(b)) => Json::Bool(*b),
        Value::TinyInt(Some(n)) => Json::from(*n),
        Value::SmallInt(Some(n)) => Json::from(*n),
        Value::Int(Some(n)) => Json::from(*n),
        Value::BigInt(Some(n)) => Json::from(*n),
        Value::TinyUnsigned(Some(n)) => Json::from(*n),
        Value::SmallUnsigned(Some(n)) => Json::from(*n),
        Value::Unsigned(Some(n)) => Json::from(*n),
        Value::BigUnsigned(Some(n)) => Json::from(*n),
        Value::Float(Some(f)) => Json::from(f64::from(*f)),
        Value::Double(Some(f)) => Json::from(*f),
        Value::String(Some(s)) => Json::String(s.clone()),
        Value::Char(Some(c)) => Json::String(c.to_string()),
        Value::Bytes(Some(b)) => {
            use base64::Engine as _;
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::Json(Some(j)) => (**j).clone(),
        Value::ChronoDate(Some(d)) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::ChronoTime(Some(t)) => Json::String(django_time(*t)),
        Value::ChronoDateTime(Some(dt)) => Json::String(django_naive(dt)),
        Value::ChronoDateTimeUtc(Some(dt)) => Json::String(django_utc(dt)),
        Value::ChronoDateTimeLocal(Some(dt)) => Json::String(django_utc(&dt.with_timezone(&Utc))),
        Value::ChronoDateTimeWithTimeZone(Some(dt)) => {
            Json::String(django_utc(&dt.with_timezone(&Utc)))
        }
        Value::Uuid(Some(u)) => Json::String(u.to_string()),
        Value::Decimal(Some(d)) => {
            let mut d = *d;
            if let Kind::Decimal { scale: Some(s) } = kind {
                d = d.round_dp(*s);
                d.rescale(*s);
            }
            Json::String(d.to_string())
        }
        Value::Enum(sea_orm::sea_query::OptionEnum::Some(e)) => Json::String(e.value.to_string()),
        _ => Json::Null,
    }
}

/// Converts a value to JSON without losing precision (full nanoseconds, the decimal's own
/// scale): for cursors, which must compare equal to the row they came from.
pub(crate) fn to_json_exact(value: &Value) -> Json {
    match value {
        Value::ChronoTime(Some(t)) => Json::String(t.format("%H:%M:%S%.f").to_string()),
        Value::ChronoDateTime(Some(dt)) => {
            Json::String(dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
        }
        Value::ChronoDateTimeUtc(Some(dt)) => {
            Json::String(dt.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        Value::ChronoDateTimeLocal(Some(dt)) => Json::String(
            dt.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        Value::ChronoDateTimeWithTimeZone(Some(dt)) => Json::String(
            dt.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        other => to_json(other, &Kind::Other),
    }
}

fn millis_suffix(nanos: u32) -> String {
    let ms = nanos / 1_000_000;
    if nanos == 0 {
        String::new()
    } else {
        format!(".{ms:03}")
    }
}

fn django_time(t: NaiveTime) -> String {
    format!(
        "{}{}",
        t.format("%H:%M:%S"),
        millis_suffix(chrono::Timelike::nanosecond(&t))
    )
}

fn django_naive(dt: &NaiveDateTime) -> String {
    format!(
        "{}{}",
        dt.format("%Y-%m-%dT%H:%M:%S"),
        millis_suffix(chrono::Timelike::nanosecond(dt))
    )
}

fn django_utc(dt: &DateTime<Utc>) -> String {
    if chrono::Timelike::nanosecond(dt) == 0 {
        dt.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        format!("{}Z", django_naive(&dt.naive_utc()))
    }
}

/// Sets `column` of `model` to `value`, converting between the variants that share a
/// column type (`Integer` may be an `i32` or an `i64` field, `TimestampWithTimeZone` a
/// `DateTime<Utc>` or a `DateTime<FixedOffset>`).
///
/// # Errors
/// SeaORM's message when no variant fits the field.
pub fn set_column<A: ActiveModelTrait>(
    model: &mut A,
    column: <A::Entity as EntityTrait>::Column,
    value: Value,
) -> Result<(), String> {
    let mut last_err = String::new();
    let alternatives = alternatives(&value);
    for candidate in std::iter::once(value).chain(alternatives) {
        match model.try_set(column, candidate) {
            Ok(()) => return Ok(()),
            Err(e) => last_err = e.to_string(),
        }
    }
    Err(last_err)
}

fn alternatives(value: &Value) -> Vec<Value> {
    fn ints(n: Option<i128>) -> Vec<Value> {
        let Some(n) = n else {
            return vec![
                Value::BigInt(None),
                Value::Int(None),
                Value::SmallInt(None),
                Value::TinyInt(None),
                Value::BigUnsigned(None),
                Value::Unsigned(None),
                Value::SmallUnsigned(None),
                Value::TinyUnsigned(None),
            ];
        };
        let mut out = Vec::new();
        if let Ok(v) = i64::try_from(n) {
            out.push(Value::BigInt(Some(v)));
        }
        if let Ok(v) = i32::try_from(n) {
            out.push(Value::Int(Some(v)));
        }
        if let Ok(v) = i16::try_from(n) {
            out.push(Value::SmallInt(Some(v)));
        }
        if let Ok(v) = i8::try_from(n) {
            out.push(Value::TinyInt(Some(v)));
        }
        if let Ok(v) = u64::try_from(n) {
            out.push(Value::BigUnsigned(Some(v)));
        }
        if let Ok(v) = u32::try_from(n) {
            out.push(Value::Unsigned(Some(v)));
        }
        if let Ok(v) = u16::try_from(n) {
            out.push(Value::SmallUnsigned(Some(v)));
        }
        if let Ok(v) = u8::try_from(n) {
            out.push(Value::TinyUnsigned(Some(v)));
        }
        out
    }
    match value {
        Value::Int(n) => ints(n.map(i128::from)),
        Value::BigInt(n) => ints(n.map(i128::from)),
        Value::BigUnsigned(n) => ints(n.map(i128::from)),
        Value::Double(f) => vec![Value::Float(f.map(|f| f as f32))],
        Value::ChronoDateTimeUtc(dt) => vec![
            Value::ChronoDateTimeWithTimeZone(dt.map(|d| d.fixed_offset())),
            Value::ChronoDateTime(dt.map(|d| d.naive_utc())),
            Value::ChronoDateTimeLocal(dt.map(|d| d.with_timezone(&chrono::Local))),
        ],
        Value::ChronoDateTime(dt) => vec![
            Value::ChronoDateTimeUtc(dt.map(|d| d.and_utc())),
            Value::ChronoDateTimeWithTimeZone(dt.map(|d| d.and_utc().fixed_offset())),
        ],
        Value::String(Some(s)) if s.chars().count() == 1 => {
            vec![Value::Char(s.chars().next())]
        }
        Value::String(None) => vec![Value::Char(None)],
        _ => Vec::new(),
    }
}

/// Shortens user input quoted in an error message to 64 characters (and `…`).
pub fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_respect_column_bounds() {
        let int = Kind::of(&ColumnType::Integer);
        assert_eq!(int.parse("42").unwrap(), Value::Int(Some(42)));
        assert!(int.parse("2147483648").is_err());
        assert!(int.parse("1; DROP TABLE x").is_err());
        let unsigned = Kind::of(&ColumnType::Unsigned);
        assert!(unsigned.parse("-1").is_err());
    }

    /// Found by the `filter` fuzz target (issue 16): sea-query-sqlx binds a `u64` as an
    /// `i64` on SQLite and PostgreSQL with `unwrap`, so a `BIGINT UNSIGNED` filter,
    /// cursor or fixture value above `i64::MAX` panicked in the query.
    #[test]
    fn big_unsigned_values_fit_every_backend() {
        let kind = Kind::of(&ColumnType::BigUnsigned);
        assert_eq!(
            kind.parse("9223372036854775807").unwrap(),
            Value::BigInt(Some(i64::MAX))
        );
        for too_big in ["9223372036854775808", "18446744073709551615"] {
            assert!(kind.parse(too_big).is_err(), "{too_big}");
            assert!(kind.parse_json(&serde_json::json!(too_big)).is_err());
        }
        assert!(kind.parse_json(&serde_json::json!(u64::MAX)).is_err());
    }

    #[test]
    fn datetimes_follow_django_json() {
        let kind = Kind::DateTimeTz;
        let v = kind.parse("2024-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(to_json(&v, &kind), Json::from("2024-01-02T03:04:05.123Z"));
        let v = kind.parse("2024-01-02T04:04:05+01:00").unwrap();
        assert_eq!(to_json(&v, &kind), Json::from("2024-01-02T03:04:05Z"));
        let v = kind.parse("2024-01-02").unwrap();
        assert_eq!(to_json(&v, &kind), Json::from("2024-01-02T00:00:00Z"));
        assert!(kind.parse("yesterday").is_err());
    }

    #[test]
    fn decimals_keep_the_column_scale() {
        let kind = Kind::of(&ColumnType::Decimal(Some((5, 2))));
        let v = kind.parse("4.5").unwrap();
        assert_eq!(to_json(&v, &kind), Json::from("4.50"));
        assert!(kind.parse("four").is_err());
    }

    #[test]
    fn booleans_and_nulls() {
        assert_eq!(Kind::Bool.parse("TRUE").unwrap(), Value::Bool(Some(true)));
        assert!(Kind::Bool.parse("maybe").is_err());
        assert_eq!(
            Kind::Bool.parse_json(&Json::Null).unwrap(),
            Value::Bool(None)
        );
        assert_eq!(truncate(&"x".repeat(100)).chars().count(), 65);
    }
}
