//! The admin's minijinja templates (embedded, overridable from a directory) and its
//! embedded static assets.

use std::path::PathBuf;

/// The template environment. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Templates {}

impl Templates {
    /// The embedded templates; files in `dir` (if any) override those of the same name.
    pub(crate) fn new(_dir: Option<PathBuf>) -> Self {
        Self {}
    }

    /// Renders template `name` (`"change_list.html"`) with `context`.
    pub(crate) fn render(
        &self,
        name: &str,
        context: &serde_json::Value,
    ) -> Result<String, minijinja::Error> {
        let _ = (name, context);
        Ok(String::new())
    }
}

/// An embedded static file by name (`"admin.css"`): its content type and bytes.
pub(crate) fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    let _ = name;
    None
}
