//! The classification algorithm: looks the scanned words up in the [`rules`](super::rules)
//! tables and adds up what matched — category votes, then the score from effort phrases,
//! length, requested items, paths and steps — keeping every match as a [`Signal`].

use super::rules::{
    BASE_SCORE, CATEGORY_BASE, DIRECTORY_BANDS, DIRECTORY_ROOTS, FILE_BANDS, FILE_EXTENSIONS,
    ITEM_BANDS, LENGTH_BANDS, MULTI_STEP_CAP, MULTI_STEP_WEIGHT, POLITE_WORDS, TIE_ORDER,
};
use super::{Category, Classification, Complexity, Signal, SignalKind};
use crate::plan::text::{SCAN_BYTES, Scan};

fn band<T: PartialOrd + Copy>(bands: &[(T, f64)], value: T) -> f64 {
    bands
        .iter()
        .find(|(min, _)| value >= *min)
        .map_or(0.0, |(_, w)| *w)
}

/// Classifies one task text. Deterministic: the same text always gets the same answer.
pub fn classify(task: &str) -> Classification {
    classify_scan(&Scan::new(task))
}

/// Classifies an already scanned task (the validator scans each task once).
pub fn classify_scan(scan: &Scan) -> Classification {
    let mut signals = Vec::new();

    // 1. Category: votes from the table; the leading verb of an imperative counts twice.
    let lead = leading_word(scan);
    let mut totals = [0.0f64; Category::ALL.len()];
    let category_hits = scan.matches(|e| e.category);
    for (i, _, (category, weight)) in &category_hits {
        totals[*category as usize] += weight * lead_factor(*i, lead, *weight);
    }
    let mut category = Category::General;
    let mut best = 0.0;
    for c in TIE_ORDER {
        if totals[c as usize] > best {
            best = totals[c as usize];
            category = c;
        }
    }
    for (i, n, (c, weight)) in category_hits {
        let factor = lead_factor(i, lead, weight);
        signals.push(Signal {
            kind: SignalKind::CategoryKeyword,
            detail: format!(
                "`{}`{} suggests {c}",
                scan.phrase(i, n).unwrap_or_default(),
                if factor > 1.0 {
                    " (leading verb, counts twice)"
                } else {
                    ""
                }
            ),
            weight: weight * factor,
        });
    }

    // 2. Score.
    let category_base = CATEGORY_BASE
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(0.0, |(_, w)| *w);
    let mut score = BASE_SCORE + category_base;
    signals.push(Signal {
        kind: SignalKind::Base,
        detail: format!("base score {BASE_SCORE} + {category_base} for {category} work"),
        weight: BASE_SCORE + category_base,
    });

    for (i, n, (weight, kind)) in scan.matches(|e| e.effort) {
        score += weight;
        signals.push(Signal {
            kind,
            detail: format!("`{}`", scan.phrase(i, n).unwrap_or_default()),
            weight,
        });
    }

    let words = scan.word_count();
    let length = if scan.truncated {
        LENGTH_BANDS[0].1
    } else {
        band(LENGTH_BANDS, words)
    };
    if length > 0.0 {
        score += length;
        signals.push(Signal {
            kind: SignalKind::Length,
            detail: if scan.truncated {
                format!("longer than {} KiB", SCAN_BYTES / 1024)
            } else {
                format!("{words} words")
            },
            weight: length,
        });
    }

    let (units, item_details) = requested_items(scan);
    let items = band(ITEM_BANDS, units);
    if items > 0.0 {
        score += items;
        signals.push(Signal {
            kind: SignalKind::Items,
            detail: format!(
                "requests {} ({:.0} units of work)",
                item_details.join(", "),
                units
            ),
            weight: items,
        });
    }

    let (files, dirs) = paths(scan);
    let file_points = band(FILE_BANDS, files.len());
    if file_points > 0.0 {
        score += file_points;
        signals.push(Signal {
            kind: SignalKind::Files,
            detail: format!("mentions {} file(s): {}", files.len(), list_some(&files)),
            weight: file_points,
        });
    }
    let dir_points = band(DIRECTORY_BANDS, dirs.len());
    if dir_points > 0.0 {
        score += dir_points;
        signals.push(Signal {
            kind: SignalKind::Directories,
            detail: format!(
                "mentions {} directory(ies): {}",
                dirs.len(),
                list_some(&dirs)
            ),
            weight: dir_points,
        });
    }

    let markers: Vec<&str> = scan
        .matches(|e| e.multi_step.then_some(()))
        .into_iter()
        .filter_map(|(i, n, _)| scan.phrase(i, n))
        .collect();
    let verbs: Vec<&str> = scan
        .matches(|e| e.action.then_some(()))
        .into_iter()
        .filter_map(|(i, n, _)| scan.phrase(i, n))
        .collect();
    let extra_verbs = verbs.len().saturating_sub(1);
    let semicolons = scan.lower.bytes().filter(|b| *b == b';').count().min(2);
    let steps =
        ((markers.len() + semicolons + extra_verbs) as f64 * MULTI_STEP_WEIGHT).min(MULTI_STEP_CAP);
    if steps > 0.0 {
        score += steps;
        let mut seen: Vec<String> = markers.iter().map(|m| format!("`{m}`")).collect();
        if semicolons > 0 {
            seen.push(format!("{semicolons} `;`"));
        }
        if extra_verbs > 0 {
            seen.push(format!("{} actions ({})", verbs.len(), verbs.join(", ")));
        }
        signals.push(Signal {
            kind: SignalKind::MultiStep,
            detail: format!("multi-step phrasing: {}", seen.join(", ")),
            weight: steps,
        });
    }

    let score = score.round().clamp(1.0, 10.0) as u8;
    Classification {
        category,
        complexity: Complexity::from_score(score),
        score,
        signals,
    }
}

