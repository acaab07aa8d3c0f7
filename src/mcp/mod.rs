//! The MCP stdio server: a thin adapter over the [`Executor`], one file per tool.
//!
//! stdout carries nothing but protocol (logs go to stderr through `tracing`). Tools validate
//! through the executor and return structured content with an output schema; a tool that ran
//! but failed returns `isError` with a clear message, protocol misuse is a JSON-RPC error.
//!
//! - [`cc_execute`]: run one task in a fresh `claude -p` (blocking, or `wait: false`).
//! - [`cc_execute_list`]: run a task list as one durable run (or resume one).
//! - [`monitor_execution`]: live status and long-poll (executions and runs).
//! - [`cancel_execution`]: stop a queued or running execution.
//! - [`pause_execution`]: pause an execution (its process tree stopped, its clocks too) or
//!   resume it.
//! - [`check_websocket_status`]: health of the execution service.
//! - [`get_execution_history`]: the history with filters and statistics.
//! - [`get_task_complexity`], [`validate_task_list`], [`suggest_execution_strategy`]: the
//!   planner (classification, learned timeouts, task-list checks, waves).
//! - [`verify_execution`]: evidence checks of one execution or the newest N.
//! - [`get_hook_status`]: built-in and configured hooks, recent hook runs.
//! - [`tasks`]: the MCP Tasks extension (SEP-2663) mapped onto the same executions, for
//!   requests that ask for a task.
//! - [`logging`]: progress and warnings as `notifications/message`, at the client's level.
//! - [`completions`]: `completion/complete` for the resource templates' ids.
//! - [`prompt`]: the bundled orchestrator prompt, as an MCP prompt and a resource.
//! - [`resources`]: executions and runs as resources (`cc-executor://executions/{id}`,
//!   `cc-executor://runs/{id}`).

pub mod arrival;
pub mod cancel_execution;
pub mod cc_execute;
pub mod cc_execute_list;
pub mod check_websocket_status;
pub mod completions;
pub mod get_execution_history;
pub mod get_hook_status;
pub mod get_task_complexity;
mod ids;
pub mod logging;
pub mod monitor_execution;
pub mod pause_execution;
mod progress;
pub mod prompt;
mod reply;
pub mod resources;
pub mod result_view;
pub mod run_view;
pub mod schema;
pub mod stdio;
pub mod suggest_execution_strategy;
pub mod surface;
pub mod tasks;
pub mod trim;
pub mod validate_task_list;
pub mod verify_execution;
pub mod words;

use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourcesResult, PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool_handler};

use crate::exec::Executor;
use crate::runs::RunService;

/// Server name reported to clients.
pub const SERVER_NAME: &str = "cc-executor";

/// The MCP protocol versions this server speaks, oldest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// The MCP server state: the shared executor plus the tool routing table.
#[derive(Clone)]
pub struct CcExecutorServer {
    executor: Executor,
    runs: RunService,
    tool_router: ToolRouter<Self>,
    /// The level set with `logging/setLevel` (one stdio connection: one session).
    logging: logging::SessionLevel,
    /// Predicted durations of the MCP tasks created, for their poll intervals.
    task_hints: tasks::TaskHints,
    /// Cancelled once the transport's input is closed: notifications no longer go out.
    input_closed: tokio_util::sync::CancellationToken,
    /// The network service `check_websocket_status` reports (given by the adapter that
    /// starts this server; `None`: none known).
    service: Option<std::sync::Arc<dyn check_websocket_status::NetworkService>>,
    /// How answers name next steps: the MCP tools, unless an adapter that reuses these
    /// answers (the REST API) gives its own words.
    words: std::sync::Arc<dyn crate::exec::words::Vocabulary>,
}

impl CcExecutorServer {
    pub fn new(executor: Executor) -> Self {
        Self::with_runs(RunService::new(executor.clone()), executor)
    }

    /// A server over `executor` that drives task-list runs with `runs` (one `RunService` per
    /// executor: every connection then sees every active run).
    pub fn with_runs(runs: RunService, executor: Executor) -> Self {
        CcExecutorServer {
            runs,
            executor,
            tool_router: Self::tool_router(),
            logging: logging::SessionLevel::default(),
            task_hints: tasks::TaskHints::default(),
            input_closed: tokio_util::sync::CancellationToken::new(),
            service: None,
            words: std::sync::Arc::new(words::McpWords),
        }
    }

