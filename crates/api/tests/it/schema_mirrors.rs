//! `plugway_api::schemas` describes the core's network types for the
//! OpenAPI document (the core knows no utoipa). Each mirror must keep the
//! fields, types and serde attributes of the type it describes; this test
//! reads both and fails when they part ways.

use std::collections::BTreeMap;

const MIRRORS: &str = include_str!("../../src/schemas.rs");
const CORE: &[&str] = &[
    include_str!("../../../app/src/views.rs"),
    include_str!("../../../app/src/network.rs"),
    include_str!("../../../app/src/revisions.rs"),
    include_str!("../../../app/src/site_import.rs"),
    include_str!("../../../store/src/network.rs"),
];

/// Each `pub struct Name { .. }` of a source: its field lines (serde
/// attributes and `pub name: Type`), without docs and schema attributes.
fn structs(source: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("pub struct ")
            .and_then(|rest| rest.strip_suffix(" {"))
        else {
            continue;
        };
        let mut fields = Vec::new();
        for line in lines.by_ref() {
            if line.starts_with('}') {
                break;
            }
            let line = line.trim();
            if line.starts_with("///") || line.starts_with("#[schema") || line.is_empty() {
                continue;
            }
            fields.push(line.to_owned());
        }
        out.insert(name.to_owned(), fields);
    }
    out
}

#[test]
fn every_schema_mirror_keeps_the_fields_of_its_core_type() {
    let mirrors = structs(MIRRORS);
    let core: BTreeMap<String, Vec<String>> = CORE.iter().flat_map(|s| structs(s)).collect();
    assert!(mirrors.len() >= 15, "mirrors found: {:?}", mirrors.keys());
    for (name, fields) in &mirrors {
        let theirs = core
            .get(name)
            .unwrap_or_else(|| panic!("schemas::{name} mirrors no core type of that name"));
        assert_eq!(
            fields, theirs,
            "schemas::{name} and the core's {name} have parted ways"
        );
    }
}

#[test]
fn the_comparison_sees_a_changed_field() {
    let a = structs("pub struct A {\n    /// doc\n    pub x: i64,\n}\n");
    let b = structs("pub struct A {\n    #[schema(value_type = String)]\n    pub x: i32,\n}\n");
    assert_eq!(a["A"], ["pub x: i64,"]);
    assert_ne!(a["A"], b["A"]);
}
