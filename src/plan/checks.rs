//! Which tasks should carry acceptance checks, and which check to propose: the planner's side
//! of `accept`. A task that changes code can "succeed" with failing tests; the planner warns
//! about such a task without a check and proposes the test command of the project it sees —
//! named in the task text, or found by the project's files in the working directory.

use std::path::Path;

use super::classify::Category;

/// Categories of task that change code, and so are worth checking by running its tests.
pub fn writes_code(category: Category) -> bool {
    matches!(
        category,
        Category::Code | Category::Refactor | Category::Test | Category::Debug
    )
}

/// A test command for a task: the one its text names, else the one the project in `dir`
/// implies (`Cargo.toml` → `cargo test`, Python project files → `pytest -q`, `package.json`
/// → `npm test`), with where it came from.
pub fn suggest_command(task: &str, dir: Option<&Path>) -> Option<(Vec<String>, String)> {
    let argv = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let lower = task.to_lowercase();
    for (named, words) in [
        ("cargo test", &["cargo", "test"][..]),
        ("pytest", &["pytest", "-q"][..]),
        ("npm test", &["npm", "test"][..]),
    ] {
        if lower.contains(named) {
            return Some((argv(words), "named in the task".into()));
        }
    }
    let dir = dir?;
    let has = |f: &str| dir.join(f).is_file();
    let found = if has("Cargo.toml") {
        Some(("Cargo.toml", &["cargo", "test"][..]))
    } else if let Some(f) = [
        "pyproject.toml",
        "pytest.ini",
        "setup.py",
        "setup.cfg",
        "tox.ini",
    ]
    .into_iter()
    .find(|f| has(f))
    {
        Some((f, &["pytest", "-q"][..]))
    } else if has("package.json") {
        Some(("package.json", &["npm", "test"][..]))
    } else {
        None
    };
    found.map(|(file, words)| (argv(words), format!("{file} in {}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_command_wins_then_the_project_files_decide() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(suggest_command("add a function", Some(dir.path())), None);
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        assert_eq!(
            suggest_command("add a function", Some(dir.path()))
                .unwrap()
                .0,
            ["npm", "test"]
        );
        std::fs::write(dir.path().join("pyproject.toml"), "").unwrap();
        assert_eq!(
            suggest_command("add a function", Some(dir.path()))
                .unwrap()
                .0,
            ["pytest", "-q"]
        );
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        let (cmd, why) = suggest_command("add a function", Some(dir.path())).unwrap();
        assert_eq!(cmd, ["cargo", "test"]);
        assert!(why.starts_with("Cargo.toml in "), "{why}");
        let (cmd, why) = suggest_command("fix it; run pytest after", Some(dir.path())).unwrap();
        assert_eq!(
            (cmd, why.as_str()),
            (vec!["pytest".to_string(), "-q".into()], "named in the task")
        );
    }
}
