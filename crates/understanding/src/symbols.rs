//! Diff analysis with tree-sitter: which public functions and types, command-line flags
//! and HTTP routes a change adds, changes or removes — for Rust, TypeScript/JavaScript,
//! Python and Go. It feeds categorisation and the drafts ("new `--wrap` flag").

pub use covalynce_domain::{Change, FileAnalysis, SymbolChange, SymbolKind};
use std::collections::BTreeMap;
use tree_sitter::{Language, Node, Parser};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Rust,
    TypeScript,
    Tsx,
    JavaScript,
    Python,
    Go,
}

fn lang_of(path: &str) -> Option<Lang> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "rs" => Lang::Rust,
        "ts" | "mts" | "cts" => Lang::TypeScript,
        "tsx" => Lang::Tsx,
        "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
        "py" => Lang::Python,
        "go" => Lang::Go,
        _ => return None,
    })
}

fn language(lang: Lang) -> Language {
    match lang {
        Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
        Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Lang::Python => tree_sitter_python::LANGUAGE.into(),
        Lang::Go => tree_sitter_go::LANGUAGE.into(),
    }
}

/// Whether [`analyze_file`] wants to read this file: every text-like file is scanned for
/// secrets; source files are also parsed.
pub fn is_analyzable(path: &str) -> bool {
    let binary = [
        ".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".zip", ".gz", ".woff", ".woff2", ".ttf",
        ".lock",
    ];
    !binary
        .iter()
        .any(|ext| path.to_ascii_lowercase().ends_with(ext))
}

/// Diff analysis of one changed file: its public-surface changes and any credentials in the
/// lines it added.
pub fn analyze_file(path: &str, old: Option<&str>, new: Option<&str>) -> FileAnalysis {
    let old_lines: std::collections::HashSet<&str> =
        old.map(|o| o.lines().collect()).unwrap_or_default();
    let mut secrets: Vec<String> = Vec::new();
    for line in new
        .unwrap_or_default()
        .lines()
        .filter(|l| !old_lines.contains(l))
    {
        for f in crate::redact_secrets(line).1 {
            if !secrets.iter().any(|s| s == f.kind) {
                secrets.push(f.kind.to_owned());
            }
        }
    }
    FileAnalysis {
        symbols: diff_symbols(path, old, new),
        secrets,
    }
}

/// What changed in the public surface of one file between two versions (`None`: the file
/// did not exist). Unknown languages and unparsable files give nothing.
pub fn diff_symbols(path: &str, old: Option<&str>, new: Option<&str>) -> Vec<SymbolChange> {
    let Some(lang) = lang_of(path) else {
        return Vec::new();
    };
    let before = old.map(|s| surface(lang, s)).unwrap_or_default();
    let after = new.map(|s| surface(lang, s)).unwrap_or_default();
    let mut out = Vec::new();
    for ((kind, name), sig) in &after {
        match before.get(&(*kind, name.clone())) {
            None => out.push(SymbolChange {
                kind: *kind,
                name: name.clone(),
                change: Change::Added,
            }),
            Some(old_sig) if old_sig != sig => out.push(SymbolChange {
                kind: *kind,
                name: name.clone(),
                change: Change::Changed,
            }),
            _ => {}
        }
    }
    for (kind, name) in before.keys() {
        if !after.contains_key(&(*kind, name.clone())) {
            out.push(SymbolChange {
                kind: *kind,
                name: name.clone(),
                change: Change::Removed,
            });
        }
    }
    out.sort();
    out
}

type Surface = BTreeMap<(SymbolKind, String), String>;

/// The public surface of a file: symbol → its signature (for change detection).
fn surface(lang: Lang, source: &str) -> Surface {
    let mut parser = Parser::new();
    if parser.set_language(&language(lang)).is_err() {
        return Surface::new();
    }
    let Some(tree) = parser.parse(source, None) else {
        return Surface::new();
    };
    let mut out = Surface::new();
    let src = source.as_bytes();
    visit(tree.root_node(), &mut |node| {
        collect(lang, node, src, &mut out)
    });
    out
}

