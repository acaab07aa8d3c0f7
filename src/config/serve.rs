//! The settings of `cc-executor serve`, the network service: where it listens, which surfaces
//! it offers, who may use it (token, origins, hosts) and how much (body size, connections,
//! task-submission rate). Resolved like every other setting (flag > environment > the
//! `[serve]` section of the config file > default) and checked here, so a service that would
//! be unsafe or could never work is refused at start with the setting's name.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Default listen address: loopback only (the service runs tasks on this machine).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8003";

/// Default of `serve.ws_idle_secs`: a WebSocket client silent this long is closed.
pub const DEFAULT_WS_IDLE_SECS: u64 = 60;
/// Largest `serve.ws_idle_secs`.
pub const MAX_WS_IDLE_SECS: u64 = 86_400;

/// One network surface of `cc-executor serve`. Each is mounted on the same router over the
/// same executor; the REST surface joins this list when it is built.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// MCP Streamable HTTP at `/mcp`.
    Mcp,
    /// The predecessor's WebSocket JSON-RPC protocol at `/ws/mcp` (and `/ws`).
    Ws,
    /// The REST API under `/api/v1`.
    Rest,
}

impl Surface {
    /// Every surface this version has.
    pub const ALL: [Surface; 3] = [Surface::Mcp, Surface::Ws, Surface::Rest];

    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Mcp => "mcp",
            Surface::Ws => "ws",
            Surface::Rest => "rest",
        }
    }
}

impl std::fmt::Display for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Surface {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Surface::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Surface::ALL.iter().map(|x| x.as_str()).collect();
                format!(
                    "`{s}` is not a surface; this version has: {}",
                    names.join(", ")
                )
            })
    }
}

/// `[serve]` in the config file. The token may be written here, but a file that holds it must
/// be readable by its owner only (see the README); usually it is left to the generated file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServe {
    pub listen: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_hosts: Option<Vec<String>>,
    pub surfaces: Option<Vec<Surface>>,
    pub max_connections: Option<usize>,
    pub max_body_kib: Option<usize>,
    pub submit_per_minute: Option<u32>,
    pub submit_burst: Option<u32>,
    pub ws_idle_secs: Option<u64>,
}

/// `serve` flags and their environment variables (clap fills both). `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct ServeOverrides {
    pub listen: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_hosts: Option<Vec<String>>,
    pub surfaces: Option<Vec<Surface>>,
    pub max_connections: Option<usize>,
    pub max_body_kib: Option<usize>,
    pub submit_per_minute: Option<u32>,
    pub submit_burst: Option<u32>,
    pub ws_idle_secs: Option<u64>,
    /// `--no-auth`: no token on a loopback address (for the MCP conformance suite and local
    /// experiments); refused with any other address. A flag only: never from a file.
    pub no_auth: bool,
}

/// The resolved settings of the network service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServeConfig {
    /// Address and port to listen on (port 0: any free port).
    #[schemars(with = "String")]
    pub listen: SocketAddr,
    /// The bearer token every request must carry; `None`: read (or generated) from
    /// `token_file`. Never shown.
    #[serde(serialize_with = "hidden")]
    #[schemars(with = "Option<String>")]
    pub token: Option<String>,
    /// Where the generated token is kept (owner-only), reused across restarts.
    pub token_file: PathBuf,
    /// `Origin`s a browser request may come from (`scheme://host:port`, `:*` for any port); a
    /// request without `Origin` (every non-browser client) passes.
    pub allowed_origins: Vec<String>,
    /// `Host` names requests may name, besides the loopback names and the listen address
    /// itself (DNS-rebinding protection): the names the service is reached by when exposed.
    pub allowed_hosts: Vec<String>,
    /// The surfaces offered, each mounted on the one router.
    pub surfaces: Vec<Surface>,
    /// Open connections at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Largest request body, in KiB; a larger one is answered 413.
    pub max_body_kib: usize,
    /// Task submissions per minute per token (a token bucket refilled at this rate); one over
    /// is answered 429 with `Retry-After`.
    pub submit_per_minute: u32,
    /// Submissions a token may make at once before the rate applies (the bucket's size).
    pub submit_burst: u32,
    /// A WebSocket client heard from (any frame: a message, a ping, a pong) less recently than
    /// this is closed (1001, with the reason); the server pings at a third of it, so a client
    /// whose WebSocket layer answers pings stays open while idle.
    pub ws_idle_secs: u64,
    /// No token at all (loopback only; `--no-auth`).
    pub no_auth: bool,
}