/// Position of the first word that is not a politeness ("please", "can you", "I want you
/// to"): the imperative verb of the task, if it has one.
fn leading_word(scan: &Scan) -> usize {
    (0..scan.word_count().min(8))
        .find(|&i| !POLITE_WORDS.contains(&scan.word(i)))
        .unwrap_or(0)
}

/// A specific category phrase (weight above 1: not a generic verb like "write" or "add")
/// that leads the task counts twice: "Migrate …, fix the failing tests" is a migration.
fn lead_factor(position: usize, lead: usize, weight: f64) -> f64 {
    if position == lead && weight > 1.0 {
        2.0
    } else {
        1.0
    }
}

fn list_some(items: &[String]) -> String {
    let mut shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
    if items.len() > 5 {
        shown.push("…");
    }
    shown.join(", ")
}

/// Units of requested work: "N <item noun>" phrases (the noun may follow the number after up
/// to two other words: "5 more unit tests") plus the lines of a list embedded in the task.
fn requested_items(scan: &Scan) -> (f64, Vec<String>) {
    let mut units = 0.0;
    let mut details = Vec::new();
    for i in 0..scan.word_count() {
        let Some(n) = scan.number(i) else {
            continue;
        };
        'noun: for skip in 1..=3 {
            for len in (1..=2).rev() {
                if let Some(per_unit) = scan.entry(i + skip, len).and_then(|e| e.item_unit) {
                    units += n as f64 / per_unit;
                    details.push(format!(
                        "{n} {}",
                        scan.phrase(i + skip, len).unwrap_or_default()
                    ));
                    break 'noun;
                }
            }
        }
    }
    let list_lines = scan
        .lower
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let first = t.as_bytes().first().copied().unwrap_or(b' ');
            t.starts_with("- ")
                || t.starts_with("* ")
                || first.is_ascii_digit()
                    && t.split_once(['.', ')']).is_some_and(|(n, rest)| {
                        !n.is_empty()
                            && n.len() <= 3
                            && n.bytes().all(|b| b.is_ascii_digit())
                            && rest.starts_with(' ')
                    })
        })
        .count();
    if list_lines >= 2 {
        units += list_lines as f64;
        details.push(format!("a list of {list_lines} lines"));
    }
    (units, details)
}

/// Distinct file paths and directory paths among the whitespace-separated tokens.
fn paths(scan: &Scan) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for raw in scan.lower.split_whitespace() {
        if !raw.bytes().any(|b| b == b'/' || b == b'.')
            && !raw.contains("dockerfile")
            && !raw.contains("makefile")
        {
            continue;
        }
        let token = raw
            .trim_matches(|c: char| "\"'`()[]{}<>,;:!?*".contains(c))
            .trim_end_matches('.');
        if token.len() < 2 || token.len() > 300 || token.contains("://") {
            continue;
        }
        let last = token.rsplit('/').next().unwrap_or(token);
        let is_file = last.rsplit_once('.').is_some_and(|(stem, ext)| {
            (!stem.is_empty() || last.starts_with('.')) && FILE_EXTENSIONS.contains(&ext)
        }) || last == "dockerfile"
            || last == "makefile";
        if is_file {
            files.push(token.to_string());
        } else if token.contains('/') {
            let first = token
                .trim_start_matches("./")
                .split('/')
                .next()
                .unwrap_or("");
            let looks_like_dir = token.ends_with('/')
                || token.starts_with('/')
                || token.starts_with("./")
                || token.starts_with("../")
                || token.starts_with("~/")
                || token.matches('/').count() >= 2
                || DIRECTORY_ROOTS.contains(&first);
            if looks_like_dir && token.chars().any(char::is_alphanumeric) {
                dirs.push(token.trim_end_matches('/').to_string());
            }
        }
    }
    files.sort();
    files.dedup();
    dirs.sort();
    dirs.dedup();
    (files, dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories_are_found() {
        let scan =
            Scan::new("Edit src/db.rs, README.md and tests/ (see src/plan and a/b/c); and/or");
        let (files, dirs) = paths(&scan);
        assert_eq!(files, vec!["readme.md", "src/db.rs"]);
        assert_eq!(dirs, vec!["a/b/c", "src/plan", "tests"]);
    }

    #[test]
    fn requested_items_count_numbers_and_lists() {
        let (units, _) = requested_items(&Scan::new("Add 12 endpoints and five more unit tests"));
        assert_eq!(units, 17.0);
        let (units, _) = requested_items(&Scan::new("Do:\n- a\n- b\n1. c"));
        assert_eq!(units, 3.0);
    }

    #[test]
    fn explanation_names_the_signals() {
        let c = classify("Refactor src/db.rs to use a connection pool; run cargo test");
        assert_eq!(c.category, Category::Refactor);
        assert!(c.signals.iter().any(|s| s.kind == SignalKind::Files));
        assert!(c.signals.iter().any(|s| s.kind == SignalKind::MultiStep));
    }
}
