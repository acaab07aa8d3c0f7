//! `cc-executor init`: prints the `claude mcp add` line and the `.mcp.json` entry for this
//! binary, so registering the server is one copy-paste.

use clap::Args;

use super::EXIT_OK;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print only the `.mcp.json` entry.
    #[arg(long)]
    pub json: bool,
}

pub fn init(args: InitArgs) -> u8 {
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
    } else {
        println!("# Register with Claude Code (user scope):");
        println!("claude mcp add --scope user cc-executor -- {exe} mcp");
        println!();
        println!("# …or put this in your project's .mcp.json:");
        println!("{pretty}");
    }
    EXIT_OK
}
