//! List-level checks: the list is not empty, ids are unique, every task has text, every
//! dependency names an earlier task, and no dependencies form a cycle. What they learn about
//! the dependency graph ([`Links`]) is what the per-task checks and the strategy build on.

use std::collections::{HashMap, HashSet};

use super::{ErrorKind, TaskItem, ValidationError, shown};
use crate::plan::graph::find_cycles;

/// Most cycles reported; one is enough to act on, a few help, thousands help nobody.
pub const MAX_CYCLES_REPORTED: usize = 20;

/// The dependency graph of a list, as the checks resolved it.
pub(super) struct Links<'a> {
    /// Id → index of the first task with that id.
    pub by_id: HashMap<&'a str, usize>,
    /// Per item (index into the items), the items it depends on (known ids only, each once).
    pub deps: Vec<Vec<usize>>,
    /// Whether some dependency points to a later task.
    pub forward: bool,
    /// Whether the known dependencies are free of cycles.
    pub acyclic: bool,
}

/// Runs the list-level checks in report order (empty list, ids, then per task its text and
/// dependencies, then cycles), appending to `errors`.
pub(super) fn check_list<'a>(
    items: &'a [TaskItem],
    total_tasks: usize,
    errors: &mut Vec<ValidationError>,
) -> Links<'a> {
    let n = items.len();

    if total_tasks == 0 && errors.is_empty() {
        errors.push(ValidationError::new(
            ErrorKind::EmptyList,
            "the task list is empty: give at least one task".into(),
        ));
    }

    // Ids.
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        if let Some(&first) = by_id.get(item.id.as_str()) {
            let how = if item.id_assigned || items[first].id_assigned {
                " (tasks without an id get their position as id)"
            } else {
                ""
            };
            errors.push(ValidationError::at(
                ErrorKind::DuplicateId,
                item,
                format!(
                    "task {} has id `{}`, already used by task {}{how}",
                    item.position,
                    shown(&item.id),
                    items[first].position
                ),
            ));
        } else {
            by_id.insert(item.id.as_str(), i);
        }
    }

    // Empty texts, dependencies.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut forward = false;
    for (i, item) in items.iter().enumerate() {
        if item.task.trim().is_empty() {
            errors.push(ValidationError::at(
                ErrorKind::EmptyTask,
                item,
                format!("task {} is empty", item.position),
            ));
        }
        let mut mine: Vec<usize> = Vec::with_capacity(item.depends_on.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(item.depends_on.len());
        for dep in &item.depends_on {
            if !seen.insert(dep.as_str()) {
                continue;
            }
            match by_id.get(dep.as_str()) {
                None => errors.push(ValidationError::at(
                    ErrorKind::UnknownDependency,
                    item,
                    format!(
                        "task {} depends on `{}`, but no task has that id",
                        item.position,
                        shown(dep)
                    ),
                )),
                Some(&j) => {
                    if j > i {
                        forward = true;
                        errors.push(ValidationError::at(
                            ErrorKind::ForwardDependency,
                            item,
                            format!(
                                "task {} (`{}`) depends on task {} (`{}`), which comes later in the list; tasks run in list order, so move task {} before task {}",
                                item.position,
                                shown(&item.id),
                                items[j].position,
                                shown(&items[j].id),
                                items[j].position,
                                item.position
                            ),
                        ));
                    }
                    mine.push(j);
                }
            }
        }
        deps.push(mine);
    }

    // Cycles (over every known edge, forward ones included).
    let cycles = find_cycles(&deps, MAX_CYCLES_REPORTED + 1);
    let acyclic = cycles.is_empty();
    for (k, cycle) in cycles.iter().enumerate() {
        if k == MAX_CYCLES_REPORTED {
            errors.push(ValidationError::new(
                ErrorKind::Cycle,
                format!("more than {MAX_CYCLES_REPORTED} dependency cycles; fix these first"),
            ));
            break;
        }
        let ids: Vec<String> = cycle.iter().map(|&u| items[u].id.clone()).collect();
        let first = &items[cycle[0]];
        errors.push(ValidationError {
            cycle: Some(ids.clone()),
            ..ValidationError::at(
                ErrorKind::Cycle,
                first,
                format!(
                    "dependency cycle: {} (a → b reads \"a depends on b\"); no order can satisfy it",
                    cycle_text(&ids)
                ),
            )
        })
    }
    Links {
        by_id,
        deps,
        forward,
        acyclic,
    }
}

/// Cycle path text: ids joined by ` → `, the middle elided when long.
fn cycle_text(ids: &[String]) -> String {
    const SHOW: usize = 12;
    if ids.len() <= SHOW {
        return ids.join(" → ");
    }
    format!(
        "{} → … ({} more) … → {}",
        ids[..SHOW / 2].join(" → "),
        ids.len() - SHOW,
        ids[ids.len() - SHOW / 2..].join(" → ")
    )
}
