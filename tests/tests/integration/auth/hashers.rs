//! Password hashes: every hash Django makes verifies here, every hash we make verifies
//! in Django (`tests/django/hashers.py`, one Python run), and outdated hashes ask to be
//! upgraded.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use batteries::auth::hashers::{
    Argon2Hasher, BcryptHasher, HashError, Hasher, Hashers, Md5Hasher, PasswordCheck, Pbkdf2Hasher,
    ScryptHasher,
};
use serde_json::{Value, json};

const ALGORITHMS: [&str; 7] = [
    "argon2",
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
    "scrypt",
    "md5",
];

/// ASCII, non-ASCII, empty and long (~2 KB) passwords.
fn passwords() -> Vec<(&'static str, String)> {
    vec![
        ("ascii", "correct horse battery staple".to_owned()),
        ("non-ascii", "pässwörd – 密码 🔑 Ωmega".to_owned()),
        ("empty", String::new()),
        ("long", "ünïcödé-passphrase ".repeat(90)),
    ]
}

/// Our hashers with low costs, Django's formats: fast to make and to check.
fn low_cost() -> Hashers {
    Hashers::new(vec![
        Arc::new(Argon2Hasher::with_params(1024, 1, 2).expect("argon2")),
        Arc::new(
            Pbkdf2Hasher::sha256()
                .with_iterations(1000)
                .expect("pbkdf2"),
        ),
        Arc::new(Pbkdf2Hasher::sha1().with_iterations(1000).expect("pbkdf2")),
        Arc::new(BcryptHasher::sha256().with_cost(4).expect("bcrypt")),
        Arc::new(BcryptHasher::plain().with_cost(4).expect("bcrypt")),
        Arc::new(ScryptHasher::with_params(1024, 8, 1).expect("scrypt")),
        Arc::new(Md5Hasher),
    ])
}

