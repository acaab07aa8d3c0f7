//! References from one task to other work: "task 3", "step 2", "the previous step", "the API
//! from above", "as before", "the file you created".
//!
//! Why they matter: every task runs in a fresh Claude Code process that sees nothing of the
//! orchestrator's conversation or of earlier tasks. A task that leans on earlier work either
//! needs a declared dependency (so it is ordered, skipped when that work failed, and its wave
//! is right) or needs to carry what it refers to.

use super::text::Scan;

/// Phrases that point at earlier work without naming it.
pub const VAGUE_REFERENCES: &[&str] = &[
    "previous step",
    "previous steps",
    "previous task",
    "previous tasks",
    "prior step",
    "prior task",
    "last step",
    "last task",
    "earlier step",
    "earlier task",
    "earlier tasks",
    "previous output",
    "previous result",
    "previous results",
    "the above",
    "from above",
    "described above",
    "mentioned above",
    "shown above",
    "as above",
    "as before",
    "like before",
    "same as before",
    "from before",
    "last time",
    "you created",
    "you wrote",
    "you built",
    "you made",
    "you generated",
    "we created",
    "we wrote",
    "we built",
    "we made",
    "we discussed",
    "as discussed",
    "just created",
];

/// Words that, followed by a number, name another task: "task 3", "step #2", "tasks 1 and 2".
pub const NUMBERED_REFERENCES: &[&str] = &["task", "tasks", "step", "steps"];

/// Words that continue a list of numbers after a [`NUMBERED_REFERENCES`] word.
const CONNECTORS: &[&str] = &["and", "or", "to", "through"];

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A task by number (a position, or an id that is a number).
    Number(u64),
    /// Earlier work, unnamed.
    Earlier,
}

/// One reference found in a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub target: Target,
    /// The words that made it, e.g. `task 3` or `the previous step`.
    pub phrase: String,
}

/// The references in a scanned task (at most 64: enough to judge, bounded for huge tasks).
///
/// A numbered step that *starts* a line or is followed by `:` or `)` ("Step 1: read the
/// file") enumerates the task's own steps and is not a reference.
pub fn find_references(scan: &Scan) -> Vec<Reference> {
    const MAX: usize = 64;
    let mut out = Vec::new();
    for (i, n, _) in scan.matches(|e| e.reference.then_some(())) {
        if out.len() >= MAX {
            return out;
        }
        out.push(Reference {
            target: Target::Earlier,
            phrase: scan.phrase(i, n).unwrap_or_default().to_string(),
        });
    }
    let words = scan.word_count();
    let mut i = 0;
    while i < words && out.len() < MAX {
        if !NUMBERED_REFERENCES.contains(&scan.word(i)) || starts_line(scan, i) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut numbers = Vec::new();
        while j < words && numbers.len() < 10 {
            if let Some(n) = scan.number(j) {
                if matches!(scan.char_after(j), Some(':') | Some(')')) {
                    numbers.clear();
                    break;
                }
                numbers.push((j, n));
                j += 1;
            } else if !numbers.is_empty()
                && CONNECTORS.contains(&scan.word(j))
                && j + 1 < words
                && scan.number(j + 1).is_some()
            {
                j += 1;
            } else {
                break;
            }
        }
        for (at, n) in numbers {
            if out.len() >= MAX {
                break;
            }
            out.push(Reference {
                target: Target::Number(n),
                phrase: format!("{} {}", scan.word(i), scan.word(at)),
            });
        }
        i = j.max(i + 1);
    }
    out
}

/// Whether word `i` is the first thing on its line (list markers aside).
fn starts_line(scan: &Scan, i: usize) -> bool {
    let (start, _) = scan.spans[i];
    let before = scan.lower[..start].trim_end_matches(|c: char| {
        c == ' ' || c == '\t' || c == '-' || c == '*' || c == '#' || c == '>'
    });
    before.is_empty() || before.ends_with('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(text: &str) -> Vec<(Target, String)> {
        find_references(&Scan::new(text))
            .into_iter()
            .map(|r| (r.target, r.phrase))
            .collect()
    }

    #[test]
    fn numbered_and_vague_references() {
        assert_eq!(
            refs("After task 2, use the API from above"),
            vec![
                (Target::Earlier, "from above".into()),
                (Target::Number(2), "task 2".into())
            ]
        );
        assert_eq!(
            refs("combine tasks 1 and 3"),
            vec![
                (Target::Number(1), "tasks 1".into()),
                (Target::Number(3), "tasks 3".into())
            ]
        );
        assert_eq!(
            refs("see step #two"),
            vec![(Target::Number(2), "step two".into())]
        );
    }

    #[test]
    fn own_step_lists_are_not_references() {
        assert!(refs("Step 1: read the file.\nStep 2: write the summary").is_empty());
        assert!(refs("Do this: step 1) read, step 2) write").is_empty());
        assert!(refs("a task with no references, steps or numbers").is_empty());
    }
}
