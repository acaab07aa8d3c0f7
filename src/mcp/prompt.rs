//! The bundled orchestrator prompt (`prompts/cc_execute.md`), served as the MCP prompt
//! `cc_execute` and as the resource `cc-executor://prompts/cc_execute`.

use rmcp::ErrorData;
use rmcp::model::{
    GetPromptResult, ListPromptsResult, ListResourcesResult, Prompt, PromptMessage,
    ReadResourceResult, Resource, ResourceContents, Role,
};

/// The bundled orchestrator prompt, served as the MCP prompt and resource `cc_execute`.
pub const CC_EXECUTE_PROMPT: &str = include_str!("../../prompts/cc_execute.md");

pub const PROMPT_NAME: &str = "cc_execute";
pub const PROMPT_URI: &str = "cc-executor://prompts/cc_execute";
const DESCRIPTION: &str =
    "How to split work into self-contained tasks and run them one by one with cc_execute";

pub fn list_prompts() -> ListPromptsResult {
    ListPromptsResult::with_all_items(vec![Prompt::new(PROMPT_NAME, Some(DESCRIPTION), None)])
}

pub fn get_prompt(name: &str) -> Result<GetPromptResult, ErrorData> {
    if name != PROMPT_NAME {
        return Err(ErrorData::invalid_params(
            format!("unknown prompt `{name}`; the only prompt is `{PROMPT_NAME}`"),
            None,
        ));
    }
    let mut result =
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, CC_EXECUTE_PROMPT)]);
    result.description = Some(DESCRIPTION.into());
    Ok(result)
}

pub fn list_resources() -> ListResourcesResult {
    let mut r = Resource::new(PROMPT_URI, PROMPT_NAME).with_description(DESCRIPTION);
    r.mime_type = Some("text/markdown".into());
    ListResourcesResult::with_all_items(vec![r])
}

pub fn read_resource(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri != PROMPT_URI {
        return Err(ErrorData::resource_not_found(
            format!("unknown resource `{uri}`"),
            None,
        ));
    }
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(CC_EXECUTE_PROMPT, PROMPT_URI).with_mime_type("text/markdown"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guide teaches permissions, and practises what it teaches: every step of its example
    /// that has a task run a command also passes the `allowed_tools` rule for it.
    #[test]
    fn the_guide_teaches_permissions_and_its_example_passes_them() {
        assert!(CC_EXECUTE_PROMPT.contains("allowed_tools"));
        assert!(CC_EXECUTE_PROMPT.contains("Bash(pytest:*)"));
        assert!(CC_EXECUTE_PROMPT.contains("permission_mode"));
        // … and acceptance checks with repair, for tasks and lists.
        for taught in [
            "accept.commands",
            "accept.validator",
            "`rejected`",
            "repair: {\"max_attempts\"",
            "failure_policy: \"repair\"",
        ] {
            assert!(CC_EXECUTE_PROMPT.contains(taught), "{taught}");
        }
        let example = CC_EXECUTE_PROMPT
            .split("## Example")
            .nth(1)
            .expect("an Example section");
        let mut steps: Vec<String> = Vec::new();
        for line in example.lines() {
            if line.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                steps.push(line.to_string());
            } else if let Some(last) = steps.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        }
        let runners: Vec<&String> = steps
            .iter()
            .filter(|s| s.contains("cc_execute") && s.contains("pytest"))
            .collect();
        assert!(!runners.is_empty());
        for step in runners {
            assert!(
                step.contains("allowed_tools: [\"Bash(pytest:*)\"]"),
                "{step}"
            );
        }
    }
}
