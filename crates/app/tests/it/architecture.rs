//! The core's shape, as tests: it names no web framework, and no two of its
//! modules import each other in a circle (so each room can be read, tested
//! and moved on its own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates a face uses and the core must not: the core knows no transport.
const WEB_FRAMEWORKS: &[&str] = &[
    "axum",
    "http",
    "hyper",
    "tower",
    "tower-http",
    "utoipa",
    "utoipa-axum",
    "async-graphql",
    "reqwest",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_core_names_no_web_framework() {
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section != "[dependencies]" {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        assert!(
            !WEB_FRAMEWORKS.contains(&name),
            "crates/app/Cargo.toml depends on {name}: the core must not know a web framework"
        );
    }
}

/// Every `.rs` file under `src`, as its module path (`network`,
/// `sessions::engine`, `ports::payments`).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            if name != "lib" {
                out.insert(name, path);
            }
        }
    }
    out
}

/// The modules a file names through `crate::` paths (the longest known
/// module each path starts with), outside its tests and comments (a doc link
/// is not a dependency).
fn imports(text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        for len in (1..=segments.len()).rev() {
            let candidate = segments[..len].join("::");
            if known.contains_key(&candidate) {
                out.insert(candidate);
                break;
            }
        }
    }
    out
}

#[test]
fn no_two_modules_of_the_core_import_each_other_in_a_circle() {
    let known = modules(&crate_dir().join("src"));
    assert!(known.contains_key("network") && known.contains_key("sessions::engine"));
    let graph: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|(name, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            let mut deps = imports(&text, &known);
            deps.remove(name);
            (name.clone(), deps)
        })
        .collect();
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "modules of the core import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

/// A circle in `graph` (module -> the modules it imports), if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, done, path) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_circle_finder_finds_a_circle() {
    // The test above must be able to fail: two modules that name each other.
    let mut known = BTreeMap::new();
    known.insert("a".to_owned(), PathBuf::new());
    known.insert("b".to_owned(), PathBuf::new());
    assert!(imports("use crate::b::Thing;", &known).contains("b"));
    assert!(imports("crate::a::f(); // and crate::b", &known).len() == 2);
    assert!(imports("#[cfg(test)]\nuse crate::b::Thing;", &known).is_empty());
    assert!(imports("/// See [`crate::b::Thing`].\nfn f() {}", &known).is_empty());
    let edge = |from: &str, to: &[&str]| {
        (
            from.to_owned(),
            to.iter().map(|t| (*t).to_owned()).collect::<BTreeSet<_>>(),
        )
    };
    let circle: BTreeMap<_, _> = [edge("a", &["c"]), edge("b", &["a"]), edge("c", &["b"])].into();
    assert_eq!(find_circle(&circle).unwrap(), ["a", "c", "b", "a"]);
    let chain: BTreeMap<_, _> = [edge("a", &["b", "c"]), edge("b", &["c"]), edge("c", &[])].into();
    assert_eq!(find_circle(&chain), None);
}