fn visit<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    f(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        visit(child, f);
    }
}

fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or_default()
}

/// The declaration's head: its text up to the body, whitespace folded.
fn signature(node: Node, src: &[u8]) -> String {
    let end = node
        .child_by_field_name("body")
        .map_or(node.end_byte(), |b| b.start_byte());
    let raw = std::str::from_utf8(&src[node.start_byte()..end]).unwrap_or_default();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn name_of<'a>(node: Node, src: &'a [u8]) -> Option<&'a str> {
    node.child_by_field_name("name").map(|n| text(n, src))
}

fn collect(lang: Lang, node: Node, src: &[u8], out: &mut Surface) {
    let mut add = |kind: SymbolKind, name: &str, sig: String| {
        if !name.is_empty() {
            out.insert((kind, name.to_owned()), sig);
        }
    };
    let kind = node.kind();
    match lang {
        Lang::Rust => {
            let public = node.child(0).is_some_and(|c| {
                c.kind() == "visibility_modifier" && text(c, src).starts_with("pub")
            });
            match kind {
                "function_item" if public => add(
                    SymbolKind::Function,
                    name_of(node, src).unwrap_or_default(),
                    signature(node, src),
                ),
                "struct_item" | "enum_item" | "trait_item" | "type_item" if public => add(
                    SymbolKind::Type,
                    name_of(node, src).unwrap_or_default(),
                    signature(node, src),
                ),
                "attribute_item" => rust_attribute(node, src, &mut add),
                _ => {}
            }
        }
        Lang::Python => {
            let top_level = node.parent().is_some_and(|p| {
                p.kind() == "module"
                    || (p.kind() == "decorated_definition"
                        && p.parent().is_some_and(|g| g.kind() == "module"))
            });
            let name = name_of(node, src).unwrap_or_default();
            match kind {
                "function_definition" if top_level && !name.starts_with('_') => {
                    add(SymbolKind::Function, name, signature(node, src))
                }
                "class_definition" if top_level && !name.starts_with('_') => {
                    add(SymbolKind::Type, name, signature(node, src))
                }
                _ => {}
            }
        }
        Lang::TypeScript | Lang::Tsx | Lang::JavaScript => {
            let exported = node
                .parent()
                .is_some_and(|p| p.kind() == "export_statement");
            match kind {
                "function_declaration" | "generator_function_declaration" if exported => add(
                    SymbolKind::Function,
                    name_of(node, src).unwrap_or_default(),
                    signature(node, src),
                ),
                "class_declaration"
                | "interface_declaration"
                | "type_alias_declaration"
                | "enum_declaration"
                    if exported =>
                {
                    add(
                        SymbolKind::Type,
                        name_of(node, src).unwrap_or_default(),
                        signature(node, src),
                    )
                }
                "lexical_declaration" if exported => {
                    let mut cursor = node.walk();
                    for d in node
                        .children(&mut cursor)
                        .filter(|c| c.kind() == "variable_declarator")
                    {
                        add(
                            SymbolKind::Function,
                            name_of(d, src).unwrap_or_default(),
                            signature(d, src),
                        );
                    }
                }
                _ => {}
            }
        }
        Lang::Go => {
            let exported = |n: &str| n.chars().next().is_some_and(char::is_uppercase);
            match kind {
                "function_declaration" | "method_declaration" => {
                    let name = name_of(node, src).unwrap_or_default();
                    if exported(name) {
                        add(SymbolKind::Function, name, signature(node, src));
                    }
                }
                "type_spec" => {
                    let name = name_of(node, src).unwrap_or_default();
                    if exported(name) {
                        add(SymbolKind::Type, name, signature(node, src));
                    }
                }
                _ => {}
            }
        }
    }
    if matches!(kind, "call_expression" | "call") {
        call(lang, node, src, &mut add);
    }
}

