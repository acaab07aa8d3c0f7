//! `fake_claude auth status`: Claude Code's answer about its own login, from the environment
//! and the stored login file, as the real CLI gives it.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::util::{record_dir, record_line, warn};

/// `auth status [--json|--text]`, answered like 2.1.331 does, offline: an API key, then a
/// token in the environment, then a stored login (`$CLAUDE_CONFIG_DIR` or `$HOME/.claude`,
/// `.credentials.json` with an access token and the `user:inference` scope). Exit 1 when not
/// logged in. Each call appends `{argv, anthropic_api_key_set, home}` to `auth.jsonl` in
/// `FAKE_CLAUDE_RECORD_DIR` (not to `invocations.jsonl`, which counts tasks).
/// `FAKE_CLAUDE_AUTH_STATUS=unsupported` answers like a CLI without the subcommand.
pub(crate) fn auth_main(args: &[String]) -> ! {
    if let Some(dir) = record_dir() {
        let rec = json!({
            "argv": args,
            "anthropic_api_key_set": std::env::var_os("ANTHROPIC_API_KEY").is_some(),
            "home": std::env::var("HOME").unwrap_or_default(),
        });
        record_line(&dir, "auth.jsonl", &rec.to_string());
    }
    if std::env::var("FAKE_CLAUDE_AUTH_STATUS").as_deref() == Ok("unsupported")
        || args.get(1).map(String::as_str) != Some("status")
    {
        warn("error: unknown command 'auth'");
        std::process::exit(1);
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|t| !t.is_empty());
    let dir = match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".claude"),
    };
    let stored = fs::read_to_string(dir.join(".credentials.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("claudeAiOauth").cloned())
        .filter(|o| {
            o["accessToken"].as_str().is_some_and(|t| !t.is_empty())
                && o["scopes"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|x| x == "user:inference"))
        });
    let mut answer = json!({"loggedIn": true, "apiProvider": "firstParty"});
    if set("ANTHROPIC_API_KEY") {
        answer["authMethod"] = json!("api_key");
        answer["apiKeySource"] = json!("ANTHROPIC_API_KEY");
    } else if set("CLAUDE_CODE_OAUTH_TOKEN") || set("ANTHROPIC_AUTH_TOKEN") {
        answer["authMethod"] = json!("oauth_token");
    } else if let Some(o) = stored {
        answer["authMethod"] = json!("claude.ai");
        answer["subscriptionType"] = o["subscriptionType"].clone();
    } else {
        answer["loggedIn"] = json!(false);
        answer["authMethod"] = json!("none");
    }
    let logged_in = answer["loggedIn"] == true;
    if args.iter().any(|a| a == "--text") {
        println!(
            "{}",
            if logged_in {
                "Logged in"
            } else {
                "Not logged in. Run claude auth login to authenticate."
            }
        );
    } else {
        println!("{answer:#}");
    }
    std::process::exit(if logged_in { 0 } else { 1 })
}
