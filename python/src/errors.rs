//! Errors of the bindings, and how each becomes a Python exception.
//!
//! The exception classes live in Python (`cc_executor/errors.py`), so they can have two bases
//! (`InvalidArgumentError` is also a `ValueError`: what Python code expects for a bad value)
//! and plain docstrings; Rust raises them by name. Every message is the library's own
//! `Display` text, the same words the CLI and the MCP tools say.

use pyo3::PyErr;

use cc_executor::exec::SubmitError;
use cc_executor::exec::spec::SpecError;
use cc_executor::runs::RunError;
use cc_executor::store::StoreError;

/// The Python classes, by name (a module of their own: `StoreError` is also a Rust type).
mod py {
    pyo3::import_exception!(cc_executor.errors, CcExecutorError);
    pyo3::import_exception!(cc_executor.errors, ConfigError);
    pyo3::import_exception!(cc_executor.errors, InvalidArgumentError);
    pyo3::import_exception!(cc_executor.errors, InvalidTaskError);
    pyo3::import_exception!(cc_executor.errors, PolicyError);
    pyo3::import_exception!(cc_executor.errors, StoreError);
    pyo3::import_exception!(cc_executor.errors, RunStateError);
}

/// Why a call failed before, or instead of, giving a result. Which Python class it becomes is
/// the variant; the text is the library's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BindError {
    /// A bad argument that is not a task (a history filter, a run id, an export format).
    #[error("{0}")]
    Argument(String),
    /// The task or task list itself is invalid (empty, too long, a bad field, a cycle).
    #[error("{0}")]
    Task(String),
    /// The configured policy refuses the request (a permission mode, a model, a directory).
    #[error("{0}")]
    Policy(String),
    /// The history store could not be opened, read or written.
    #[error("{0}")]
    Store(String),
    /// The configuration file or environment is invalid.
    #[error("{0}")]
    Config(String),
    /// A run cannot be resumed or followed in its current state (unknown, finished, running).
    #[error("{0}")]
    RunState(String),
    /// Something that should not happen (a task that ended without a result, a panic).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<BindError> for PyErr {
    fn from(e: BindError) -> PyErr {
        let message = e.to_string();
        match e {
            BindError::Argument(_) => py::InvalidArgumentError::new_err(message),
            BindError::Task(_) => py::InvalidTaskError::new_err(message),
            BindError::Policy(_) => py::PolicyError::new_err(message),
            BindError::Store(_) => py::StoreError::new_err(message),
            BindError::Config(_) => py::ConfigError::new_err(message),
            BindError::RunState(_) => py::RunStateError::new_err(message),
            BindError::Internal(_) => py::CcExecutorError::new_err(message),
        }
    }
}

impl From<SpecError> for BindError {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::Policy { .. } => BindError::Policy(e.to_string()),
            _ => BindError::Task(e.to_string()),
        }
    }
}

impl From<StoreError> for BindError {
    fn from(e: StoreError) -> Self {
        BindError::Store(e.to_string())
    }
}

impl From<SubmitError> for BindError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::RepairNeedsWait => BindError::Argument(e.to_string()),
            SubmitError::Journal(_) => BindError::Store(e.to_string()),
        }
    }
}

impl From<RunError> for BindError {
    fn from(e: RunError) -> Self {
        let message = e.to_string();
        match e {
            RunError::Invalid(_) => BindError::Task(message),
            RunError::Setting { .. } => BindError::Argument(message),
            RunError::Defaults(SpecError::Policy { .. }) => BindError::Policy(message),
            RunError::Defaults(_) => BindError::Task(message),
            RunError::Store(_) => BindError::Store(message),
            RunError::Unknown(_)
            | RunError::Finished { .. }
            | RunError::AlreadyActive(_)
            | RunError::DrivenElsewhere { .. }
            | RunError::OtherHost { .. }
            | RunError::BudgetSpent { .. } => BindError::RunState(message),
        }
    }
}