const ROUTE_CALLS: [&str; 20] = [
    "route",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "api_route",
    "add_url_rule",
    "HandleFunc",
    "Handle",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "Get",
    "Post",
    "nest",
];
const FLAG_CALLS: [&str; 16] = [
    "add_argument",
    "option",
    "requiredOption",
    "String",
    "Bool",
    "Int",
    "Int64",
    "Uint",
    "Float64",
    "Duration",
    "StringVar",
    "BoolVar",
    "IntVar",
    "DurationVar",
    "Flag",
    "flag",
];

/// Flags and routes from calls: `add_argument("--wrap")`, `.option("--wrap <mode>")`,
/// `flag.String("wrap", …)`, `app.get("/export")`, `.route("/x", get(h))`, `HandleFunc("/x", …)`.
fn call(lang: Lang, node: Node, src: &[u8], add: &mut impl FnMut(SymbolKind, &str, String)) {
    let Some(callee) = node.child_by_field_name("function") else {
        return;
    };
    let callee_text = text(callee, src);
    let name = callee_text.rsplit(['.', ':']).next().unwrap_or_default();
    let Some(args) = node.child_by_field_name("arguments") else {
        return;
    };
    let mut cursor = args.walk();
    let strings: Vec<String> = args
        .children(&mut cursor)
        .filter(|c| c.kind().contains("string"))
        .map(|c| unquote(text(c, src)))
        .collect();
    let Some(first) = strings.first() else { return };
    if ROUTE_CALLS.contains(&name) && first.starts_with('/') && looks_like_path(first) {
        let method = name.to_ascii_uppercase();
        let route = if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str())
        {
            format!("{method} {first}")
        } else {
            first.clone()
        };
        add(SymbolKind::Route, &route, String::new());
    }
    if FLAG_CALLS.contains(&name) {
        // Go's flag package takes the bare name as the first string.
        let go_flag = lang == Lang::Go && callee_text.starts_with("flag.");
        for s in &strings {
            let token = s.split([' ', ',', '=']).next().unwrap_or_default();
            if token.starts_with("--") && token.len() > 2 {
                add(SymbolKind::Flag, token, String::new());
            } else if go_flag && !token.is_empty() && !token.contains(' ') {
                add(SymbolKind::Flag, &format!("-{token}"), String::new());
                break;
            }
        }
    }
}

/// `#[arg(long)]` on a clap field, `#[get("/x")]` route macros.
fn rust_attribute(node: Node, src: &[u8], add: &mut impl FnMut(SymbolKind, &str, String)) {
    let attr = text(node, src);
    for verb in ["get", "post", "put", "patch", "delete"] {
        if let Some(rest) = attr.strip_prefix(&format!("#[{verb}(\""))
            && let Some(path) = rest.split('"').next()
        {
            add(
                SymbolKind::Route,
                &format!("{} {path}", verb.to_uppercase()),
                String::new(),
            );
        }
    }
    if !(attr.starts_with("#[arg(") || attr.starts_with("#[clap(")) || !attr.contains("long") {
        return;
    }
    let explicit = attr
        .split("long")
        .nth(1)
        .and_then(|r| r.trim_start().strip_prefix('='))
        .and_then(|r| r.trim_start().strip_prefix('"'))
        .and_then(|r| r.split('"').next())
        .map(str::to_owned);
    let field = std::iter::successors(node.next_named_sibling(), |n| n.next_named_sibling())
        .find(|n| n.kind() != "attribute_item" && n.kind() != "line_comment");
    let name = explicit.or_else(|| {
        field
            .filter(|f| f.kind() == "field_declaration")
            .and_then(|f| name_of(f, src))
            .map(|n| n.replace('_', "-"))
    });
    if let Some(name) = name {
        add(SymbolKind::Flag, &format!("--{name}"), String::new());
    }
}

fn unquote(s: &str) -> String {
    let s = s.trim_start_matches(|c: char| c.is_ascii_alphabetic()); // Python r"", b"", f""
    s.trim_matches(|c| c == '"' || c == '\'' || c == '`')
        .to_owned()
}

