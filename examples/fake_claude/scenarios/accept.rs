//! Scenarios for acceptance checks and repair: a task that gets its work right only when its
//! prompt carries a rejection (a repair), and a validator that returns a structured verdict
//! about a file in its working directory.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use crate::ctx::{Ctx, ResultLine};
use crate::util::warn;

/// What the executor writes into a repair prompt (`exec/accept/repair.rs`).
const REPAIR_MARK: &str = "was rejected by its acceptance checks";

impl Ctx {
    /// `repairable [file=out.txt bad=bad good=good fixes=1 prompt_log=PATH]`: writes `file`
    /// (relative to its cwd) with `bad` — or, when the prompt is a repair and `fixes=1`, with
    /// `good`; appends its whole prompt to `prompt_log` (a line `=====` after each).
    pub(crate) fn repairable(&mut self) -> i32 {
        if let Some(log) = self.opt("prompt_log") {
            let entry = format!("{}\n=====\n", self.prompt);
            let written = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .and_then(|mut f| f.write_all(entry.as_bytes()));
            if let Err(e) = written {
                warn(&format!("fake_claude: cannot append to {log}: {e}"));
            }
        }
        let repair = self.prompt.contains(REPAIR_MARK) && self.opt("fixes") != Some("0");
        let content = if repair {
            self.opt("good").unwrap_or("good")
        } else {
            self.opt("bad").unwrap_or("bad")
        }
        .to_string();
        let path = PathBuf::from(&self.cwd).join(self.opt("file").unwrap_or("out.txt"));
        if let Err(e) = fs::write(&path, format!("{content}\n")) {
            warn(&format!(
                "fake_claude: cannot write {}: {e}",
                path.display()
            ));
        }
        let shown = path.to_string_lossy().into_owned();
        let id = self.tool_use("Write", json!({"file_path": shown, "content": content}));
        self.tool_result(
            &id,
            &format!("File created successfully at: {shown}"),
            false,
            json!({"type": "create", "filePath": shown, "content": format!("{content}\n"),
                   "structuredPatch": [], "originalFile": null}),
            None,
        );
        let text = format!("Wrote {shown}.");
        self.succeed(&text)
    }

    /// `verdict [file=out.txt contains=good fix=…]` (needs `--json-schema`): the structured
    /// verdict `{valid, reasons, fix}` — valid when `file` (relative to its cwd) contains
    /// `contains`.
    pub(crate) fn verdict(&mut self) -> i32 {
        let path = PathBuf::from(&self.cwd).join(self.opt("file").unwrap_or("out.txt"));
        let want = self.opt("contains").unwrap_or("good").to_string();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let valid = text.contains(&want);
        let reason = if valid {
            format!("{} contains `{want}`", path.display())
        } else {
            format!("{} does not contain `{want}`", path.display())
        };
        let fix = if valid {
            String::new()
        } else {
            self.opt("fix")
                .map(str::to_string)
                .unwrap_or_else(|| format!("write `{want}` into {}", path.display()))
        };
        let so = json!({"valid": valid, "reasons": [reason], "fix": fix});
        if self.flags.json_schema.is_none() {
            warn("fake_claude: verdict scenario without --json-schema; no structured_output");
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
