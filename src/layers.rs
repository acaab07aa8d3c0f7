//! The layering rule, enforced: a module may use only modules of a *lower* layer (and itself).
//!
//! ```text
//! 10 cli                      the terminal adapter
//! 9  serve                    the network service (HTTP surfaces over the MCP server)
//! 8  mcp                      the MCP adapter
//! 7  runs, worker             task lists as durable runs; the pool worker
//! 6  exec                     the executor: one execution's life
//! 5  evidence                 response files, receipts, verify
//! 4  plan                     classification, prediction, task-list checks
//! 3  store, pool              the history (SQLite, Redis), the chain's SQL, the journal; the
//!                            worker pool's data plane in Redis
//! 2  claude                   argv, stream-json, outcome classification
//! 1  config, process          settings; process supervision and owner identity
//! 0  types                    plain data and small pure helpers
//! ```
//!
//! The test reads every source file and every `crate::…` path in it (comments skipped;
//! `use crate::{a, b}` groups expanded; items re-exported at the crate root resolved to their
//! module), so a new import that points up fails the build of the test suite, naming the file
//! and the path.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Every top-level module and its layer. A module missing here fails the test: a new
    /// module must be placed.
    const LAYERS: &[(&str, u8)] = &[
        ("types", 0),
        ("config", 1),
        ("process", 1),
        ("claude", 2),
        ("store", 3),
        ("pool", 3),
        ("plan", 4),
        ("evidence", 5),
        ("exec", 6),
        ("runs", 7),
        ("worker", 7),
        ("mcp", 8),
        ("serve", 9),
        ("cli", 10),
    ];

    fn layer(module: &str) -> Option<u8> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
    }

    /// `source` without `//` comments (line and doc comments; string literals here never hold
    /// `//` followed by `crate::`).
    fn code(source: &str) -> String {
        source
            .lines()
            .map(|l| l.find("//").map_or(l, |i| &l[..i]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first segment after every `crate::` in `code`, with grouped imports expanded.
    fn crate_refs(code: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let preceded_by_ident = rest[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[i + "crate::".len()..];
            if preceded_by_ident {
                continue; // `cc_executor_sys::` and the like
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
        out
    }

    /// Items the crate root re-exports (`pub use exec::Executor;`) → the module they live in.
    fn root_items(lib: &str) -> BTreeMap<String, String> {
        let mut items = BTreeMap::new();
        for line in code(lib).lines() {
            let Some(path) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let path = path.trim_end_matches(';');
            let Some((module, tail)) = path.split_once("::") else {
                continue;
            };
            let names = match tail.rsplit_once("::") {
                Some((_, last)) => last,
                None => tail,
            };
            for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
                let name = name.trim();
                if !name.is_empty() {
                    items.insert(name.to_string(), module.to_string());
                }
            }
        }
        items
    }

    /// Every upward (or sideways) import in the files under `src`: (file, module used).
    fn violations(files: &[(String, String)], lib: &str) -> Vec<String> {
        let roots = root_items(lib);
        let mut found = Vec::new();
        for (rel, source) in files {
            let module = rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs");
            let Some(own) = layer(module) else {
                found.push(format!("{rel}: module `{module}` has no layer in LAYERS"));
                continue;
            };
            for name in crate_refs(&code(source)) {
                let used = roots.get(&name).cloned().unwrap_or(name);
                if used == module || used == "self" {
                    continue;
                }
                match layer(&used) {
                    Some(l) if l < own => {}
                    Some(l) => found.push(format!(
                        "{rel} ({module}, layer {own}) uses crate::{used} (layer {l})"
                    )),
                    None => found.push(format!(
                        "{rel} ({module}) uses crate::{used}, which has no layer"
                    )),
                }
            }
        }
        found
    }

    fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                sources(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                if rel != "lib.rs" && rel != "main.rs" && rel != "layers.rs" {
                    out.push((rel, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
    }

    #[test]
    fn no_module_uses_a_module_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &src, &mut files);
        assert!(files.len() > 50, "read {} files", files.len());
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        let found = violations(&files, &lib);
        assert!(
            found.is_empty(),
            "imports against the layering (see src/layers.rs):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_check_catches_upward_imports_in_every_form() {
        let lib = "pub use exec::Executor;\npub use types::result::{ExecutionResult, Status};\n";
        let file = |rel: &str, s: &str| (rel.to_string(), s.to_string());
        let files = [
            file("store/a.rs", "use crate::exec::result::Status;"),
            file("store/b.rs", "use crate::{types, runs::Run};"),
            file("claude/c.rs", "fn f(_: &crate::Executor) {}"),
            file("types/d.rs", "use crate::config::Config;"),
            file("newmod/e.rs", "use crate::types::text;"),
            // Allowed: lower layers, itself, comments, root items of lower layers, other crates.
            file(
                "exec/f.rs",
                "use crate::store::X; use crate::exec::Y; // crate::cli\nuse crate::Status; use cc_executor_sys::die_with_parent;",
            ),
        ];
        let found = violations(&files, lib);
        assert_eq!(found.len(), 5, "{found:#?}");
        for (needle, f) in [
            ("crate::exec", "store/a.rs"),
            ("crate::runs", "store/b.rs"),
            ("crate::exec", "claude/c.rs"),
            ("crate::config", "types/d.rs"),
            ("no layer", "newmod/e.rs"),
        ] {
            assert!(
                found.iter().any(|v| v.starts_with(f) && v.contains(needle)),
                "{f}: {found:#?}"
            );
        }
    }
}
