//! The one normalisation step between the vendored OpenAPI document and progenitor.
//!
//! Every transform is driven by what the document contains, never by names of our own, so that
//! upstream's document (`cargo xtask update-spec --write`) still generates a compiling client.
//! Transforms run on `serde_json::Value` so they stay independent of openapiv3's strictness and
//! can be unit-tested without the build script (`tests/normalize.rs` includes this file).

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What the transforms found; the renderer turns it into Rust next to progenitor's output.
#[derive(Debug, Default, PartialEq)]
pub struct Normalized {
    /// Path prefix shared by every operation, e.g. `/v1/projects/{project_id}`.
    pub path_prefix: String,
    /// Path parameters that moved into the prefix (configuration, not arguments).
    pub prefix_params: Vec<String>,
    /// String enums, each replaced by an open enum with an `Unknown(String)` variant.
    pub open_enums: Vec<OpenEnum>,
    /// `oneOf` + `discriminator` unions, each replaced by an enum with an `Unknown` variant.
    pub tagged_unions: Vec<TaggedUnion>,
    /// List operations that page with `page_token` / `next_page_token`.
    pub paged: Vec<Paged>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paged {
    /// progenitor's builder type for the operation (its operationId in PascalCase).
    pub builder: String,
    /// The response (page) type.
    pub page: String,
    /// The page's array field (Rust name).
    pub items_field: String,
    /// The item type.
    pub item: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenEnum {
    /// Rust type name (PascalCase, as typify names the schema).
    pub name: String,
    pub description: Option<String>,
    /// Wire values in document order.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaggedUnion {
    pub name: String,
    pub description: Option<String>,
    /// The discriminator property.
    pub tag: String,
    /// (wire value of the tag, Rust type name of the variant schema)
    pub variants: Vec<(String, String)>,
}

/// Runs every transform in order. Fails only on documents progenitor could not use anyway.
pub fn normalize(doc: &mut Value) -> Result<Normalized, String> {
    let (path_prefix, prefix_params) = hoist_path_prefix(doc)?;
    strip_error_responses(doc);
    strip_validation(doc);
    hoist_inline_enums(doc);
    let tagged_unions = collect_tagged_unions(doc);
    let open_enums = collect_open_enums(doc);
    let paged = collect_paged(doc);
    Ok(Normalized {
        path_prefix,
        prefix_params,
        open_enums,
        tagged_unions,
        paged,
    })
}

/// The Rust name typify gives a schema (its `sanitize(name, Pascal)`): replacements are keyed by it.
pub fn rust_name(name: &str) -> String {
    use heck::ToUpperCamelCase;
    let cleaned: String = name
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let out = cleaned.to_upper_camel_case();
    match out.chars().next() {
        None => "X".to_string(),
        Some(c) if c.is_alphabetic() => out,
        Some(_) => format!("X{out}"),
    }
}

/// Transform 1 — a path prefix common to every operation that holds template parameters
/// (`/v1/projects/{project_id}`) becomes part of the base URL: the project is configuration set
/// once on the client, not an argument of each of the 44 calls.
pub fn hoist_path_prefix(doc: &mut Value) -> Result<(String, Vec<String>), String> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok((String::new(), vec![]));
    };
    let split: Vec<Vec<&str>> = paths.keys().map(|p| p.split('/').collect()).collect();
    let Some(first) = split.first() else {
        return Ok((String::new(), vec![]));
    };
    // Longest common run of whole segments, never the last segment of any path.
    let mut common = first.len().saturating_sub(1);
    for segs in &split[1..] {
        let same = first
            .iter()
            .zip(segs.iter())
            .take_while(|(a, b)| a == b)
            .count();
        common = common.min(same).min(segs.len().saturating_sub(1));
    }
    // Cut after the last templated segment in the common run.
    let Some(cut) = (0..common).rev().find(|&i| is_template(first[i])) else {
        return Ok((String::new(), vec![]));
    };
    let prefix_segs = &first[..=cut];
    let prefix = prefix_segs.join("/");
    let params: Vec<String> = prefix_segs
        .iter()
        .filter(|s| is_template(s))
        .map(|s| s[1..s.len() - 1].to_string())
        .collect();

