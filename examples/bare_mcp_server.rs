//! `bare_mcp_server`: the benchmark baseline, a minimal rmcp stdio MCP server with one trivial
//! tool (`echo`).
//!
//! **Not a feature of cc-executor.** `benches/startup.rs` measures the cold start (spawn →
//! `tools/list` response) and idle memory of `cc-executor mcp` against this, in the same run, on
//! the same machine, built with the same rmcp features (`server`, `macros`, `transport-io`,
//! `schemars`) and the same release profile. It does nothing else: no config, no logging, no
//! data directory, a default `#[tokio::main]` runtime.
//!
//! Build: `cargo build --release --examples` → `target/release/examples/bare_mcp_server`.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoRequest {
    /// The text to send back.
    text: String,
}

#[derive(Clone)]
struct Bare {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Bare {
    /// Returns its input unchanged.
    #[tool(name = "echo")]
    fn echo(&self, Parameters(EchoRequest { text }): Parameters<EchoRequest>) -> String {
        text
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Bare {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("bare-mcp-server", "0.0.0"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Bare {
        tool_router: Bare::tool_router(),
    };
    let service = server.serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}
