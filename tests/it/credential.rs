//! Who pays, in the library: Claude Code's login is asked once (it costs a process start) and
//! asked again only when the stored login changes; the executor's child env follows it.

use std::path::{Path, PathBuf};

use crate::support::fixtures::{fake_claude_config, write_fake_login};
use cc_executor::Config;
use cc_executor::exec::probe::{self, CheckedWith, LoginCheck, Uses};
use serde_json::Value;

/// The fake `claude` with its own HOME, and the host's tokens kept out.
fn config(root: &Path) -> (Config, PathBuf) {
    let mut config = fake_claude_config(root);
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    for (k, v) in [
        ("HOME", home.to_str().unwrap()),
        ("CLAUDE_CONFIG_DIR", ""),
        ("CLAUDE_CODE_OAUTH_TOKEN", ""),
        ("ANTHROPIC_AUTH_TOKEN", ""),
    ] {
        config.child_env.insert(k.into(), v.into());
    }
    (config, home)
}

fn auth_checks(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("record/auth.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_login_is_asked_once_and_again_after_logging_in_or_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (config, home) = config(&root);

    let first = probe::login(&config).await;
    assert!(!first.logged_in);
    assert_eq!(first.checked_with, CheckedWith::AuthStatus);
    assert_eq!(probe::login(&config).await, first);
    assert_eq!(auth_checks(&root).len(), 1, "cached");

    write_fake_login(&home);
    let after_login = probe::login(&config).await;
    assert!(after_login.logged_in);
    assert_eq!(after_login.subscription.as_deref(), Some("max"));
    probe::login(&config).await;
    assert_eq!(
        auth_checks(&root).len(),
        2,
        "asked again once, after the login"
    );

    std::fs::remove_file(home.join(".claude/.credentials.json")).unwrap();
    assert!(!probe::login(&config).await.logged_in);
    assert_eq!(auth_checks(&root).len(), 3);
}

#[tokio::test]
async fn a_key_in_the_config_env_is_always_passed_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (mut config, home) = config(&root);
    write_fake_login(&home);
    config
        .child_env
        .insert("ANTHROPIC_API_KEY".into(), "sk-from-config".into());
    config.api_key = cc_executor::config::ApiKeyMode::Remove;
    let c = probe::credential(&config, LoginCheck::WhenItDecides).await;
    assert!(c.api_key_passed);
    assert_eq!(c.uses, Uses::ApiKey);
    assert!(c.reason.contains("[env]"), "{}", c.reason);
    assert!(c.login.is_none());
    assert!(!probe::removes_api_key(&config).await);
    assert!(auth_checks(&root).is_empty());
}
