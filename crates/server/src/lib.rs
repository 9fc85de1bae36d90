//! The edge around the pipeline: configuration, the HTTP server (API, webhooks, health,
//! metrics, docs), the background worker pool, and the command line.
//!
//! The pipeline itself lives in its own crates — sources → understanding → drafting →
//! cards → publishing — with storage beneath; this crate wires them to the outside world.

pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod mcp;
pub mod remote;
pub mod startup;
pub mod telemetry;
pub mod tokens;
pub mod ui;

pub use config::Config;
pub use startup::Application;

/// The server's modules depend on each other in one direction: adapters (`ui`, `cli`,
/// `mcp`) build on `http` and the rest, never the reverse, and no two modules reach each
/// other through any path. This reads the source (as a newcomer would) and fails on a
/// circle, naming it.
#[cfg(test)]
mod architecture {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Top-level module → the top-level modules its code names (`crate::x`, also inside
    /// `use crate::{x, y}`), tests left out.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(root.join("lib.rs")).unwrap();
        let modules: BTreeSet<String> = lib
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub mod "))
            .map(|m| m.trim_end_matches(';').to_owned())
            .collect();
        let mut graph = BTreeMap::new();
        for m in &modules {
            let mut files = Vec::new();
            let single = root.join(format!("{m}.rs"));
            if single.is_file() {
                files.push(single);
            } else {
                sources(&root.join(m), &mut files);
            }
            let mut uses = BTreeSet::new();
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap();
                // Comments name modules without importing them.
                let code: String = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n");
                let code = code.as_str();
                for (at, _) in code.match_indices("crate::") {
                    let rest = &code[at + 7..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or_default()
                            .split(',')
                            .collect(),
                        None => vec![rest],
                    };
                    for n in names {
                        let n: String = n
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if modules.contains(&n) && n != *m {
                            uses.insert(n);
                        }
                    }
                }
            }
            graph.insert(m.clone(), uses);
        }
        graph
    }

    #[test]
    fn no_two_modules_depend_on_each_other() {
        let graph = imports();
        assert!(
            graph["ui"].contains("http"),
            "the reader sees imports: {graph:?}"
        );
        // Every module a module reaches; a module that reaches itself is in a circle.
        for start in graph.keys() {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&String> = graph[start].iter().collect();
            let mut path: BTreeMap<&String, &String> = BTreeMap::new();
            for n in &todo {
                path.insert(n, start);
            }
            while let Some(m) = todo.pop() {
                if m == start {
                    let mut circle = vec![start.clone()];
                    let mut at = path[&m];
                    while at != start {
                        circle.push(at.clone());
                        at = path[at];
                    }
                    circle.push(start.clone());
                    circle.reverse();
                    panic!("a circle: {}", circle.join(" → "));
                }
                if !seen.insert(m) {
                    continue;
                }
                for next in &graph[m] {
                    path.entry(next).or_insert(m);
                    todo.push(next);
                }
            }
        }
    }
}
