//! The opt-in panic hook that keeps a caught request panic to one log line.

use std::cell::{Cell, RefCell};
use std::sync::Once;

thread_local! {
    /// How many [`Guarded`](super::Guarded) polls are running on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The message and location of the last panic the hook saw inside a guarded poll.
    static LAST: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Marks this thread as running guarded code until dropped.
pub(super) struct Enter(());

impl Enter {
    pub(super) fn new() -> Self {
        let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
        Self(())
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// The location the hook recorded for the panic whose message is `message`, if any.
pub(super) fn take_location(message: &str) -> Option<String> {
    let (recorded, location) = LAST.try_with(|l| l.borrow_mut().take()).ok().flatten()?;
    (recorded == message).then_some(location)
}

/// Replaces the process's panic hook with one that stays silent for the panics that
/// batteries catches in a request (they are logged once, with the request id, where
/// they are caught), and hands every other panic to the hook that was installed before
/// (Rust's default hook prints it to stderr).
///
/// Without it, Rust's default hook prints each caught request panic to stderr too, on
/// two lines (`thread '…' panicked at src/…:` and the message), plus a backtrace when
/// `RUST_BACKTRACE` is set; the request's log line follows. With it, a request panic is
/// one `ERROR` event of `batteries_middleware::panic` carrying the request id, the
/// message and the location, and never a backtrace.
///
/// A library should not change a process-wide setting behind its user's back, so
/// nothing in batteries calls this: call it once at start-up (later calls do nothing),
/// after installing your own hook if you have one. "Caught" means inside
/// [`CatchPanicLayer`](super::CatchPanicLayer), a batteries layer, the admin, the
/// actix-web middleware, or [`guard`](super::guard); a panic that code inside such a
/// request catches by itself is silent too.
///
/// ```
/// batteries_middleware::panic::install_panic_hook();
/// ```
pub fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.try_with(Cell::get).unwrap_or(0) == 0 {
                previous(info);
                return;
            }
            let message = info.payload_as_str().unwrap_or("Box<dyn Any>").to_owned();
            let location = info
                .location()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string);
            let _ = LAST.try_with(|l| *l.borrow_mut() = Some((message, location)));
        }));
    });
}
