//! Export: the changelist as a CSV or JSON file, streamed.
//!
//! `GET <prefix>/<app>/<model>/export/?format=csv|json&<the changelist's query string>`
//! (and `<prefix>/api/<app>/<model>/export`). The query string is parsed by the
//! changelist's own filter set, so it selects the same rows in the same order and a bad
//! one is the same 400. The rows are read in batches of [`BATCH`] (a keyset over the
//! changelist's ordering, the primary key last), encoded into chunks of about
//! [`CHUNK`] bytes and sent through a bounded channel that the response body reads: a
//! spawned task runs the queries, the client's pace sets theirs, and memory stays flat
//! whatever the number of rows. A client that goes away closes the channel, which stops
//! the task before its next query; a database failure half-way ends the body with an
//! error, so the server aborts the response instead of sending a truncated file.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use batteries_orm::value::to_json;
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{HeaderValue, Response, StatusCode, header};
use sea_orm::{DatabaseConnection, Value};
use serde_json::Value as Json;
use tokio::sync::mpsc::Sender;

use super::perms::{Action, has_perm, may};
use super::request::Staff;
use crate::body::AdminBody;
use crate::model::field::pk_string;
use crate::model::{AdminModel, Column, ExportFrom, ListError, ModelInfo, Row};
use crate::registry::{Registered, Registry};

/// Rows per query.
pub(crate) const BATCH: u64 = 1000;
/// Bytes per chunk sent to the client (about).
pub(crate) const CHUNK: usize = 64 * 1024;
/// Chunks encoded ahead of the client at most.
const AHEAD: usize = 4;

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

