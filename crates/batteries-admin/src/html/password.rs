//! The password field on a form: the masked summary on the change form, `password1`
//! and `password2` on the add form.

use batteries_auth::hashers::is_password_usable;
use batteries_auth::validators::Validators;
use sea_orm::Value;
use serde_json::{Value as Json, json};

use crate::model::{ModelInfo, Row};
use crate::service::FieldErrors;
use crate::service::password::password_summary;

/// Adjusts a form's fieldsets (as `views::form` builds them) for the password field:
/// on the change form its hash becomes the masked summary with a link to the password
/// page (none when `read_only`); on the add form `password1` and `password2` join the
/// first fieldset. Never is the hash, nor a posted password, put in the page.
pub(crate) fn password_fields(
    info: &ModelInfo,
    fieldsets: &mut Json,
    existing: Option<&Row>,
    errors: &FieldErrors,
    read_only: bool,
) {
    let Some(column) = info.password.column else {
        return;
    };
    let name = &info.fields[column].name;
    let Some(sets) = fieldsets.as_array_mut() else {
        return;
    };
    if let Some(row) = existing {
        let encoded = match &row.values[column] {
            Value::String(Some(s)) => s.clone(),
            _ => String::new(),
        };
        let usable = !encoded.is_empty() && is_password_usable(&encoded);
        for set in sets.iter_mut() {
            let Some(fields) = set["fields"].as_array_mut() else {
                continue;
            };
            for field in fields.iter_mut().filter(|f| f["name"] == json!(name)) {
                field["value"] = json!("");
                field["display"] = json!("");
                field["widget"] = json!("readonly");
                field["readonly"] = json!(true);
                field["password_summary"] = json!(
                    password_summary(&encoded)
                        .into_iter()
                        .map(|(label, value)| json!({"label": label, "value": value}))
                        .collect::<Vec<_>>()
                );
                if !read_only {
                    field["password_url"] = json!("../password/");
                    field["password_button"] = json!(if usable {
                        "Reset password"
                    } else {
                        "Set password"
                    });
                }
                field["help"] = json!(
                    "Raw passwords are not stored, so there is no way to see the user’s password."
                );
            }
        }
    } else {
        // Adding: no hash yet, so no row for it; the two passwords instead.
        for set in sets.iter_mut() {
            if let Some(fields) = set["fields"].as_array_mut() {
                fields.retain(|f| f["name"] != json!(name));
            }
        }
        let Some(first) = sets.first_mut().and_then(|s| s["fields"].as_array_mut()) else {
            return;
        };
        let help = Validators::default().help_texts().join(" ");
        for (field, label, help) in [
            ("password1", "Password", help.as_str()),
            (
                "password2",
                "Password confirmation",
                "Enter the same password as before, for verification.",
            ),
        ] {
            first.push(json!({
                "name": field,
                "label": label,
                "widget": "password",
                "value": "",
                "required": true,
                "readonly": false,
                "display": "",
                "help": help,
                "errors": errors.get(field).cloned().unwrap_or_default(),
                "attrs": {},
            }));
        }
    }
}
