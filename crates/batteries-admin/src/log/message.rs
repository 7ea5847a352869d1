//! Django's change messages: the JSON the admin stores in `change_message`, and the text
//! `LogEntry.get_change_message()` makes of it.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// What an admin action changed, stored in `change_message` in Django's JSON format so
/// that Django's admin shows our history and we show Django's.
///
/// ```
/// use batteries_admin::log::ChangeMessage;
///
/// assert_eq!(ChangeMessage::added().to_json(), r#"[{"added": {}}]"#);
/// let changed = ChangeMessage::changed(&["Title", "Body"]);
/// assert_eq!(changed.to_json(), r#"[{"changed": {"fields": ["Title", "Body"]}}]"#);
/// assert_eq!(changed.to_text(), "Changed Title and Body.");
/// assert_eq!(ChangeMessage::changed(&[]).to_text(), "No fields changed.");
/// assert_eq!(ChangeMessage::deleted().to_text(), "Deleted.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMessage(Kind, Vec<Related>);

/// What happened to one row edited inline (Django's formset entries).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Related {
    Added {
        name: String,
        object: String,
    },
    Changed {
        name: String,
        object: String,
        fields: Vec<String>,
    },
    Deleted {
        name: String,
        object: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Added,
    Changed(Vec<String>),
    Deleted,
}

impl ChangeMessage {
    /// The object was added: `[{"added": {}}]`, read as "Added.".
    pub fn added() -> Self {
        Self(Kind::Added, Vec::new())
    }

    /// The fields with these labels (verbose names, `"Title"`) were changed:
    /// `[{"changed": {"fields": ["Title", "Body"]}}]`, read as "Changed Title and
    /// Body.". With no fields, `[]`, read as "No fields changed.", which is what Django
    /// stores when a change form is saved unchanged.
    pub fn changed(fields: &[&str]) -> Self {
        Self(
            Kind::Changed(fields.iter().map(|&field| field.to_owned()).collect()),
            Vec::new(),
        )
    }

    /// The object was deleted: stored as the plain text `Deleted.`, which Django's admin
    /// (and [`get_change_message`]) shows as it is. Django itself stores an empty
    /// message for a deletion, and its JSON has no form for the deletion of the object
    /// itself (`{"deleted": ...}` names a deleted inline object and needs its name).
    pub fn deleted() -> Self {
        Self(Kind::Deleted, Vec::new())
    }

    /// Adds that a related row (`name` is its model's verbose name, `object` its text)
    /// was added with this change, as Django records an inline row:
    /// `{"added": {"name": "review", "object": "Great"}}`.
    ///
    /// ```
    /// use batteries_admin::log::ChangeMessage;
    ///
    /// let message = ChangeMessage::changed(&["Title"])
    ///     .with_added("review", "Great")
    ///     .with_changed("review", "Fine", &["Stars"])
    ///     .with_deleted("review", "Bad");
    /// assert_eq!(
    ///     message.to_json(),
    ///     r#"[{"changed": {"fields": ["Title"]}}, {"added": {"name": "review", "object": "Great"}}, {"changed": {"name": "review", "object": "Fine", "fields": ["Stars"]}}, {"deleted": {"name": "review", "object": "Bad"}}]"#
    /// );
    /// assert_eq!(
    ///     message.to_text(),
    ///     "Changed Title. Added review “Great”. Changed Stars for review “Fine”. Deleted review “Bad”."
    /// );
    /// ```
    #[must_use]
    pub fn with_added(mut self, name: &str, object: &str) -> Self {
        self.1.push(Related::Added {
            name: name.to_owned(),
            object: object.to_owned(),
        });
        self
    }

    /// Adds that these fields of a related row were changed (see
    /// [`with_added`](Self::with_added)).
    #[must_use]
    pub fn with_changed(mut self, name: &str, object: &str, fields: &[&str]) -> Self {
        self.1.push(Related::Changed {
            name: name.to_owned(),
            object: object.to_owned(),
            fields: fields.iter().map(|&f| f.to_owned()).collect(),
        });
        self
    }

    /// Adds that a related row was deleted (see [`with_added`](Self::with_added)).
    #[must_use]
    pub fn with_deleted(mut self, name: &str, object: &str) -> Self {
        self.1.push(Related::Deleted {
            name: name.to_owned(),
            object: object.to_owned(),
        });
        self
    }

