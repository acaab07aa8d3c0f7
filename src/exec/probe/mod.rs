//! What we can learn about the configured `claude` without running a task: where it is, that
//! it really is Claude Code (`--version`), whether it has a login of its own, and from that,
//! who pays for a task ([`credential`]).
//!
//! Who pays is decided by one environment variable: with `ANTHROPIC_API_KEY` Claude Code bills
//! the API account; without it, it uses its own login (usually a subscription). The key in our
//! environment may have been exported for other tools, so by default (`api_key = "auto"`) it
//! is removed when Claude Code has a login of its own and passed only when it has none. The
//! facts this relies on are written down in `docs/claude-cli.md`.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use tokio::process::Command;

use crate::config::{ApiKeyMode, Config};

/// The variable that makes Claude Code authenticate with an API key (and bill the API).
pub const API_KEY_VAR: &str = "ANTHROPIC_API_KEY";

/// What `claude --version` of Claude Code contains; anything else is another program.
const CLAUDE_CODE_MARK: &str = "(Claude Code)";

/// Bound on `claude --version` and `claude auth status`: both answer in well under a second.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// What we know about the configured `claude`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ClaudeInfo {
    /// The resolved path of the binary.
    pub path: PathBuf,
    /// `claude --version`, e.g. `2.1.331 (Claude Code)`.
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("`{}` was not found (on PATH or as a file): {}", .0.display(), crate::claude::INSTALL_HINT)]
    NotFound(PathBuf),
    #[error("`{path} --version` failed: {1}", path = .0.display())]
    Failed(PathBuf, String),
    /// The binary runs but is some other program (`--claude-bin /bin/true`): every task would
    /// fail in a confusing way, so say it plainly.
    #[error(
        "`{path}` is not Claude Code: `--version` printed {printed} (Claude Code prints e.g. `2.1.331 (Claude Code)`); set --claude-bin / claude_bin to the claude binary",
        path = .path.display()
    )]
    NotClaudeCode { path: PathBuf, printed: String },
}

/// Resolves `bin` like `execvp` would: a path with a `/` as is, otherwise along `PATH`.
pub fn resolve(bin: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if bin.components().count() > 1 || bin.is_absolute() {
        return executable(bin).then(|| bin.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|p| executable(p))
    })
}

/// Runs `claude --version` (bounded) and checks that the answer is Claude Code's.
pub async fn probe(bin: &Path) -> Result<ClaudeInfo, ProbeError> {
    let path = resolve(bin).ok_or_else(|| ProbeError::NotFound(bin.to_path_buf()))?;
    let mut cmd = Command::new(&path);
    cmd.arg("--version")
        .stdin(std::process::Stdio::null())
        .env_remove("CLAUDECODE")
        .kill_on_drop(true);
    let out = tokio::time::timeout(PROBE_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            ProbeError::Failed(
                path.clone(),
                format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
            )
        })?
        .map_err(|e| ProbeError::Failed(path.clone(), e.to_string()))?;
    if !out.status.success() {
        return Err(ProbeError::Failed(
            path,
            format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let version = stdout.lines().next().unwrap_or("").trim().to_string();
    if !version.contains(CLAUDE_CODE_MARK) {
        let printed = if version.is_empty() {
            "nothing".to_string()
        } else {
            format!("`{}`", crate::plan::text::preview(&version, 80))
        };
        return Err(ProbeError::NotClaudeCode { path, printed });
    }
    Ok(ClaudeInfo { path, version })
}

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

/// Where the `ANTHROPIC_API_KEY` a child would see comes from. Never its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// cc-executor's own environment: governed by `api_key`.
    Environment,
    /// The config's `[env]` section: always passed (it is applied last, and it is explicit).
    ConfigEnv,
}

/// What Claude Code will authenticate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Uses {
    /// Its own login (a subscription, a token, a helper, a provider).
    OwnLogin,
    /// The `ANTHROPIC_API_KEY` we pass: billed to the API account.
    ApiKey,
    /// Nothing: every task fails with "Not logged in".
    #[serde(rename = "none")]
    Nothing,
    /// Not checked (no key to decide about; only [`LoginCheck::WhenItDecides`] leaves this).
    Unchecked,
}

