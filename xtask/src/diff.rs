//! A semantic diff of two OpenAPI documents: what a client user would notice.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Changes, grouped; every list is sorted so the output is stable.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Operations only in the new document, as `id  METHOD path`.
    pub operations_added: Vec<String>,
    /// Operations only in the old document.
    pub operations_removed: Vec<String>,
    /// Changes inside operations present in both.
    pub operations_changed: Vec<String>,
    /// Component schemas only in the new document.
    pub schemas_added: Vec<String>,
    /// Component schemas only in the old document.
    pub schemas_removed: Vec<String>,
    /// Properties added, removed, retyped or made (not) required.
    pub properties: Vec<String>,
    /// Enum values added or removed.
    pub enum_values: Vec<String>,
}

impl Diff {
    /// Nothing a client would notice changed.
    pub fn is_empty(&self) -> bool {
        self.groups().iter().all(|(_, v)| v.is_empty())
    }

    fn groups(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("Operations added", &self.operations_added),
            ("Operations removed", &self.operations_removed),
            ("Operations changed", &self.operations_changed),
            ("Schemas added", &self.schemas_added),
            ("Schemas removed", &self.schemas_removed),
            ("Properties", &self.properties),
            ("Enum values", &self.enum_values),
        ]
    }
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No changes");
        }
        for (title, lines) in self.groups() {
            if lines.is_empty() {
                continue;
            }
            writeln!(f, "{title} ({}):", lines.len())?;
            for l in lines {
                writeln!(f, "  {l}")?;
            }
        }
        Ok(())
    }
}

/// Compares `old` (the vendored spec) with `new` (upstream's).
pub fn diff(old: &Value, new: &Value) -> Diff {
    let mut d = Diff::default();
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (id, op) in &new_ops {
        match old_ops.get(id) {
            None => {
                d.operations_added
                    .push(format!("+ {id}  {} {}", op.method.to_uppercase(), op.path))
            }
            Some(before) => compare_operation(id, before, op, &mut d.operations_changed),
        }
    }
    for (id, op) in &old_ops {
        if !new_ops.contains_key(id) {
            d.operations_removed
                .push(format!("- {id}  {} {}", op.method.to_uppercase(), op.path));
        }
    }

    let (old_s, new_s) = (schemas(old), schemas(new));
    for (name, schema) in &new_s {
        match old_s.get(name) {
            None => d.schemas_added.push(format!("+ {name}")),
            Some(before) => compare_schema(name, before, schema, &mut d),
        }
    }
    for name in old_s.keys() {
        if !new_s.contains_key(name) {
            d.schemas_removed.push(format!("- {name}"));
        }
    }
    for v in [
        &mut d.operations_added,
        &mut d.operations_removed,
        &mut d.operations_changed,
        &mut d.schemas_added,
        &mut d.schemas_removed,
        &mut d.properties,
        &mut d.enum_values,
    ] {
        v.sort();
        v.dedup();
    }
    d
}

struct Operation<'a> {
    method: &'static str,
    path: String,
    params: BTreeMap<String, (bool, String)>,
    request: Option<String>,
    responses: BTreeMap<String, String>,
    raw: &'a Value,
}

fn operations(doc: &Value) -> BTreeMap<String, Operation<'_>> {
    let mut out = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let shared = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op.get("operationId").and_then(Value::as_str).map_or_else(
                || format!("{} {path}", method.to_uppercase()),
                str::to_owned,
            );
            let mut params = BTreeMap::new();
            for p in [shared, op.get("parameters")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
            {
                let p = resolve(doc, p);
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let place = p.get("in").and_then(Value::as_str).unwrap_or("?");
                let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                params.insert(
                    format!("{place} {name}"),
                    (required, describe(p.get("schema"))),
                );
            }
            let request = op
                .get("requestBody")
                .map(|b| resolve(doc, b))
                .and_then(|b| b.pointer("/content/application~1json/schema"))
                .map(|s| describe(Some(s)));
            let mut responses = BTreeMap::new();
            if let Some(rs) = op.get("responses").and_then(Value::as_object) {
                for (status, r) in rs {
                    let schema = resolve(doc, r).pointer("/content/application~1json/schema");
                    responses.insert(
                        status.clone(),
                        schema.map_or("no body".into(), |s| describe(Some(s))),
                    );
                }
            }
            out.insert(
                id,
                Operation {
                    method,
                    path: path.clone(),
                    params,
                    request,
                    responses,
                    raw: op,
                },
            );
        }
    }
    out
}