    /// The text to store in `change_message`, byte for byte what Django's
    /// `json.dumps` writes (`", "` and `": "` separators, non-ASCII as `\u` escapes);
    /// plain `Deleted.` for [`ChangeMessage::deleted`].
    pub fn to_json(&self) -> String {
        if !self.1.is_empty() && !matches!(self.0, Kind::Deleted) {
            return self.to_json_with_related();
        }
        match &self.0 {
            Kind::Added => r#"[{"added": {}}]"#.to_owned(),
            Kind::Changed(fields) if fields.is_empty() => "[]".to_owned(),
            Kind::Changed(fields) => {
                let mut out = String::from(r#"[{"changed": {"fields": ["#);
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_python_json_string(&mut out, field);
                }
                out.push_str("]}}]");
                out
            }
            Kind::Deleted => "Deleted.".to_owned(),
        }
    }

    /// Django's `construct_change_message` with formsets: the parent's part (omitted
    /// for a change of no field), then each related row's.
    fn to_json_with_related(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match &self.0 {
            Kind::Added => parts.push(r#"{"added": {}}"#.to_owned()),
            Kind::Changed(fields) if !fields.is_empty() => {
                parts.push(format!(
                    r#"{{"changed": {{"fields": {}}}}}"#,
                    json_list(fields)
                ));
            }
            Kind::Changed(_) | Kind::Deleted => {}
        }
        for related in &self.1 {
            let (key, name, object, fields) = match related {
                Related::Added { name, object } => ("added", name, object, None),
                Related::Changed {
                    name,
                    object,
                    fields,
                } => ("changed", name, object, Some(fields)),
                Related::Deleted { name, object } => ("deleted", name, object, None),
            };
            let mut part = format!(r#"{{"{key}": {{"name": "#);
            push_python_json_string(&mut part, name);
            part.push_str(r#", "object": "#);
            push_python_json_string(&mut part, object);
            if let Some(fields) = fields {
                part.push_str(r#", "fields": "#);
                part.push_str(&json_list(fields));
            }
            part.push_str("}}");
            parts.push(part);
        }
        format!("[{}]", parts.join(", "))
    }

    /// The human text, as [`get_change_message`] reads [`ChangeMessage::to_json`].
    pub fn to_text(&self) -> String {
        get_change_message(&self.to_json())
    }
}

/// A JSON list of strings as Python's `json.dumps` writes it.
fn json_list(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_python_json_string(&mut out, item);
    }
    out.push(']');
    out
}

/// Writes `s` as a JSON string the way Python's `json.dumps` does by default
/// (`ensure_ascii`): printable ASCII as is, `"` and `\` escaped, `\n \r \t \b \f` short,
/// everything else as lower-case `\uXXXX`, with surrogate pairs beyond the BMP.
fn push_python_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// The text of a stored change message, as Django's `LogEntry.get_change_message()`
/// gives it (in English): a JSON list becomes "Added.", "Changed Title and Body.",
/// "Added choice “Yes”.", "Changed Votes for choice “No”.", "Deleted choice
/// “Maybe”." (joined by spaces), or "No fields changed." when it says nothing; any
/// other text, the empty one included, is returned as it is.
///
/// Where Django would raise on a malformed JSON message (a `{"deleted": {}}` without
/// a name, a field that is not a string), the stored text is returned as it is.
///
/// The text is not HTML-escaped: escaping is the template's job.
///
/// ```
/// use batteries_admin::log::get_change_message;
///
/// assert_eq!(get_change_message(r#"[{"added": {}}]"#), "Added.");
/// assert_eq!(
///     get_change_message(r#"[{"changed": {"fields": ["Title", "Body", "Tags"]}}]"#),
///     "Changed Title, Body and Tags."
/// );
/// assert_eq!(get_change_message("[]"), "No fields changed.");
/// assert_eq!(get_change_message("Imported from the old site."), "Imported from the old site.");
/// ```
pub fn get_change_message(stored: &str) -> String {
    if !stored.starts_with('[') {
        return stored.to_owned();
    }
    let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(stored) else {
        return stored.to_owned();
    };
    match render(&parts) {
        Some(messages) if messages.is_empty() => "No fields changed.".to_owned(),
        Some(messages) => messages.join(" "),
        None => stored.to_owned(),
    }
}

const KEYS: [&str; 3] = ["added", "changed", "deleted"];

/// One sentence per part, or `None` where Django's code would raise.
fn render(parts: &[Value]) -> Option<Vec<String>> {
    let mut messages = Vec::new();
    for part in parts {
        let part = match part {
            Value::Object(part) => part,
            // Python's `"added" in part` is a substring test on a string and an element
            // test on a list; a match is then indexed by a string key, which raises.
            Value::String(s) if KEYS.iter().any(|key| s.contains(key)) => return None,
            Value::Array(items)
                if items
                    .iter()
                    .any(|item| item.as_str().is_some_and(|s| KEYS.contains(&s))) =>
            {
                return None;
            }
            Value::String(_) | Value::Array(_) => continue,
            // `in` on a number, a boolean or None raises.
            _ => return None,
        };
        if let Some(added) = part.get("added") {
            if truthy(added) {
                let added = added.as_object()?;
                messages.push(format!(
                    "Added {} “{}”.",
                    string(added, "name")?,
                    string(added, "object")?
                ));
            } else {
                messages.push("Added.".to_owned());
            }
        } else if let Some(changed) = part.get("changed") {
            let changed = changed.as_object()?;
            let fields = text_list(changed.get("fields")?)?;
            if changed.contains_key("name") {
                messages.push(format!(
                    "Changed {fields} for {} “{}”.",
                    string(changed, "name")?,
                    string(changed, "object")?
                ));
            } else {
                messages.push(format!("Changed {fields}."));
            }
        } else if let Some(deleted) = part.get("deleted") {
            let deleted = deleted.as_object()?;
            messages.push(format!(
                "Deleted {} “{}”.",
                string(deleted, "name")?,
                string(deleted, "object")?
            ));
        }
    }
    Some(messages)
}

/// Python's truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// `map[key]` as Python's `str.format` writes it, for strings and integers.
fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Django's `get_text_list(fields, "and")`: "A", "A and B", "A, B and C".
fn text_list(fields: &Value) -> Option<String> {
    let fields: Vec<String> = match fields {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
        // Python iterates a string by character.
        Value::String(s) => s.chars().map(String::from).collect(),
        _ => return None,
    };
    Some(match fields.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_write_djangos_json() {
        assert_eq!(ChangeMessage::added().to_json(), r#"[{"added": {}}]"#);
        assert_eq!(
            ChangeMessage::changed(&["Title"]).to_json(),
            r#"[{"changed": {"fields": ["Title"]}}]"#
        );
        assert_eq!(ChangeMessage::changed(&[]).to_json(), "[]");
        assert_eq!(ChangeMessage::deleted().to_json(), "Deleted.");
    }

    #[test]
    fn field_labels_are_escaped_as_python_does() {
        assert_eq!(
            ChangeMessage::changed(&["Título", "say \"hi\"\n", "back\\slash", "☕🦀", "\u{7f}"])
                .to_json(),
            r#"[{"changed": {"fields": ["T\u00edtulo", "say \"hi\"\n", "back\\slash", "\u2615\ud83e\udd80", "\u007f"]}}]"#
        );
        // And read back.
        assert_eq!(
            ChangeMessage::changed(&["Título", "☕🦀"]).to_text(),
            "Changed Título and ☕🦀."
        );
    }

    #[test]
    fn texts_follow_djangos_get_change_message() {
        let cases = [
            ("", ""),
            ("plain text", "plain text"),
            ("[not json", "[not json"),
            ("[]", "No fields changed."),
            (r#"[{"added": {}}]"#, "Added."),
            (r#"[{"added": null}]"#, "Added."),
            (r#"[{"changed": {"fields": ["A"]}}]"#, "Changed A."),
            (r#"[{"changed": {"fields": []}}]"#, "Changed ."),
            (
                r#"[{"changed": {"fields": ["A", "B"]}}]"#,
                "Changed A and B.",
            ),
            (
                r#"[{"changed": {"fields": ["A", "B", "C"]}}]"#,
                "Changed A, B and C.",
            ),
            (
                r#"[{"added": {"name": "choice", "object": "Yes"}}, {"changed": {"name": "choice", "object": "No", "fields": ["Votes"]}}, {"deleted": {"name": "choice", "object": "Maybe"}}]"#,
                "Added choice “Yes”. Changed Votes for choice “No”. Deleted choice “Maybe”.",
            ),
            (r#"[{"other": 1}, "text"]"#, "No fields changed."),
            (r#"[{"changed": {"fields": "ab"}}]"#, "Changed a and b."),
            (
                r#"[{"added": {"name": "row", "object": 7}}]"#,
                "Added row “7”.",
            ),
            // Django raises on these; we show the stored text.
            (r#"[{"deleted": {}}]"#, r#"[{"deleted": {}}]"#),
            (r#"[{"changed": {}}]"#, r#"[{"changed": {}}]"#),
            (
                r#"[{"added": {"name": "x"}}]"#,
                r#"[{"added": {"name": "x"}}]"#,
            ),
            (r#"["added"]"#, r#"["added"]"#),
            ("[1]", "[1]"),
        ];
        for (stored, text) in cases {
            assert_eq!(get_change_message(stored), text, "for {stored}");
        }
    }

    #[test]
    fn text_is_not_escaped() {
        let stored = r#"[{"changed": {"fields": ["<b>Title</b>"]}}]"#;
        assert_eq!(get_change_message(stored), "Changed <b>Title</b>.");
    }
}
