//! A semantic diff of two OpenAPI documents: what a client user would notice, each change with
//! its semver impact on the generated API (`semver.rs`).

use crate::semver::{EnumSite, Impact, Level, Rules};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One change as shown (`+ Contact.nickname (string)`) and what it does to the generated API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub text: String,
    pub impact: Impact,
}

fn change(text: String, impact: Impact) -> Change {
    Change { text, impact }
}

/// Changes, grouped; every list is sorted so the output is stable.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Operations only in the new document, as `id  METHOD path`.
    pub operations_added: Vec<Change>,
    /// Operations only in the old document.
    pub operations_removed: Vec<Change>,
    /// Changes inside operations present in both.
    pub operations_changed: Vec<Change>,
    /// Component schemas only in the new document.
    pub schemas_added: Vec<Change>,
    /// Component schemas only in the old document.
    pub schemas_removed: Vec<Change>,
    /// Properties added, removed, retyped or made (not) required; objects closed or opened.
    pub properties: Vec<Change>,
    /// Enum values added or removed.
    pub enum_values: Vec<Change>,
    /// What only the build's normalisation shows (auto-paging, names it gives inline enums).
    pub generated: Vec<Change>,
}

impl Diff {
    /// Nothing a client would notice changed.
    pub fn is_empty(&self) -> bool {
        self.groups().iter().all(|(_, v)| v.is_empty())
    }

    /// Every change, group by group.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.groups().into_iter().flat_map(|(_, v)| v.iter())
    }

    /// The highest impact of any change; `None` when there is none.
    pub fn level(&self) -> Option<Level> {
        self.changes().map(|c| c.impact.level).max()
    }

    fn groups(&self) -> [(&'static str, &Vec<Change>); 8] {
        [
            ("Operations added", &self.operations_added),
            ("Operations removed", &self.operations_removed),
            ("Operations changed", &self.operations_changed),
            ("Schemas added", &self.schemas_added),
            ("Schemas removed", &self.schemas_removed),
            ("Properties", &self.properties),
            ("Enum values", &self.enum_values),
            ("Generated code", &self.generated),
        ]
    }
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No changes");
        }
        for (title, changes) in self.groups() {
            if changes.is_empty() {
                continue;
            }
            writeln!(f, "{title} ({}):", changes.len())?;
            for c in changes {
                writeln!(f, "  {}  [{}: {}]", c.text, c.impact.level, c.impact.reason)?;
            }
        }
        Ok(())
    }
}

/// Compares `old` (the vendored spec) with `new` (upstream's).
pub fn diff(old: &Value, new: &Value) -> Diff {
    diff_with(old, new, &BTreeSet::new())
}

/// [`diff`], knowing which of the document's schemas webhook payloads use (`callback_roots`):
/// they are read from the API like responses.
pub fn diff_with(old: &Value, new: &Value, callback_roots: &BTreeSet<String>) -> Diff {
    let rules = Rules::new(old, new, callback_roots);
    let mut d = Diff::default();
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (id, op) in &new_ops {
        match old_ops.get(id) {
            None => d.operations_added.push(change(
                format!("+ {id}  {} {}", op.method.to_uppercase(), op.path),
                rules.operation_added(id),
            )),
            Some(before) => compare_operation(
                &rules,
                id,
                before,
                op,
                &mut d.operations_changed,
                &mut d.enum_values,
            ),
        }
    }
    for (id, op) in &old_ops {
        if !new_ops.contains_key(id) {
            d.operations_removed.push(change(
                format!("- {id}  {} {}", op.method.to_uppercase(), op.path),
                rules.operation_removed(id),
            ));
        }
    }

    let (old_s, new_s) = (schemas(old), schemas(new));
    for (name, schema) in &new_s {
        match old_s.get(name) {
            None => d
                .schemas_added
                .push(change(format!("+ {name}"), rules.schema_added(name))),
            Some(before) => compare_schema(&rules, name, before, schema, &mut d),
        }
    }
    for name in old_s.keys() {
        if !new_s.contains_key(name) {
            d.schemas_removed
                .push(change(format!("- {name}"), rules.schema_removed(name)));
        }
    }
    d.generated = rules
        .generated()
        .into_iter()
        .map(|(text, impact)| change(text, impact))
        .collect();
    for v in [
        &mut d.operations_added,
        &mut d.operations_removed,
        &mut d.operations_changed,
        &mut d.schemas_added,
        &mut d.schemas_removed,
        &mut d.properties,
        &mut d.enum_values,
        &mut d.generated,
    ] {
        v.sort_by(|a, b| a.text.cmp(&b.text));
        v.dedup_by(|a, b| a.text == b.text);
    }
    d
}