    let components = doc.get("components").cloned();
    let paths = doc["paths"].as_object_mut().expect("checked above");
    let old = std::mem::take(paths);
    for (path, mut item) in old {
        let rest = &path[prefix.len()..];
        let rest = if rest.is_empty() { "/" } else { rest };
        if let Some(item) = item.as_object_mut() {
            remove_params(item.get_mut("parameters"), &params, components.as_ref());
            for m in METHODS {
                if let Some(op) = item.get_mut(m) {
                    remove_params(op.get_mut("parameters"), &params, components.as_ref());
                }
            }
        }
        if paths.insert(rest.to_string(), item).is_some() {
            return Err(format!(
                "two paths collapse to {rest} once the prefix {prefix} is removed"
            ));
        }
    }
    Ok((prefix, params))
}

fn is_template(seg: &str) -> bool {
    seg.len() > 2 && seg.starts_with('{') && seg.ends_with('}') && !seg[1..].contains('{')
}

fn remove_params(list: Option<&mut Value>, names: &[String], components: Option<&Value>) {
    let Some(Value::Array(list)) = list else {
        return;
    };
    list.retain(|p| {
        let p = resolve(p, components).unwrap_or(p);
        let is_path = p.get("in").and_then(Value::as_str) == Some("path");
        let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
        !(is_path && names.iter().any(|n| n == name))
    });
}

/// Follows one local `$ref` (`#/components/<section>/<name>`).
fn resolve<'a>(v: &'a Value, components: Option<&'a Value>) -> Option<&'a Value> {
    let r = v.get("$ref")?.as_str()?;
    let rest = r.strip_prefix("#/components/")?;
    let (section, name) = rest.split_once('/')?;
    components?.get(section)?.get(name)
}

/// Transform 2 — non-2xx responses lose their declared bodies. The SDK reads every error body
/// itself, so an error whose body is not the documented JSON (a proxy's HTML 502, an empty 429)
/// still reports its status, headers and a snippet instead of a bare decode failure.
pub fn strip_error_responses(doc: &mut Value) {
    for_each_operation(doc, |_, _, op| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return;
        };
        let has_success = responses.keys().any(|k| k.starts_with('2'));
        if has_success {
            responses.retain(|k, _| k.starts_with('2'));
        }
    });
}

/// Validation keywords that typify would turn into checked newtypes or narrower integers.
const VALIDATION_KEYWORDS: [&str; 14] = [
    "default",
    "maxLength",
    "minLength",
    "pattern",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "multipleOf",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
];

/// Transform 2b — validation keywords (`maxLength`, `pattern`, `maximum`, ...) and schema
/// `default`s are dropped before generation. They document the API's limits and defaults, and
/// the embedded fake applies them from the unnormalised document; in the client a bound would
/// make every bounded string a newtype built with `try_from` (and change integer types), and a
/// default would make an optional field required, so the client keeps plain types and leaves
/// the verdict to the API.
pub fn strip_validation(doc: &mut Value) {
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        schemas.values_mut().for_each(strip_schema);
    }
    if let Some(Value::Object(params)) = doc.pointer_mut("/components/parameters") {
        for p in params.values_mut() {
            p.get_mut("schema").map(strip_schema);
        }
    }
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        strip_params(item.get_mut("parameters"));
        for m in METHODS {
            let Some(op) = item.get_mut(m) else { continue };
            strip_params(op.get_mut("parameters"));
            if let Some(Value::Object(content)) = op.pointer_mut("/requestBody/content") {
                for media in content.values_mut() {
                    media.get_mut("schema").map(strip_schema);
                }
            }
            if let Some(Value::Object(responses)) = op.get_mut("responses") {
                for r in responses.values_mut() {
                    if let Some(Value::Object(content)) = r.get_mut("content") {
                        for media in content.values_mut() {
                            media.get_mut("schema").map(strip_schema);
                        }
                    }
                }
            }
        }
    }
}

fn strip_params(list: Option<&mut Value>) {
    if let Some(Value::Array(list)) = list {
        for p in list {
            p.get_mut("schema").map(strip_schema);
        }
    }
}

/// Removes the keywords from one schema and the schemas inside it (never from a `properties`
/// map's keys: a property may well be called `pattern`).
fn strip_schema(schema: &mut Value) {
    let Value::Object(s) = schema else { return };
    for k in VALIDATION_KEYWORDS {
        s.remove(k);
    }
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        props.values_mut().for_each(strip_schema);
    }
    for k in ["items", "additionalProperties", "not"] {
        if let Some(v) = s.get_mut(k) {
            strip_schema(v);
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = s.get_mut(k) {
            list.iter_mut().for_each(strip_schema);
        }
    }
}

fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for m in METHODS {
            if let Some(op) = item.get_mut(m) {
                f(path, m, op);
            }
        }
    }
}

