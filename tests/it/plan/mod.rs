//! The planner: classification, prediction against real stores (SQLite and a real
//! `redis-server`), task-list validation (every error and warning kind), strategy waves, task
//! files, property tests and hostile input.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crate::support::redis_server::RedisServer;
use cc_executor::plan::input::{parse_markdown, parse_task_text, sniff_format};
use cc_executor::plan::{
    BasedOn, Category, Complexity, ErrorKind, InputError, InputFormat, Method, PlanConfig, Planner,
    PredictorConfig, PromptWarningKind, RiskLevel, TaskInput, TaskListRequest, ValidationReport,
    WarningKind, classify, parse_task_file, parse_tasks, read_task_file,
};
use cc_executor::store::redis::RedisStore;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, HistoryStore};
use cc_executor::{ExecutionResult, Status};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

mod classification;
mod hostile;
mod predictor;
mod properties;
mod strategy;
mod task_files;
mod validation;

fn planner() -> Planner<'static> {
    Planner::new(None, PlanConfig::default())
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn validate(v: Value) -> ValidationReport {
    block(planner().validate(&v))
}

fn error_kinds(r: &ValidationReport) -> Vec<ErrorKind> {
    r.errors.iter().map(|e| e.kind).collect()
}

fn warning_kinds(r: &ValidationReport) -> Vec<WarningKind> {
    r.warnings.iter().map(|w| w.kind).collect()
}
