//! Parsing of execution ids in tool inputs, with errors a caller can act on.

use uuid::Uuid;

/// Parses `text` as an execution id, naming `field` when it is not one.
pub fn parse_execution_id(field: &str, text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        format!("`{field}` must be an execution id (a UUID such as 0b6f9a9e-…), got `{text}`")
    })
}
