//! The progress events a Python `progress_callback` receives, as the dicts it gets (JSON
//! text), for one task and for a task list.
//!
//! One task: its execution's event log ([`Executor::events`]) from its first event — every
//! event in order, numbered (`seq` 1, 2, 3, …), the model's text included.
//!
//! A task list: the run's own events (`task_started`, `task_finished`,
//! `waiting_for_usage_reset`, `run_finished`) and, between a task's `task_started` and its
//! `task_finished`, that task's execution events exactly as one task's (the same `kind`s and
//! fields, `seq` from 1) tagged with the task (`task_id`, `task_index`). The run's sink alone
//! would not do: the library gives a caller's sink every event *but* the model's text (only
//! readers of the event log ask for that), so each task's events are read from its execution's
//! log, opened the moment the task starts, and the run's next event waits until that log has
//! ended — which keeps every event of a task between its start and its end.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use uuid::Uuid;

use cc_executor::Executor;
use cc_executor::exec::feed::{EventStream, FeedItem};
use cc_executor::runs::{Run, RunEvent};

use crate::handle::{Item, Sender};

/// One item of an execution's event log as the callback's dict, with the execution's id (the
/// caller learns it before the result: to verify or look it up later, or find its processes).
pub fn feed_json(item: &FeedItem, execution_id: Uuid) -> Map<String, Value> {
    let value = match item {
        FeedItem::Event(e) => e.to_json(),
        FeedItem::Missed { count } => json!({
            "kind": "missed",
            "count": count,
            "message": format!("{count} event(s) no longer held were skipped"),
        }),
    };
    let mut map = match value {
        Value::Object(map) => map,
        other => Map::from_iter([("event".to_owned(), other)]),
    };
    map.insert("execution_id".into(), json!(execution_id.to_string()));
    map
}

/// A run event as the callback's dict: `kind`, the one-line `message`, and its fields.
fn run_event_json(e: &RunEvent) -> Map<String, Value> {
    let v = match e {
        RunEvent::TaskStarted {
            position,
            total,
            task_id,
            execution_id,
        } => json!({"kind": "task_started", "position": position, "total": total,
                    "task_id": task_id, "execution_id": execution_id}),
        // Sent as the execution event it carries (see `RunForwarder::on_run_event`).
        RunEvent::Execution { event, .. } => event.to_json(),
        RunEvent::TaskFinished {
            task_id,
            state,
            status,
            cost_usd,
            detail,
        } => json!({"kind": "task_finished", "task_id": task_id, "state": state.as_str(),
                    "status": status.map(|s| s.as_str()), "cost_usd": cost_usd,
                    "detail": detail}),
        RunEvent::WaitingForUsageReset { task_id, until } => {
            json!({"kind": "waiting_for_usage_reset", "task_id": task_id, "until": until})
        }
        RunEvent::Finished { state, reason } => {
            json!({"kind": "run_finished", "state": state.as_str(), "reason": reason})
        }
    };
    let mut map = match v {
        Value::Object(map) => map,
        other => Map::from_iter([("event".to_owned(), other)]),
    };
    map.insert("message".into(), Value::String(e.message()));
    map
}

/// What the run's sink hands the forwarder: the event and, for `TaskStarted`, the task's
/// execution log, opened right there (the execution is certainly still known then).
pub struct RunItem {
    event: RunEvent,
    log: Option<EventStream>,
}

/// The run's sink: called by the library's run driver, in order, never blocking.
pub fn run_sink(executor: Executor) -> (impl Fn(RunEvent) + Send + Sync + 'static, RunEvents) {
    let (tx, rx): (UnboundedSender<RunItem>, _) = unbounded_channel();
    let sink = move |event: RunEvent| {
        let log = match &event {
            RunEvent::TaskStarted { execution_id, .. } => executor.events(*execution_id, 0),
            _ => None,
        };
        // Err: the call is gone; nobody is listening.
        let _ = tx.send(RunItem { event, log });
    };
    (sink, RunEvents { rx })
}

/// The receiving end of [`run_sink`].
pub struct RunEvents {
    rx: UnboundedReceiver<RunItem>,
}

/// The task now running: its execution log (or `None` once it has ended), and whether its
/// events come from the run's sink instead (no log: the execution was already forgotten).
struct Current {
    task_id: String,
    execution_id: Uuid,
    log: Option<EventStream>,
    from_sink: bool,
}

/// Turns the run's events and each task's execution log into the callback's dicts, in order.
pub struct RunForwarder {
    events: RunEvents,
    tx: Sender,
    run_id: String,
    /// Task id → index in the task list (0-based, as in the list the caller passed).
    index: HashMap<String, usize>,
    current: Option<Current>,
}

