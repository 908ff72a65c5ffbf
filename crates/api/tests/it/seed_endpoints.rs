//! docs/seed-endpoints.md is kept true: every endpoint the seed documents
//! name has a row, each row's route is in the OpenAPI document (so it is
//! routed: `openapi::every_documented_operation_is_routed`), and each row
//! names a test that exists, which CI runs like every other.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The seed documents sit beside the repository (`../shared/seeds`).
pub(crate) fn seed(prefix: &str) -> String {
    let dir = workspace().join("../shared/seeds");
    let entry = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the seed documents are read from {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no seed {prefix} in {}", dir.display()));
    std::fs::read_to_string(entry).unwrap()
}

/// A path with every parameter (`:id`, `<int:id>`, `{id}`, a number) as
/// `{}` and no trailing slash, so a documented path and a route compare.
fn shape(path: &str) -> String {
    path.trim_end_matches('/')
        .split('/')
        .map(|segment| {
            let parameter = segment.starts_with(':')
                || (segment.starts_with('<') && segment.ends_with('>'))
                || (segment.starts_with('{') && segment.ends_with('}'))
                || (!segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()));
            if parameter {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `(seed, METHOD, shape)` of every endpoint the documents show, in each
/// document's own notation.
fn documented() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let mut add = |seed: &str, method: &str, path: &str| {
        out.insert((seed.to_owned(), method.to_uppercase(), shape(path)));
    };
    for call in seed000_calls() {
        add("000", &call.method, &call.path);
    }
    // 001: "POST /api/v1/user/otp-request", "Post /api/v1/devices/:id/start".
    for line in seed("001").lines() {
        if let Some((method, rest)) = line.split_once(' ') {
            if METHODS.contains(&method.to_uppercase().as_str()) && rest.starts_with('/') {
                add(
                    "001",
                    method,
                    rest.split_whitespace().next().unwrap_or(rest),
                );
            }
        }
    }
    // 002: "* **<base_url>/auth/register/**", then "request_method--POST".
    let doc = seed("002");
    let mut path = None;
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("* **<base_url>") {
            path = Some(format!("/api/v1{}", rest.trim_end_matches("**")));
        } else if let (Some(methods), Some(p)) = (line.strip_prefix("request_method--"), &path) {
            // "PUT/PATCH": either.
            for method in methods.trim().split('/') {
                add("002", method, p);
            }
            path = None;
        }
    }
    // 003: "POST Register Charge Point Operator - /ocpi/cpo/2.2/register".
    for line in seed("003").lines() {
        if let (Some((method, _)), Some((_, path))) =
            (line.split_once(' '), line.rsplit_once(" - "))
        {
            if METHODS.contains(&method) && path.starts_with('/') {
                add("003", method, path.trim());
            }
        }
    }
    // 004: "POST: `/webhooks/generate_charge_point`" under /api/v1.
    for line in seed("004").lines() {
        if let Some((method, rest)) = line.split_once(": `") {
            if METHODS.contains(&method) {
                add(
                    "004",
                    method,
                    &format!("/api/v1{}", rest.trim_end_matches('`')),
                );
            }
        }
    }
    out
}

/// One call line of seed 000's document.
pub(crate) struct Seed000Call {
    pub method: String,
    pub path: String,
    /// The rest of the line after the path: its query as far as the
    /// document shows it (some lines are cut short).
    pub query: String,
}

/// Every call line of seed 000's document, in its notations:
/// "PUT-(http://<host>:8000/customer/Vehicle/?vehicle_id=...",
/// "POST-[Send OTP](https:http://<host>:8000/host/SendOtp/?phone=...)",
/// "Post- http://...", and bare "http://..." lines that are GETs.
pub(crate) fn seed000_calls() -> Vec<Seed000Call> {
    seed("000")
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(":8000")?;
            let path: String = after
                .chars()
                .take_while(|c| !matches!(c, '?' | '\'' | ')' | ' '))
                .collect();
            let method = before
                .split(['-', ' '])
                .next()
                .map(str::to_uppercase)
                .filter(|m| METHODS.contains(&m.as_str()))
                .unwrap_or_else(|| "GET".to_owned());
            let query = after.get(path.len()..).unwrap_or_default().to_owned();
            Some(Seed000Call {
                method,
                path,
                query,
            })
        })
        .collect()
}

struct Row {
    seed: String,
    method: String,
    documented: String,
    route: String,
    test: String,
}

fn rows() -> Vec<Row> {
    let table = std::fs::read_to_string(workspace().join("docs/seed-endpoints.md")).unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| 0"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 5, "a row has five cells: {line}");
            Row {
                seed: cells[0].to_owned(),
                method: cells[1].to_owned(),
                documented: cells[2]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                route: cells[3].to_owned(),
                test: cells[4].to_owned(),
            }
        })
        .collect()
}

/// Whether `crates/<crate>/tests/it/<module>.rs` defines `async fn <name>`.
fn test_exists(reference: &str) -> bool {
    let parts: Vec<&str> = reference.split("::").collect();
    let [krate, module, name] = parts.as_slice() else {
        return false;
    };
    let file = workspace().join(format!("crates/{krate}/tests/it/{module}.rs"));
    std::fs::read_to_string(file).is_ok_and(|text| text.contains(&format!("async fn {name}(")))
}

#[test]
fn every_seed_endpoint_has_a_route_and_a_test() {
    let documented = documented();
    assert!(
        documented.len() >= 110,
        "the documents were read: {documented:?}"
    );
    let rows = rows();
    let listed: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r.seed.clone(), r.method.clone(), shape(&r.documented)))
        .collect();
    let missing: Vec<_> = documented.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "documented endpoints without a row: {missing:?}"
    );

    let doc = serde_json::to_value(plugway_api::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let routed: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), shape(path)))
        })
        .collect();
    for row in &rows {
        let served = routed.contains(&(row.method.clone(), shape(&row.documented)));
        if row.route == "not served yet" {
            assert!(
                !served,
                "{} {} is served now: give its row the route and a test",
                row.method, row.documented
            );
            continue;
        }
        assert!(
            served && shape(&row.route) == shape(&row.documented),
            "{} {}: no such route in the OpenAPI document ({})",
            row.method,
            row.documented,
            row.route
        );
        assert!(
            test_exists(&row.test),
            "{} {}: the test {} does not exist",
            row.method,
            row.documented,
            row.test
        );
    }
}

#[test]
fn paths_compare_by_shape() {
    assert!(documented().contains(&(
        "000".to_owned(),
        "DELETE".to_owned(),
        "/customer/VehiclePhoto".to_owned()
    )));
    assert!(documented().contains(&(
        "000".to_owned(),
        "GET".to_owned(),
        "/customer/SearchView".to_owned()
    )));
    assert_eq!(
        shape("/api/v1/plans/<int:plan_id>"),
        shape("/api/v1/plans/{id}")
    );
    assert_eq!(shape("/api/v1/plans/1/"), "/api/v1/plans/{}");
    assert_eq!(
        shape("/api/v1/devices/:id/start"),
        "/api/v1/devices/{}/start"
    );
    assert_ne!(
        shape("/api/v1/devices/:id/start"),
        shape("/api/v1/devices/:id/finish")
    );
    assert!(!test_exists("api::seed001::no_such_test"));
    assert!(test_exists(
        "api::seed001::otp_sign_in_creates_the_account_once"
    ));
}