/// Whether [`credential`] asks Claude Code about its login even when that changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCheck {
    /// Always (doctor, status reports): the answer says what will be used and what not.
    Always,
    /// Only when the key's fate depends on it (`auto` with a key): what the executor needs.
    WhenItDecides,
}

/// Who pays for a task, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Credential {
    /// `api_key` as configured.
    pub mode: ApiKeyMode,
    /// Where an `ANTHROPIC_API_KEY` comes from; null when there is none.
    pub api_key: Option<KeySource>,
    /// Whether `claude` gets the key.
    pub api_key_passed: bool,
    pub uses: Uses,
    /// Claude Code's own login; null when not checked.
    pub login: Option<Login>,
    /// One sentence: what will be used and why.
    pub reason: String,
}

/// Who pays: decides whether `claude` gets `ANTHROPIC_API_KEY` and what it will authenticate
/// with. The executor (building every child's environment), `doctor` and status reports all
/// ask this one function. The login check runs `claude auth status` once and is cached per
/// configuration until the stored login file changes (see [`login`]).
pub async fn credential(config: &Config, check: LoginCheck) -> Credential {
    let key = key_source(config);
    let decides = key == Some(KeySource::Environment) && config.api_key == ApiKeyMode::Auto;
    let login = if check == LoginCheck::Always || decides {
        Some(login(config).await)
    } else {
        None
    };
    decide(config.api_key, key, login)
}

/// Whether the child's environment must lose `ANTHROPIC_API_KEY` (the executor's question;
/// cheap when there is no key or nothing to decide).
pub async fn removes_api_key(config: &Config) -> bool {
    key_source(config) == Some(KeySource::Environment)
        && !credential(config, LoginCheck::WhenItDecides)
            .await
            .api_key_passed
}

fn key_source(config: &Config) -> Option<KeySource> {
    if config.child_env.contains_key(API_KEY_VAR) {
        Some(KeySource::ConfigEnv)
    } else if std::env::var_os(API_KEY_VAR).is_some() {
        Some(KeySource::Environment)
    } else {
        None
    }
}