struct Param<'a> {
    required: bool,
    ty: String,
    schema: Option<&'a Value>,
}

struct Operation<'a> {
    method: &'static str,
    path: String,
    params: BTreeMap<String, Param<'a>>,
    request: Option<String>,
    responses: BTreeMap<String, String>,
    tags: Vec<&'a str>,
    raw: &'a Value,
}

impl Operation<'_> {
    /// The body types of the success responses: what the generated method returns.
    fn success_types(&self) -> BTreeSet<&str> {
        self.responses
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .map(|(_, ty)| ty.as_str())
            .collect()
    }
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
                    Param {
                        required,
                        ty: describe(p.get("schema")),
                        schema: p.get("schema"),
                    },
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
            let tags = op
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.insert(
                id,
                Operation {
                    method,
                    path: path.clone(),
                    params,
                    request,
                    responses,
                    tags,
                    raw: op,
                },
            );
        }
    }
    out
}

fn compare_operation(
    rules: &Rules,
    id: &str,
    a: &Operation,
    b: &Operation,
    out: &mut Vec<Change>,
    enums: &mut Vec<Change>,
) {
    let mut push = |text: String, impact: Impact| out.push(change(text, impact));
    if a.method != b.method || a.path != b.path {
        push(
            format!(
                "~ {id}: {} {} -> {} {}",
                a.method.to_uppercase(),
                a.path,
                b.method.to_uppercase(),
                b.path
            ),
            rules.operation_moved(),
        );
    }
    if a.tags != b.tags {
        push(
            format!("~ {id}: tags {:?} -> {:?}", a.tags, b.tags),
            rules.tags_changed(id, &a.tags, &b.tags),
        );
    }
    for (name, p) in &b.params {
        match a.params.get(name) {
            None => push(
                format!(
                    "~ {id}: parameter {name} added ({}{})",
                    p.ty,
                    if p.required { ", required" } else { "" }
                ),
                rules.parameter_added(name, p.required),
            ),
            Some(p0) => {
                if p0.ty != p.ty {
                    push(
                        format!("~ {id}: parameter {name} type {} -> {}", p0.ty, p.ty),
                        rules.parameter_retyped(name),
                    );
                }
                if p0.required != p.required {
                    push(
                        format!(
                            "~ {id}: parameter {name} {}",
                            if p.required {
                                "now required"
                            } else {
                                "now optional"
                            }
                        ),
                        rules.parameter_required(name, p.required),
                    );
                }
                if let (Some(s0), Some(s)) = (p0.schema, p.schema) {
                    let what = format!("{id}: parameter {name}");
                    compare_enums(rules, &what, EnumSite::Parameter(id, name), s0, s, enums);
                }
            }
        }
    }
    for name in a.params.keys() {
        if !b.params.contains_key(name) {
            push(
                format!("~ {id}: parameter {name} removed"),
                rules.parameter_removed(name),
            );
        }
    }
    if a.request != b.request {
        let show = |r: &Option<String>| r.clone().unwrap_or_else(|| "none".into());
        push(
            format!(
                "~ {id}: request body {} -> {}",
                show(&a.request),
                show(&b.request)
            ),
            rules.request_body(a.request.as_deref(), b.request.as_deref()),
        );
    }
    let success_changed = a.success_types() != b.success_types();
    for (status, ty) in &b.responses {
        match a.responses.get(status) {
            None => push(
                format!("~ {id}: response {status} added ({ty})"),
                rules.response(status, success_changed),
            ),
            Some(ty0) if ty0 != ty => push(
                format!("~ {id}: response {status} {ty0} -> {ty}"),
                rules.response(status, success_changed),
            ),
            _ => {}
        }
    }
    for status in a.responses.keys() {
        if !b.responses.contains_key(status) {
            push(
                format!("~ {id}: response {status} removed"),
                rules.response(status, success_changed),
            );
        }
    }
    if a.raw.get("deprecated") != b.raw.get("deprecated") {
        push(
            format!("~ {id}: deprecated flag changed"),
            rules.deprecated(),
        );
    }
}

fn schemas(doc: &Value) -> BTreeMap<String, &Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

