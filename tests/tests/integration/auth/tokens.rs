//! Password reset tokens: Django checks ours and we check Django's, with the same
//! `SECRET_KEY`; expired and spent tokens are refused on both sides.
//!
//! Django runs `tests/django/tokens.py`, one process per test, answering JSON requests
//! on stdin/stdout. Tests skip (outside CI) when no Python with Django is available.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use batteries::auth::AuthUser;
use batteries::auth::tokens::{PasswordResetTokenGenerator, encode_uid};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Value as Json, json};

const SECRET_KEY: &str = "django-insecure-batteries-interop-k3y!";

/// A user as Django's token generator sees it.
#[derive(Debug, Clone)]
struct User {
    pk: i64,
    password: String,
    last_login: Option<DateTime<Utc>>,
    email: String,
}

impl AuthUser for User {
    fn pk_string(&self) -> String {
        self.pk.to_string()
    }
    #[allow(clippy::unnecessary_literal_bound)]
    fn username(&self) -> &str {
        "zoe"
    }
    fn password_hash(&self) -> &str {
        &self.password
    }
    fn email(&self) -> &str {
        &self.email
    }
    fn is_active(&self) -> bool {
        true
    }
    fn is_staff(&self) -> bool {
        false
    }
    fn is_superuser(&self) -> bool {
        false
    }
    fn last_login(&self) -> Option<DateTime<Utc>> {
        self.last_login
    }
}

impl User {
    fn to_json(&self) -> Json {
        json!({
            "pk": self.pk,
            "password": self.password,
            "last_login": self.last_login.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, false)),
            "email": self.email,
        })
    }
}

fn zoe() -> User {
    User {
        pk: 42,
        password: "pbkdf2_sha256$1000000$WbJtPjmJ8Bp5$dGhpcyBpcyBub3QgYSByZWFsIGhhc2g=".into(),
        last_login: Some(
            Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
                + chrono::Duration::microseconds(678_901),
        ),
        email: "zoe@example.com".into(),
    }
}

/// Users covering the parts of the hash value: no last login, no e-mail, non-ASCII.
fn users() -> Vec<User> {
    vec![
        zoe(),
        User {
            pk: 7,
            password: "!unusablepasswordXYZ".into(),
            last_login: None,
            email: String::new(),
        },
        User {
            pk: 1_000_001,
            password: "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA".into(),
            last_login: Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap()),
            email: "zoë.ångström@exämple.com".into(),
        },
    ]
}

