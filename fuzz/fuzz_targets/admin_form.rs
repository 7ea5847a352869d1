//! The admin's HTML forms: each column kind's parse of a posted value, and the binding
//! of a whole posted form (add or change). First byte: which registration and mode;
//! second byte: the field (mode 0) or add/change (mode 1).
#![no_main]

use batteries_fuzz::{admin_forms, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, pick, rest @ ..] = data else {
        return;
    };
    let forms = &admin_forms()[usize::from(mode & 1)];
    if mode & 2 == 0 {
        let i = usize::from(*pick) % forms.len();
        let raw = text(rest);
        // An absent field (an unchecked checkbox) and a posted one.
        let _ = forms.parse_field(i, None);
        let _ = forms.parse_field(i, Some(&raw));
    } else {
        let _ = forms.bind_form(rest, pick & 1 == 1);
    }
});
