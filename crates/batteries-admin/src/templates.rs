//! The admin's minijinja templates (embedded, overridable from a directory) and its
//! embedded static assets.
//!
//! Every template is compiled into the crate with `include_str!`. When the site names a
//! templates directory, a file there whose name is one of the embedded templates' wins over the
//! embedded template of the same name, as Django's `templates/admin/` overrides do. The
//! file is read when the environment first loads that template; no other name is ever
//! looked up on disk, so an override cannot reach outside the directory (`{% include
//! "../secret" %}` is "template not found").
//!
//! Autoescaping is on for every `.html` template (minijinja's default by extension). The
//! HTML escaping is Django's (`& < > " '`); `none` prints as nothing, so that a null form
//! value renders an empty input rather than the word `none`.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

/// The embedded templates, by name.
const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("index.html", include_str!("../templates/index.html")),
    (
        "password_change.html",
        include_str!("../templates/password_change.html"),
    ),
    (
        "change_list.html",
        include_str!("../templates/change_list.html"),
    ),
    (
        "change_form.html",
        include_str!("../templates/change_form.html"),
    ),
    (
        "delete_confirmation.html",
        include_str!("../templates/delete_confirmation.html"),
    ),
    (
        "action_confirmation.html",
        include_str!("../templates/action_confirmation.html"),
    ),
    ("history.html", include_str!("../templates/history.html")),
    (
        "inline_tabular.html",
        include_str!("../templates/inline_tabular.html"),
    ),
    (
        "inline_stacked.html",
        include_str!("../templates/inline_stacked.html"),
    ),
    (
        "inline_management.html",
        include_str!("../templates/inline_management.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "user_password.html",
        include_str!("../templates/user_password.html"),
    ),
    (
        "widget_m2m.html",
        include_str!("../templates/widget_m2m.html"),
    ),
];

/// The embedded source of template `name`, if it is one of ours.
fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// The template environment. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Templates {
    env: Arc<Environment<'static>>,
}

impl Templates {
    /// The embedded templates; files in `dir` (if any) override those of the same name.
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        // Optional context values (`object` on an add form, `url` on a cell) may be
        // absent: looking into an absent value gives another absent value, as in Django.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(format_value);
        env.set_loader(move |name| load(dir.as_deref(), name));
        Self { env: Arc::new(env) }
    }

    /// Renders template `name` (`"change_list.html"`) with `context`.
    ///
    /// # Errors
    ///
    /// When `name` is not one of the admin's templates, when an override file cannot be
    /// read or does not parse, or when rendering fails.
    pub(crate) fn render(
        &self,
        name: &str,
        context: &serde_json::Value,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

/// The loader: an override from `dir` when there is one, else the embedded template.
/// Names outside our fixed list are "not found" and never touch the file system.
fn load(dir: Option<&std::path::Path>, name: &str) -> Result<Option<String>, Error> {
    let Some(source) = embedded(name) else {
        return Ok(None);
    };
    if let Some(dir) = dir {
        // `name` is one of our plain file names: no separator, no `..`.
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => return Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot read the admin template override `{name}`"),
                )
                .with_source(e));
            }
        }
    }
    Ok(Some(source.to_owned()))
}

/// Prints a value: `none` as nothing; in HTML, unsafe values escaped as Django does
/// (`&`, `<`, `>`, `"`, `'`), leaving `/` alone so that URLs stay readable.
fn format_value(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if value.is_none() {
        return Ok(());
    }
    if state.auto_escape() == AutoEscape::Html && !value.is_safe() && !value.is_undefined() {
        let text = value.to_string();
        return write_html_escaped(out, &text).map_err(Error::from);
    }
    minijinja::escape_formatter(out, state, value)
}

/// Writes `text` with the five HTML-special characters replaced by entities.
fn write_html_escaped(out: &mut Output, text: &str) -> std::fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..i])?;
        out.write_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#x27;",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)
}

