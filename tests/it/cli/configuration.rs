//! Configuration: the API key setting, flags over environment over config file, bad input.

use super::*;

/// Who pays: the child gets ANTHROPIC_API_KEY under `auto` only when claude has no login of
/// its own, always under `pass`, never under `remove`; the result reports what the CLI used
/// (its init line's `apiKeySource`), and the login is asked only when it decides something.
#[test]
fn the_api_key_reaches_claude_only_when_the_api_key_setting_says_so() {
    // (--api-key, logged in, key expected in the child)
    let cases = [
        (None, false, true),
        (None, true, false),
        (Some("auto"), true, false),
        (Some("pass"), true, true),
        (Some("remove"), false, false),
        (Some("remove"), true, false),
    ];
    for (mode, logged_in, expect_key) in cases {
        let s = Scratch::new();
        if logged_in {
            s.log_in();
        }
        let mut c = s.cmd();
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
        if let Some(m) = mode {
            c.args(["--api-key", m]);
        }
        c.args(["run", "--json", "@fake success\nsay hi"]);
        let out = output(c, None);
        let case = format!("{mode:?}, logged in: {logged_in}");
        assert_eq!(out.status.code(), Some(0), "{case}: {}", text(&out.stderr));
        let inv = s.invocations();
        assert_eq!(inv[0]["anthropic_api_key_set"], expect_key, "{case}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["api_key_source"],
            if expect_key {
                "ANTHROPIC_API_KEY"
            } else {
                "none"
            },
            "{case}"
        );
        // `claude auth status` runs only under auto (where it decides), without the key.
        let checks = s.auth_checks();
        if mode.unwrap_or("auto") == "auto" {
            assert_eq!(checks.len(), 1, "{case}");
            assert_eq!(checks[0]["anthropic_api_key_set"], false, "{case}");
            assert_eq!(
                checks[0]["argv"],
                serde_json::json!(["auth", "status", "--json"])
            );
        } else {
            assert!(checks.is_empty(), "{case}: {checks:?}");
        }
        assert!(!text(&out.stderr).contains(SECRET_KEY), "{case}");
    }
    // No key at all: nothing to decide, nothing asked.
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["run", "@fake success\nsay hi"]);
    assert_eq!(output(c, None).status.code(), Some(0));
    assert_eq!(s.invocations()[0]["anthropic_api_key_set"], false);
    assert!(s.auth_checks().is_empty());
}

#[test]
fn api_key_flag_beats_its_variable_which_beats_the_config_file() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(cfg_dir.join("config.toml"), "api_key = \"remove\"\n").unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut c = s.cmd();
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
        if let Some(v) = env {
            c.env("CC_EXECUTOR_API_KEY", v);
        }
        if let Some(f) = flag {
            c.args(["--api-key", f]);
        }
        c.args(["run", "@fake success\nsay hi"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    run(None, None); // file: remove
    run(Some("pass"), None); // variable beats the file
    run(Some("pass"), Some("remove")); // flag beats the variable
    let got: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(got, [false, true, false]);
}

#[test]
fn a_bad_api_key_value_is_refused_naming_the_setting() {
    let s = Scratch::new();
    let cfg = s.path().join("bad.toml");
    std::fs::write(&cfg, "api_key = \"maybe\"\n").unwrap();
    let mut c = s.cmd();
    c.args([
        "--config",
        cfg.to_str().unwrap(),
        "run",
        "@fake success\nhi",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`api_key`") && err.contains("`maybe`") && err.contains("auto, pass, remove"),
        "{err}"
    );
    let mut c = s.cmd();
    c.env("CC_EXECUTOR_API_KEY", "maybe")
        .args(["run", "@fake success\nhi"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("CC_EXECUTOR_API_KEY") && err.contains("auto, pass, remove"),
        "{err}"
    );
    assert!(s.invocations().is_empty(), "nothing ran");
}

#[test]
fn the_deprecated_pass_api_key_still_works_and_says_so() {
    let s = Scratch::new();
    let cfg = s.path().join("old.toml");
    std::fs::write(&cfg, "pass_api_key = false\n").unwrap();
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--config",
        cfg.to_str().unwrap(),
        "run",
        "@fake success\nhi",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("deprecated") && err.contains("api_key = \"remove\""),
        "{err}"
    );
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--pass-api-key=false",
        "run",
        "@fake success\nhi",
    ]);
    assert_eq!(output(c, None).status.code(), Some(0));
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--pass-api-key=true",
        "run",
        "@fake success\nhi",
    ]);
    assert_eq!(output(c, None).status.code(), Some(0));
    let got: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(got, [false, false, true]);
}

#[test]
fn flags_beat_environment_which_beats_the_config_file() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(
        cfg_dir.join("config.toml"),
        "[policy]\ndefault_permission_mode = \"plan\"\n\n[env]\nFROM_CONFIG = \"yes\"\n",
    )
    .unwrap();
    let run = |extra_env: Option<(&str, &str)>, flags: &[&str]| {
        let mut c = s.cmd();
        if let Some((k, v)) = extra_env {
            c.env(k, v);
        }
        c.args(flags)
            .args(["run", "@fake success\nreport your mode"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    run(None, &[]);
    run(
        Some(("CC_EXECUTOR_DEFAULT_PERMISSION_MODE", "dontAsk")),
        &[],
    );
    run(
        Some(("CC_EXECUTOR_DEFAULT_PERMISSION_MODE", "dontAsk")),
        &["--default-permission-mode", "default"],
    );
    let modes: Vec<String> = s
        .invocations()
        .iter()
        .map(|v| v["flags"]["permission_mode"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(modes, ["plan", "dontAsk", "default"]);
}

#[test]
fn bad_input_and_bad_configuration_exit_2_with_a_clear_message() {
    let s = Scratch::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--timeout-secs", "0", "do the thing now"],
            "timeout_secs",
        ),
        (
            &["run", "--timeout-secs", "-5", "do the thing now"],
            "timeout_secs",
        ),
        (
            &["run", "--cwd", "/", "do the thing now"],
            "policy.allowed_roots",
        ),
        (
            &[
                "run",
                "--permission-mode",
                "bypassPermissions",
                "do the thing now",
            ],
            "policy.allow_bypass_permissions",
        ),
        (
            &[
                "--allowed-models",
                "sonnet",
                "run",
                "--model",
                "opus",
                "do the thing now",
            ],
            "policy.allowed_models",
        ),
        (&["--max-concurrent", "0", "doctor"], "max_concurrent"),
        (
            &["--config", "/nonexistent/config.toml", "doctor"],
            "/nonexistent/config.toml",
        ),
    ];
    for (args, needle) in cases {
        let mut c = s.cmd();
        c.args(*args);
        let out = output(c, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let mut c = s.cmd();
    c.args(["run", "-"]);
    let out = output(c, Some(&"x".repeat(800_000)));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tokens"),
        "{}",
        text(&out.stderr)
    );
    assert!(s.invocations().is_empty(), "nothing ran");
}