impl Format {
    fn parse(pairs: &[(String, String)]) -> Result<Self, String> {
        match pairs
            .iter()
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v.as_str())
        {
            None | Some("csv") => Ok(Self::Csv),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!(
                "invalid `format` value `{}`: allowed: csv, json",
                crate::model::field::truncate(other)
            )),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

/// Whether `staff` may export `info`: `view` (or `change`) and `export`.
pub(crate) fn may_export(staff: &Staff, info: &ModelInfo) -> bool {
    has_perm(staff, info, Action::View) && staff.perms.has_perm(&info.perm(Action::Export))
}

/// Why an export did not start.
pub(crate) enum Refusal {
    Forbidden,
    BadRequest(String),
    Unavailable,
}

/// Starts the export of `reg` for the query string's `pairs`: the first batch is read
/// here (so a bad query string is a 400 and an unreachable database a 503), the rest by
/// a spawned task while the body streams.
pub(crate) async fn start(
    registry: &Registry,
    staff: &Staff,
    reg: &Registered,
    pairs: Vec<(String, String)>,
) -> Result<Response<AdminBody>, Refusal> {
    let info = reg.model.info();
    if !may_export(staff, info) {
        return Err(Refusal::Forbidden);
    }
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(Refusal::BadRequest(
            "Null characters are not allowed in the query string.".into(),
        ));
    }
    let format = Format::parse(&pairs).map_err(Refusal::BadRequest)?;
    let first = match reg
        .model
        .export_batch(&registry.db, &pairs, None, BATCH)
        .await
    {
        Ok(first) => first,
        Err(ListError::Query(message)) => return Err(Refusal::BadRequest(message)),
        Err(ListError::Db(e)) => {
            tracing::error!(error = %e, "admin export query failed");
            return Err(Refusal::Unavailable);
        }
    };
    // What the task needs, owned: the foreign keys' registered targets among the
    // listed columns.
    let mut targets = Vec::new();
    for column in &info.list_display {
        if let Column::Field(i) = column
            && let Some(fk) = &info.fields[*i].foreign_key
            && let Some(target) = registry.by_table(&fk.table)
            && target.model.info().pk_field().name == fk.column
        {
            targets.push((*i, Arc::clone(&target.model)));
        }
    }
    let job = Job {
        db: registry.db.clone(),
        reg: Registered {
            model: Arc::clone(&reg.model),
            content_type_id: reg.content_type_id,
        },
        staff: staff.clone(),
        pairs,
        format,
        targets,
    };
    let (tx, body) = AdminBody::channel(AHEAD);
    tokio::spawn(async move {
        let guard = tx.clone();
        // A bug must not end the file as if it were complete.
        if AssertUnwindSafe(job.run(tx, first))
            .catch_unwind()
            .await
            .is_err()
        {
            fail(&guard, "the export's task panicked").await;
        }
    });

    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let stem: String = info
        .model_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let filename = format!(
        "{stem}-{}.{}",
        chrono::Utc::now().format("%Y-%m-%d"),
        format.extension()
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// One export, run by its own task.
struct Job {
    db: DatabaseConnection,
    reg: Registered,
    staff: Staff,
    pairs: Vec<(String, String)>,
    format: Format,
    /// `(field index, related model)` of each listed foreign key whose target is
    /// registered.
    targets: Vec<(usize, Arc<dyn AdminModel>)>,
}

impl Job {
    async fn run(self, tx: Sender<std::io::Result<Bytes>>, first: (Vec<Row>, Option<ExportFrom>)) {
        let info = self.reg.model.info();
        let hooks = self.reg.model.has_object_hooks();
        let mut out = Encoder::new(self.format, info);
        let (mut rows, mut next) = first;
        loop {
            let reprs = match self.reprs(&rows).await {
                Ok(reprs) => reprs,
                Err(e) => return fail(&tx, &e.to_string()).await,
            };
            for row in &rows {
                if hooks && !may(&self.staff, &self.reg, row, Action::View) {
                    continue;
                }
                out.row(info, row, &reprs);
                if out.len() >= CHUNK && tx.send(Ok(out.take())).await.is_err() {
                    // The client went away: no more queries.
                    return;
                }
            }
            let Some(from) = next.take() else { break };
            if tx.is_closed() {
                return;
            }
            match self
                .reg
                .model
                .export_batch(&self.db, &self.pairs, Some(from), BATCH)
                .await
            {
                Ok((r, n)) => {
                    rows = r;
                    next = n;
                }
                Err(ListError::Db(e)) => return fail(&tx, &e.to_string()).await,
                Err(ListError::Query(m)) => return fail(&tx, &m).await,
            }
        }
        out.finish();
        let _ = tx.send(Ok(out.take())).await;
    }

    /// The names of the rows the batch's foreign keys point to: one `IN` query per
    /// listed foreign key.
    async fn reprs(
        &self,
        rows: &[Row],
    ) -> Result<HashMap<usize, HashMap<String, String>>, sea_orm::DbErr> {
        let mut out = HashMap::new();
        for (i, target) in &self.targets {
            let mut seen = std::collections::HashSet::new();
            let values: Vec<Value> = rows
                .iter()
                .map(|r| r.values[*i].clone())
                .filter(|v| {
                    let key = pk_string(v);
                    !key.is_empty() && seen.insert(key)
                })
                .collect();
            out.insert(*i, target.reprs(&self.db, values).await?);
        }
        Ok(out)
    }
}

/// Ends the body with an error (headers are gone already) and logs why.
async fn fail(tx: &Sender<std::io::Result<Bytes>>, why: &str) {
    tracing::error!(error = why, "admin export stopped half-way");
    let _ = tx
        .send(Err(std::io::Error::other(
            "the export stopped: the database failed",
        )))
        .await;
}

/// A cell's value: as the JSON API writes it, a foreign key by the related row's name
/// (its key when that row is not found or its model not registered). Text is borrowed
/// from the row where it can be: a million-row export makes seven million cells.
enum Cell<'a> {
    Text(&'a str),
    Owned(String),
    Json(Json),
}

fn value<'a>(
    info: &ModelInfo,
    column: &Column,
    row: &'a Row,
    reprs: &'a HashMap<usize, HashMap<String, String>>,
) -> Cell<'a> {
    match column {
        Column::Field(i) => {
            let value = &row.values[*i];
            if let Some(names) = reprs.get(i) {
                let key = pk_string(value);
                if key.is_empty() {
                    return Cell::Json(Json::Null);
                }
                return match names.get(&key) {
                    Some(name) => Cell::Text(name),
                    None => Cell::Owned(key),
                };
            }
            if let Value::String(Some(s)) = value {
                return Cell::Text(s);
            }
            match to_json(value, &info.fields[*i].kind) {
                Json::String(s) => Cell::Owned(s),
                other => Cell::Json(other),
            }
        }
        Column::Computed { index, .. } => {
            Cell::Text(row.computed.get(*index).map_or("", String::as_str))
        }
    }
}