/// An embedded static file by name (`"admin.css"`): its content type and bytes.
pub(crate) fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        "admin.css" => Some((
            "text/css; charset=utf-8",
            include_bytes!("../static/admin.css"),
        )),
        "admin.js" => Some((
            "text/javascript; charset=utf-8",
            include_bytes!("../static/admin.js"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{EMBEDDED, Templates, asset};
    use serde_json::{Value, json};

    /// Put into every user-data string of the sample contexts.
    const X: &str = "<script>alert(1)</script>";
    const X_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
    const CSRF: &str = "tok3n-CSRF";

    /// The context every page gets, with `extra` merged in.
    fn page(title: &str, extra: Value) -> Value {
        let mut ctx = json!({
            "site": {"title": "batteries admin", "header": "Administration",
                     "prefix": "/admin", "static": "/admin/static"},
            "user": {"username": X},
            "csrf_token": CSRF,
            "messages": [
                {"level": "success", "text": X},
                {"level": "error", "text": "Something failed"},
            ],
            "title": title,
            "breadcrumbs": [
                {"label": "Home", "url": "/admin/"},
                {"label": X, "url": "/admin/blog/post/"},
                {"label": X},
            ],
            "nav": [{"label": X, "models": [
                {"label_plural": X, "url": "/admin/blog/post/", "current": true},
                {"label_plural": "Tags", "url": "/admin/blog/tag/", "current": false},
            ]}],
        });
        if let (Some(ctx), Value::Object(extra)) = (ctx.as_object_mut(), extra) {
            ctx.extend(extra);
        }
        ctx
    }

    fn model() -> Value {
        json!({"app_label": "blog", "name": "post", "label": X, "label_plural": X,
               "url": "/admin/blog/post/", "add_url": "/admin/blog/post/add/",
               "perms": {"view": true, "add": true, "change": true, "delete": true}})
    }

    fn render(name: &str, ctx: &Value) -> String {
        let html = Templates::new(None)
            .render(name, ctx)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        check_page(name, &html);
        html
    }

    /// Checks every page must pass: user data escaped, no inline script, style or event
    /// handler, every POST form carrying the CSRF token, tags balanced.
    fn check_page(name: &str, html: &str) {
        assert!(
            !html.contains("<script>alert"),
            "{name}: unescaped user data"
        );
        assert!(html.contains(X_ESCAPED), "{name}: user data missing");
        assert!(
            !html.contains("value=\"none\"") && !html.contains(">none<"),
            "{name}: a null printed as `none`"
        );
        assert!(!html.contains("<script>"), "{name}: inline script");
        assert!(!html.contains(" style="), "{name}: style attribute");
        for (i, _) in html.match_indices(" on") {
            let rest = &html[i + 3..];
            let attr: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            assert!(
                !(attr.len() > 2 && rest[attr.len()..].starts_with('=')),
                "{name}: inline event handler on{attr}"
            );
        }
        for (start, _) in html.match_indices("<form") {
            let form = &html[start..];
            let form = &form[..form.find("</form>").expect("unclosed form")];
            if form.contains("method=\"post\"") {
                assert!(
                    form.contains(&format!(
                        "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{CSRF}\">"
                    )),
                    "{name}: POST form without the CSRF token: {form}"
                );
            }
        }
        check_balanced(name, html);
        assert!(html.contains("<script src=\"/admin/static/admin.js\" defer></script>"));
        assert!(html.contains("href=\"/admin/static/admin.css\""));
    }

    /// A small tag-balance check, enough to catch a misplaced `{% endif %}`.
    fn check_balanced(name: &str, html: &str) {
        const VOID: &[&str] = &["meta", "link", "input", "br", "hr", "img", "!DOCTYPE"];
        let mut stack: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let closing = rest.starts_with('/');
            let tag: String = rest
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect();
            if tag.is_empty() || VOID.contains(&tag.as_str()) {
                continue;
            }
            if closing {
                let open = stack.pop();
                assert_eq!(
                    open.as_deref(),
                    Some(tag.as_str()),
                    "{name}: </{tag}> closes {open:?}"
                );
            } else {
                stack.push(tag);
            }
        }
        assert!(stack.is_empty(), "{name}: unclosed {stack:?}");
    }

    fn changelist_context() -> Value {
        page(
            "Select post to change",
            json!({
                "model": model(),
                "columns": [
                    {"name": "title", "label": X, "sortable": true, "sorted": "asc", "priority": 1,
                     "sort_url": "?o=-1.2", "remove_sort_url": "?o=2"},
                    {"name": "views", "label": "Views", "sortable": true, "sorted": "desc",
                     "priority": 2, "sort_url": "?o=2.1", "remove_sort_url": "?o=1"},
                    {"name": "published", "label": "Published", "sortable": true, "sorted": null,
                     "priority": null, "sort_url": "?o=3.1.-2"},
                    {"name": "summary", "label": "Summary", "sortable": false, "sorted": null,
                     "priority": null, "sort_url": null},
                ],
                "rows": [
                    {"pk": 1, "label": X, "cells": [
                        {"text": X, "url": "/admin/blog/post/1/change/", "cls": "field-title"},
                        {"text": "42", "cls": "field-views"},
                        {"text": "", "bool": true, "cls": "field-published"},
                        {"text": X, "cls": "field-summary"}]},
                    {"pk": "a<b", "label": "Second", "cells": [
                        {"text": "Second", "url": "/admin/blog/post/2/change/", "cls": "field-title"},
                        {"text": null, "cls": "field-views"},
                        {"text": "", "bool": false, "cls": "field-published"},
                        {"text": "", "cls": "field-summary"}]},
                    {"pk": 3, "label": "Third", "cells": [
                        {"text": "Third", "url": "/admin/blog/post/3/change/", "cls": "field-title"},
                        {"text": "7", "cls": "field-views"},
                        {"text": "", "bool": null, "cls": "field-published"},
                        {"text": "x", "cls": "field-summary"}]},
                ],
                "search": {"enabled": true, "q": X, "placeholder": "Search by title",
                           "hidden": [{"name": "published__exact", "value": X}]},
                "filters": [
                    {"title": X, "choices": [
                        {"label": "All", "url": "?", "selected": false},
                        {"label": X, "url": "?published__exact=1", "selected": true},
                        {"label": "No", "url": "?published__exact=0", "selected": false},
                    ]},
                ],
                "page": {"number": 2, "num_pages": 40, "total": 1234, "total_label": "1,234",
                         "per_page": 100, "prev_url": "?p=1", "next_url": "?p=3",
                         "links": [
                            {"number": 1, "url": "?p=1", "current": false},
                            {"number": 2, "url": "?p=2", "current": true},
                            {"number": 3, "url": "?p=3", "current": false},
                            {"number": null, "current": false},
                            {"number": 40, "url": "?p=40", "current": false},
                         ]},
                "actions": [{"name": "delete_selected", "label": X},
                            {"name": "publish", "label": "Publish selected posts"}],
                "clear_url": "/admin/blog/post/",
            }),
        )
    }

    #[test]
    fn change_list_renders_rows_sorting_filters_pagination_and_actions() {
        let html = render("change_list.html", &changelist_context());
        for needle in [
            "<div class=\"module filtered\" id=\"changelist\">",
            "<table id=\"result_list\">",
            // headers: sortable links, multi-sort priority and removal
            "<th scope=\"col\" class=\"column-title sortable sorted ascending\" aria-sort=\"ascending\">",
            "<a href=\"?o=-1.2\" class=\"sort-link\">&lt;script&gt;",
            "class=\"column-views sortable sorted descending\">",
            "<span class=\"sortpriority\" title=\"Sorting priority: 2\" aria-hidden=\"true\">2</span>",
            "<a class=\"sortremove\" href=\"?o=1\"",
            "<a href=\"?o=3.1.-2\" class=\"sort-link\">Published</a>",
            "<div class=\"text\"><span>Summary</span></div>",
            // rows
            "<tr data-pk=\"1\">",
            "<tr data-pk=\"a&lt;b\">",
            "<input type=\"checkbox\" name=\"_selected_action\" value=\"1\" class=\"action-select\"",
            "<th scope=\"row\" class=\"field-title\"><a href=\"/admin/blog/post/1/change/\">&lt;script&gt;",
            "<td class=\"field-views\">42</td>",
            "<td class=\"field-views\"><span class=\"empty-value\">-</span></td>",
            "<span class=\"icon-yes\" title=\"Yes\">",
            "<span class=\"icon-no\" title=\"No\">",
            "<span class=\"icon-unknown\" title=\"Unknown\">",
            // search keeps the filters
            "<input type=\"search\" size=\"40\" name=\"q\" value=\"&lt;script&gt;",
            "id=\"searchbar\" placeholder=\"Search by title\">",
            "<input type=\"hidden\" name=\"published__exact\" value=\"&lt;script&gt;",
            // filters
            "<nav id=\"changelist-filter\"",
            "<summary>By &lt;script&gt;",
            "<li class=\"selected\"><a href=\"?published__exact=1\" aria-current=\"true\">&lt;script&gt;",
            "<li><a href=\"?published__exact=0\">No</a></li>",
            "<a href=\"/admin/blog/post/\" class=\"clear-link\">",
            // pagination
            "<nav class=\"paginator\" aria-label=\"Pagination\">",
            "<a href=\"?p=1\" rel=\"prev\" class=\"prev\">",
            "<span class=\"this-page\" aria-current=\"page\">2</span>",
            "<a href=\"?p=40\" aria-label=\"Page 40\">40</a>",
            "<span class=\"ellipsis\" aria-hidden=\"true\">…</span>",
            "<a href=\"?p=3\" rel=\"next\" class=\"next\">",
            "<span class=\"result-count\">1,234 &lt;script&gt;",
            // actions
            "<div class=\"actions\" id=\"changelist-actions\">",
            "<select name=\"action\" id=\"action-select\" required>",
            "<option value=\"delete_selected\">&lt;script&gt;",
            "<input type=\"hidden\" name=\"select_across\" value=\"0\" class=\"select-across\">",
            "name=\"index\" value=\"0\">Go</button>",
            "<input type=\"checkbox\" id=\"action-toggle\"",
            "Select all 1,234 &lt;script&gt;",
            // chrome
            "<a href=\"/admin/blog/post/add/\" class=\"addlink\">Add &lt;script&gt;",
            "<li class=\"success\">&lt;script&gt;",
            "<li class=\"error\">Something failed</li>",
            "<div id=\"user-tools\">",
            "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>",
            "<form id=\"logout-form\" method=\"post\" action=\"/admin/logout/\">",
            "<a href=\"/admin/password_change/\"",
            "<a href=\"#content-start\" class=\"skip-to-content-link\">",
            "<h1>Select post to change</h1>",
            "<li class=\"model-link current-model\"><a href=\"/admin/blog/post/\" aria-current=\"page\">",
            "<span aria-current=\"page\">&lt;script&gt;",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        assert_eq!(html.matches("<tr data-pk=").count(), 3);
        // the last breadcrumb is not a link even if it had a url
        assert!(!html.contains("<a href=\"#\""));
    }

    #[test]
    fn change_list_without_actions_filters_or_rows_says_so() {
        let mut ctx = changelist_context();
        ctx["actions"] = json!([]);
        ctx["filters"] = json!([]);
        ctx["rows"] = json!([]);
        ctx["search"] = json!({"enabled": false, "q": ""});
        ctx["page"] = json!({"number": 1, "num_pages": 1, "total": 1, "total_label": "1",
                             "per_page": 100, "links": []});
        let html = render("change_list.html", &ctx);
        assert!(html.contains("<div class=\"module\" id=\"changelist\">"));
        assert!(html.contains("<p class=\"no-results\">No &lt;script&gt;"));
        assert!(!html.contains("id=\"changelist-actions\""));
        assert!(!html.contains("id=\"changelist-filter\""));
        assert!(!html.contains("id=\"searchbar\""));
        assert!(!html.contains("_selected_action"));
        assert!(!html.contains("rel=\"next\""));
        // singular label for one result
        assert!(html.contains("<span class=\"result-count\">1 &lt;script&gt;"));
    }

    #[test]
    fn change_list_shows_a_query_error() {
        let mut ctx = changelist_context();
        ctx["rows"] = json!([]);
        ctx["error"] = json!(format!("unknown filter field {X}"));
        let html = render("change_list.html", &ctx);
        assert!(
            html.contains(
                "<p class=\"errornote\" role=\"alert\">unknown filter field &lt;script&gt;"
            )
        );
        assert!(!html.contains("no-results"));
    }

    fn field(name: &str, widget: &str, value: Value) -> Value {
        let mut field = json!({"name": name, "label": X, "widget": widget,
               "required": false, "readonly": false, "errors": [], "attrs": {}});
        field["value"] = value;
        field
    }

    fn change_form_context() -> Value {
        let mut title = field("title", "text", json!(X));
        title["required"] = json!(true);
        title["errors"] = json!([X]);
        title["help"] = json!(X);
        title["attrs"] = json!({"maxlength": 200});
        let mut views = field("views", "number", json!(42));
        views["attrs"] = json!({"step": 1, "min": 0, "max": 1000});
        let mut rating = field("rating", "number", json!("4.50"));
        rating["attrs"] = json!({"step": "0.01"});
        let mut published = field("published", "checkbox", json!(true));
        published["checked"] = json!(true);
        let mut status = field("status", "select", json!("published"));
        status["required"] = json!(true);
        status["choices"] = json!([
            {"value": "draft", "label": X, "selected": false},
            {"value": "published", "label": "Published", "selected": true},
        ]);
        let mut author = field("author", "autocomplete", json!("7"));
        author["autocomplete_url"] = json!("/admin/auth/user/autocomplete/");
        author["related_url"] = json!("/admin/auth/user/7/change/");
        author["display"] = json!(X);
        let mut created = field("created", "readonly", json!(null));
        created["readonly"] = json!(true);
        created["display"] = json!(X);
        let mut meta = field("meta", "json", json!(format!("{{\"a\": \"{X}\"}}")));
        meta["errors"] = json!(["Enter valid JSON."]);
        page(
            "Change post",
            json!({
                "model": model(),
                "object": {"pk": 1, "repr": X, "url": "/admin/blog/post/1/change/",
                           "history_url": "/admin/blog/post/1/history/",
                           "delete_url": "/admin/blog/post/1/delete/"},
                "fieldsets": [
                    {"name": null, "classes": [], "fields": [
                        title,
                        field("body", "textarea", json!(X)),
                        views, rating, published,
                        field("pub_date", "date", json!("2024-05-01")),
                        field("pub_time", "time", json!("12:30:00")),
                        field("updated", "datetime", json!("2024-05-01T12:30")),
                        status,
                        field("featured", "nullbool", json!(null)),
                        field("pinned", "nullbool", json!(true)),
                        field("hidden", "nullbool", json!(false)),
                    ]},
                    {"name": X, "description": X, "classes": ["wide"], "fields": [
                        field("token", "uuid", json!("67e55044-10b1-426f-9247-bb680e5fe0c8")),
                        author, created,
                        field("slug", "text", json!(null)),
                    ]},
                    {"name": "Advanced", "classes": ["collapse"], "fields": [meta]},
                    {"name": "Closed", "classes": ["collapse"], "fields": [
                        field("notes", "textarea", json!(""))]},
                ],
                "errors": [X],
                "has_errors": true,
                "buttons": {"save": true, "save_add_another": true, "save_continue": true,
                            "delete_url": "/admin/blog/post/1/delete/"},
            }),
        )
    }

    #[test]
    fn change_form_renders_every_widget_with_values_and_errors() {
        let html = render("change_form.html", &change_form_context());
        for needle in [
            "<form method=\"post\" id=\"post_form\" class=\"change-form\" novalidate>",
            "<p class=\"errornote\" role=\"alert\">Please correct the errors below.</p>",
            "<ul class=\"errorlist nonfield\"><li>&lt;script&gt;",
            // text: required, marker, error and help tied to it
            "<div class=\"form-row field-title errors\">",
            "<label for=\"id_title\" class=\"required\">&lt;script&gt;alert(1)&lt;/script&gt;<span class=\"required-marker\" aria-hidden=\"true\">*</span></label>",
            "<input type=\"text\" name=\"title\" id=\"id_title\" required aria-invalid=\"true\" aria-describedby=\"id_title_error id_title_helptext\" value=\"&lt;script&gt;alert(1)&lt;/script&gt;\" class=\"vTextField\" maxlength=\"200\">",
            "<ul class=\"errorlist\" id=\"id_title_error\"><li>&lt;script&gt;",
            "<div class=\"help\" id=\"id_title_helptext\">&lt;script&gt;",
            // textarea keeps a leading newline of the value
            "<textarea name=\"body\" id=\"id_body\" rows=\"10\" cols=\"40\" class=\"vLargeTextField\">\n&lt;script&gt;alert(1)&lt;/script&gt;</textarea>",
            // numbers
            "<input type=\"number\" name=\"views\" id=\"id_views\" value=\"42\" class=\"vNumberField\" step=\"1\" min=\"0\" max=\"1000\">",
            "<input type=\"number\" name=\"rating\" id=\"id_rating\" value=\"4.50\" class=\"vNumberField\" step=\"0.01\">",
            // checkbox
            "<input type=\"checkbox\" name=\"published\" id=\"id_published\" checked>",
            "<label class=\"vCheckboxLabel\" for=\"id_published\">",
            // dates and times
            "<input type=\"date\" name=\"pub_date\" id=\"id_pub_date\" value=\"2024-05-01\" class=\"vDateField\">",
            "<input type=\"time\" name=\"pub_time\" id=\"id_pub_time\" value=\"12:30:00\" class=\"vTimeField\">",
            "<input type=\"datetime-local\" name=\"updated\" id=\"id_updated\" value=\"2024-05-01T12:30\" class=\"vDateTimeField\">",
            // select
            "<select name=\"status\" id=\"id_status\" required>",
            "<option value=\"draft\">&lt;script&gt;",
            "<option value=\"published\" selected>Published</option>",
            // null booleans
            "<select name=\"featured\" id=\"id_featured\" class=\"vNullBooleanField\">",
            "<option value=\"\" selected>Unknown</option>",
            "<option value=\"true\" selected>Yes</option>",
            "<option value=\"false\" selected>No</option>",
            // json, uuid
            "<textarea name=\"meta\" id=\"id_meta\" aria-invalid=\"true\" aria-describedby=\"id_meta_error\" rows=\"10\" cols=\"40\" class=\"vLargeTextField vJSONField\" spellcheck=\"false\">\n{&quot;a&quot;: &quot;&lt;script&gt;",
            "<ul class=\"errorlist\" id=\"id_meta_error\"><li>Enter valid JSON.</li></ul>",
            "<input type=\"text\" name=\"token\" id=\"id_token\" value=\"67e55044-10b1-426f-9247-bb680e5fe0c8\" class=\"vUUIDField\"",
            // autocomplete
            "<input type=\"text\" name=\"author\" id=\"id_author\" value=\"7\" class=\"vForeignKeyRawIdAdminField admin-autocomplete\" autocomplete=\"off\" spellcheck=\"false\" data-autocomplete-url=\"/admin/auth/user/autocomplete/\">",
            "<span class=\"autocomplete-display\" id=\"id_author_display\"><a href=\"/admin/auth/user/7/change/\" class=\"related-link\">&lt;script&gt;",
            // readonly posts nothing
            "<div class=\"form-row field-created readonly-row\">",
            "<div class=\"readonly\">&lt;script&gt;",
            // null value renders empty
            "<input type=\"text\" name=\"slug\" id=\"id_slug\" value=\"\" class=\"vTextField\">",
            // fieldsets
            "<fieldset class=\"module aligned wide\" aria-labelledby=\"fieldset-1-heading\">",
            "<h2 id=\"fieldset-1-heading\" class=\"fieldset-heading\">&lt;script&gt;",
            "<div class=\"description\">&lt;script&gt;",
            "<fieldset class=\"module aligned collapse\" aria-labelledby=\"fieldset-2-heading\">\n      <details open>",
            "<fieldset class=\"module aligned collapse\" aria-labelledby=\"fieldset-3-heading\">\n      <details>",
            // buttons and links
            "<button type=\"submit\" name=\"_save\" value=\"1\" class=\"default\">Save</button>",
            "<button type=\"submit\" name=\"_addanother\" value=\"1\">",
            "<button type=\"submit\" name=\"_continue\" value=\"1\">",
            "<a href=\"/admin/blog/post/1/delete/\" class=\"deletelink\">Delete</a>",
            "<a href=\"/admin/blog/post/1/history/\" class=\"historylink\">History</a>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        assert!(
            !html.contains("name=\"created\""),
            "a readonly field posts nothing"
        );
        assert!(!html.contains("closelink"));
    }

    fn inline_context(style: &str) -> Value {
        let mut stars = field("review_set-0-stars", "number", json!(4));
        stars["errors"] = json!([X]);
        let body = field("review_set-0-body", "text", json!(X));
        let empty = json!({"prefix": "review_set-__prefix__", "pk": null, "original": false,
            "readonly": false, "can_delete": false, "delete": false, "errors": [],
            "fields": [field("review_set-__prefix__-stars", "number", json!(""))],
            "fieldsets": [{"name": null, "classes": [], "fields": [
                field("review_set-__prefix__-stars", "number", json!(""))]}]});
        let mut ctx = change_form_context();
        ctx["inlines"] = json!([{
            "prefix": "review_set", "style": style, "name": "review", "name_plural": X,
            "columns": [{"name": "stars", "label": "Stars", "required": true},
                        {"name": "body", "label": X, "required": false}],
            "forms": [{"prefix": "review_set-0", "pk": "7", "repr": X, "url": "/admin/library/review/7/change/",
                       "original": true, "readonly": false, "can_delete": true, "delete": true,
                       "errors": [X], "fields": [stars, body],
                       "fieldsets": [{"name": null, "classes": [], "fields": [stars, body]}]}],
            "empty_form": empty, "errors": ["Please submit at most 1 form."],
            "can_add": true, "can_delete": true, "add_label": "Add another review",
            "management": {"total": 1, "initial": 1, "min_num": 0, "max_num": 1000},
        }]);
        ctx
    }

    #[test]
    fn inlines_render_formsets_with_errors_and_an_empty_template() {
        for style in ["tabular", "stacked"] {
            let html = render("change_form.html", &inline_context(style));
            for needle in [
                "<input type=\"hidden\" name=\"review_set-TOTAL_FORMS\" value=\"1\"",
                "name=\"review_set-INITIAL_FORMS\" value=\"1\"",
                "name=\"review_set-MIN_NUM_FORMS\" value=\"0\"",
                "name=\"review_set-MAX_NUM_FORMS\" value=\"1000\"",
                "<input type=\"hidden\" name=\"review_set-0-id\" value=\"7\"",
                "<input type=\"number\" name=\"review_set-0-stars\" id=\"id_review_set-0-stars\" aria-invalid=\"true\"",
                "<ul class=\"errorlist\" id=\"id_review_set-0-stars_error\"><li>&lt;script&gt;",
                "name=\"review_set-0-DELETE\" id=\"id_review_set-0-DELETE\" checked>",
                "<ul class=\"errorlist nonform\"><li>Please submit at most 1 form.</li></ul>",
                "<template class=\"inline-empty-form\" id=\"review_set-empty\">",
                "name=\"review_set-__prefix__-stars\"",
                "Add another review</button>",
                "<a href=\"/admin/library/review/7/change/\">&lt;script&gt;",
            ] {
                assert!(
                    html.contains(needle),
                    "{style}: missing {needle:?} in\n{html}"
                );
            }
            assert!(!html.contains("<script>alert"), "{style}: escaped");
        }
    }

    #[test]
    fn add_form_without_object_or_permissions_shows_close_only() {
        let mut ctx = change_form_context();
        ctx.as_object_mut().map(|o| o.remove("object"));
        ctx["errors"] = json!([]);
        ctx["has_errors"] = json!(false);
        ctx["buttons"] = json!({"save": false, "save_add_another": false, "save_continue": false});
        let html = render("change_form.html", &ctx);
        assert!(!html.contains("historylink"));
        assert!(!html.contains("deletelink"));
        assert!(!html.contains("name=\"_save\""));
        assert!(!html.contains("class=\"errornote\""));
        assert!(html.contains("<a href=\"/admin/blog/post/\" class=\"closelink\">Close</a>"));
    }

    #[test]
    fn one_error_is_counted_in_the_singular() {
        let mut ctx = change_form_context();
        ctx["errors"] = json!([]);
        ctx["fieldsets"] = json!([{"name": null, "classes": [], "fields": [{
            "name": "title", "label": X, "widget": "text", "value": "", "required": true,
            "readonly": false, "errors": ["This field is required."], "attrs": {}}]}]);
        let html = render("change_form.html", &ctx);
        assert!(html.contains("Please correct the error below."));
    }

    #[test]
    fn many_to_many_is_a_multiple_select_with_the_chosen_selected() {
        let mut ctx = change_form_context();
        let mut tags = field("tags", "m2m", json!(["2"]));
        tags["choices"] = json!([
            {"value": "1", "label": X, "selected": false},
            {"value": "2", "label": "rust", "selected": true},
        ]);
        tags["size"] = json!(4);
        tags["filter_horizontal"] = json!(true);
        tags["verbose_name"] = json!(X);
        tags["errors"] = json!([X]);
        ctx["fieldsets"] = json!([{"name": null, "classes": [], "fields": [tags]}]);
        let html = render("change_form.html", &ctx);
        for needle in [
            "<label for=\"id_tags\">",
            "<select name=\"tags\" id=\"id_tags\" multiple size=\"4\" class=\"vManyToManyField filtered\" data-filter-horizontal=\"&lt;script&gt;alert(1)&lt;/script&gt;\" aria-invalid=\"true\" aria-describedby=\"id_tags_error id_tags_hint\">",
            "<option value=\"1\">&lt;script&gt;alert(1)&lt;/script&gt;</option>",
            "<option value=\"2\" selected>rust</option>",
            "<div class=\"help m2m-hint\" id=\"id_tags_hint\">",
            "<ul class=\"errorlist\" id=\"id_tags_error\">",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
    }

    #[test]
    fn login_keeps_the_username_and_shows_the_error() {
        let mut ctx = page(
            "Log in",
            json!({"error": X, "username": X, "next": "/admin/blog/"}),
        );
        ctx.as_object_mut().map(|o| o.remove("user"));
        let html = render("login.html", &ctx);
        for needle in [
            "<body class=\"login\">",
            "<p class=\"errornote\" role=\"alert\">&lt;script&gt;",
            "<form method=\"post\" id=\"login-form\" action=\"/admin/login/\">",
            "<input type=\"text\" name=\"username\" id=\"id_username\" value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"",
            "<label class=\"required\" for=\"id_username\">",
            "<input type=\"password\" name=\"password\" id=\"id_password\"",
            "<input type=\"hidden\" name=\"next\" value=\"/admin/blog/\">",
            "<button type=\"submit\" class=\"default\">Log in</button>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        assert!(!html.contains("user-tools"));
        assert!(!html.contains("nav-sidebar"));
    }

    #[test]
    fn index_lists_apps_and_models_with_add_links_by_permission() {
        let ctx = page(
            "Site administration",
            json!({"apps": [{"label": X, "app_label": "blog", "models": [
                {"label_plural": X, "url": "/admin/blog/post/", "add_url": "/admin/blog/post/add/",
                 "perms": {"view": true, "add": true, "change": true, "delete": true}},
                {"label_plural": "Tags", "url": "/admin/blog/tag/",
                 "perms": {"view": true, "add": false, "change": false, "delete": false}},
            ]}]}),
        );
        let html = render("index.html", &ctx);
        for needle in [
            "<div class=\"app-blog module\">",
            "<caption>&lt;script&gt;",
            "<th scope=\"row\"><a href=\"/admin/blog/post/\">&lt;script&gt;",
            "<a href=\"/admin/blog/post/add/\" class=\"addlink\">Add",
            "<a href=\"/admin/blog/post/\" class=\"changelink\">Change",
            "<a href=\"/admin/blog/tag/\" class=\"viewlink\">View",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        assert!(!html.contains("/admin/blog/tag/add/"));
        assert!(
            !html.contains("id=\"nav-sidebar\""),
            "the index is its own navigation"
        );

        let empty = render("index.html", &page(X, json!({"apps": []})));
        assert!(empty.contains("You don’t have permission to view or edit anything."));
    }

    #[test]
    fn password_change_shows_errors_by_field_and_done() {
        let ctx = page(
            "Password change",
            json!({"errors": {"old_password": [X], "new_password2": ["The two password fields didn’t match."],
                              "__all__": [X]}}),
        );
        let html = render("password_change.html", &ctx);
        for needle in [
            "<form method=\"post\" id=\"password-change-form\" action=\"/admin/password_change/\" novalidate>",
            "<p class=\"errornote\" role=\"alert\">",
            "<ul class=\"errorlist nonfield\"><li>&lt;script&gt;",
            "<div class=\"form-row field-old_password errors\">",
            "<input type=\"password\" name=\"old_password\" id=\"id_old_password\" autocomplete=\"current-password\" required aria-invalid=\"true\" aria-describedby=\"id_old_password_error\">",
            "<ul class=\"errorlist\" id=\"id_old_password_error\"><li>&lt;script&gt;",
            "<input type=\"password\" name=\"new_password1\" id=\"id_new_password1\" autocomplete=\"new-password\" required>",
            "<ul class=\"errorlist\" id=\"id_new_password2_error\"><li>The two password fields didn’t match.</li></ul>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        let done = render("password_change.html", &page(X, json!({"done": true})));
        assert!(done.contains("Your password was changed."));
        assert!(!done.contains("id=\"password-change-form\""));
    }

    #[test]
    fn delete_confirmation_lists_objects_and_cascades_or_protection() {
        let single = page(
            "Are you sure?",
            json!({"model": model(),
                   "object": {"pk": 1, "repr": X, "url": "/admin/blog/post/1/change/"},
                   "objects": [{"repr": X, "url": "/admin/blog/post/1/change/"}],
                   "cascades": [{"label": X, "count": 12, "examples": [X, "Comment 2"]}],
                   "protected": []}),
        );
        let html = render("delete_confirmation.html", &single);
        for needle in [
            "Are you sure you want to delete the &lt;script&gt;alert(1)&lt;/script&gt; “&lt;script&gt;",
            "<li>&lt;script&gt;alert(1)&lt;/script&gt;: 12</li>",
            "<ul id=\"deleted-objects\">",
            "<a href=\"/admin/blog/post/1/change/\">&lt;script&gt;",
            "<li class=\"more\">… and 10 more</li>",
            "<input type=\"hidden\" name=\"post\" value=\"yes\">",
            "<button type=\"submit\" class=\"default danger\">Yes, I’m sure</button>",
            "<a href=\"/admin/blog/post/1/change/\" class=\"button cancel-link\">No, take me back</a>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        assert!(!html.contains("_selected_action"));

        let bulk = page(
            "Are you sure?",
            json!({"model": model(),
                   "objects": [{"repr": X, "url": "/admin/blog/post/1/change/"}, {"repr": "Two"}],
                   "cascades": [], "protected": [],
                   "selected": [1, "a\"b"], "action": "delete_selected"}),
        );
        let html = render("delete_confirmation.html", &bulk);
        for needle in [
            "delete the selected &lt;script&gt;",
            "<input type=\"hidden\" name=\"_selected_action\" value=\"1\">",
            "<input type=\"hidden\" name=\"_selected_action\" value=\"a&quot;b\">",
            "<input type=\"hidden\" name=\"action\" value=\"delete_selected\">",
            "<input type=\"hidden\" name=\"post\" value=\"yes\">",
            "<a href=\"/admin/blog/post/\" class=\"button cancel-link\">",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }

        let protected = page(
            "Cannot delete",
            json!({"model": model(), "objects": [{"repr": X}], "cascades": [],
                   "protected": [X]}),
        );
        let html = render("delete_confirmation.html", &protected);
        assert!(html.contains("<ul class=\"protected-objects\">"));
        assert!(html.contains("<li>&lt;script&gt;"));
        assert!(!html.contains("<form method=\"post\" id=\"delete-confirmation-form\">"));
        assert!(!html.contains("Yes, I’m sure"));
    }

    #[test]
    fn action_confirmation_posts_the_action_and_selection() {
        let ctx = page(
            "Publish posts",
            json!({"model": model(),
                   "action": {"name": "publish", "label": X, "description": X},
                   "objects": [{"repr": X, "url": "/admin/blog/post/1/change/"}, {"repr": "Two"}],
                   "selected": [1, 2]}),
        );
        let html = render("action_confirmation.html", &ctx);
        for needle in [
            "<p class=\"action-description\">&lt;script&gt;",
            "apply “&lt;script&gt;",
            "<input type=\"hidden\" name=\"action\" value=\"publish\">",
            "<input type=\"hidden\" name=\"_selected_action\" value=\"2\">",
            "<input type=\"hidden\" name=\"post\" value=\"yes\">",
            "<li><a href=\"/admin/blog/post/1/change/\">&lt;script&gt;",
            "<li>Two</li>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
    }

    #[test]
    fn history_lists_entries() {
        let ctx = page(
            "Change history",
            json!({"model": model(),
            "object": {"pk": 1, "repr": X, "url": "/admin/blog/post/1/change/"},
            "entries": [
                {"time": "May 1, 2024, 12:30 p.m.", "user": X, "action": "Added", "message": X},
                {"time": "May 2, 2024, 9:00 a.m.", "user": "bob", "action": "Changed",
                 "message": "Changed title."},
            ]}),
        );
        let html = render("history.html", &ctx);
        for needle in [
            "<table id=\"change-history\">",
            "<th scope=\"row\" class=\"history-time\">May 1, 2024, 12:30 p.m.</th>",
            "<td class=\"history-user\">&lt;script&gt;",
            "<td class=\"history-action\">Changed</td>",
            "<td class=\"history-message\">&lt;script&gt;",
            "<a href=\"/admin/blog/post/1/change/\" class=\"changelink\">",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
        let empty = page(
            "Change history",
            json!({"model": model(), "object": {"repr": X}, "entries": []}),
        );
        assert!(render("history.html", &empty).contains("doesn’t have a change history"));
    }

    #[test]
    fn error_page_shows_status_and_message() {
        let mut ctx = page("", json!({"status": 404, "message": X}));
        ctx["title"] = Value::Null;
        let html = render("error.html", &ctx);
        assert!(html.contains("<h1>Page not found <span class=\"status-code\">(404)</span></h1>"));
        assert!(html.contains("<p class=\"error-message\">&lt;script&gt;"));
        assert!(html.contains("<title>Page not found | batteries admin</title>"));
    }

    #[test]
    fn every_embedded_template_renders_with_a_minimal_context() {
        // Views may leave optional values out: no template may fail on an absent one.
        let ctx = json!({"site": {"prefix": "/admin", "static": "/admin/static"},
                         "csrf_token": CSRF});
        let templates = Templates::new(None);
        // `widget_*.html` are pieces included by the pages, not pages.
        for (name, _) in EMBEDDED.iter().filter(|(n, _)| !n.starts_with("widget_")) {
            let html = templates
                .render(name, &ctx)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            if name.starts_with("inline_") {
                // Parts of `change_form.html`, not pages.
                continue;
            }
            assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
            check_balanced(name, &html);
        }
    }

    /// A fresh directory under the system's temporary one, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "batteries-admin-templates-{tag}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create temp dir");
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_file_in_the_templates_dir_overrides_the_embedded_one() {
        let dir = TempDir::new("override");
        std::fs::write(
            dir.0.join("base.html"),
            "<p id=\"custom-base\">{{ site.header }}</p>{% block content %}{% endblock %}",
        )
        .expect("write override");
        let templates = Templates::new(Some(dir.0.clone()));
        let ctx = page("Site administration", json!({"apps": []}));
        let html = templates.render("index.html", &ctx).expect("render");
        assert!(
            html.starts_with("<p id=\"custom-base\">Administration</p>"),
            "{html}"
        );
        // index.html itself was not overridden: the embedded one extends the custom base
        assert!(html.contains("You don’t have permission"));
        // overrides are escaped too
        std::fs::write(dir.0.join("error.html"), "{{ message }}").expect("write override");
        let html = Templates::new(Some(dir.0.clone()))
            .render("error.html", &json!({"message": X}))
            .expect("render");
        assert_eq!(html, X_ESCAPED);
    }

    #[test]
    fn without_an_override_the_embedded_template_is_used() {
        let dir = TempDir::new("empty");
        let html = Templates::new(Some(dir.0.clone()))
            .render("login.html", &page("Log in", json!({})))
            .expect("render");
        assert!(html.contains("id=\"login-form\""));
    }

    #[test]
    fn unknown_templates_and_other_files_are_not_found() {
        let dir = TempDir::new("unknown");
        std::fs::write(dir.0.join("secret.html"), "secret").expect("write");
        std::fs::write(dir.0.join("index.html"), "{% include \"../Cargo.toml\" %}").expect("write");
        let templates = Templates::new(Some(dir.0.clone()));
        for name in [
            "nope.html",
            "secret.html",
            "../Cargo.toml",
            "../templates/base.html",
            "/etc/passwd",
            "",
        ] {
            let err = templates
                .render(name, &json!({}))
                .expect_err("unknown template");
            assert_eq!(err.kind(), minijinja::ErrorKind::TemplateNotFound, "{name}");
        }
        let err = templates
            .render("index.html", &json!({}))
            .expect_err("include outside the list");
        assert_eq!(err.kind(), minijinja::ErrorKind::TemplateNotFound);
    }

    #[test]
    fn an_override_that_does_not_parse_is_an_error() {
        let dir = TempDir::new("broken");
        std::fs::write(dir.0.join("error.html"), "{% if %}").expect("write");
        let err = Templates::new(Some(dir.0.clone()))
            .render("error.html", &json!({}))
            .expect_err("syntax error");
        assert_eq!(err.kind(), minijinja::ErrorKind::SyntaxError);
    }

    #[test]
    fn assets_are_embedded_with_their_content_types() {
        let (ty, css) = asset("admin.css").expect("css");
        assert_eq!(ty, "text/css; charset=utf-8");
        assert!(
            std::str::from_utf8(css)
                .expect("utf-8")
                .contains("#changelist")
        );
        let (ty, js) = asset("admin.js").expect("js");
        assert_eq!(ty, "text/javascript; charset=utf-8");
        assert!(
            std::str::from_utf8(js)
                .expect("utf-8")
                .contains("aria-activedescendant")
        );
        for name in ["admin.html", "../Cargo.toml", "", "ADMIN.CSS"] {
            assert!(asset(name).is_none(), "{name}");
        }
    }
}
