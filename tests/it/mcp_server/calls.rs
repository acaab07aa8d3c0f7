//! Listing the tool, prompt and resource, and what a call answers.

use super::*;

#[tokio::test]
async fn lists_the_tool_prompt_and_resource_with_schemas_and_server_info() {
    let server = Launch::new().start().await;

    let info = server
        .client
        .peer_info()
        .expect("server info after initialize");
    let implementation = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(implementation.name, "cc-executor");
    assert_eq!(implementation.version, env!("CARGO_PKG_VERSION"));

    let tools = server
        .within(STEP, "tools/list", server.client.list_all_tools())
        .await
        .expect("tools/list");
    let tool = tools
        .iter()
        .find(|t| t.name == "cc_execute")
        .unwrap_or_else(|| panic!("cc_execute is not listed: {tools:?}"));
    let tool = serde_json::to_value(tool).expect("tool as JSON");
    let input = &tool["inputSchema"];
    assert_eq!(input["type"], "object", "{input}");
    assert!(
        input["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("task"))),
        "`task` must be required: {input}"
    );
    assert!(input["properties"]["task"].is_object(), "{input}");
    for optional in ["timeout_secs", "cwd", "model", "permission_mode"] {
        assert!(
            input["properties"][optional].is_object(),
            "`{optional}` missing from the input schema: {input}"
        );
    }
    let output = &tool["outputSchema"];
    assert_eq!(output["type"], "object", "output schema: {output}");
    let result_schema = execution_result_schema(output);
    for field in ["status", "execution_id", "result", "warnings", "started_at"] {
        assert!(
            result_schema["properties"][field].is_object(),
            "`{field}` missing from the result schema: {result_schema}"
        );
    }
    assert!(
        tool["description"]
            .as_str()
            .is_some_and(|d| d.contains("fresh Claude Code process")),
        "{tool}"
    );

    let prompts = server
        .within(STEP, "prompts/list", server.client.list_all_prompts())
        .await
        .expect("prompts/list");
    assert!(
        prompts.iter().any(|p| p.name == "cc_execute"),
        "prompt cc_execute not listed: {prompts:?}"
    );
    let prompt = server
        .within(
            STEP,
            "prompts/get",
            server
                .client
                .get_prompt(GetPromptRequestParams::new("cc_execute")),
        )
        .await
        .expect("prompts/get cc_execute");
    let prompt = serde_json::to_value(&prompt).expect("prompt as JSON");
    assert_eq!(
        prompt["messages"][0]["content"]["text"], PROMPT_TEXT,
        "prompt text"
    );
    let unknown = server
        .within(
            STEP,
            "prompts/get nope",
            server
                .client
                .get_prompt(GetPromptRequestParams::new("nope")),
        )
        .await;
    assert!(
        matches!(&unknown, Err(ServiceError::McpError(e)) if e.message.contains("nope")),
        "unknown prompt: {unknown:?}"
    );

    let resources = server
        .within(STEP, "resources/list", server.client.list_all_resources())
        .await
        .expect("resources/list");
    let resources = serde_json::to_value(&resources).expect("resources as JSON");
    assert!(
        resources
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["uri"] == PROMPT_URI)),
        "resource {PROMPT_URI} not listed: {resources}"
    );
    let read = server
        .within(
            STEP,
            "resources/read",
            server
                .client
                .read_resource(ReadResourceRequestParams::new(PROMPT_URI)),
        )
        .await
        .expect("resources/read");
    let read = serde_json::to_value(&read).expect("resource as JSON");
    assert_eq!(read["contents"][0]["uri"], PROMPT_URI, "{read}");
    assert_eq!(read["contents"][0]["mimeType"], "text/markdown", "{read}");
    assert_eq!(read["contents"][0]["text"], PROMPT_TEXT, "resource text");

    server.close().await;
}