fn is_string_enum(s: &Value) -> bool {
    s.get("enum")
        .and_then(Value::as_array)
        .is_some_and(|vals| !vals.is_empty() && vals.iter().all(|v| v.is_string() || v.is_null()))
        && s.get("type").and_then(Value::as_str).unwrap_or("string") == "string"
}

/// Transform 3 — inline string enums (in properties, array items, maps and parameters) become
/// named component schemas, so that transform 4 can make every one of them open and users get a
/// stable, documented type name (`AgentType`) instead of an anonymous one.
pub fn hoist_inline_enums(doc: &mut Value) {
    let mut taken: BTreeSet<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(|k| rust_name(k)).collect())
        .unwrap_or_default();
    let mut new_schemas: Vec<(String, Value)> = Vec::new();

    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            // A named enum stays where it is; only enums nested inside it are hoisted.
            hoist_within(schema, &rust_name(name), true, &mut taken, &mut new_schemas);
        }
    }
    for_each_operation(doc, |_, _, op| {
        let base = op
            .get("operationId")
            .and_then(Value::as_str)
            .map(rust_name)
            .unwrap_or_default();
        if let Some(Value::Array(params)) = op.get_mut("parameters") {
            for p in params {
                hoist_param(p, &mut taken, &mut new_schemas);
            }
        }
        if let Some(Value::Object(content)) = op.pointer_mut("/requestBody/content") {
            for media in content.values_mut() {
                if let Some(schema) = media.get_mut("schema") {
                    let ctx = format!("{base}Body");
                    hoist_within(schema, &ctx, false, &mut taken, &mut new_schemas);
                }
            }
        }
    });
    if let Some(Value::Object(params)) = doc.pointer_mut("/components/parameters") {
        for p in params.values_mut() {
            hoist_param(p, &mut taken, &mut new_schemas);
        }
    }

    if new_schemas.is_empty() {
        return;
    }
    let schemas = doc
        .as_object_mut()
        .expect("an OpenAPI document is an object")
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("components is an object")
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("schemas is an object");
    for (name, schema) in new_schemas {
        schemas.insert(name, schema);
    }
}

/// Parameter enums are named after the parameter (`messages_source` -> `MessagesSource`); the
/// same name with the same values in several operations is one type.
fn hoist_param(p: &mut Value, taken: &mut BTreeSet<String>, out: &mut Vec<(String, Value)>) {
    let pname = p.get("name").and_then(Value::as_str).map(rust_name);
    if let (Some(pname), Some(schema)) = (pname, p.get_mut("schema")) {
        hoist_within(schema, &pname, false, taken, out);
    }
}

/// Walks one schema; `is_root` is true for a named component (which is not itself hoisted).
fn hoist_within(
    schema: &mut Value,
    context: &str,
    is_root: bool,
    taken: &mut BTreeSet<String>,
    out: &mut Vec<(String, Value)>,
) {
    if !is_root && is_string_enum(schema) {
        let name = fresh_name(context, schema, taken, out);
        let mut hoisted = std::mem::replace(
            schema,
            serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }),
        );
        // A schema default would need a Default impl on the replacement type; the wire default
        // is the server's business, so it is dropped with the move.
        if let Some(obj) = hoisted.as_object_mut() {
            obj.remove("default");
            obj.entry("type")
                .or_insert_with(|| Value::String("string".into()));
        }
        if !out.iter().any(|(n, _)| n == &name) {
            out.push((name, hoisted));
        }
        return;
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (prop, sub) in props.iter_mut() {
            hoist_within(
                sub,
                &format!("{context}{}", rust_name(prop)),
                false,
                taken,
                out,
            );
        }
    }
    if let Some(items) = obj.get_mut("items") {
        hoist_within(items, &format!("{context}Item"), false, taken, out);
    }
    if let Some(add @ Value::Object(_)) = obj.get_mut("additionalProperties") {
        hoist_within(add, &format!("{context}Value"), false, taken, out);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(list)) = obj.get_mut(key) {
            for (i, sub) in list.iter_mut().enumerate() {
                hoist_within(sub, &format!("{context}Variant{i}"), false, taken, out);
            }
        }
    }
}