/// The decision table, without I/O: the mode, where the key comes from, and the login (when
/// it was checked).
pub fn decide(mode: ApiKeyMode, key: Option<KeySource>, login: Option<Login>) -> Credential {
    let logged_in = login.as_ref().map(|l| l.logged_in);
    let own = login
        .as_ref()
        .map(Login::describe)
        .unwrap_or_else(|| "not checked".into());
    let not_logged_in = "claude has no login of its own: tasks will fail with \"Not logged in\"; \
                         run `claude` once and log in (or set CLAUDE_CODE_OAUTH_TOKEN)";
    let (passed, uses, reason) = match (key, mode, logged_in) {
        (Some(KeySource::ConfigEnv), _, l) => (
            true,
            Uses::ApiKey,
            format!(
                "API key passed: ANTHROPIC_API_KEY is set in the config's [env] section, which is always passed (billed to the API account){}",
                if l == Some(true) {
                    format!("; claude's own login ({own}) is not used")
                } else {
                    String::new()
                }
            ),
        ),
        (None, _, Some(true)) => (
            false,
            Uses::OwnLogin,
            format!("own login: no ANTHROPIC_API_KEY is set; claude uses {own}"),
        ),
        (None, _, Some(false)) => (
            false,
            Uses::Nothing,
            format!("no credential: ANTHROPIC_API_KEY is not set and {not_logged_in}"),
        ),
        (None, _, None) => (
            false,
            Uses::Unchecked,
            "no ANTHROPIC_API_KEY is set: claude uses its own login, if it has one (not checked)"
                .into(),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Pass, l) => (
            true,
            Uses::ApiKey,
            format!(
                "API key passed: ANTHROPIC_API_KEY is passed to claude (api_key = pass), billed to the API account{}",
                if l == Some(true) {
                    format!("; claude's own login ({own}) is not used")
                } else {
                    String::new()
                }
            ),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Remove, Some(true)) => (
            false,
            Uses::OwnLogin,
            format!("API key removed (api_key = remove): claude uses {own}"),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Remove, Some(false)) => (
            false,
            Uses::Nothing,
            format!(
                "no credential: ANTHROPIC_API_KEY is removed (api_key = remove) and {not_logged_in}; or set api_key = auto"
            ),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Remove, None) => (
            false,
            Uses::Unchecked,
            "API key removed (api_key = remove): claude uses its own login (not checked)".into(),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Auto, Some(true)) => (
            false,
            Uses::OwnLogin,
            format!(
                "API key removed: claude has its own login, {own}, so ANTHROPIC_API_KEY is not passed (api_key = auto)"
            ),
        ),
        (Some(KeySource::Environment), ApiKeyMode::Auto, Some(false)) => (
            true,
            Uses::ApiKey,
            "API key passed: claude has no login of its own, so ANTHROPIC_API_KEY is passed (api_key = auto), billed to the API account"
                .into(),
        ),
        // Not reached through `credential` (auto with a key always checks); passing keeps a
        // key-only machine working.
        (Some(KeySource::Environment), ApiKeyMode::Auto, None) => (
            true,
            Uses::Unchecked,
            "API key passed: claude's own login was not checked (api_key = auto)".into(),
        ),
    };
    Credential {
        mode,
        api_key: key,
        api_key_passed: passed,
        uses,
        login,
        reason,
    }
}

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
fn credentials_file(config: &Config) -> Option<PathBuf> {
    let dir = match child_var(config, "CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(child_var(config, "HOME").filter(|h| !h.is_empty())?).join(".claude"),
    };
    Some(dir.join(".credentials.json"))
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

/// The fallback: a token in the environment, or a stored subscription login that Claude Code
/// would accept (an access token with the inference scope, as 2.1.331 requires).
fn stored_login(config: &Config, note: String) -> Login {
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
    use super::*;

    fn login(logged_in: bool) -> Option<Login> {
        Some(Login {
            logged_in,
            method: Some(if logged_in { "claude.ai" } else { "none" }.into()),
            provider: Some("firstParty".into()),
            subscription: logged_in.then(|| "max".into()),
            key_source: None,
            checked_with: CheckedWith::AuthStatus,
            note: None,
        })
    }

    #[test]
    fn the_decision_table() {
        use ApiKeyMode::*;
        use KeySource::*;
        // (mode, key, logged in) → (passed, uses)
        let cases = [
            (Auto, Some(Environment), login(true), false, Uses::OwnLogin),
            (Auto, Some(Environment), login(false), true, Uses::ApiKey),
            (Pass, Some(Environment), login(true), true, Uses::ApiKey),
            (Pass, Some(Environment), login(false), true, Uses::ApiKey),
            (
                Remove,
                Some(Environment),
                login(true),
                false,
                Uses::OwnLogin,
            ),
            (
                Remove,
                Some(Environment),
                login(false),
                false,
                Uses::Nothing,
            ),
            (Auto, None, login(true), false, Uses::OwnLogin),
            (Auto, None, login(false), false, Uses::Nothing),
            (Remove, Some(ConfigEnv), login(true), true, Uses::ApiKey),
            (Auto, Some(ConfigEnv), None, true, Uses::ApiKey),
            (Auto, None, None, false, Uses::Unchecked),
        ];
        for (mode, key, l, passed, uses) in cases {
            let c = decide(mode, key, l.clone());
            assert_eq!(
                (c.api_key_passed, c.uses),
                (passed, uses),
                "{mode} {key:?} {l:?}: {}",
                c.reason
            );
            assert!(c.reason.contains(match (passed, key) {
                (true, _) => "API key passed",
                (false, Some(Environment)) if uses != Uses::Nothing => "API key removed",
                (false, _) if uses == Uses::Nothing => "no credential",
                _ => "",
            }));
        }
        // The reason says why, naming the setting.
        let c = decide(Auto, Some(Environment), login(true));
        assert!(
            c.reason.contains("api_key = auto") && c.reason.contains("(max)"),
            "{}",
            c.reason
        );
        let c = decide(Pass, Some(Environment), login(true));
        assert!(c.reason.contains("is not used"), "{}", c.reason);
    }

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