impl Cell<'_> {
    /// The CSV text: strings as they are (neutralised), `null` empty, the rest as JSON
    /// writes it.
    fn csv(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(s) => neutralise(s),
            Cell::Owned(s) | Cell::Json(Json::String(s)) => neutralise(s),
            Cell::Json(Json::Null) => Cow::Borrowed(""),
            Cell::Json(other) => Cow::Owned(neutralise(&other.to_string()).into_owned()),
        }
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        let _ = match self {
            Cell::Text(s) => serde_json::to_writer(out, s),
            Cell::Owned(s) => serde_json::to_writer(out, s),
            Cell::Json(j) => serde_json::to_writer(out, j),
        };
    }
}

/// Characters that start a formula in some spreadsheet: `=`, `+`, `-`, `@`, and their
/// fullwidth (`＝＋－＠`, which Excel reads as formulas in East Asian locales) and small
/// (`﹦﹢﹣﹫`) forms.
const FORMULA_STARTS: [char; 12] = [
    '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}', '\u{FE66}', '\u{FE62}',
    '\u{FE63}', '\u{FE6B}',
];

/// Characters a spreadsheet may skip before it looks for a formula: whitespace (space,
/// tab, CR, LF, no-break and ideographic spaces...), control characters (NUL, C0, DEL,
/// C1) and invisible format characters (zero-width space and joiners, word joiner,
/// byte-order mark, direction marks and embeddings, soft hyphen).
fn skippable(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
        )
}

/// OWASP's defence against CSV injection, in full: a cell a spreadsheet could read as
/// a formula gets a leading `'`. That is a cell that starts with a tab, a carriage
/// return or NUL (OWASP's and ASVS's lists), or whose first character after any
/// leading whitespace, control or invisible characters ([`skippable`]) is one of
/// [`FORMULA_STARTS`]. A plain number (`-12.5`, `+1e5`), which no spreadsheet runs,
/// stays as it is. Every CSV cell is also quoted ([`csv_writer`]), so a `;` or a tab in
/// a cell cannot start a new one where the spreadsheet splits on those.
pub(crate) fn neutralise(s: &str) -> Cow<'_, str> {
    if !needs_quote(s) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(format!("'{s}"))
}