impl RunForwarder {
    pub fn new(events: RunEvents, tx: Sender, run: &Run) -> Self {
        RunForwarder {
            events,
            tx,
            run_id: run.run_id.to_string(),
            index: run
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| (t.id.clone(), i))
                .collect(),
            current: None,
        }
    }

    /// Forwards events until `until` completes, then everything still pending; returns what
    /// `until` returned. The run's events are all in the channel once the run is over (the
    /// driver emits `run_finished` before the run counts as stopped).
    pub async fn forward_until<T>(&mut self, until: impl Future<Output = T>) -> T {
        tokio::pin!(until);
        let out = loop {
            let has_log = self.current.as_ref().is_some_and(|c| c.log.is_some());
            tokio::select! {
                biased;
                item = async {
                    match self.current.as_mut().and_then(|c| c.log.as_mut()) {
                        Some(log) => log.next().await,
                        None => None,
                    }
                }, if has_log => self.on_log(item),
                Some(item) = self.events.rx.recv() => self.on_run_event(item).await,
                out = &mut until => break out,
            }
        };
        while let Ok(item) = self.events.rx.try_recv() {
            self.on_run_event(item).await;
        }
        self.end_task().await;
        out
    }

    fn on_log(&mut self, item: Option<FeedItem>) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        match item {
            Some(item) => {
                let map = feed_json(&item, current.execution_id);
                let (task_id, execution_id) = (current.task_id.clone(), current.execution_id);
                self.send_task_event(map, &task_id, Some(execution_id), true);
            }
            None => current.log = None,
        }
    }

    async fn on_run_event(&mut self, item: RunItem) {
        let RunItem { event, log } = item;
        match &event {
            RunEvent::Execution {
                task_id,
                event: progress,
            } => {
                // The task's log is the source of its events; the sink's copy (no text) only
                // when there was no log.
                let from_sink = self
                    .current
                    .as_ref()
                    .is_some_and(|c| c.from_sink && &c.task_id == task_id);
                if from_sink && let Value::Object(map) = progress.to_json() {
                    let execution_id = self.current.as_ref().map(|c| c.execution_id);
                    self.send_task_event(map, task_id, execution_id, true);
                }
            }
            RunEvent::TaskStarted {
                task_id,
                execution_id,
                ..
            } => {
                self.end_task().await;
                let map = run_event_json(&event);
                self.send_task_event(map, task_id, None, false);
                self.current = Some(Current {
                    task_id: task_id.clone(),
                    execution_id: *execution_id,
                    from_sink: log.is_none(),
                    log,
                });
            }
            RunEvent::TaskFinished { task_id, .. }
            | RunEvent::WaitingForUsageReset { task_id, .. } => {
                self.end_task().await;
                let map = run_event_json(&event);
                self.send_task_event(map, task_id, None, false);
            }
            RunEvent::Finished { .. } => {
                self.end_task().await;
                let mut map = run_event_json(&event);
                map.insert("run_id".into(), json!(self.run_id));
                self.send(map);
            }
        }
    }

    /// Reads the current task's log to its end (its execution has finished or is finishing:
    /// the run only moves on after its result), so none of its events comes after the next
    /// run event.
    async fn end_task(&mut self) {
        let Some(mut current) = self.current.take() else {
            return;
        };
        if let Some(mut log) = current.log.take() {
            let (task_id, execution_id) = (current.task_id.clone(), current.execution_id);
            while let Some(item) = log.next().await {
                let map = feed_json(&item, execution_id);
                self.send_task_event(map, &task_id, Some(execution_id), true);
            }
        }
    }

    /// Tags a task's event (`run_id`, `task_id`, `task_index`; an execution event's `message`
    /// names the task, as the run's own messages do) and sends it.
    fn send_task_event(
        &self,
        mut map: Map<String, Value>,
        task_id: &str,
        execution_id: Option<Uuid>,
        execution_event: bool,
    ) {
        if execution_event {
            if let Some(Value::String(m)) = map.get("message") {
                let m = format!("`{task_id}`: {m}");
                map.insert("message".into(), Value::String(m));
            }
            if let Some(id) = execution_id {
                map.insert("execution_id".into(), json!(id.to_string()));
            }
        }
        map.insert("task_id".into(), json!(task_id));
        if let Some(i) = self.index.get(task_id) {
            map.insert("task_index".into(), json!(i));
        }
        map.insert("run_id".into(), json!(self.run_id));
        self.send(map);
    }

    fn send(&self, map: Map<String, Value>) {
        // Err: the caller is gone (it dropped its handle); the run goes on regardless.
        let _ = self.tx.send(Item::Event(Value::Object(map).to_string()));
    }
}