/// Django's token generator in a Python process.
struct Django {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Django {
    /// `None` (the test skips) when no Python with Django is available outside CI.
    fn start(config: &Json) -> Option<Self> {
        let python = batteries_tests::django_python()?;
        let script = batteries_tests::workspace_root().join("tests/django/tokens.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tokens.py");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Some(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn request(&mut self, request: &Json) -> Json {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{request}").expect("write to tokens.py");
        stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from tokens.py");
        let reply: Json = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("tokens.py answered {line:?} ({e}) to {request}"));
        assert!(
            reply.get("error").is_none(),
            "tokens.py failed on {request}: {reply}"
        );
        reply
    }

    fn make(&mut self, user: &User, now: Option<DateTime<Utc>>) -> String {
        let reply =
            self.request(&json!({"op": "make", "user": user.to_json(), "now": now.map(naive)}));
        reply["token"].as_str().expect("token").to_owned()
    }

    fn check(&mut self, user: &User, token: &str) -> bool {
        let reply = self.request(&json!({"op": "check", "user": user.to_json(), "token": token}));
        reply["valid"].as_bool().expect("valid")
    }
}

impl Drop for Django {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Django's `datetime.now()` in the script is naive UTC.
fn naive(t: DateTime<Utc>) -> String {
    t.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn ours() -> PasswordResetTokenGenerator {
    PasswordResetTokenGenerator::new(SECRET_KEY).unwrap()
}

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

#[test]
fn djangos_tokens_check_here_and_ours_check_in_django() {
    let Some(mut django) = Django::start(&json!({"secret_key": SECRET_KEY})) else {
        return;
    };
    let ours = ours();
    let fixed = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
    for user in users() {
        // Made at the same instant, the tokens are the same string.
        let theirs = django.make(&user, Some(fixed));
        assert_eq!(theirs, ours.make_token_at(&user, fixed), "{user:?}");

        // Made now on one side, checked now on the other.
        let theirs = django.make(&user, None);
        assert!(ours.check_token(&user, &theirs), "{user:?}: {theirs}");
        let token = ours.make_token(&user);
        assert!(django.check(&user, &token), "{user:?}: {token}");

        // Neither accepts the other user's token.
        let mut other = user.clone();
        other.pk += 1;
        assert!(!ours.check_token(&other, &theirs));
        assert!(!django.check(&other, &token));
    }
    // Django refuses garbage we refuse.
    for garbage in ["", "-", "abc", "zzzzzzzzzzzzzz-0", "1-2-3"] {
        assert!(!django.check(&zoe(), garbage), "{garbage:?}");
        assert!(!ours.check_token(&zoe(), garbage), "{garbage:?}");
    }
    for pk in ["42", "zoë", "8a3f0c1e-1111-4a2b-9c3d-0123456789ab"] {
        let reply = django.request(&json!({"op": "uid", "pk": pk}));
        assert_eq!(reply["uidb64"], encode_uid(pk), "{pk}");
    }
}

#[test]
fn expired_tokens_are_refused_both_ways() {
    let Some(mut django) = Django::start(&json!({"secret_key": SECRET_KEY})) else {
        return;
    };
    let ours = ours();
    let user = zoe();
    let now = Utc::now();

    // Past Django's default PASSWORD_RESET_TIMEOUT (3 days) and ours.
    let theirs = django.make(&user, Some(now - days(4)));
    assert!(!ours.check_token(&user, &theirs));
    assert!(!django.check(&user, &ours.make_token_at(&user, now - days(4))));

    // Within it.
    let theirs = django.make(&user, Some(now - days(2)));
    assert!(ours.check_token(&user, &theirs));
    assert!(django.check(&user, &ours.make_token_at(&user, now - days(2))));

    // A shorter timeout here refuses what Django's default still accepts.
    let strict = ours.clone().with_timeout(Duration::from_hours(24));
    assert!(!strict.check_token(&user, &theirs));
}

#[test]
fn a_password_change_or_a_login_spends_tokens_on_both_sides() {
    let Some(mut django) = Django::start(&json!({"secret_key": SECRET_KEY})) else {
        return;
    };
    let ours = ours();
    let user = zoe();
    let theirs = django.make(&user, None);
    let token = ours.make_token(&user);

    let mut changed = user.clone();
    changed.password = "pbkdf2_sha256$1000000$NewSalt12345$bmV3IHBhc3N3b3JkIGhhc2ggaGVyZQ==".into();
    assert!(!ours.check_token(&changed, &theirs));
    assert!(!django.check(&changed, &token));

    let mut logged_in = user.clone();
    logged_in.last_login = Some(Utc::now());
    assert!(!ours.check_token(&logged_in, &theirs));
    assert!(!django.check(&logged_in, &token));

    // Dropping microseconds (a database without them) changes nothing.
    let mut truncated = user;
    truncated.last_login = Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap());
    assert!(ours.check_token(&truncated, &theirs));
    assert!(django.check(&truncated, &token));
}

#[test]
fn rotated_secret_keys_are_accepted_through_fallbacks() {
    let old_key = "the-previous-secret-key";
    let Some(mut django) = Django::start(&json!({
        "secret_key": SECRET_KEY,
        "fallbacks": [old_key],
        "timeout": 3600,
    })) else {
        return;
    };
    let user = zoe();
    let old = PasswordResetTokenGenerator::new(old_key).unwrap();

    // Django (new key, old one as fallback) accepts tokens signed with the old key.
    assert!(django.check(&user, &old.make_token(&user)));
    // Django signs with the new key: only a generator knowing it accepts the token.
    let theirs = django.make(&user, None);
    assert!(!old.check_token(&user, &theirs));
    assert!(ours().check_token(&user, &theirs));
    let rotated_back = old.clone().with_fallbacks([SECRET_KEY]).unwrap();
    assert!(rotated_back.check_token(&user, &theirs));
    // An unknown key is refused by both.
    let stranger = PasswordResetTokenGenerator::new("someone else's key").unwrap();
    assert!(!django.check(&user, &stranger.make_token(&user)));
    assert!(!stranger.check_token(&user, &theirs));

    // Django's PASSWORD_RESET_TIMEOUT = 3600 refuses our two-hour-old token.
    let two_hours_ago = Utc::now() - chrono::Duration::hours(2);
    assert!(!django.check(&user, &ours().make_token_at(&user, two_hours_ago)));
    assert!(django.check(
        &user,
        &ours().make_token_at(&user, Utc::now() - chrono::Duration::minutes(30))
    ));
}
