//! Bad input and a missing `claude`: clear refusals, and the server keeps serving.

use super::*;

#[tokio::test]
async fn bad_input_is_refused_clearly_and_the_server_keeps_serving() {
    let server = Launch::new()
        .args(&["--allowed-models", "sonnet"])
        .start()
        .await;
    let outside = tempfile::tempdir().expect("tempdir");
    let task = "@fake success text=fine\nDo the thing, please.";

    let refused = async |arguments: Value| -> String {
        let shown = format!("{arguments:.120}");
        let outcome = server.call(arguments).await;
        let message = refusal(&outcome);
        eprintln!("{shown} -> {message}");
        message
    };

    // Missing `task`: rmcp 3.11 answers argument-deserialization errors with an isError result
    // (not a JSON-RPC invalid-params error); either way the message must name the field.
    let m = refused(json!({})).await;
    assert!(m.contains("`task`"), "{m}");

    let m = refused(json!({"task": "   "})).await;
    assert!(m.contains("`task`") && m.contains("empty"), "{m}");

    for t in [0i64, -5, 10_000_000] {
        let m = refused(json!({"task": task, "timeout_secs": t})).await;
        assert!(
            m.contains("timeout_secs") && m.contains(&format!("got {t}")),
            "timeout {t}: {m}"
        );
    }

    let missing = server.root.join("does-not-exist");
    let m = refused(json!({"task": task, "cwd": missing})).await;
    assert!(
        m.contains("`cwd`") && m.contains("not an existing directory"),
        "{m}"
    );

    let m = refused(json!({"task": task, "cwd": outside.path()})).await;
    assert!(
        m.contains("`cwd`") && m.contains("policy.allowed_roots"),
        "{m}"
    );

    let m = refused(json!({"task": task, "permission_mode": "bypassPermissions"})).await;
    assert!(
        m.contains("`permission_mode`") && m.contains("policy.allow_bypass_permissions"),
        "{m}"
    );

    let m = refused(json!({"task": task, "model": "opus"})).await;
    assert!(
        m.contains("`model`") && m.contains("policy.allowed_models") && m.contains("sonnet"),
        "{m}"
    );

    let huge = format!("@fake success\n{}", "x".repeat(1_000_000));
    let estimate = huge.chars().count().div_ceil(4);
    let m = refused(json!({ "task": huge })).await;
    assert!(
        m.contains(&format!("about {estimate} tokens")) && m.contains("limit"),
        "{m}"
    );

    let m = refused(json!({"task": task, "bogus_field": 1})).await;
    assert!(m.contains("bogus_field"), "{m}");

    assert!(
        server.invocations().is_empty(),
        "a refused request ran claude: {:?}",
        server.invocations()
    );

    let ok = server
        .call_ok(json!({"task": task, "model": "sonnet"}))
        .await;
    assert!(!is_error(&ok), "{ok:?}");
    assert_eq!(structured(&ok)["status"], "succeeded", "{ok:?}");
    assert_eq!(structured(&ok)["result"], "fine");
    let inv = server.wait_invocation("success", "Do the thing").await;
    assert!(
        inv["argv"].as_array().is_some_and(|a| a
            .iter()
            .any(|x| x.as_str().unwrap_or("").contains("sonnet"))),
        "the model reaches claude: {inv}"
    );

    server.close().await;
}

#[tokio::test]
async fn missing_claude_binary_gives_cli_not_found_with_an_install_hint() {
    let server = Launch::new()
        .claude_bin("/nonexistent/claude")
        .start()
        .await;
    let r = server
        .call_ok(json!({"task": "@fake success\nAnything at all, please."}))
        .await;
    assert!(is_error(&r), "{r:?}");
    let s = structured(&r);
    assert_eq!(s["status"], "cli_not_found", "{s}");
    let warnings = s["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap_or("");
            w.contains("/nonexistent/claude")
                && w.contains("npm install -g @anthropic-ai/claude-code")
        }),
        "no install hint in {warnings:?}"
    );
    server.close().await;
}