/// A new component name for a hoisted enum. The same values under the same name share one type.
fn fresh_name(
    base: &str,
    schema: &Value,
    taken: &mut BTreeSet<String>,
    out: &[(String, Value)],
) -> String {
    let values = schema.get("enum");
    for i in 1.. {
        let candidate = if i == 1 {
            base.to_string()
        } else {
            format!("{base}{i}")
        };
        if let Some((_, existing)) = out.iter().find(|(n, _)| n == &candidate) {
            if existing.get("enum") == values {
                return candidate;
            }
            continue;
        }
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    unreachable!("the loop above always returns")
}

/// Transform 4 (collection) — every named string enum. The renderer emits an open enum for
/// each and progenitor is told to use it in place of the closed enum typify would generate:
/// Sinch adds channels and statuses without notice and an unknown value must not fail a response.
pub fn collect_open_enums(doc: &Value) -> Vec<OpenEnum> {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return vec![];
    };
    schemas
        .iter()
        .filter(|(_, s)| is_string_enum(s))
        .map(|(name, s)| OpenEnum {
            name: rust_name(name),
            description: describe(s),
            values: s["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
        .collect()
}

/// Transform 5 (collection) — `oneOf` of `$ref`s with a `discriminator`. typify would emit a
/// closed internally-tagged enum; the renderer emits one with an `Unknown(serde_json::Value)`
/// variant so a new kind (a new channel-specific message type) still deserializes and
/// re-serializes unchanged. Unions whose tag values cannot be determined are left to typify.
pub fn collect_tagged_unions(doc: &Value) -> Vec<TaggedUnion> {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return vec![];
    };
    let mut out = Vec::new();
    'schemas: for (name, s) in schemas {
        let (Some(Value::Array(one_of)), Some(tag)) = (
            s.get("oneOf"),
            s.pointer("/discriminator/propertyName")
                .and_then(Value::as_str),
        ) else {
            continue;
        };
        let mapping: BTreeMap<String, String> = s
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((ref_name(v.as_str()?)?.to_string(), k.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut variants = Vec::new();
        for item in one_of {
            let Some(target) = item.get("$ref").and_then(Value::as_str).and_then(ref_name) else {
                continue 'schemas;
            };
            // The tag value: the mapping's key, else the variant's single-valued tag enum.
            let value = mapping.get(target).cloned().or_else(|| {
                let vals = schemas
                    .get(target)?
                    .pointer(&format!("/properties/{tag}/enum"))?;
                match vals.as_array()?.as_slice() {
                    [Value::String(v)] => Some(v.clone()),
                    _ => None,
                }
            });
            let Some(value) = value else {
                continue 'schemas;
            };
            variants.push((value, rust_name(target)));
        }
        if !variants.is_empty() {
            out.push(TaggedUnion {
                name: rust_name(name),
                description: describe(s),
                tag: tag.to_string(),
                variants,
            });
        }
    }
    out
}

fn ref_name(r: &str) -> Option<&str> {
    r.strip_prefix("#/components/schemas/")
}

fn describe(s: &Value) -> Option<String> {
    s.get("description")
        .or_else(|| s.get("title"))
        .and_then(Value::as_str)
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
}

/// Collection — list operations: a `page_token` query parameter, and a 200 response schema
/// with an optional `next_page_token` string and exactly one array of named items. Each gets
/// auto-paging streams (`src/pagination.rs`).
pub fn collect_paged(doc: &Value) -> Vec<Paged> {
    use heck::ToSnakeCase;
    let components = doc.get("components");
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for item in paths.values() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let params = op.get("parameters").and_then(Value::as_array);
            let has_token = params.into_iter().flatten().any(|p| {
                let p = resolve(p, components).unwrap_or(p);
                p.get("in").and_then(Value::as_str) == Some("query")
                    && p.get("name").and_then(Value::as_str) == Some("page_token")
            });
            let Some(page_ref) = op
                .pointer("/responses/200/content/application~1json/schema/$ref")
                .and_then(Value::as_str)
                .and_then(ref_name)
            else {
                continue;
            };
            let Some(page) = components.and_then(|c| c.pointer(&format!("/schemas/{page_ref}")))
            else {
                continue;
            };
            let required = |name: &str| {
                page.get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|x| x == name))
            };
            let Some(props) = page.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let token_ok = props
                .get("next_page_token")
                .is_some_and(|t| t.get("type").and_then(Value::as_str) == Some("string"))
                && !required("next_page_token");
            let arrays: Vec<(&String, &str)> = props
                .iter()
                .filter(|(_, v)| v.get("type").and_then(Value::as_str) == Some("array"))
                .filter_map(|(k, v)| Some((k, ref_name(v.pointer("/items/$ref")?.as_str()?)?)))
                .collect();
            if let (true, true, [(field, item)]) = (has_token, token_ok, arrays.as_slice()) {
                out.push(Paged {
                    builder: rust_name(id),
                    page: rust_name(page_ref),
                    items_field: field.to_snake_case(),
                    item: rust_name(item),
                });
            }
        }
    }
    out
}
