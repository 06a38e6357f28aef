//! The fake's rule table (`src/fake/RULES.md`) stays true: every rule is named by a test, has
//! a source, and every rule enforced by the API documents still has its constraint there (an
//! `update-spec` that dropped one would fail here, not silently loosen the fake).

use serde_json::Value;
use std::collections::BTreeSet;

struct Rule {
    id: String,
    where_: String,
    source: String,
}

fn rules() -> Vec<Rule> {
    let table = std::fs::read_to_string("src/fake/RULES.md").unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Id ") && !l.starts_with("| ---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a rule row has 4 cells: {l}");
            Rule {
                id: cells[0].to_owned(),
                where_: cells[2].to_owned(),
                source: cells[3].to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_rule_has_a_unique_id_a_place_and_a_source() {
    let rules = rules();
    assert!(rules.len() > 100, "the table was read: {}", rules.len());
    let mut seen = BTreeSet::new();
    for r in &rules {
        assert!(seen.insert(r.id.clone()), "{} appears twice", r.id);
        assert!(
            r.where_.starts_with("spec") || r.where_.starts_with("code"),
            "{}: {}",
            r.id,
            r.where_
        );
        assert!(!r.source.is_empty(), "{} has no source", r.id);
    }
}

#[test]
fn every_rule_is_held_by_a_test() {
    let mut tests = String::new();
    for entry in std::fs::read_dir("tests").unwrap() {
        let path = entry.unwrap().path();
        let is_rust = path.extension().is_some_and(|e| e == "rs");
        if is_rust && !path.ends_with("fake_rules.rs") {
            tests.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let untested: Vec<String> = rules()
        .into_iter()
        .map(|r| r.id)
        .filter(|id| {
            !tests
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .any(|w| w == id)
        })
        .collect();
    assert!(untested.is_empty(), "rules no test names: {untested:?}");
}

fn documents() -> Vec<Value> {
    [
        "spec/conversation.yaml",
        "spec/templates.yaml",
        "spec/batch.yaml",
    ]
    .iter()
    .map(|p| serde_norway::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
    .collect()
}

/// The schema `name` (a component schema's property, or an operation's parameter).
fn find<'a>(docs: &'a [Value], owner: &str, item: &str) -> Option<&'a Value> {
    docs.iter().find_map(|d| {
        if let Some(prop) = d.pointer(&format!("/components/schemas/{owner}/properties/{item}")) {
            return Some(prop);
        }
        d["paths"].as_object()?.values().find_map(|path| {
            path.as_object()?.values().find_map(|op| {
                if op.get("operationId")?.as_str()? != owner {
                    return None;
                }
                op.get("parameters")?
                    .as_array()?
                    .iter()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some(item))
                    .map(|p| p.get("schema").unwrap_or(p))
            })
        })
    })
}

/// Whether `target` (a schema, whose `required` list must exist, or `Operation.parameter`)
/// is required.
fn required(docs: &[Value], target: &str) -> bool {
    match target.split_once('.') {
        None => docs.iter().any(|d| {
            d.pointer(&format!("/components/schemas/{target}/required"))
                .is_some_and(|r| r.as_array().is_some_and(|r| !r.is_empty()))
        }),
        Some((op, param)) => docs.iter().any(|d| {
            d["paths"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.values())
                .filter_map(Value::as_object)
                .flat_map(|m| m.values())
                .any(|o| {
                    o.get("operationId").and_then(Value::as_str) == Some(op)
                        && o.get("parameters")
                            .and_then(Value::as_array)
                            .is_some_and(|ps| {
                                ps.iter().any(|p| {
                                    p.get("name").and_then(Value::as_str) == Some(param)
                                        && p.get("required") == Some(&Value::Bool(true))
                                })
                            })
                })
        }),
    }
}

#[test]
fn every_rule_the_documents_enforce_is_still_in_them() {
    let docs = documents();
    let mut checked = 0;
    for r in rules() {
        // "spec `Schema.property` keyword value" (the first such mention of the row).
        let Some(rest) = r.where_.strip_prefix("spec `") else {
            continue;
        };
        let Some((target, after)) = rest.split_once('`') else {
            continue;
        };
        let mut words = after.split_whitespace();
        let (Some(keyword), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let keyword = keyword.trim_end_matches(';');

        let value = value.trim_end_matches(';').trim_matches('`');
        if keyword == "required" {
            assert!(
                required(&docs, target),
                "{}: {target} is not required",
                r.id
            );
            checked += 1;
            continue;
        }
        let (owner, item) = target.split_once('.').unwrap();
        let schema = find(&docs, owner, item)
            .unwrap_or_else(|| panic!("{}: {target} is not in spec/", r.id));
        // A pattern on an array of ids is its items'.
        let schema = match schema.get("items") {
            Some(items) if schema.get(keyword).is_none() => items,
            _ => schema,
        };
        let found = schema.get(keyword).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        assert_eq!(
            found.as_deref(),
            Some(value),
            "{}: {target} {keyword}",
            r.id
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} rows checked");
}
