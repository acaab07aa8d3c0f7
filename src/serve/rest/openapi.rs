//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the REST API, generated from the
//! code — never written by hand, so it cannot drift from what the service does.
//!
//! Two generators, each for what it knows:
//!
//! - **`utoipa`** makes the paths: each handler's `#[utoipa::path]` says its method, path,
//!   parameters, request body and responses, next to the code that answers them; the
//!   [`ApiDoc`] derive collects them with the bearer security scheme.
//! - **`schemars`** makes the body schemas. Every type the API sends or takes already derives
//!   `schemars::JsonSchema` — they are the MCP tools' inputs and outputs, and the tests
//!   validate real tool results against those schemas. Deriving `utoipa::ToSchema` on them
//!   as well would mean a second set of annotations (ranges, renames, `with = …`, docs) on
//!   types in eight lower layers, free to drift from the first. Instead `bridged!` gives
//!   each type a `ToSchema` that only names it (so the paths refer to
//!   `#/components/schemas/<Name>`), and [`document`] fills `components.schemas` with the
//!   `schemars` schemas (draft 2020-12, the dialect of OpenAPI 3.1), their definitions
//!   hoisted there too.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::types::{Accepted, AuthStatus, ExecuteAlias, ProblemDetails, RunAccepted, RunResult};
use crate::exec::registry::ExecutionStatus;
use crate::exec::result::ExecutionResult;
use crate::exec::spec::TaskRequest;
use crate::mcp::cancel_execution::CancelOutput;
use crate::mcp::cc_execute_list::ExecuteListInput;
use crate::mcp::check_websocket_status::HealthOutput;
use crate::mcp::get_execution_history::HistoryOutput;
use crate::mcp::pause_execution::PauseOutput;
use crate::runs::RunStatus;

/// The media type of problem details.
const PROBLEM: &str = crate::serve::problem::PROBLEM_JSON;

/// `ToSchema` for types whose schema comes from `schemars`: the name is `schemars`' name, the
/// schema a placeholder that [`document`] replaces; and the list of them.
macro_rules! bridged {
    ($($ty:ty),* $(,)?) => {
        $(
            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
                    RefOr::T(utoipa::openapi::schema::Schema::default())
                }
            }
            impl utoipa::ToSchema for $ty {
                fn name() -> Cow<'static, str> {
                    <$ty as JsonSchema>::schema_name()
                }
            }
        )*
        /// The `schemars` schemas of every bridged type and of the types they use, by name.
        fn bridged_schemas() -> serde_json::Map<String, Value> {
            let mut generator = SchemaSettings::draft2020_12()
                .with(|s| s.definitions_path = "/components/schemas".into())
                .into_generator();
            $(
                let _ = generator.subschema_for::<$ty>();
            )*
            generator.take_definitions(true)
        }
    };
}

bridged!(
    TaskRequest,
    Accepted,
    ProblemDetails,
    ExecutionStatus,
    ExecutionResult,
    HistoryOutput,
    CancelOutput,
    PauseOutput,
    ExecuteListInput,
    ExecuteAlias,
    RunAccepted,
    RunStatus,
    RunResult,
    HealthOutput,
    AuthStatus,
);

/// The paths of the API (see the module docs).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cc-executor REST API",
        description = "Run Claude Code tasks, one after another in one FIFO line shared with the MCP surfaces: submit a task or a task list, follow it (status, Server-Sent Events), fetch its result, cancel it. Every error is application/problem+json with the reason in `detail`. Every route needs `Authorization: Bearer <token>`."
    ),
    paths(
        super::executions::submit,
        super::executions::list,
        super::executions::status,
        super::executions::cancel,
        super::executions::result,
        super::events::execution,
        super::pause::pause,
        super::pause::resume,
        super::runs::submit,
        super::runs::execute_alias,
        super::runs::status,
        super::runs::cancel,
        super::runs::result,
        super::events::run,
        super::service::health,
        super::service::auth_status,
        serve,
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    tags(
        (name = "executions", description = "One task at a time"),
        (name = "runs", description = "Task lists as durable runs"),
        (name = "service", description = "The service, its health and its credential"),
    )
)]
pub struct ApiDoc;

/// The bearer token every route needs.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The service's token: `--token`, CC_EXECUTOR_TOKEN, or the one generated \
                         into the token file on the first `cc-executor serve`",
                    ))
                    .build(),
            ),
        );
    }
}

/// A problem-details response with `description`.
fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(
                        <ProblemDetails as JsonSchema>::schema_name(),
                    )))
                    .build(),
            )
            .build(),
    )
}

/// The refusals every route may answer (from the layers in front of it).
pub struct Refusals;

impl Refusals {
    fn list() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "401",
                "No bearer token, or a wrong one (`WWW-Authenticate` says which)",
            ),
            ("403", "The `Origin` is not allowed (serve.allowed_origins)"),
            (
                "421",
                "The `Host` is not one this service answers to (serve.allowed_hosts)",
            ),
        ]
    }
}

impl utoipa::IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        Refusals::list()
            .into_iter()
            .map(|(status, d)| (status.to_string(), problem_response(d)))
            .collect()
    }
}

/// The refusals of a task submission: those of every route, a body over the limit, the rate.
pub struct SubmitRefusals;

impl utoipa::IntoResponses for SubmitRefusals {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let mut all = Refusals::responses();
        all.insert(
            "413".into(),
            problem_response("The body is over serve.max_body_kib"),
        );
        all.insert(
            "429".into(),
            problem_response(
                "Over the per-token submission rate (serve.submit_per_minute, serve.submit_burst); `Retry-After` says when to try again",
            ),
        );
        all
    }
}

/// The whole document: utoipa's paths, schemars' schemas.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let schemas = bridged_schemas();
    if let Some(Value::Object(components)) = doc.get_mut("components") {
        let slot = components
            .entry("schemas")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(map) = slot {
            for (name, schema) in schemas {
                map.insert(name, schema);
            }
        }
    }
    doc
}

/// This document, as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object),
        Refusals,
    )
)]
pub async fn serve() -> Response {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(document)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
        doc.get("paths")?.get(path)?.get(method)
    }

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let doc = document();
        let routes = super::super::routes();
        for r in &routes {
            let path = format!("{}{}", super::super::PREFIX, r.path);
            let method = r.method.as_str().to_ascii_lowercase();
            assert!(
                operation(&doc, &method, &path).is_some(),
                "{method} {path} is routed but not in the OpenAPI document"
            );
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                    .count()
            })
            .sum();
        assert_eq!(
            documented,
            routes.len(),
            "operations documented but not routed"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_bearer_scheme_and_every_schema_it_refers_to() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));
        // Every `$ref` resolves inside the document.
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "`{name}` is referred to but missing"
            );
        }
        // The bridged schemas are schemars' (with their descriptions), not placeholders.
        let task = &schemas["TaskRequest"];
        assert!(task["properties"]["task"].is_object(), "{task}");
        assert_eq!(task["required"], serde_json::json!(["task"]));
    }
}
