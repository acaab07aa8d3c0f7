//! Claude Code's own login, as it would be without `ANTHROPIC_API_KEY`: asked of the CLI
//! (`claude auth status --json`), cached per configuration until the stored login file changes,
//! with the stored login file as the fallback when the CLI cannot answer.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use tokio::process::Command;

use super::stored_login::{credentials_file, stored_login};
use super::{API_KEY_VAR, PROBE_TIMEOUT};
use crate::config::Config;

/// How a [`Login`] was found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckedWith {
    /// `claude auth status --json`: Claude Code's own answer, offline, covering every kind of
    /// login it knows (stored subscription login, tokens in the environment, `apiKeyHelper`,
    /// third-party providers, the macOS keychain).
    AuthStatus,
    /// The CLI could not be asked (an old version, or not Claude Code): the stored login file
    /// and the token variables were read instead.
    CredentialsFile,
}

/// Claude Code's own login, as seen without `ANTHROPIC_API_KEY`. Holds no secret: only which
/// kind of login it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Login {
    pub logged_in: bool,
    /// The CLI's name for it: `claude.ai` (subscription), `oauth_token`, `api_key_helper`,
    /// `api_key` (a key from Claude Code's own settings), `third_party`, `none`.
    pub method: Option<String>,
    /// `firstParty`, `bedrock`, `vertex`, …
    pub provider: Option<String>,
    /// The subscription plan of a `claude.ai` login (`pro`, `max`, …).
    pub subscription: Option<String>,
    /// Where a key of Claude Code's own comes from (`apiKeyHelper`, …).
    pub key_source: Option<String>,
    pub checked_with: CheckedWith,
    /// Why `claude auth status` could not be used, when it could not.
    pub note: Option<String>,
}

impl Login {
    /// What the login is, in words (no secret, no e-mail address).
    pub fn describe(&self) -> String {
        let method = self.method.as_deref().unwrap_or("unknown");
        let mut s = match method {
            "claude.ai" => format!(
                "a Claude subscription login{}",
                self.subscription
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
            "oauth_token" => {
                "an OAuth token in the environment (CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN)"
                    .to_string()
            }
            "api_key_helper" => "its apiKeyHelper setting".to_string(),
            "api_key" => format!(
                "an API key of its own{}",
                self.key_source
                    .as_deref()
                    .map(|k| format!(" ({k})"))
                    .unwrap_or_default()
            ),
            "third_party" => format!(
                "a third-party provider ({})",
                self.provider.as_deref().unwrap_or("unknown")
            ),
            "none" => "no login".to_string(),
            other => format!("login method `{other}`"),
        };
        if self.checked_with == CheckedWith::CredentialsFile {
            s.push_str(" [from the stored login file");
            if let Some(n) = &self.note {
                s.push_str("; ");
                s.push_str(n);
            }
            s.push(']');
        }
        s
    }
}

/// What changes when someone logs in or out: the stored login file (its time and size).
type Fingerprint = Option<(Option<SystemTime>, u64)>;

fn fingerprint(config: &Config) -> Fingerprint {
    let meta = credentials_file(config)?.metadata().ok()?;
    Some((meta.modified().ok(), meta.len()))
}

type CacheKey = (PathBuf, BTreeMap<String, String>, PathBuf);
type Slot = Arc<tokio::sync::Mutex<Option<(Fingerprint, Login)>>>;

fn cache_slot(config: &Config) -> Slot {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Slot>>> = OnceLock::new();
    let mut env = config.child_env.clone();
    env.remove(API_KEY_VAR);
    let key = (
        config.claude_bin.clone(),
        env,
        config.policy.default_cwd.clone(),
    );
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

/// Claude Code's own login, as it would be without `ANTHROPIC_API_KEY`. Asked once per
/// configuration and process (`claude auth status` takes ~0.2 s), again only when the stored
/// login file changes (a `stat` per call), so logging in or out while a server runs is
/// noticed at the next task.
pub async fn login(config: &Config) -> Login {
    let slot = cache_slot(config);
    let mut cached = slot.lock().await;
    let now = fingerprint(config);
    if let Some((seen, login)) = &*cached
        && *seen == now
    {
        return login.clone();
    }
    let login = check_login(config).await;
    *cached = Some((now, login.clone()));
    login
}

/// Asks `claude auth status --json` in the environment a task would get, minus the key; falls
/// back to the stored login when the CLI cannot answer.
async fn check_login(config: &Config) -> Login {
    match auth_status(config).await {
        Ok(login) => login,
        Err(why) => {
            tracing::debug!("claude auth status: {why}; reading the stored login instead");
            stored_login(config, why)
        }
    }
}

async fn auth_status(config: &Config) -> Result<Login, String> {
    let mut cmd = Command::new(&config.claude_bin);
    cmd.args(["auth", "status", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for var in crate::claude::argv::ENV_REMOVE {
        cmd.env_remove(var);
    }
    cmd.env_remove(API_KEY_VAR);
    cmd.envs(config.child_env.iter().filter(|(k, _)| *k != API_KEY_VAR));
    // Without it the CLI also looks up telemetry hosts; the answer is the same.
    cmd.env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    if config.policy.default_cwd.is_dir() {
        // Project settings (an apiKeyHelper) are read from the directory tasks run in.
        cmd.current_dir(&config.policy.default_cwd);
    }
    let out = tokio::time::timeout(PROBE_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            format!(
                "`claude auth status` gave no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("`claude auth status` could not run: {e}"))?;
    // Not logged in is exit 1 with the same JSON: read the answer, not the exit code.
    parse_auth_status(&out.stdout).ok_or_else(|| {
        let said = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        })
        .trim()
        .to_string();
        format!(
            "`claude auth status` did not answer ({}{})",
            out.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::plan::text::preview(&said, 120))
            }
        )
    })
}

/// `claude auth status --json` → [`Login`]; `None` when it is not that answer.
pub fn parse_auth_status(stdout: &[u8]) -> Option<Login> {
    let v: Value = serde_json::from_slice(stdout).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Login {
        logged_in: v.get("loggedIn")?.as_bool()?,
        method: text("authMethod"),
        provider: text("apiProvider"),
        subscription: text("subscriptionType"),
        key_source: text("apiKeySource"),
        checked_with: CheckedWith::AuthStatus,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_status_answers_are_read_whatever_the_exit_code() {
        let out = br#"{"loggedIn": false, "authMethod": "none", "apiProvider": "firstParty"}"#;
        let l = parse_auth_status(out).unwrap();
        assert!(!l.logged_in);
        let out = br#"{"loggedIn": true, "authMethod": "claude.ai", "subscriptionType": "pro", "email": "me@example.com"}"#;
        let l = parse_auth_status(out).unwrap();
        assert!(l.logged_in);
        assert_eq!(l.describe(), "a Claude subscription login (pro)");
        assert!(!format!("{l:?}").contains("example.com"), "no e-mail kept");
        for not_an_answer in [&b""[..], b"error: unknown command 'auth'", b"{}", b"[1]"] {
            assert!(parse_auth_status(not_an_answer).is_none());
        }
    }
}