    /// The same server for one more session (an HTTP session or a stateless request): the
    /// executor, runs, task hints and service are shared; the logging level is the session's
    /// own.
    pub fn for_session(&self) -> Self {
        CcExecutorServer {
            logging: logging::SessionLevel::default(),
            ..self.clone()
        }
    }

    /// The same server reporting `service` in `check_websocket_status`.
    pub fn with_service(
        mut self,
        service: std::sync::Arc<dyn check_websocket_status::NetworkService>,
    ) -> Self {
        self.service = Some(service);
        self
    }

    /// The same server naming next steps in its answers with `words` (the REST API reuses
    /// the tools' answers; they must point to its routes, not to MCP tools).
    pub fn with_words(mut self, words: std::sync::Arc<dyn crate::exec::words::Vocabulary>) -> Self {
        self.words = words;
        self
    }

    /// The same server on a transport whose closed input cancels `input_closed` (responses
    /// then stop waiting for their notifications, which can no longer go out).
    pub fn with_input_closed(mut self, input_closed: tokio_util::sync::CancellationToken) -> Self {
        self.input_closed = input_closed;
        self
    }

    /// Every tool's route. Their schemas are placeholders: `tools/list` is served from
    /// [`surface`].
    pub(crate) fn tool_router() -> ToolRouter<Self> {
        Self::cc_execute_router()
            + Self::cc_execute_list_router()
            + Self::monitor_execution_router()
            + Self::cancel_execution_router()
            + Self::pause_execution_router()
            + Self::check_websocket_status_router()
            + Self::get_execution_history_router()
            + Self::get_task_complexity_router()
            + Self::validate_task_list_router()
            + Self::suggest_execution_strategy_router()
            + Self::verify_execution_router()
            + Self::get_hook_status_router()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CcExecutorServer {
    #[allow(deprecated)] // `enable_logging`: rmcp marks logging deprecated (SEP-2577).
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_tasks()
                .enable_logging()
                .enable_completions()
                .build(),
        )
        .with_server_info(
            Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
                .with_title("cc-executor: run each task in a fresh Claude Code process"),
        )
        .with_instructions(
            "Runs tasks in fresh Claude Code processes (claude -p), one after another. \
             Split work into self-contained tasks and run them in order, checking each result's \
             status before the next. For anything longer than a minute: cc_execute with \
             wait=false, then monitor_execution with wait_secs (<= 50) until finished; \
             cancel_execution to stop. For a whole list: cc_execute_list (a durable, \
             resumable run; {{tasks.<id>.result}} passes results on), then monitor_execution \
             with its run_id. The prompt `cc_execute` explains the method in full.",
        )
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        if !self.tool_router.has_route(&request.name) {
            let mut names: Vec<String> = self
                .tool_router
                .list_all()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            names.sort();
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; this server's tools are: {}",
                    request.name,
                    names.join(", ")
                ),
                None,
            ));
        }
        if let Some(task) = self.start_as_task(&request, &context).await {
            return Ok(task);
        }
        let name = request.name.clone();
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        let mut response = self.tool_router.call(tcc).await?;
        // What the output schema leaves out, the answer leaves out (see `trim`).
        if let rmcp::model::CallToolResponse::Complete(result) = &mut response
            && let Some(value) = &mut result.structured_content
        {
            trim::trim_value(&name, value);
        }
        Ok(response)
    }

    /// The protocol versions this server speaks and tests (see the README): 2025-06-18 is
    /// the first with structured tool output, which every tool here returns.
    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(SUPPORTED_PROTOCOL_VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        let cache_hints = context
            .protocol_version()
            .is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28);
        surface::list(cache_hints)
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        surface::tool(name)
    }

    async fn get_task(
        &self,
        request: rmcp::model::GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetTaskResult, ErrorData> {
        self.get_task(&request.task_id).await
    }

    #[allow(deprecated)] // rmcp marks logging deprecated (SEP-2577); see `logging`.
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.logging.set_level(request.level, &context)
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        self.completions(&request).await
    }

    async fn cancel_task(
        &self,
        request: rmcp::model::CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tasks::cancel_task(&self.executor, &request.task_id)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(prompt::list_prompts())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompt::get_prompt(&request.name).map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(self.resource_list())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.resource(&request.uri).await.map(Into::into)
    }
}