#[tokio::test]
async fn results_are_structured_and_failures_set_is_error() {
    let server = Launch::new().start().await;
    let tools = server
        .within(STEP, "tools/list", server.client.list_all_tools())
        .await
        .expect("tools/list");
    let output_schema = serde_json::to_value(
        tools
            .iter()
            .find(|t| t.name == "cc_execute")
            .and_then(|t| t.output_schema.clone())
            .expect("cc_execute output schema"),
    )
    .unwrap();
    let result_schema = execution_result_schema(&output_schema);
    let schema_fields: Vec<&String> = result_schema["properties"]
        .as_object()
        .expect("schema properties")
        .keys()
        .collect();

    let ok = server
        .call_ok(json!({"task": "@fake success text=hello-from-mcp\nSay hello, please."}))
        .await;
    assert!(!is_error(&ok), "success must not be an error: {ok:?}");
    let s = structured(&ok);
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["result"], "hello-from-mcp", "{s}");
    let id = s["execution_id"].as_str().expect("execution_id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "execution_id {id}");
    assert!(
        timestamp(s, "started_at") <= timestamp(s, "finished_at"),
        "{s}"
    );
    // The structured content has exactly the shape the output schema announces.
    let fields = s.as_object().expect("structured content is an object");
    for key in fields.keys() {
        assert!(
            schema_fields.contains(&key),
            "`{key}` is not in the output schema"
        );
    }
    for required in result_schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            fields.contains_key(required),
            "required `{required}` missing: {s}"
        );
    }
    let text = text_of(&ok);
    assert!(
        text.contains(&format!("cc_execute {id}: succeeded")) && text.contains("hello-from-mcp"),
        "text content: {text}"
    );
    let inv = server.wait_invocation("success", "hello-from-mcp").await;
    // The task verbatim, then the UUID hook's instruction (on by default; tests/it/evidence/).
    let stdin = inv["stdin"].as_str().unwrap();
    assert!(
        stdin.starts_with(
            "@fake success text=hello-from-mcp\nSay hello, please.\n\n---\nExecution id: "
        ),
        "{stdin}"
    );
    assert_eq!(inv["cwd"], server.root.to_str().unwrap(), "default cwd");

    let failed = server
        .call_ok(json!({"task": "@fake max_turns\nList the files, please.", "max_turns": 1}))
        .await;
    assert!(is_error(&failed), "max_turns must set isError: {failed:?}");
    let f = structured(&failed);
    assert_eq!(f["status"], "max_turns", "{f}");
    assert!(
        f["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap_or("").contains("turns"))),
        "{f}"
    );
    assert!(text_of(&failed).contains("max_turns"), "{failed:?}");

    server.close().await;
}

#[tokio::test]
async fn an_answer_goes_out_once_whole_in_the_structured_result_and_summarised_in_the_text() {
    let s = Launch::new().start().await;
    // A small answer: one text block with the summary and the whole answer; no JSON dump.
    let r = s
        .call_ok(json!({"task": "@fake success text=short-answer"}))
        .await;
    assert_eq!(r.content.len(), 1, "{r:?}");
    assert!(text_of(&r).contains("short-answer"));
    assert_eq!(structured(&r)["result"], "short-answer");

    // A big one: the text shows its head and tail and says where the whole is.
    let r = s
        .call_ok(json!({"task": "@fake big_record bytes=200000"}))
        .await;
    let answer = structured(&r)["result"].as_str().unwrap().to_string();
    assert_eq!(answer.len(), 200_000);
    assert_eq!(r.content.len(), 1, "{r:?}");
    let text = text_of(&r);
    assert!(text.len() < 8 * 1024, "{} bytes of text", text.len());
    assert!(text.contains(&answer[..200]));
    assert!(text.contains(&answer[answer.len() - 200..]));
    let id = structured(&r)["execution_id"].as_str().unwrap();
    assert!(
        text.contains(&format!("cc-executor://executions/{id}")),
        "{text}"
    );
}
