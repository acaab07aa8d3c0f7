//! Who pays for a task: whether `claude` gets `ANTHROPIC_API_KEY` (billed to the API account)
//! or uses its own login (usually a subscription). One decision, asked by the executor for
//! every child's environment, by `doctor` and by status reports.

use schemars::JsonSchema;
use serde::Serialize;

use super::{API_KEY_VAR, Login, login};
use crate::config::{ApiKeyMode, Config};

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

#[cfg(test)]
mod tests {
    use super::super::CheckedWith;
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
}
