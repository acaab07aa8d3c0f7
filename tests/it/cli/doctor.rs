//! `doctor`: the checks it reports.

use super::*;

fn doctor(s: &Scratch, tweak: impl FnOnce(&mut Command)) -> (Option<i32>, Value) {
    let mut c = s.cmd();
    tweak(&mut c);
    c.args(["doctor", "--json"]);
    let out = output(c, None);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(SECRET_KEY) && !all.contains(FAKE_LOGIN_TOKEN),
        "a credential was printed: {all}"
    );
    let v =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}: {all}"));
    (out.status.code(), v)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` check: {report:#}"))
}

#[test]
fn doctor_reports_the_claude_version_and_a_writable_data_dir() {
    let s = Scratch::new();
    s.log_in();
    let (code, v) = doctor(&s, |_| {});
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["ok"], true);
    assert!(
        check(&v, "claude")["detail"]
            .as_str()
            .unwrap()
            .contains("2.1.331 (Claude Code)")
    );

    let mut c = s.cmd();
    c.args(["--claude-bin", "/nonexistent/claude", "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAIL claude"),
        "{}",
        text(&out.stdout)
    );

    // A data dir that cannot be created is named.
    let mut c = s.cmd();
    let file = s.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    c.args(["--data-dir", &format!("{}/sub", file.display()), "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("a-file/sub"),
        "{}",
        text(&out.stdout)
    );
}

/// A `claude` that is not logged in, with no API key to pass, cannot run anything: doctor
/// fails (exit 1) and says how to fix it. A key alone is enough (it is passed, and doctor
/// says it is billed to the API); under `remove` it is not.
#[test]
fn doctor_fails_when_claude_is_not_logged_in_and_no_key_is_passed() {
    let s = Scratch::new(); // HOME is empty
    let mut c = s.cmd();
    c.arg("doctor");
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    let line = said.lines().find(|l| l.contains(" auth ")).unwrap();
    assert!(line.starts_with("FAIL"), "{said}");
    assert!(
        line.contains("no login of its own") && line.contains("log in"),
        "{line}"
    );
    let (code, v) = doctor(&s, |_| {});
    assert_eq!(code, Some(1));
    assert_eq!(v["credential"]["uses"], "none");
    assert_eq!(v["credential"]["login"]["logged_in"], false);

    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key passed") && auth.contains("billed to the API"),
        "{auth}"
    );

    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY)
            .args(["--api-key", "remove"]);
    });
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["credential"]["api_key_passed"], false);
}

#[test]
fn doctor_says_which_credential_is_used_and_why() {
    let s = Scratch::new();
    s.log_in();
    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key removed")
            && auth.contains("subscription login (max)")
            && auth.contains("api_key = auto"),
        "{auth}"
    );
    assert_eq!(v["credential"]["uses"], "own_login");
    assert_eq!(v["credential"]["login"]["checked_with"], "auth_status");

    let (_, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY)
            .env("CC_EXECUTOR_API_KEY", "pass");
    });
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key passed") && auth.contains("is not used"),
        "{auth}"
    );

    // A CLI without `auth status`: the stored login is read instead, and doctor says so.
    let (code, v) = doctor(&s, |c| {
        c.env("FAKE_CLAUDE_AUTH_STATUS", "unsupported");
    });
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["credential"]["login"]["checked_with"], "credentials_file");
    assert!(
        check(&v, "auth")["detail"]
            .as_str()
            .unwrap()
            .contains("stored login file"),
        "{v:#}"
    );
}

#[test]
fn doctor_says_plainly_when_the_binary_is_not_claude_code() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["--claude-bin", "/bin/true", "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("FAIL claude") && said.contains("`/bin/true` is not Claude Code"),
        "{said}"
    );
    assert!(said.contains("FAIL auth      not checked"), "{said}");
}

/// The real CLI agrees: an empty HOME is not logged in, the fake stored login is a login
/// (read by `claude auth status`, offline), and a key in the environment is then removed.
#[test]
fn doctor_with_the_real_cli_checks_its_login() {
    let env = IsolatedEnv::new();
    let s = Scratch::new();
    let real = |c: &mut Command| {
        c.env("CC_EXECUTOR_CLAUDE_BIN", claude_bin())
            .env("HOME", env.home())
            .env("TMPDIR", env.tmpdir());
    };
    let (code, v) = doctor(&s, real);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["credential"]["uses"], "none");
    assert_eq!(v["credential"]["login"]["checked_with"], "auth_status");

    write_fake_login(env.home());
    let (code, v) = doctor(&s, real);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(
        check(&v, "claude")["detail"]
            .as_str()
            .unwrap()
            .contains("(Claude Code)")
    );
    let login = &v["credential"]["login"];
    assert_eq!(login["logged_in"], true, "{v:#}");
    assert_eq!(login["method"], "claude.ai");
    assert_eq!(login["subscription"], "max");
    assert_eq!(login["checked_with"], "auth_status");

    let (code, v) = doctor(&s, |c| {
        real(c);
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["credential"]["api_key_passed"], false);
    assert_eq!(v["credential"]["uses"], "own_login");
}