fn needs_quote(s: &str) -> bool {
    if s.starts_with(['\t', '\r', '\0']) {
        return true;
    }
    let Some(first) = s.chars().find(|&c| !skippable(c)) else {
        return false;
    };
    if !FORMULA_STARTS.contains(&first) {
        return false;
    }
    // `-12.5`, `+3`, `-1e-5`: a sign straight at the start, then a number.
    let number = s.starts_with(['-', '+'])
        && s[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && s[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && s.parse::<f64>().is_ok();
    !number
}

/// RFC 4180 with every field quoted (OWASP: a quoted `;` or tab cannot split a cell in
/// a spreadsheet whose separator it is), CRLF line ends.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::with_capacity(CHUNK + 4096))
}

/// Encodes rows into a growing buffer, taken chunk by chunk.
struct Encoder {
    format: Format,
    csv: csv::Writer<Vec<u8>>,
    json: Vec<u8>,
    /// JSON keys, already encoded (`"title":`).
    keys: Vec<String>,
    rows: u64,
}

impl Encoder {
    fn new(format: Format, info: &ModelInfo) -> Self {
        let mut out = Self {
            format,
            csv: csv_writer(),
            json: Vec::with_capacity(CHUNK + 4096),
            keys: Vec::new(),
            rows: 0,
        };
        match format {
            Format::Csv => {
                let header: Vec<String> = info
                    .list_display
                    .iter()
                    .map(|c| match c {
                        Column::Field(i) => neutralise(&info.fields[*i].label).into_owned(),
                        Column::Computed { label, .. } => neutralise(label).into_owned(),
                    })
                    .collect();
                let _ = out.csv.write_record(&header);
            }
            Format::Json => {
                out.keys = info
                    .list_display
                    .iter()
                    .map(|c| {
                        let name = match c {
                            Column::Field(i) => info.fields[*i].name.as_str(),
                            Column::Computed { name, .. } => name.as_str(),
                        };
                        format!("{}:", Json::String(name.to_owned()))
                    })
                    .collect();
                out.json.push(b'[');
            }
        }
        out
    }

    fn row(
        &mut self,
        info: &ModelInfo,
        row: &Row,
        reprs: &HashMap<usize, HashMap<String, String>>,
    ) {
        match self.format {
            Format::Csv => {
                let cells: Vec<Cell<'_>> = info
                    .list_display
                    .iter()
                    .map(|c| value(info, c, row, reprs))
                    .collect();
                // Writing into a Vec cannot fail.
                let _ = self
                    .csv
                    .write_record(cells.iter().map(|c| c.csv()).map(|t| {
                        // `write_record` wants bytes it may borrow for the call only.
                        match t {
                            Cow::Borrowed(b) => Cow::Borrowed(b.as_bytes()),
                            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
                        }
                    }));
            }
            Format::Json => {
                self.json
                    .extend_from_slice(if self.rows == 0 { b"\n{" } else { b",\n{" });
                for (n, (column, key)) in info.list_display.iter().zip(&self.keys).enumerate() {
                    if n > 0 {
                        self.json.push(b',');
                    }
                    self.json.extend_from_slice(key.as_bytes());
                    value(info, column, row, reprs).write_json(&mut self.json);
                }
                self.json.push(b'}');
            }
        }
        self.rows += 1;
    }

    fn finish(&mut self) {
        if self.format == Format::Json {
            self.json.extend_from_slice(b"\n]\n");
        }
    }

    fn len(&mut self) -> usize {
        match self.format {
            // Without what the writer still buffers (8 KiB at most): chunks are about
            // CHUNK bytes, not exactly.
            Format::Csv => self.csv.get_ref().len(),
            Format::Json => self.json.len(),
        }
    }

    fn take(&mut self) -> Bytes {
        match self.format {
            Format::Csv => {
                let full = std::mem::replace(&mut self.csv, csv_writer());
                Bytes::from(full.into_inner().unwrap_or_default())
            }
            Format::Json => Bytes::from(std::mem::take(&mut self.json)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FORMULA_STARTS, neutralise};

    /// Every leading character OWASP's guidance and the spreadsheets' parsers make us
    /// consider, before each formula start and alone.
    const LEADERS: [&str; 27] = [
        "",
        " ",
        "  ",
        "\t",
        "\r",
        "\n",
        "\r\n",
        "\0",
        "\u{1}",
        "\u{1b}",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{ad}",
        "\u{1680}",
        "\u{2000}",
        "\u{2007}",
        "\u{200b}",
        "\u{200d}",
        "\u{200e}",
        "\u{2028}",
        "\u{202e}",
        "\u{202f}",
        "\u{2060}",
        "\u{3000}",
        "\u{feff}",
        " \u{a0}\t\u{3000}\u{200b}",
    ];

    #[test]
    fn formulas_get_a_quote_and_numbers_do_not() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("\t=1"), "'\t=1");
        assert_eq!(neutralise("-12.5"), "-12.5");
        assert_eq!(neutralise("+1e5"), "+1e5");
        assert_eq!(neutralise("-1e-5"), "-1e-5");
        assert_eq!(neutralise("-"), "'-");
        assert_eq!(neutralise("-e5"), "'-e5");
        assert_eq!(neutralise("-1,5"), "'-1,5");
        assert_eq!(neutralise("plain"), "plain");
        assert_eq!(neutralise(""), "");
        assert_eq!(neutralise("ÄéJÚ4"), "ÄéJÚ4");
        assert_eq!(neutralise("=Ä"), "'=Ä");
        assert_eq!(neutralise("-é"), "'-é");
    }

    #[test]
    fn every_leader_before_every_formula_start_is_quoted() {
        for lead in LEADERS {
            for start in FORMULA_STARTS {
                for tail in [
                    "",
                    "1+1",
                    "HYPERLINK(\"http://evil.example\",\"x\")",
                    "cmd|' /C calc'!A0",
                ] {
                    let cell = format!("{lead}{start}{tail}");
                    assert_eq!(neutralise(&cell), format!("'{cell}"), "{cell:?}");
                }
            }
            // A number after leading blanks is quoted too (only a bare number is kept).
            if !lead.is_empty() {
                let cell = format!("{lead}-12");
                assert_eq!(neutralise(&cell), format!("'{cell}"), "{cell:?}");
            }
        }
    }

    #[test]
    fn tab_cr_and_nul_first_are_always_quoted() {
        for cell in ["\tplain", "\rplain", "\0plain", "\t", "\r", "\0", "\t12"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn text_and_numbers_are_left_alone() {
        for cell in [
            "plain",
            " plain",
            "\u{a0}plain",
            "\u{3000}テキスト",
            "a=b",
            "a+b",
            "e-mail",
            "x@example.com",
            "1-2",
            "12",
            "12.5",
            "-12",
            "+12",
            "-0.5",
            "-.5",
            "+1E10",
            "\u{2212}1",
            "'=already",
            "\nplain",
            " ",
        ] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }
}