fn compare_operation(id: &str, a: &Operation, b: &Operation, out: &mut Vec<String>) {
    if a.method != b.method || a.path != b.path {
        out.push(format!(
            "~ {id}: {} {} -> {} {}",
            a.method.to_uppercase(),
            a.path,
            b.method.to_uppercase(),
            b.path
        ));
    }
    for (name, (req, ty)) in &b.params {
        match a.params.get(name) {
            None => out.push(format!(
                "~ {id}: parameter {name} added ({ty}{})",
                if *req { ", required" } else { "" }
            )),
            Some((req0, ty0)) => {
                if ty0 != ty {
                    out.push(format!("~ {id}: parameter {name} type {ty0} -> {ty}"));
                }
                if req0 != req {
                    out.push(format!(
                        "~ {id}: parameter {name} {}",
                        if *req { "now required" } else { "now optional" }
                    ));
                }
            }
        }
    }
    for name in a.params.keys() {
        if !b.params.contains_key(name) {
            out.push(format!("~ {id}: parameter {name} removed"));
        }
    }
    if a.request != b.request {
        let show = |r: &Option<String>| r.clone().unwrap_or_else(|| "none".into());
        out.push(format!(
            "~ {id}: request body {} -> {}",
            show(&a.request),
            show(&b.request)
        ));
    }
    for (status, ty) in &b.responses {
        match a.responses.get(status) {
            None => out.push(format!("~ {id}: response {status} added ({ty})")),
            Some(ty0) if ty0 != ty => out.push(format!("~ {id}: response {status} {ty0} -> {ty}")),
            _ => {}
        }
    }
    for status in a.responses.keys() {
        if !b.responses.contains_key(status) {
            out.push(format!("~ {id}: response {status} removed"));
        }
    }
    if a.raw.get("deprecated") != b.raw.get("deprecated") {
        out.push(format!("~ {id}: deprecated flag changed"));
    }
}

fn schemas(doc: &Value) -> BTreeMap<String, &Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

/// Properties of an object schema, including those of `allOf` members declared inline.
fn properties(s: &Value) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    if let Some(p) = s.get("properties").and_then(Value::as_object) {
        out.extend(p.iter().map(|(k, v)| (k.clone(), v)));
    }
    for member in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(properties(member));
    }
    out
}

fn required(s: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for member in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(required(member));
    }
    out
}

fn enum_values(s: &Value) -> Option<BTreeSet<String>> {
    let values = s
        .get("enum")
        .or_else(|| s.pointer("/items/enum"))?
        .as_array()?;
    Some(
        values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
    )
}

fn compare_enums(what: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if let (Some(x), Some(y)) = (enum_values(a), enum_values(b)) {
        out.extend(y.difference(&x).map(|v| format!("+ {what}: {v}")));
        out.extend(x.difference(&y).map(|v| format!("- {what}: {v}")));
    }
}

