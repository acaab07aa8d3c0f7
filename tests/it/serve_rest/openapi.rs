//! The OpenAPI document: every route of the router is in it (and nothing else), and real
//! answers of a live service validate against the schemas it documents for them.

use serde_json::{Value, json};

use super::{Service, curl, parse_sse};

/// The served document, with a validator per documented response.
pub struct Api {
    pub doc: Value,
}

impl Api {
    pub async fn fetch(service: &Service) -> Api {
        let r = curl(&[&service.api("/openapi.json")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        Api { doc: r.json() }
    }

    /// The schema documented for `status` of `method path` (path as in the document:
    /// `/api/v1/executions/{id}`), in `content_type`.
    fn schema(&self, method: &str, path: &str, status: u16, content_type: &str) -> Value {
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let schema = &op["responses"][status.to_string()]["content"][content_type]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path}: no {content_type} schema for {status}: {}",
            op["responses"]
        );
        schema.clone()
    }

    /// Panics unless `value` validates against what the document says `method path` answers
    /// with `status`.
    pub fn check(&self, method: &str, path: &str, status: u16, value: &Value) {
        let content_type = if status >= 400 {
            "application/problem+json"
        } else {
            "application/json"
        };
        let mut schema = self.schema(method, path, status, content_type);
        // The document's components travel with the schema, so its `$ref`s resolve.
        schema["components"] = self.doc["components"].clone();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{method} {path} {status}: schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: the answer does not match the document:\n{}\n{value:#}",
            errors.join("\n")
        );
    }

    /// Validates `value` against the component schema `name`.
    pub fn check_component(&self, name: &str, value: &Value) {
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": self.doc["components"].clone(),
        });
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: {}\n{value:#}",
            errors.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_document_and_real_answers_validate_against_it() {
    let s = Service::start(&[]).await;
    let api = Api::fetch(&s).await;
    assert!(api.doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        api.doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let routes = cc_executor::serve::rest::routes();
    let documented: usize = api.doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "every documented operation is routed"
    );
    for r in &routes {
        let path = format!("{}{}", cc_executor::serve::rest::PREFIX, r.path);
        let method = r.method.as_str().to_ascii_lowercase();
        assert!(
            api.doc["paths"][&path][&method].is_object(),
            "{method} {path} is routed but not documented"
        );
        // And it really is routed: not the API's "no such route" or "no such method".
        let args = [
            "-X",
            r.method.as_str(),
            &s.api(&r.path.replace("{id}", "not-an-id")),
        ];
        let reply = curl(&args).await;
        assert!(
            ![404, 405].contains(&reply.status) || !reply.body.contains("openapi.json"),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
    }

    // One task: 202, its status, its events, its result, the history, a cancel.
    let r = curl(&["-d", r#"{"task":"@fake tools"}"#, &s.api("/executions")]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    api.check("post", "/api/v1/executions", 202, &r.json());
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let events = curl(&["-N", &s.api(&format!("/executions/{id}/events"))]).await;
    let events = parse_sse(&events.body);
    let result = events.last().unwrap();
    assert_eq!(result.event, "result");
    api.check_component("ExecutionResult", &result.data);
    let one = "/api/v1/executions/{id}";
    let status = curl(&[&s.api(&format!("/executions/{id}"))]).await;
    api.check("get", one, 200, &status.json());
    let res = curl(&[&s.api(&format!("/executions/{id}/result"))]).await;
    api.check("get", "/api/v1/executions/{id}/result", 200, &res.json());
    let list = curl(&[&s.api("/executions?limit=5")]).await;
    api.check("get", "/api/v1/executions", 200, &list.json());
    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/executions/{id}"))]).await;
    assert_eq!(
        cancel.json()["outcome"],
        "already_finished",
        "{}",
        cancel.body
    );
    api.check("delete", one, 200, &cancel.json());
    for action in ["pause", "resume"] {
        let r = curl(&["-X", "POST", &s.api(&format!("/executions/{id}/{action}"))]).await;
        assert_eq!(r.json()["outcome"], "already_finished", "{}", r.body);
        api.check("post", &format!("{one}/{action}"), 200, &r.json());
    }

    // A run: 202, status, result, cancel of a finished run.
    let r = curl(&["-d", r#"{"tasks":["@fake success"]}"#, &s.api("/runs")]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    api.check("post", "/api/v1/runs", 202, &r.json());
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let events = curl(&["-N", &s.api(&format!("/runs/{run}/events"))]).await;
    let events = parse_sse(&events.body);
    for e in events.iter().filter(|e| e.event == "run") {
        api.check_component("RunStatus", &e.data);
    }
    api.check_component("RunResult", &events.last().unwrap().data);
    let status = curl(&[&s.api(&format!("/runs/{run}"))]).await;
    api.check("get", "/api/v1/runs/{id}", 200, &status.json());
    let res = curl(&[&s.api(&format!("/runs/{run}/result"))]).await;
    api.check("get", "/api/v1/runs/{id}/result", 200, &res.json());
    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/runs/{run}"))]).await;
    api.check("delete", "/api/v1/runs/{id}", 200, &cancel.json());
    let alias = curl(&["-d", r#"{"tasks":["@fake success"]}"#, &s.api("/execute")]).await;
    api.check("post", "/api/v1/execute", 202, &alias.json());

    // The service.
    let health = curl(&[&s.api("/health")]).await;
    api.check("get", "/api/v1/health", 200, &health.json());
    let auth = curl(&[&s.api("/auth/status")]).await;
    api.check("get", "/api/v1/auth/status", 200, &auth.json());

    // Problems.
    let missing = curl(&[&s.api(&format!("/executions/{}", uuid::Uuid::new_v4()))]).await;
    assert_eq!(missing.status, 404);
    api.check("get", one, 404, &missing.json());
    let bad = curl(&["-d", r#"{"task":1}"#, &s.api("/executions")]).await;
    assert_eq!(bad.status, 422);
    api.check("post", "/api/v1/executions", 422, &bad.json());
    let anonymous = super::curl_as(None, &[&s.api("/health")]).await;
    assert_eq!(anonymous.status, 401);
    api.check("get", "/api/v1/health", 401, &anonymous.json());
}
