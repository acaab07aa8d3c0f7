//! `cc-executor init`: prints the `claude mcp add` line and the `.mcp.json` entry for this
//! binary, so registering the server is one copy-paste — and, with `--profile`, writes a
//! permission profile (what tasks may do) into the config file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::{EXIT_OK, EXIT_USAGE};
use crate::config::profiles::{self, PROFILES, Profile};
use crate::config::{Config, PermissionMode};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print only the `.mcp.json` entry.
    #[arg(long)]
    pub json: bool,
    /// Write this permission profile into the config file: read-only, edit, edit+test or
    /// trusted (run `cc-executor init` to see what each allows). Other settings and comments
    /// in the file are kept.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

pub fn init(config: &Config, args: InitArgs) -> anyhow::Result<u8> {
    if let Some(name) = &args.profile {
        let Some(profile) = profiles::profile(name) else {
            eprintln!(
                "cc-executor: there is no permission profile `{name}`; the profiles are: {}",
                profiles::names().join(", ")
            );
            return Ok(EXIT_USAGE);
        };
        let path = match config
            .config_file
            .clone()
            .or_else(crate::config::default_config_file)
        {
            Some(p) => p,
            None => anyhow::bail!(
                "no config file location: set --config FILE (or HOME / XDG_CONFIG_HOME)"
            ),
        };
        write_profile(&path, profile)?;
        println!(
            "wrote the `{}` permission profile to {}: {}",
            profile.name,
            path.display(),
            profile.summary
        );
        println!("(servers read the config file when they start: restart running ones)");
        return Ok(EXIT_OK);
    }
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "cc-executor".to_string());
    let entry = serde_json::json!({
        "mcpServers": { "cc-executor": { "type": "stdio", "command": exe, "args": ["mcp"] } }
    });
    let pretty = serde_json::to_string_pretty(&entry).unwrap_or_default();
    if args.json {
        println!("{pretty}");
        return Ok(EXIT_OK);
    }
    println!("# Register with Claude Code (user scope):");
    println!("claude mcp add --scope user cc-executor -- {exe} mcp");
    println!();
    println!("# …or put this in your project's .mcp.json:");
    println!("{pretty}");
    println!();
    let serve = &config.serve;
    println!(
        "# …or over HTTP: start `cc-executor serve` (listens on {}), then:",
        serve.listen
    );
    println!(
        "claude mcp add --transport http cc-executor {}{} --header \"Authorization: Bearer $(cat {})\"",
        crate::serve::status::local_url(serve.listen),
        crate::serve::mcp_http::PATH,
        serve.token_file.display()
    );
    println!();
    println!("# What may tasks do? Pick a permission profile (written to the config file):");
    for p in &PROFILES {
        println!(
            "#   cc-executor init --profile {:<10} {}",
            p.name, p.summary
        );
    }
    println!(
        "# Now: default permission mode `{}`{}.",
        config.policy.default_permission_mode.as_str(),
        if config.policy.default_allowed_tools.is_empty() {
            String::new()
        } else {
            format!(
                ", tools every task may use: {}",
                config.policy.default_allowed_tools.join(", ")
            )
        }
    );
    Ok(EXIT_OK)
}

/// Sets the profile's keys in the `[policy]` table of the TOML file at `path` (created with
/// its directory when missing), leaving everything else — other keys, comments, layout —
/// as it was.
fn write_profile(path: &Path, profile: &Profile) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let policy = doc
        .entry("policy")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .with_context(|| format!("`policy` in {} is not a table", path.display()))?;
    let modes = |m: &[PermissionMode]| {
        let mut a = toml_edit::Array::new();
        for mode in m {
            a.push(mode.as_str());
        }
        toml_edit::value(a)
    };
    policy["default_permission_mode"] = toml_edit::value(profile.default_permission_mode.as_str());
    policy["allowed_permission_modes"] = modes(profile.allowed_permission_modes);
    policy["allow_bypass_permissions"] = toml_edit::value(profile.allow_bypass_permissions);
    let mut tools = toml_edit::Array::new();
    for t in profile.default_allowed_tools {
        tools.push(*t);
    }
    policy["default_allowed_tools"] = toml_edit::value(tools);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp: PathBuf = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
