//! The fallback when `claude auth status` cannot answer (an old CLI, or not Claude Code): a
//! token in the child's environment, or the stored login file Claude Code itself would read.

use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::Value;

use super::{CheckedWith, Login};
use crate::config::Config;

/// A child's view of one variable: `[env]` wins, variables the executor removes are absent,
/// else cc-executor's own environment.
fn child_var(config: &Config, name: &str) -> Option<OsString> {
    if let Some(v) = config.child_env.get(name) {
        return Some(v.into());
    }
    if crate::claude::argv::ENV_REMOVE.contains(&name) {
        return None;
    }
    std::env::var_os(name)
}

/// Where Claude Code keeps its stored login on Linux: `$CLAUDE_CONFIG_DIR/.credentials.json`,
/// else `$HOME/.claude/.credentials.json`.
pub(super) fn credentials_file(config: &Config) -> Option<PathBuf> {
    let dir = match child_var(config, "CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(child_var(config, "HOME").filter(|h| !h.is_empty())?).join(".claude"),
    };
    Some(dir.join(".credentials.json"))
}

/// The fallback: a token in the environment, or a stored subscription login that Claude Code
/// would accept (an access token with the inference scope, as 2.1.331 requires).
pub(super) fn stored_login(config: &Config, note: String) -> Login {
    let mut login = Login {
        logged_in: false,
        method: Some("none".into()),
        provider: None,
        subscription: None,
        key_source: None,
        checked_with: CheckedWith::CredentialsFile,
        note: Some(note),
    };
    if ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"]
        .iter()
        .any(|v| child_var(config, v).is_some_and(|t| !t.is_empty()))
    {
        login.logged_in = true;
        login.method = Some("oauth_token".into());
        return login;
    }
    let Some(path) = credentials_file(config) else {
        return login;
    };
    // A login file is a few hundred bytes; anything huge is not one.
    let text = match path.metadata() {
        Ok(m) if m.is_file() && m.len() <= 1024 * 1024 => {
            std::fs::read_to_string(&path).unwrap_or_default()
        }
        _ => return login,
    };
    if let Some(oauth) = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("claudeAiOauth").cloned())
    {
        let token = oauth
            .get("accessToken")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty());
        let inference = oauth
            .get("scopes")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|x| x.as_str() == Some("user:inference")));
        if token && inference {
            login.logged_in = true;
            login.method = Some("claude.ai".into());
            login.subscription = oauth
                .get("subscriptionType")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    login
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config_with_home(home: &Path) -> Config {
        let o = crate::config::Overrides {
            data_dir: Some(home.join("data")),
            ..Default::default()
        };
        let mut c = Config::resolve(Default::default(), None, &o).unwrap();
        c.child_env
            .insert("HOME".into(), home.display().to_string());
        // Keep the host's tokens out of this check.
        c.child_env
            .insert("CLAUDE_CODE_OAUTH_TOKEN".into(), String::new());
        c.child_env
            .insert("ANTHROPIC_AUTH_TOKEN".into(), String::new());
        c.child_env
            .insert("CLAUDE_CONFIG_DIR".into(), String::new());
        c
    }

    #[test]
    fn the_stored_login_fallback_reads_the_credentials_file() {
        let home = tempfile::tempdir().unwrap();
        let config = config_with_home(home.path());
        assert!(!stored_login(&config, "n".into()).logged_in, "no file");
        std::fs::create_dir_all(home.path().join(".claude")).unwrap();
        let file = home.path().join(".claude/.credentials.json");
        for (text, expected) in [
            ("not json", false),
            ("{}", false),
            (
                r#"{"claudeAiOauth":{"accessToken":"a","scopes":[]}}"#,
                false,
            ),
            (
                r#"{"claudeAiOauth":{"accessToken":"a","scopes":["user:inference"],"subscriptionType":"pro"}}"#,
                true,
            ),
        ] {
            std::fs::write(&file, text).unwrap();
            let l = stored_login(&config, "n".into());
            assert_eq!(l.logged_in, expected, "{text}");
            assert_eq!(l.checked_with, CheckedWith::CredentialsFile);
        }
        let mut config = config;
        std::fs::remove_file(&file).unwrap();
        config
            .child_env
            .insert("CLAUDE_CODE_OAUTH_TOKEN".into(), "t".into());
        let l = stored_login(&config, "n".into());
        assert!(l.logged_in);
        assert_eq!(l.method.as_deref(), Some("oauth_token"));
    }
}