fn compare_schema(name: &str, a: &Value, b: &Value, d: &mut Diff) {
    let (ta, tb) = (describe(Some(a)), describe(Some(b)));
    if ta != tb {
        d.properties.push(format!("~ {name}: type {ta} -> {tb}"));
    }
    compare_enums(name, a, b, &mut d.enum_values);
    let (pa, pb) = (properties(a), properties(b));
    let (ra, rb) = (required(a), required(b));
    for (prop, sb) in &pb {
        let here = format!("{name}.{prop}");
        match pa.get(prop) {
            None => d.properties.push(format!(
                "+ {here} ({}{})",
                describe(Some(sb)),
                if rb.contains(prop) { ", required" } else { "" }
            )),
            Some(sa) => {
                let (x, y) = (describe(Some(sa)), describe(Some(sb)));
                if x != y {
                    d.properties.push(format!("~ {here}: type {x} -> {y}"));
                }
                if ra.contains(prop) != rb.contains(prop) {
                    let now = if rb.contains(prop) {
                        "now required"
                    } else {
                        "now optional"
                    };
                    d.properties.push(format!("~ {here}: {now}"));
                }
                compare_enums(&here, sa, sb, &mut d.enum_values);
            }
        }
    }
    for prop in pa.keys() {
        if !pb.contains_key(prop) {
            d.properties.push(format!("- {name}.{prop}"));
        }
    }
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// A short, comparable description of a schema's type: `string`, `integer(int64)`, `ref Contact`,
/// `array of ref Contact`, `map of string`, `object`, `oneOf(ref A, ref B)`.
pub fn describe(s: Option<&Value>) -> String {
    let Some(s) = s else { return "any".into() };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return format!("ref {}", r.rsplit('/').next().unwrap_or(r));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = s.get(key).and_then(Value::as_array) {
            let parts: Vec<_> = members.iter().map(|m| describe(Some(m))).collect();
            return format!("{key}({})", parts.join(", "));
        }
    }
    if let Some([only]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        return describe(Some(only));
    }
    let nullable = if s.get("nullable").and_then(Value::as_bool) == Some(true) {
        "?"
    } else {
        ""
    };
    let base = match s.get("type").and_then(Value::as_str) {
        Some("array") => format!("array of {}", describe(s.get("items"))),
        Some("object") | None if s.get("additionalProperties").is_some_and(Value::is_object) => {
            format!("map of {}", describe(s.get("additionalProperties")))
        }
        Some(t) => match s.get("format").and_then(Value::as_str) {
            Some(f) => format!("{t}({f})"),
            None => t.to_owned(),
        },
        None if s.get("properties").is_some() || s.get("allOf").is_some() => "object".into(),
        None => "any".into(),
    };
    format!("{base}{nullable}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(paths: Value, schemas: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}})
    }

    #[test]
    fn equal_documents_have_no_changes() {
        let a = doc(
            json!({"/a": {"get": {"operationId": "A"}}}),
            json!({"S": {"type": "string"}}),
        );
        let d = diff(&a, &a);
        assert!(d.is_empty());
        assert_eq!(d.to_string(), "No changes\n");
    }

    #[test]
    fn operations_are_matched_by_id_and_compared() {
        let a = doc(
            json!({"/a": {"get": {"operationId": "A", "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}}}}},
                   "/gone": {"delete": {}}}),
            json!({}),
        );
        let b = doc(
            json!({"/a2": {"get": {"operationId": "A", "parameters": [{"name": "x", "in": "query", "required": true, "schema": {"type": "integer"}},
                                                                       {"name": "y", "in": "query", "schema": {"type": "boolean"}}],
                    "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}}}}},
                    "post": {"operationId": "New", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}}}}}),
            json!({}),
        );
        let d = diff(&a, &b);
        assert_eq!(d.operations_added, ["+ New  POST /a2"]);
        assert_eq!(d.operations_removed, ["- DELETE /gone  DELETE /gone"]);
        assert_eq!(
            d.operations_changed,
            [
                "~ A: GET /a -> GET /a2",
                "~ A: parameter query x now required",
                "~ A: parameter query x type string -> integer",
                "~ A: parameter query y added (boolean)",
                "~ A: response 200 ref S -> ref T",
            ]
        );
    }

    #[test]
    fn schemas_properties_and_enums() {
        let a = doc(
            json!({}),
            json!({
                "Gone": {"type": "object"},
                "C": {"type": "string", "enum": ["A", "B"]},
                "O": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string"}, "n": {"type": "integer"}, "old": {"type": "string"},
                    "kind": {"type": "string", "enum": ["X"]}}}
            }),
        );
        let b = doc(
            json!({}),
            json!({
                "New": {"type": "object"},
                "C": {"type": "string", "enum": ["A", "C"]},
                "O": {"type": "object", "required": ["id", "n"], "properties": {
                    "id": {"type": "string"}, "n": {"type": "string"}, "fresh": {"type": "array", "items": {"$ref": "#/components/schemas/C"}},
                    "kind": {"type": "string", "enum": ["X", "Y"]}}}
            }),
        );
        let d = diff(&a, &b);
        assert_eq!(d.schemas_added, ["+ New"]);
        assert_eq!(d.schemas_removed, ["- Gone"]);
        assert_eq!(
            d.properties,
            [
                "+ O.fresh (array of ref C)",
                "- O.old",
                "~ O.n: now required",
                "~ O.n: type integer -> string"
            ]
        );
        assert_eq!(d.enum_values, ["+ C: C", "+ O.kind: Y", "- C: B"]);
        let text = d.to_string();
        assert!(text.starts_with("Schemas added (1):\n  + New\n"), "{text}");
    }

    #[test]
    fn describe_is_compact() {
        assert_eq!(
            describe(Some(&json!({"type": "integer", "format": "int64"}))),
            "integer(int64)"
        );
        assert_eq!(
            describe(Some(
                &json!({"type": "object", "additionalProperties": {"type": "string"}})
            )),
            "map of string"
        );
        assert_eq!(
            describe(Some(
                &json!({"allOf": [{"$ref": "#/components/schemas/X"}]})
            )),
            "ref X"
        );
        assert_eq!(
            describe(Some(&json!({"type": "string", "nullable": true}))),
            "string?"
        );
        assert_eq!(describe(None), "any");
    }
}
