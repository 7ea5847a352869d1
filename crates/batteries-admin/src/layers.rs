//! The admin's layers, checked: every `crate::` path and every `super::` path that
//! leaves a layer's folder, in the code (not the comments, not `#[cfg(test)]` modules) of
//! every file under `src/`, points at a layer before the file's own, and `html` and
//! `api` never name each other. A module that is not in the table below fails the test,
//! so a new one has to be given its place.

use std::path::{Path, PathBuf};

/// The layers in order: a module may use its own layer and those before it.
/// `leaf` modules (the response body, responses, templates, errors, the log and its
/// migrations) use only other leaves.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaf",
        &[
            "body",
            "response",
            "templates",
            "error",
            "log",
            "migrations",
        ],
    ),
    ("model", &["model"]),
    ("config", &["config"]),
    ("registry", &["registry"]),
    ("service", &["service"]),
    // html and api share a rank: neither may name the other.
    ("front", &["html", "api"]),
    ("router", &["router", "fuzzing"]),
    ("root", &["lib", "layers"]),
];

fn rank(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top module a path under `src/` belongs to (`html/form.rs` -> `html`).
fn top_module(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, string literals' contents and
/// `#[cfg(test)]` items (tests may reach anywhere).
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut depth: i64 = 0;
    let mut pending_test = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let code = line.split(" //").next().unwrap_or(line);
        let opens = code.matches('{').count() as i64;
        let closes = code.matches('}').count() as i64;
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        if pending_test && !trimmed.starts_with("#[") {
            pending_test = false;
            if opens > closes {
                skip_depth = Some(depth);
            }
            depth += opens - closes;
            continue;
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        out.push((n + 1, strip_strings(code)));
    }
    out
}

fn strip_strings(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push('"');
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// The modules named by `crate::<module>` in a line, and `super::` when it leaves the
/// file's top folder (`super::` in `html/form.rs` is `html`; in `html/mod.rs` the root).
fn named_modules(line: &str, file_is_folder_root: bool, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        let after = &rest[i + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `batteries_crate::`, not ours
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || name.starts_with(char::is_uppercase) || name == "ModelAdmin" {
            // `crate::{..}` or a re-export at the root: the root's rank.
            out.push("lib".to_owned());
        } else {
            out.push(name);
        }
    }
    // `super::` from a top-level file (`router.rs`) or a folder's `mod.rs` reaches the
    // root; one level down (`html/form.rs`) it stays in the folder.
    let leaves_folder = depth == 0 || (depth == 1 && file_is_folder_root);
    if leaves_folder && line.contains("super::") {
        out.push("lib".to_owned());
    }
    out
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut errors = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src/");
        let module = top_module(relative);
        if module == "layers" {
            continue;
        }
        let Some(own) = rank(&module) else {
            errors.push(format!(
                "{}: module `{module}` has no layer",
                relative.display()
            ));
            continue;
        };
        let depth = relative.components().count() - 1;
        let folder_root = relative.file_name().is_some_and(|f| f == "mod.rs");
        let text = std::fs::read_to_string(path).expect("a source file");
        for (n, line) in code_lines(&text) {
            for named in named_modules(&line, folder_root, depth) {
                if named == module {
                    continue;
                }
                let Some(theirs) = rank(&named) else {
                    errors.push(format!(
                        "{}:{n}: `crate::{named}` is in no layer",
                        relative.display()
                    ));
                    continue;
                };
                let leaf_ok = theirs == 0;
                let allowed = if own == 0 { leaf_ok } else { theirs < own };
                if !allowed {
                    errors.push(format!(
                        "{}:{n}: `{module}` ({}) uses `{named}` ({}): {}",
                        relative.display(),
                        LAYERS[own].0,
                        LAYERS[theirs].0,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "the admin's layers point back:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_checker_sees_a_backward_import() {
    let code = code_lines("use crate::api::dispatch;\n// crate::api in a comment\n");
    assert_eq!(code.len(), 1);
    assert_eq!(named_modules(&code[0].1, false, 1), vec!["api".to_owned()]);
    let tests =
        code_lines("#[cfg(test)]\nmod tests {\n    use crate::api::x;\n}\nuse crate::model::y;\n");
    assert_eq!(tests.len(), 1);
    assert!(tests[0].1.contains("crate::model"));
    assert_eq!(
        named_modules("use super::View;", true, 1),
        vec!["lib".to_owned()]
    );
    assert!(named_modules("use super::View;", false, 1).is_empty());
}