fn hidden<S: serde::Serializer>(token: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match token {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}

/// The loopback origins a browser page on this machine has (any port).
pub fn default_allowed_origins() -> Vec<String> {
    ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        .map(String::from)
        .to_vec()
}

impl ServeConfig {
    /// Override, else file, else default; then the checks.
    pub(super) fn resolve(
        file: FileServe,
        o: &ServeOverrides,
        data_dir: &Path,
    ) -> Result<ServeConfig, ConfigError> {
        let listen_text = o
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = parse_listen(&listen_text)?;
        let mut surfaces = o
            .surfaces
            .clone()
            .or(file.surfaces)
            .unwrap_or_else(|| Surface::ALL.to_vec());
        surfaces.sort();
        surfaces.dedup();
        let config = ServeConfig {
            listen,
            token: o.token.clone().or(file.token).filter(|t| !t.is_empty()),
            token_file: o
                .token_file
                .clone()
                .or(file.token_file)
                .unwrap_or_else(|| data_dir.join("serve").join("token")),
            allowed_origins: o
                .allowed_origins
                .clone()
                .or(file.allowed_origins)
                .unwrap_or_else(default_allowed_origins),
            allowed_hosts: o
                .allowed_hosts
                .clone()
                .or(file.allowed_hosts)
                .unwrap_or_default(),
            surfaces,
            max_connections: o.max_connections.or(file.max_connections).unwrap_or(64),
            max_body_kib: o.max_body_kib.or(file.max_body_kib).unwrap_or(4096),
            submit_per_minute: o.submit_per_minute.or(file.submit_per_minute).unwrap_or(60),
            submit_burst: o.submit_burst.or(file.submit_burst).unwrap_or(10),
            ws_idle_secs: o
                .ws_idle_secs
                .or(file.ws_idle_secs)
                .unwrap_or(DEFAULT_WS_IDLE_SECS),
            no_auth: o.no_auth,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, message: String| Err(ConfigError::Invalid { setting, message });
        if self.surfaces.is_empty() {
            return invalid("serve.surfaces", "must name at least one surface".into());
        }
        if self.max_connections == 0 {
            return invalid("serve.max_connections", "must be at least 1".into());
        }
        if self.max_body_kib == 0 {
            return invalid("serve.max_body_kib", "must be at least 1".into());
        }
        if self.submit_per_minute == 0 || self.submit_burst == 0 {
            return invalid(
                "serve.submit_per_minute",
                "the rate and serve.submit_burst must be at least 1".into(),
            );
        }
        if !(1..=MAX_WS_IDLE_SECS).contains(&self.ws_idle_secs) {
            return invalid(
                "serve.ws_idle_secs",
                format!("must be between 1 and {MAX_WS_IDLE_SECS} (a day)"),
            );
        }
        if let Some(t) = &self.token
            && (t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return invalid(
                "serve.token",
                "must be at least 16 characters, without spaces".into(),
            );
        }
        for origin in &self.allowed_origins {
            if origin != "null" && !origin.contains("://") {
                return invalid(
                    "serve.allowed_origins",
                    format!(
                        "`{origin}` is not an origin (scheme://host[:port], e.g. https://app.example.com:443)"
                    ),
                );
            }
        }
        Ok(())
    }

    /// Would serving with these settings expose the service? Checked when `serve` starts (not
    /// when any command loads the configuration: `run` does not listen): a non-loopback address
    /// needs a token the person has — configured, or already in the token file (a token
    /// generated now would have been seen by nobody who could use it remotely) — and
    /// `--no-auth` is for loopback addresses only.
    pub fn check_exposure(&self, token_file_exists: bool) -> Result<(), ConfigError> {
        let loopback = self.listen.ip().is_loopback();
        if self.no_auth && !loopback {
            return Err(ConfigError::Invalid {
                setting: "serve.listen",
                message: format!(
                    "--no-auth is allowed only on a loopback address, not {}",
                    self.listen
                ),
            });
        }
        if !loopback && !self.no_auth && self.token.is_none() && !token_file_exists {
            return Err(ConfigError::Invalid {
                setting: "serve.listen",
                message: format!(
                    "{} is not a loopback address: anyone who can reach it could run tasks on this machine; \
                     set a token (--token, CC_EXECUTOR_TOKEN or [serve] token) to listen there",
                    self.listen
                ),
            });
        }
        Ok(())
    }

    /// How long a WebSocket client may be silent (see `ws_idle_secs`).
    pub fn ws_idle(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.ws_idle_secs)
    }

    /// Largest request body, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_kib.saturating_mul(1024)
    }
}

