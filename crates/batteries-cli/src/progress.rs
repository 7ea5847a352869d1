//! Progress bars for `dumpdata` and `loaddata`.
//!
//! They are drawn on standard error, and only when it is a terminal (indicatif also
//! hides them when `TERM` is unset or `dumb`): standard output may be the fixture
//! itself, and pipes, files and tests never see a bar.

use batteries_orm::fixtures::DumpProgress;
use batteries_orm::paginate::Total;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress bars may be drawn: standard error is a terminal.
pub(crate) fn wanted() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal()
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this module; a bad one falls back to the default
    // style rather than failing the command.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A bar on standard error, styled before its first drawing.
fn new_bar(len: u64, template: &str, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden())
        .with_style(style(template))
        .with_prefix(prefix.to_owned());
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar
}

/// Stops `bar`, drawn as it ends (full when `finished`, where it stopped otherwise), and
/// ends its line so that what follows starts on a line of its own.
pub(crate) fn done(bar: &ProgressBar, finished: bool) {
    if finished {
        bar.finish();
    } else {
        bar.abandon();
    }
    if !bar.is_hidden() {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr());
    }
}

/// The bar of one model being dumped: a bar when the count is exact or estimated, a
/// counter with the lower bound otherwise.
fn model_bar(label: &str, total: Total) -> ProgressBar {
    let template = match total {
        Total::Exact(_) => "{prefix:>20} [{bar:30}] {pos}/{len} records",
        Total::Estimate(_) => "{prefix:>20} [{bar:30}] {pos}/~{len} records",
        _ => "{prefix:>20} {spinner} {pos} records (at least {len})",
    };
    new_bar(total.value(), template, label)
}

/// Draws `dumpdata`'s progress: one line per model, left in place when the model is
/// done.
#[derive(Default)]
pub(crate) struct DumpBars {
    current: Option<ProgressBar>,
}

impl DumpBars {
    /// Takes one event of [`batteries_orm::fixtures::Fixtures::dump_with_progress`].
    pub(crate) fn on(&mut self, progress: DumpProgress<'_>) {
        match progress {
            DumpProgress::Model { label, total } => {
                self.finish();
                self.current = Some(model_bar(label, total));
            }
            DumpProgress::Record { written, .. } => {
                if let Some(bar) = &self.current {
                    if written > bar.length().unwrap_or(0) {
                        // More rows than the estimate, or rows added while dumping.
                        bar.set_length(written);
                    }
                    bar.set_position(written);
                }
            }
            _ => {}
        }
    }

    /// Leaves the last model's line drawn, final.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.current.take() {
            done(&bar, true);
        }
    }

    /// Stops drawing after a failure, leaving the line where it stopped.
    pub(crate) fn abandon(&mut self) {
        if let Some(bar) = self.current.take() {
            done(&bar, false);
        }
    }
}

/// The bar of `loaddata`: bytes of the fixture file read by the parser.
pub(crate) fn load_bar(name: &str, size: u64) -> ProgressBar {
    new_bar(
        size,
        "{prefix:>20} [{bar:30}] {bytes}/{total_bytes} read",
        name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_bars_follow_the_records_and_grow_past_an_estimate() {
        let mut bars = DumpBars::default();
        bars.on(DumpProgress::Model {
            label: "auth.user",
            total: Total::Estimate(2),
        });
        for written in 1..=3 {
            bars.on(DumpProgress::Record {
                label: "auth.user",
                written,
            });
        }
        let bar = bars.current.clone().expect("a bar for the model");
        assert_eq!(bar.position(), 3);
        assert_eq!(bar.length(), Some(3), "the length follows the real count");
        bars.on(DumpProgress::Model {
            label: "auth.group",
            total: Total::Exact(0),
        });
        assert!(bar.is_finished(), "the previous model's bar is finished");
        bars.finish();
        assert!(bars.current.is_none());
    }

    #[test]
    fn the_load_bar_counts_bytes_read() {
        use std::io::Read as _;
        let bar = load_bar("users.json", 11);
        let mut text = String::new();
        bar.wrap_read(&b"[{\"a\": 1}]\n"[..])
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(bar.position(), 11);
        assert_eq!(text.len(), 11);
    }
}
