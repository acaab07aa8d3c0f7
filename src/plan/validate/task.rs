//! Per-task checks: a task that repeats an earlier one, a risky prompt (leading `-`,
//! interactive, vague, too long, NUL bytes), and references to other tasks ("task 3", "the
//! previous step") that its declared dependencies do not cover. They only warn: the list can
//! still run.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use super::list::Links;
use super::{TaskItem, ValidationWarning, WarningKind, shown};
use crate::plan::complexity::{PromptWarningKind, prompt_warnings};
use crate::plan::graph::Reach;
use crate::plan::references::{Target, find_references};
use crate::plan::text::Scan;

/// Tasks visited when checking whether a task depends on another through a chain of declared
/// dependencies (see [`Reach::depends_on`]).
const REACH_BUDGET: usize = 512;

/// The per-task checks of one list, run task by task in list order. Holds what carries over
/// from one task to the next: the texts seen so far and the reachability cache.
pub(super) struct TaskChecks {
    text_seen: HashMap<(u64, usize), usize>,
    reach: Reach,
}

impl TaskChecks {
    /// For a list of `n` tasks.
    pub(super) fn new(n: usize) -> Self {
        TaskChecks {
            text_seen: HashMap::with_capacity(n),
            reach: Reach::new(n),
        }
    }

    /// Warnings of task `i` (scanned as `scan`), in report order: duplicate text, risky
    /// prompt, implicit references.
    pub(super) fn check(
        &mut self,
        items: &[TaskItem],
        links: &Links<'_>,
        i: usize,
        scan: &Scan,
        max_prompt_tokens: usize,
        warnings: &mut Vec<ValidationWarning>,
    ) {
        let item = &items[i];
        if !item.task.trim().is_empty() {
            let first = *self
                .text_seen
                .entry(duplicate_key(&item.task, scan))
                .or_insert(i);
            if first != i {
                warn(
                    warnings,
                    WarningKind::DuplicateTask,
                    item,
                    format!(
                        "task {} repeats task {} (same text): it will run twice",
                        item.position, items[first].position
                    ),
                );
            }
        }

        for w in prompt_warnings(&item.task, scan, max_prompt_tokens) {
            if item.task.trim().is_empty() && w.kind == PromptWarningKind::TooVague {
                continue; // already an error
            }
            warn(
                warnings,
                w.kind.into(),
                item,
                format!("task {}: {}", item.position, w.message),
            );
        }

        implicit_references(
            items,
            &links.deps,
            &links.by_id,
            i,
            scan,
            &mut self.reach,
            warnings,
        );
    }
}

fn warn(
    warnings: &mut Vec<ValidationWarning>,
    kind: WarningKind,
    item: &TaskItem,
    message: String,
) {
    warnings.push(ValidationWarning {
        kind,
        message,
        position: item.position,
        task_id: item.id.clone(),
        line: item.line,
    })
}

/// Identity of a task text for duplicate detection: its scanned words (lower case,
/// punctuation and spacing ignored) plus the raw bytes beyond the scan window, as a SipHash
/// and a length. Two different texts colliding on both is a 2⁻⁶⁴ event, and the result is
/// only a warning — so no second, unbounded comparison of the full texts.
fn duplicate_key(text: &str, scan: &Scan) -> (u64, usize) {
    let mut h = DefaultHasher::new();
    h.write(scan.norm.as_bytes());
    let tail = &text[crate::plan::text::scan_window(text).len()..];
    h.write(tail.as_bytes());
    (h.finish(), scan.norm.len() + tail.len())
}

/// Warnings for references in task `i` that its declared dependencies do not cover.
fn implicit_references(
    items: &[TaskItem],
    deps: &[Vec<usize>],
    by_id: &HashMap<&str, usize>,
    i: usize,
    scan: &Scan,
    reach: &mut Reach,
    warnings: &mut Vec<ValidationWarning>,
) {
    let item = &items[i];
    let mut push = |message: String| {
        warnings.push(ValidationWarning {
            kind: WarningKind::ImplicitReference,
            message,
            position: item.position,
            task_id: item.id.clone(),
            line: item.line,
        })
    };
    let mut warned_targets: HashSet<usize> = HashSet::new();
    let mut warned_earlier = false;
    for r in find_references(scan) {
        match r.target {
            Target::Number(num) => {
                let target = by_id.get(num.to_string().as_str()).copied().or_else(|| {
                    usize::try_from(num)
                        .ok()
                        .filter(|p| (1..=items.len()).contains(p))
                        .and_then(|p| items.binary_search_by_key(&p, |t| t.position).ok())
                });
                match target {
                    None => {
                        if warned_targets.insert(usize::MAX) {
                            push(format!(
                                "task {} mentions `{}`, but no task has that id or position",
                                item.position, r.phrase
                            ));
                        }
                    }
                    Some(t) if t == i => {}
                    Some(t) if t > i => {
                        if warned_targets.insert(t) {
                            push(format!(
                                "task {} mentions `{}` (task `{}`), which runs later; a task cannot use a later task's result — reorder the tasks or rephrase",
                                item.position,
                                r.phrase,
                                shown(&items[t].id)
                            ));
                        }
                    }
                    Some(t) => {
                        if reach.depends_on(deps, i, t, REACH_BUDGET) != Some(true)
                            && warned_targets.insert(t)
                        {
                            push(format!(
                                "task {} mentions `{}` but does not depend on it: add \"depends_on\": [\"{}\"] so it is ordered and skipped if that task fails, and say what it should use — each task runs in a fresh process",
                                item.position,
                                r.phrase,
                                shown(&items[t].id)
                            ));
                        }
                    }
                }
            }
            Target::Earlier if !warned_earlier => {
                if i == 0 {
                    warned_earlier = true;
                    push(format!(
                        "task {} refers to earlier work (`{}`) but is the first task; a fresh process has not seen any earlier work",
                        item.position, r.phrase
                    ));
                } else if deps[i].is_empty() {
                    warned_earlier = true;
                    push(format!(
                        "task {} refers to earlier work (`{}`) but declares no dependency: add \"depends_on\" (probably [\"{}\"]) and name what it should use — each task runs in a fresh process",
                        item.position,
                        r.phrase,
                        shown(&items[i - 1].id)
                    ));
                }
            }
            Target::Earlier => {}
        }
    }
}