fn looks_like_path(s: &str) -> bool {
    s.len() > 1
        && s.len() < 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.{}:<>*".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(path: &str, old: &str, new: &str) -> Vec<String> {
        diff_symbols(path, Some(old), Some(new))
            .into_iter()
            .filter(|c| c.change == Change::Added)
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn rust_public_items_clap_flags_and_axum_routes() {
        let old = "pub fn parse() {}\nfn helper() {}\n";
        let new = r#"
pub fn parse() {}
pub fn wrap(width: usize) {}
fn helper2() {}
pub struct Options { x: u8 }
#[derive(clap::Parser)]
struct Cli {
    /// How to wrap.
    #[arg(long, default_value = "none")]
    wrap_mode: String,
    #[arg(long = "width")]
    w: usize,
}
fn router() -> Router { Router::new().route("/api/v1/export", get(export)) }
"#;
        let mut got = added("src/lib.rs", old, new);
        got.sort();
        assert_eq!(
            got,
            vec![
                "--width",
                "--wrap-mode",
                "/api/v1/export",
                "Options",
                "wrap"
            ]
        );
        let changed = diff_symbols(
            "src/lib.rs",
            Some("pub fn parse() {}"),
            Some("pub fn parse(strict: bool) {}"),
        );
        assert_eq!(
            changed,
            vec![SymbolChange {
                kind: SymbolKind::Function,
                name: "parse".into(),
                change: Change::Changed
            }]
        );
        let removed = diff_symbols("src/lib.rs", Some("pub fn gone() {}"), Some(""));
        assert_eq!(removed[0].describe(), "removed `gone` function");
    }

    #[test]
    fn typescript_and_javascript_exports_options_and_express_routes() {
        let new = r#"
export function exportCsv(rows: Row[]): string { return "" }
export interface Row { id: number }
export const VERSION = "1";
function internal() {}
program.option("--wrap <mode>", "wrap lines");
app.post("/api/export", handler);
"#;
        let mut got = added("web/app.ts", "", new);
        got.sort();
        assert_eq!(
            got,
            vec!["--wrap", "POST /api/export", "Row", "VERSION", "exportCsv"]
        );
        let js = added(
            "cli.js",
            "",
            "export class Exporter {}\nrouter.get('/health', h)\n",
        );
        assert_eq!(js, vec!["Exporter", "GET /health"]);
    }

    #[test]
    fn python_defs_argparse_flags_and_decorator_routes() {
        let new = r#"
import argparse
def main(): pass
def _private(): pass
class Exporter:
    def method(self): pass
parser.add_argument("--wrap", choices=["word"])
@app.get("/items/{id}")
def read_item(id): pass
"#;
        let mut got = added("tool.py", "", new);
        got.sort();
        assert_eq!(
            got,
            vec!["--wrap", "Exporter", "GET /items/{id}", "main", "read_item"]
        );
    }

    #[test]
    fn go_exported_names_flags_and_handlers() {
        let new = r#"
package main
import "flag"
func Export() {}
func helper() {}
type Server struct{}
func main() {
    wrap := flag.String("wrap", "none", "how to wrap")
    http.HandleFunc("/export", handler)
}
"#;
        let mut got = added("main.go", "package main\n", new);
        got.sort();
        assert_eq!(got, vec!["-wrap", "/export", "Export", "Server"]);
    }

    #[test]
    fn secrets_in_added_lines_are_found_but_not_in_untouched_ones() {
        let key = "AKIAIOSFODNN7EXAMPLE";
        let old = format!("old = \"{key}\"\n");
        let a = analyze_file("config.env", Some(&old), Some(&format!("{old}x = 1\n")));
        assert!(a.secrets.is_empty(), "already there before this change");
        let a = analyze_file(
            "config.env",
            None,
            Some("TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n"),
        );
        assert_eq!(a.secrets, vec!["GitHub token"]);
        assert!(!format!("{a:?}").contains("ghp_"), "only the kind is kept");
    }

    #[test]
    fn other_files_and_garbage_give_nothing() {
        assert!(diff_symbols("README.md", None, Some("# hi")).is_empty());
        assert!(diff_symbols("x.rs", None, Some("fn ((( {{{ garbage")).is_empty());
    }
}