/// `host:port` with an IP address (`127.0.0.1:8003`, `[::1]:8003`, `0.0.0.0:8003`);
/// `localhost:PORT` is read as `127.0.0.1:PORT`.
fn parse_listen(text: &str) -> Result<SocketAddr, ConfigError> {
    let t = text.trim();
    let t = match t.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => t.to_string(),
    };
    t.parse().map_err(|_| ConfigError::Invalid {
        setting: "serve.listen",
        message: format!(
            "`{text}` is not an address and port (e.g. 127.0.0.1:8003, [::1]:8003, 0.0.0.0:8003)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(file: &str, o: &ServeOverrides) -> Result<ServeConfig, ConfigError> {
        ServeConfig::resolve(toml::from_str(file).unwrap(), o, Path::new("/d"))
    }

    #[test]
    fn defaults_are_loopback_every_surface_and_a_generated_token() {
        let c = resolve("", &ServeOverrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.surfaces, Surface::ALL.to_vec());
        assert!(c.token.is_none() && !c.no_auth);
        assert_eq!(c.token_file, Path::new("/d/serve/token"));
        assert!(
            c.allowed_origins
                .contains(&"http://localhost:*".to_string())
        );
    }

    #[test]
    fn a_public_address_needs_a_token_and_no_auth_needs_loopback() {
        let mut o = ServeOverrides {
            listen: Some("0.0.0.0:8003".into()),
            ..Default::default()
        };
        let c = resolve("", &o).expect("other commands load such a config");
        let e = c.check_exposure(false).unwrap_err().to_string();
        assert!(e.contains("serve.listen") && e.contains("token"), "{e}");
        assert!(
            c.check_exposure(true).is_ok(),
            "a token file the person has"
        );
        o.token = Some("0123456789abcdef0123".into());
        assert!(resolve("", &o).unwrap().check_exposure(false).is_ok());
        o.no_auth = true;
        let e = resolve("", &o).unwrap().check_exposure(false).unwrap_err();
        assert!(e.to_string().contains("--no-auth"), "{e}");
        let o = ServeOverrides {
            no_auth: true,
            listen: Some("localhost:0".into()),
            ..Default::default()
        };
        let c = resolve("", &o).unwrap();
        assert!(c.no_auth && c.check_exposure(false).is_ok());
    }

    #[test]
    fn flags_beat_the_file_and_bad_values_are_named() {
        let o = ServeOverrides {
            listen: Some("127.0.0.1:9".into()),
            ..Default::default()
        };
        let c = resolve("listen = \"127.0.0.1:7\"\nmax_connections = 3", &o).unwrap();
        assert_eq!(c.listen.port(), 9);
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.ws_idle_secs, DEFAULT_WS_IDLE_SECS);
        let c = resolve("ws_idle_secs = 5", &ServeOverrides::default()).unwrap();
        assert_eq!(c.ws_idle(), std::time::Duration::from_secs(5));
        let o = ServeOverrides {
            ws_idle_secs: Some(7),
            ..Default::default()
        };
        assert_eq!(resolve("ws_idle_secs = 5", &o).unwrap().ws_idle_secs, 7);
        for (text, setting) in [
            ("listen = \"nowhere\"", "serve.listen"),
            ("max_body_kib = 0", "serve.max_body_kib"),
            ("token = \"short\"", "serve.token"),
            (
                "allowed_origins = [\"example.com\"]",
                "serve.allowed_origins",
            ),
            ("surfaces = []", "serve.surfaces"),
            ("ws_idle_secs = 0", "serve.ws_idle_secs"),
            ("ws_idle_secs = 86401", "serve.ws_idle_secs"),
        ] {
            let e = resolve(text, &ServeOverrides::default()).unwrap_err();
            assert!(e.to_string().contains(setting), "{text}: {e}");
        }
        assert!("websocket".parse::<Surface>().unwrap_err().contains("mcp"));
        assert!(toml::from_str::<FileServe>("listn = \"x\"").is_err());
    }

    #[test]
    fn the_token_is_never_shown() {
        let o = ServeOverrides {
            token: Some("0123456789abcdef-secret".into()),
            ..Default::default()
        };
        let c = resolve("", &o).unwrap();
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains("secret"), "{shown}");
    }
}
