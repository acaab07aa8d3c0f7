//! Setting up: `claude mcp add`, `init` and its permission profile.

use super::*;

#[test]
fn claude_mcp_add_registers_the_server_and_claude_mcp_list_reports_it_connected() {
    let env = IsolatedEnv::new();
    let claude = |args: &[&str]| {
        let mut c = Command::new(claude_bin());
        for (k, v) in env.env_vars("http://127.0.0.1:9") {
            c.env(k, v);
        }
        c.env_remove("CLAUDECODE")
            .current_dir(env.workdir())
            .args(args)
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let bin = cc_executor_bin();
    let fake = fake_claude_bin();
    let add = claude(&[
        "mcp",
        "add",
        "cc-executor",
        "--",
        bin.to_str().unwrap(),
        "--claude-bin",
        fake.to_str().unwrap(),
        "mcp",
    ]);
    assert!(
        add.status.success(),
        "{}{}",
        text(&add.stdout),
        text(&add.stderr)
    );
    let list = claude(&["mcp", "list"]);
    // `claude mcp list` exits 0 even when a server fails: read what it says.
    let said = text(&list.stdout);
    let line = said
        .lines()
        .find(|l| l.starts_with("cc-executor"))
        .unwrap_or_else(|| panic!("not listed: {said}{}", text(&list.stderr)));
    assert!(line.contains("Connected"), "{line}");
    assert!(Path::new(&env.home().join(".claude.json")).exists());
}

#[test]
fn init_prints_a_registration_line_and_an_mcp_json_entry() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["init", "--json"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mcpServers"]["cc-executor"]["args"][0], "mcp");
    let mut c = s.cmd();
    c.arg("init");
    assert!(text(&output(c, None).stdout).contains("claude mcp add"));
}

#[test]
fn init_writes_a_permission_profile_that_every_task_then_gets() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let cfg = cfg_dir.join("config.toml");
    std::fs::write(&cfg, "# my own note\nmax_concurrent = 1 # keep\n").unwrap();

    let mut c = s.cmd();
    c.args(["init", "--profile", "edit+test"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("edit+test"));
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        written.contains("# my own note") && written.contains("# keep"),
        "{written}"
    );
    assert!(written.contains("Bash(pytest:*)"), "{written}");

    // A task now gets the profile's tool rules (added to its own).
    let mut c = s.cmd();
    c.args(["run", "--allowed-tools", "Read", "@fake success\nprofiled"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let argv: Vec<String> = serde_json::from_value(s.invocations()[0]["argv"].clone()).unwrap();
    let at = argv.iter().position(|a| a == "--allowedTools").unwrap();
    assert!(
        argv[at + 1..].contains(&"Bash(pytest:*)".to_string()),
        "{argv:?}"
    );
    assert!(argv[at + 1..].contains(&"Read".to_string()), "{argv:?}");

    // `init` lists the profiles; an unknown one is refused with the names.
    let mut c = s.cmd();
    c.arg("init");
    let listed = text(&output(c, None).stdout);
    for name in ["read-only", "edit", "edit+test", "trusted"] {
        assert!(listed.contains(&format!("--profile {name}")), "{listed}");
    }
    let mut c = s.cmd();
    c.args(["init", "--profile", "everything"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("read-only, edit, edit+test, trusted"));
}

#[test]
fn an_unverified_result_names_the_allowed_tools_entry_that_would_have_allowed_it() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args([
        "run",
        "--json",
        "@fake permission_denied command=\"pytest -q tests\"",
    ]);
    let out = output(c, None);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "unverified", "{v:#}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains(r#"allowed_tools: [\"Bash(pytest:*)\"]"#),
        "{warnings}"
    );
}