/// Runs `tests/django/hashers.py` with `request` on stdin; its JSON answer.
fn django(python: &std::path::Path, request: &Value) -> Value {
    let mut child = Command::new(python)
        .arg(batteries_tests::workspace_root().join("tests/django/hashers.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hashers.py");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let output = child.wait_with_output().expect("hashers.py output");
    assert!(
        output.status.success(),
        "hashers.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from hashers.py")
}

/// One hash we made, for Django to check.
struct Ours {
    what: String,
    password: String,
    encoded: String,
    /// Made with our default parameters (not the low test costs).
    default_cost: bool,
}

#[test]
fn django_and_batteries_verify_each_others_hashes() {
    let Some(python) = batteries_tests::django_python() else {
        return;
    };
    let low = low_cost();
    let defaults = Hashers::default();

    // Ours, for every algorithm and password; plus some at our default costs.
    let mut ours = Vec::new();
    for algorithm in ALGORITHMS {
        for (label, password) in passwords() {
            match low.make_with(algorithm, &password) {
                Ok(encoded) => ours.push(Ours {
                    what: format!("{algorithm} / {label}"),
                    password,
                    encoded,
                    default_cost: false,
                }),
                // Plain bcrypt reads 72 bytes only: we refuse rather than truncate.
                Err(HashError::PasswordTooLong { max: 72 })
                    if algorithm == "bcrypt" && password.len() > 72 => {}
                Err(e) => panic!("{algorithm} / {label}: {e}"),
            }
        }
        if matches!(algorithm, "pbkdf2_sha1" | "bcrypt") {
            // Same parameters as their siblings; slow in debug builds (SHA-1, cost 12).
            continue;
        }
        let password = "default cost password".to_owned();
        let encoded = defaults.make_with(algorithm, &password).expect("make");
        ours.push(Ours {
            what: format!("{algorithm} / default cost"),
            password,
            encoded,
            default_cost: true,
        });
    }

    // Django's, for every algorithm and password (low costs), and argon2 at Django's
    // default cost.
    let mut theirs = Vec::new();
    for algorithm in ALGORITHMS {
        for (label, password) in passwords() {
            theirs.push((algorithm, label, password, "low"));
        }
    }
    theirs.push(("argon2", "django default cost", "lètmein".into(), "default"));

    let mut checks: Vec<Value> = ours
        .iter()
        .map(|o| json!({"password": o.password, "encoded": o.encoded}))
        .collect();
    // Wrong passwords must fail in Django too.
    let wrong: Vec<&Ours> = ours.iter().filter(|o| !o.default_cost).step_by(4).collect();
    checks.extend(
        wrong
            .iter()
            .map(|o| json!({"password": format!("{}x", o.password), "encoded": o.encoded})),
    );
    let request = json!({
        "make": theirs
            .iter()
            .map(|(algorithm, _, password, cost)| {
                json!({"algorithm": algorithm, "password": password, "cost": cost})
            })
            .collect::<Vec<_>>(),
        "check": checks,
    });
    let answer = django(&python, &request);

    let missing: Vec<&str> = answer["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !batteries_tests::under_ci() || missing.is_empty(),
        "Django's hashers lack {missing:?}: pip install -r tests/django/requirements.txt"
    );
    if !missing.is_empty() {
        eprintln!("skipping argon2/bcrypt interop: the Django venv lacks {missing:?}");
    }
    let needs_missing = |algorithm: &str| {
        (algorithm == "argon2" && missing.contains(&"argon2-cffi"))
            || (algorithm.starts_with("bcrypt") && missing.contains(&"bcrypt"))
    };
    let django_5 = answer["django"]
        .as_str()
        .is_some_and(|v| v.starts_with("5."));

    // Django verifies every hash we made.
    let checked = answer["checked"].as_array().expect("checked");
    assert_eq!(checked.len(), ours.len() + wrong.len());
    for (o, result) in ours.iter().zip(checked) {
        let algorithm = o.what.split(' ').next().unwrap_or_default();
        if needs_missing(algorithm) {
            continue;
        }
        assert_eq!(
            result["valid"], true,
            "Django rejects our {}: {result}",
            o.what
        );
        // Our defaults are Django's for everything but argon2 (OWASP's, on purpose), so
        // Django does not re-hash what we make (pbkdf2: Django 5.2's iteration count).
        if o.default_cost && algorithm != "argon2" && (django_5 || !algorithm.starts_with("pbkdf2"))
        {
            assert_eq!(
                result["must_update"], false,
                "Django finds our default {} outdated",
                o.what
            );
        }
    }
    for (o, result) in wrong.iter().zip(&checked[ours.len()..]) {
        let algorithm = o.what.split(' ').next().unwrap_or_default();
        if !needs_missing(algorithm) {
            assert_eq!(
                result["valid"], false,
                "Django accepts a wrong password for {}",
                o.what
            );
        }
    }

    // Every hash Django made verifies here, with the default hashers, and asks to be
    // upgraded unless it is argon2 at least as strong as ours.
    let made = answer["made"].as_array().expect("made");
    assert_eq!(made.len(), theirs.len());
    for ((algorithm, label, password, cost), result) in theirs.iter().zip(made) {
        if needs_missing(algorithm) {
            continue;
        }
        let Some(encoded) = result["encoded"].as_str() else {
            // bcrypt 5 refuses passwords over 72 bytes, as we do.
            assert!(
                *algorithm == "bcrypt" && password.len() > 72,
                "Django could not make {algorithm} / {label}: {result}"
            );
            continue;
        };
        assert!(
            encoded.starts_with(&format!("{algorithm}$")),
            "{algorithm} / {label}: {encoded}"
        );
        let needs_upgrade = !(*algorithm == "argon2" && *cost == "default");
        assert_eq!(
            defaults.verify(password, encoded),
            PasswordCheck::Valid { needs_upgrade },
            "Django's {algorithm} / {label} ({cost} cost)"
        );
        assert_eq!(
            defaults.verify(&format!("{password}x"), encoded),
            PasswordCheck::Invalid,
            "wrong password for Django's {algorithm} / {label}"
        );
        let summary = defaults.safe_summary(encoded).expect("summary");
        assert_eq!(summary.algorithm(), *algorithm);
        assert!(
            !summary
                .to_string()
                .contains(encoded.rsplit('$').next().unwrap_or_default())
        );
    }
}

#[test]
fn outdated_hashes_verify_and_ask_for_an_upgrade() {
    let defaults = Hashers::default();
    // Another algorithm: pbkdf2 at Django's full cost is still not argon2.
    let pbkdf2 = defaults
        .make_with("pbkdf2_sha256", "s3cret")
        .expect("pbkdf2");
    assert!(pbkdf2.starts_with("pbkdf2_sha256$1000000$"), "{pbkdf2}");
    assert_eq!(
        defaults.verify("s3cret", &pbkdf2),
        PasswordCheck::Valid {
            needs_upgrade: true
        }
    );
    assert_eq!(defaults.verify("s3cre", &pbkdf2), PasswordCheck::Invalid);

    // argon2 with fewer passes than ours.
    let weak = Argon2Hasher::with_params(19_456, 1, 1)
        .expect("params")
        .make("s3cret")
        .expect("argon2");
    assert!(
        weak.starts_with("argon2$argon2id$v=19$m=19456,t=1,p=1$"),
        "{weak}"
    );
    assert_eq!(
        defaults.verify("s3cret", &weak),
        PasswordCheck::Valid {
            needs_upgrade: true
        }
    );

    // The upgrade itself: re-hash with the preferred hasher; that one is current.
    let upgraded = defaults.make("s3cret").expect("make");
    assert_eq!(
        defaults.verify("s3cret", &upgraded),
        PasswordCheck::Valid {
            needs_upgrade: false
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_cost_a_hash_and_bad_hashes_never_verify() {
    let hashers = Hashers::default();
    let start = std::time::Instant::now();
    for _ in 0..2 {
        hashers
            .dummy_verify_async("guess".into())
            .await
            .expect("dummy hash");
    }
    assert!(start.elapsed() > std::time::Duration::from_millis(1));

    for encoded in [
        batteries::auth::hashers::make_unusable_password(),
        String::new(),
        "plain text".into(),
        "argon2$argon2id$v=19$m=4194304,t=1,p=1$c2Vhc2FsdHNlYXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA".into(),
        "pbkdf2_sha256$1000000000000$salt$AAAA".into(),
        "scrypt$1099511627776$salt$8$1$AAAA".into(),
        "bcrypt$$2b$31$abcdefghijklmnopqrstuuanVo7Xut1CH8VGIGlz1JovQh9GJbbtG".into(),
    ] {
        let start = std::time::Instant::now();
        assert_eq!(
            hashers.verify_async("guess".into(), encoded.clone()).await,
            Ok(PasswordCheck::Invalid),
            "{encoded}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{encoded} took {:?}",
            start.elapsed()
        );
    }
    let long = "x".repeat(1 << 20);
    assert!(hashers.make_async(long.clone()).await.is_err());
    assert_eq!(
        batteries::auth::hashers::check_password_async(long, String::new()).await,
        Ok(false)
    );
}
