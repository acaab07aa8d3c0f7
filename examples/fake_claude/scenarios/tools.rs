//! Tool-use scenarios: writes and edits (optionally real), a failed write, a denied tool use,
//! and structured output.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::ctx::{Ctx, ResultLine};
use crate::util::warn;

impl Ctx {
    pub(crate) fn tools(&mut self) -> i32 {
        let cwd = PathBuf::from(&self.cwd);
        let path = |k: &str, default: &str, ctx: &Ctx| -> String {
            ctx.opt(k)
                .map(str::to_string)
                .unwrap_or_else(|| cwd.join(default).to_string_lossy().into_owned())
        };
        let write = path("write", "fake_claude_written.txt", self);
        let edit = path("edit", "fake_claude_edited.txt", self);
        let failed = path("failed", "fake_claude_failed.txt", self);
        let content = self
            .opt("content")
            .unwrap_or("hello from fake_claude\n")
            .to_string();
        let command = self.opt("command").unwrap_or("echo hello").to_string();

        self.say("I'll make the requested changes.");

        if self.opt("real_write") == Some("1") {
            let p = Path::new(&write);
            if let Some(parent) = p.parent() {
                let _ = fs::create_dir_all(parent);
            }
            if let Err(e) = fs::write(p, &content) {
                warn(&format!("fake_claude: real_write of {write} failed: {e}"));
            }
        }
        let id = self.tool_use("Write", json!({"file_path": write, "content": content}));
        self.tool_result(
            &id,
            &format!("File created successfully at: {write}"),
            false,
            json!({"type": "create", "filePath": write, "content": content,
                   "structuredPatch": [], "originalFile": null}),
            None,
        );

        let id = self.tool_use(
            "Edit",
            json!({"file_path": edit, "old_string": "foo", "new_string": "bar",
                   "replace_all": false}),
        );
        self.tool_result(
            &id,
            &format!(
                "The file {edit} has been updated. Here's the result of running `cat -n` on a \
                 snippet of the edited file:\n     1\tbar"
            ),
            false,
            json!({"filePath": edit, "oldString": "foo", "newString": "bar",
                   "originalFile": "foo\n", "structuredPatch": [], "userModified": false,
                   "replaceAll": false}),
            None,
        );

        let id = self.tool_use(
            "Write",
            json!({"file_path": failed, "content": "this write fails\n"}),
        );
        let err = format!("EACCES: permission denied, open '{failed}'");
        self.tool_result(
            &id,
            &format!("<tool_use_error>{err}</tool_use_error>"),
            true,
            json!(format!("Error: {err}")),
            None,
        );

        let id = self.tool_use(
            "Bash",
            json!({"command": command, "description": "Run a command"}),
        );
        self.tool_result(
            &id,
            "hello",
            false,
            json!({"stdout": "hello", "stderr": "", "interrupted": false, "isImage": false}),
            None,
        );

        self.opts
            .entry("turns".into())
            .or_insert_with(|| "5".into());
        let t = self
            .opt("text")
            .map(str::to_string)
            .unwrap_or_else(|| format!("Done! I wrote {write} and edited {edit}."));
        self.succeed(&t)
    }

    pub(crate) fn permission_denied(&mut self) -> i32 {
        let path = self.opt("path").map(str::to_string).unwrap_or_else(|| {
            Path::new(&self.cwd)
                .join("fake_claude_denied.txt")
                .to_string_lossy()
                .into_owned()
        });
        let content = "this write is denied\n";
        // `command=…` denies a Bash command instead of a Write.
        let (tool, input) = match self.opt("command") {
            Some(cmd) => (
                "Bash",
                json!({"command": cmd, "description": "Run a command"}),
            ),
            None => ("Write", json!({"file_path": path, "content": content})),
        };
        let id = self.tool_use(tool, input.clone());
        let mode = self.permission_mode();
        let message = format!(
            "Permission to use {tool} has been denied because Claude Code is running in \
             {mode} mode."
        );
        self.system(
            "permission_denied",
            vec![
                ("tool_name", json!(tool)),
                ("tool_use_id", json!(id)),
                ("decision_reason_type", json!("mode")),
                ("message", json!(message)),
            ],
        );
        self.tool_result(
            &id,
            &format!(
                "Claude requested permissions to write to {path}, but you haven't granted it \
                 yet."
            ),
            true,
            json!(format!(
                "Error: Claude requested permissions to write to {path}, but you haven't \
                 granted it yet."
            )),
            Some(json!([{"id": id,
                         "permission_decision": {"decision": "deny", "source": "mode"},
                         "non_execution_kind": "permission_denied"}])),
        );
        self.say("Done!");
        self.opts
            .entry("turns".into())
            .or_insert_with(|| "2".into());
        self.result(ResultLine {
            subtype: "success",
            result: Some("Done!"),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            permission_denials: vec![
                json!({"tool_name": tool, "tool_use_id": id, "tool_input": input}),
            ],
            ..Default::default()
        });
        0
    }

    pub(crate) fn structured(&mut self) -> i32 {
        let answer = self.opt("answer").unwrap_or("42").to_string();
        let so = json!({"answer": answer});
        if self.flags.json_schema.is_none() {
            warn("fake_claude: structured scenario without --json-schema; no structured_output");
            let t = so.to_string();
            return self.succeed(&t);
        }
        let id = self.tool_use("StructuredOutput", so.clone());
        self.tool_result(
            &id,
            "Structured output provided successfully",
            false,
            json!("Structured output provided successfully"),
            None,
        );
        let text = so.to_string();
        self.result(ResultLine {
            subtype: "success",
            result: Some(&text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            structured_output: Some(so),
            ..Default::default()
        });
        0
    }
}