/// Errors of the server loop.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("MCP initialization failed: {0}")]
    Init(String),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("cannot start the stdio transport: {0}")]
    Stdio(#[source] std::io::Error),
    #[error(transparent)]
    Store(crate::store::StoreError),
}

/// Serves MCP on stdin/stdout until the client closes stdin or a SIGINT/SIGTERM arrives, then
/// stops every running task (process trees killed), answers every request it has read, and
/// returns.
/// `service`: the network service `check_websocket_status` reports.
pub async fn serve_stdio(
    executor: Executor,
    store: crate::store::DeferredStore,
    service: Option<std::sync::Arc<dyn check_websocket_status::NetworkService>>,
) -> Result<(), ServeError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let (transport, control) = stdio::StdioTransport::start(
        tokio::io::stdin(),
        Box::new(std::io::stdout()),
        stdio::MAX_MESSAGE_BYTES,
        arrival::stamper(executor.clone()),
        // Every host asks for the tool list right after the handshake: answered from the
        // checked-in JSON as it is, nothing parsed at start-up.
        Some(surface::TOOLS_JSON),
    )
    .map_err(ServeError::Stdio)?;
    let mut server =
        CcExecutorServer::new(executor.clone()).with_input_closed(control.input_closed());
    if let Some(service) = service {
        server = server.with_service(service);
    }
    let eof = control.eof();
    let service = tokio::select! {
        s = server.serve(transport) => s.map_err(|e| ServeError::Init(e.to_string()))?,
        _ = sigint.recv() => return Ok(()),
        _ = sigterm.recv() => return Ok(()),
    };
    // The store opens now (after the handshake); one that cannot be opened stops the server.
    let store_failed = || async {
        match store.ready().await {
            Ok(_) => std::future::pending().await,
            Err(e) => e,
        }
    };
    // What a process that died left unfinished on this data dir is recorded (and its leftover
    // processes stopped) in the background, once the store is open.
    let recovering = executor.clone();
    executor.spawn_tracked(async move {
        match recovering.recover_interrupted().await {
            Ok(r) if !r.interrupted.is_empty() => tracing::warn!(
                "{} execution(s) left unfinished by a process that died are recorded as interrupted",
                r.interrupted.len()
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("could not look for interrupted executions: {e}"),
        }
    });
    let waiting = service.waiting();
    tokio::pin!(waiting);
    let failure = tokio::select! {
        e = store_failed() => Some(ServeError::Store(e)),
        r = &mut waiting => {
            tracing::info!("client disconnected: {r:?}");
            stop_tasks(&executor).await;
            control.flushed(Duration::from_secs(2)).await;
            return Ok(());
        }
        _ = eof.cancelled() => { tracing::info!("stdin closed: shutting down"); None }
        _ = sigint.recv() => { tracing::info!("SIGINT: shutting down"); None }
        _ = sigterm.recv() => { tracing::info!("SIGTERM: shutting down"); None }
    };
    // Stop reading (rmcp then finishes with what it has read), stop every task (their calls
    // then answer `cancelled`), and wait until each request read has its answer on stdout.
    control.stop_reading();
    let unanswered = control.unanswered();
    let drain = tokio::time::timeout(Duration::from_secs(8), waiting);
    let (_, drained) = tokio::join!(stop_tasks(&executor), drain);
    if drained.is_err() || control.unanswered() > 0 {
        tracing::warn!(
            "{} of {unanswered} request(s) in flight at shutdown got no answer",
            control.unanswered()
        );
    }
    control.flushed(Duration::from_secs(2)).await;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Stops every queued and running task (process trees: SIGTERM → grace → SIGKILL), bounded.
pub async fn stop_tasks(executor: &Executor) {
    let grace = executor.config().kill_grace + Duration::from_secs(3);
    if tokio::time::timeout(grace, executor.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some executions did not stop within {grace:?}");
    }
}