/// Properties of an object schema, including those of `allOf` members declared inline.
pub(crate) fn properties(s: &Value) -> BTreeMap<String, &Value> {
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

/// The strings of a YAML list (`required`, `tags`); nothing when it is not one.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Required properties of an object schema, including those of inline `allOf` members.
pub(crate) fn required(s: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = strings(s.get("required")).into_iter().collect();
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

fn compare_enums(
    rules: &Rules,
    what: &str,
    site: EnumSite,
    a: &Value,
    b: &Value,
    out: &mut Vec<Change>,
) {
    if let (Some(x), Some(y)) = (enum_values(a), enum_values(b)) {
        out.extend(
            y.difference(&x)
                .map(|v| change(format!("+ {what}: {v}"), rules.enum_value_added(site, v))),
        );
        out.extend(
            x.difference(&y)
                .map(|v| change(format!("- {what}: {v}"), rules.enum_value_removed(site))),
        );
    }
}

/// `additionalProperties: false`: typify's `deny_unknown_fields`.
fn closed(s: &Value) -> bool {
    s.get("additionalProperties") == Some(&Value::Bool(false))
}

fn compare_schema(rules: &Rules, name: &str, a: &Value, b: &Value, d: &mut Diff) {
    let (ta, tb) = (describe(Some(a)), describe(Some(b)));
    if ta != tb {
        d.properties.push(change(
            format!("~ {name}: type {ta} -> {tb}"),
            rules.schema_retyped(name, &ta, &tb),
        ));
    }
    if closed(a) != closed(b) {
        let now = if closed(b) {
            "closed to unknown fields"
        } else {
            "open to unknown fields"
        };
        d.properties.push(change(
            format!("~ {name}: {now}"),
            rules.closed_object(name, closed(b)),
        ));
    }
    compare_enums(
        rules,
        name,
        EnumSite::Schema(name),
        a,
        b,
        &mut d.enum_values,
    );
    let (pa, pb) = (properties(a), properties(b));
    let (ra, rb) = (required(a), required(b));
    for (prop, sb) in &pb {
        let here = format!("{name}.{prop}");
        match pa.get(prop) {
            None => d.properties.push(change(
                format!(
                    "+ {here} ({}{})",
                    describe(Some(sb)),
                    if rb.contains(prop) { ", required" } else { "" }
                ),
                rules.property_added(name, prop, rb.contains(prop)),
            )),
            Some(sa) => {
                let (x, y) = (describe(Some(sa)), describe(Some(sb)));
                if x != y {
                    let optional_both = !ra.contains(prop) && !rb.contains(prop);
                    d.properties.push(change(
                        format!("~ {here}: type {x} -> {y}"),
                        rules.property_retyped(name, prop, &x, &y, optional_both),
                    ));
                }
                if ra.contains(prop) != rb.contains(prop) {
                    let now = rb.contains(prop);
                    d.properties.push(change(
                        format!(
                            "~ {here}: {}",
                            if now { "now required" } else { "now optional" }
                        ),
                        rules.property_required(name, prop, &y, now),
                    ));
                }
                let site = EnumSite::Property(name, prop);
                compare_enums(rules, &here, site, sa, sb, &mut d.enum_values);
            }
        }
    }
    for prop in pa.keys() {
        if !pb.contains_key(prop) {
            d.properties.push(change(
                format!("- {name}.{prop}"),
                rules.property_removed(name, prop),
            ));
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
/// `array of ref Contact`, `map of string`, `object`, `oneOf(ref A, ref B)`, `string enum`
/// (values compared apart), a `?` suffix when nullable.
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
        None if s.get("enum").is_some() => "string".into(),
        None => "any".into(),
    };
    let kind = if s.get("enum").is_some() { " enum" } else { "" };
    format!("{base}{kind}{nullable}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(paths: Value, schemas: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}})
    }

    fn texts(changes: &[Change]) -> Vec<&str> {
        changes.iter().map(|c| c.text.as_str()).collect()
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
        assert_eq!(texts(&d.operations_added), ["+ New  POST /a2"]);
        assert_eq!(
            texts(&d.operations_removed),
            ["- DELETE /gone  DELETE /gone"]
        );
        assert_eq!(
            texts(&d.operations_changed),
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
        assert_eq!(texts(&d.schemas_added), ["+ New"]);
        assert_eq!(texts(&d.schemas_removed), ["- Gone"]);
        assert_eq!(
            texts(&d.properties),
            [
                "+ O.fresh (array of ref C)",
                "- O.old",
                "~ O.n: now required",
                "~ O.n: type integer -> string"
            ]
        );
        assert_eq!(texts(&d.enum_values), ["+ C: C", "+ O.kind: Y", "- C: B"]);
        let text = d.to_string();
        assert!(
            text.starts_with("Schemas added (1):\n  + New  [minor: a new type `New`]\n"),
            "{text}"
        );
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
        assert_eq!(
            describe(Some(
                &json!({"type": "string", "enum": ["A"], "nullable": true})
            )),
            "string enum?"
        );
        assert_eq!(describe(Some(&json!({"enum": ["A"]}))), "string enum");
        assert_eq!(describe(None), "any");
    }
}
