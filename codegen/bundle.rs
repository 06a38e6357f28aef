//! Joining documents before generation. progenitor reads one document and only local `$ref`s:
//! - our callbacks document merges into the Conversation document (its schemas become types of
//!   the conversation module, beside the API's own);
//! - the Template and Batch documents refer into the Conversation document
//!   (`conversation.yaml#/components/schemas/AppMessage`): each such reference becomes local,
//!   to a placeholder the generator is told to replace with the conversation module's type. One
//!   schema is one Rust type in all three modules, never a copy.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The file name the other documents use to refer to the Conversation document.
pub const CONVERSATION: &str = "conversation.yaml";

const LOCAL: &str = "#/components/schemas/";

/// Adds `extra`'s component schemas to `doc`, its references into the Conversation document
/// made local. A name both define is an error: silently keeping one would change a type.
pub fn merge_schemas(doc: &mut Value, extra: &Value, extra_name: &str) -> Result<(), String> {
    let mut incoming = extra
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for schema in incoming.values_mut() {
        localize(schema, &mut BTreeSet::new());
    }
    let schemas = schemas_mut(doc);
    for (name, schema) in incoming {
        if schemas.contains_key(&name) {
            return Err(format!(
                "{extra_name} defines schema {name}, which {CONVERSATION} defines too"
            ));
        }
        schemas.insert(name, schema);
    }
    Ok(())
}

/// Makes every reference into the Conversation document local, with a placeholder schema for
/// each target; returns the target names, sorted. The placeholders are never generated: the
/// caller replaces each with the conversation module's type of the same name.
pub fn link_external(doc: &mut Value) -> Vec<String> {
    let mut names = BTreeSet::new();
    localize(doc, &mut names);
    let schemas = schemas_mut(doc);
    for name in &names {
        schemas.entry(name.clone()).or_insert_with(|| {
            serde_json::json!({
                "type": "object",
                "description": format!("Defined in {CONVERSATION}."),
            })
        });
    }
    names.into_iter().collect()
}

/// Rewrites `conversation.yaml#/components/schemas/X` to `#/components/schemas/X`, collecting X.
fn localize(v: &mut Value, names: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(name) = r
                    .strip_prefix(CONVERSATION)
                    .and_then(|rest| rest.strip_prefix(LOCAL))
                {
                    names.insert(name.to_owned());
                    *r = format!("{LOCAL}{name}");
                }
            }
            for child in m.values_mut() {
                localize(child, names);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|x| localize(x, names)),
        _ => {}
    }
}

fn schemas_mut(doc: &mut Value) -> &mut Map<String, Value> {
    let root = doc
        .as_object_mut()
        .expect("an OpenAPI document is an object");
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    components
        .as_object_mut()
        .expect("components is an object")
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("schemas is an object")
}
