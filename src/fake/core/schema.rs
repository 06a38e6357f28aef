//! The API documents as the fake reads them: every operation (method, path, parameters, body,
//! response) and a checker of request values against their schemas: types, required fields,
//! enums, lengths, bounds, item counts and patterns. A documented limit written into `spec/` is
//! enforced here, with no code of its own.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// The documents as `build.rs` wrote them: `{"conversation": .., "templates": .., "batch": ..}`,
/// before the client's normalisation (limits kept, paths whole).
const DOCUMENTS: &str = include_str!(concat!(env!("OUT_DIR"), "/fake_spec.json"));

/// Which API document (and so which service) an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Service {
    Conversation,
    Templates,
    Batch,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Conversation, Service::Templates, Service::Batch];

    fn key(self) -> &'static str {
        match self {
            Service::Conversation => "conversation",
            Service::Templates => "templates",
            Service::Batch => "batch",
        }
    }

    fn doc(self) -> &'static Value {
        &documents()[self.key()]
    }
}

fn documents() -> &'static Value {
    static DOCS: OnceLock<Value> = OnceLock::new();
    DOCS.get_or_init(|| serde_json::from_str(DOCUMENTS).expect("build.rs writes valid JSON"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
    Other,
}

pub(crate) struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: &'static Value,
}

pub(crate) struct Operation {
    pub id: String,
    pub service: Service,
    pub method: http::Method,
    /// As in the document, e.g. `/v1/projects/{project_id}/contacts/{contact_id}:merge`.
    pub path: String,
    pub params: Vec<Param>,
    /// The JSON request body's schema, and whether a body is required.
    pub body: Option<(&'static Value, bool)>,
    /// The 200 response's JSON schema.
    pub response: Option<&'static Value>,
    /// The response holds arrays or page tokens that the wire always carries (see [`shape`]).
    pub shapes_response: bool,
}

impl Operation {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A parameter's documented `default` (for example a `page_size`).
    pub fn default_of(&self, name: &str) -> Option<&'static Value> {
        let p = self.param(name)?;
        resolve(self.service, p.schema).get("default")
    }
}

/// Every operation of the three documents.
pub(crate) fn operations() -> &'static [Operation] {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    OPS.get_or_init(|| Service::ALL.into_iter().flat_map(read_operations).collect())
}

pub(crate) fn operation(id: &str) -> Option<&'static Operation> {
    operations().iter().find(|o| o.id == id)
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn read_operations(service: Service) -> Vec<Operation> {
    let doc = service.doc();
    let mut out = vec![];
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let shared_params = item.get("parameters");
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut params: Vec<Param> = vec![];
            for list in [shared_params, op.get("parameters")].into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    let p = resolve(service, p);
                    let name = p["name"].as_str().unwrap_or_default().to_owned();
                    let location = match p["in"].as_str() {
                        Some("path") => Location::Path,
                        Some("query") => Location::Query,
                        _ => Location::Other,
                    };
                    let param = Param {
                        required: p["required"]
                            .as_bool()
                            .unwrap_or(location == Location::Path),
                        schema: p.get("schema").unwrap_or(&Value::Null),
                        name,
                        location,
                    };
                    // An operation's own parameter replaces the path item's of the same name.
                    params.retain(|x| x.name != param.name);
                    params.push(param);
                }
            }
            let body = op
                .get("requestBody")
                .map(|b| resolve(service, b))
                .and_then(|b| {
                    let schema = b.pointer("/content/application~1json/schema")?;
                    Some((schema, b["required"].as_bool().unwrap_or(false)))
                });
            let response = op
                .pointer("/responses/200")
                .map(|r| resolve(service, r))
                .and_then(|r| r.pointer("/content/application~1json/schema"));
            let shapes_response = response.is_some_and(|s| needs_shaping(service, s, 0));
            out.push(Operation {
                id: id.to_owned(),
                service,
                method: m.to_uppercase().parse().expect("a known method"),
                path: path.clone(),
                params,
                body,
                response,
                shapes_response,
            });
        }
    }
    out
}

/// Follows `$ref`s (local, or `conversation.yaml#/...` from the other documents) to a schema,
/// parameter or request body.
fn resolve(service: Service, v: &'static Value) -> &'static Value {
    resolve_in(service, v).1
}

fn resolve_in(mut service: Service, mut v: &'static Value) -> (Service, &'static Value) {
    for _ in 0..32 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return (service, v);
        };
        let (file, pointer) = r.split_once('#').unwrap_or(("", r));
        if file.starts_with("conversation") {
            service = Service::Conversation;
        }
        match service.doc().pointer(pointer) {
            Some(target) => v = target,
            None => return (service, &Value::Null),
        }
    }
    (service, v)
}

fn types_of(s: &Value) -> Option<&str> {
    s.get("type").and_then(Value::as_str)
}

/// Whether a response schema has arrays or a `next_page_token` that [`shape`] fills in.
fn needs_shaping(service: Service, s: &'static Value, depth: usize) -> bool {
    let (service, s) = resolve_in(service, s);
    if depth > 6 {
        return false;
    }
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return false;
    };
    props.iter().any(|(name, p)| {
        let (_, p) = resolve_in(service, p);
        name == "next_page_token"
            || types_of(p) == Some("array")
            || is_map(p)
            || needs_shaping(service, p, depth + 1)
    })
}

/// A free-form object (`metadata_json`, `parameters`): a map, not a message.
fn is_map(s: &Value) -> bool {
    types_of(s) == Some("object") && s.get("properties").is_none()
}

/// Gives a response the wire's shape, as the API's JSON mapping emits unset fields: every
/// array (`[]`) and map (`{}`) is sent, empty or not, and `next_page_token` as `""` on the last
/// page, where the client's types leave them out.
pub(crate) fn shape(op: &Operation, value: &mut Value) {
    if let Some(schema) = op.response {
        shape_in(op.service, schema, value, 0);
    }
}

fn shape_in(service: Service, schema: &'static Value, value: &mut Value, depth: usize) {
    let (service, schema) = resolve_in(service, schema);
    if depth > 12 {
        return;
    }
    match value {
        Value::Object(obj) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (name, p) in props {
                let (_, ps) = resolve_in(service, p);
                match obj.get_mut(name) {
                    Some(v) if !v.is_null() => shape_in(service, p, v, depth + 1),
                    _ if types_of(ps) == Some("array") => {
                        obj.insert(name.clone(), Value::Array(vec![]));
                    }
                    _ if is_map(ps) => {
                        obj.insert(name.clone(), Value::Object(Map::new()));
                    }
                    _ if name == "next_page_token" => {
                        obj.insert(name.clone(), Value::String(String::new()));
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for v in items {
                    shape_in(service, item, v, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// A value that breaks its schema: where (a dotted path) and how.
#[derive(Debug, PartialEq)]
pub(crate) struct Violation {
    pub at: String,
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.at, self.problem)
        }
    }
}

/// Checks a request body against an operation's body schema.
pub(crate) fn check_body(op: &Operation, body: &Value) -> Result<(), Violation> {
    let Some((schema, _)) = op.body else {
        return Ok(());
    };
    let mut at = String::new();
    if !body.is_object() {
        return Err(Violation {
            at,
            problem: "the request body must be a JSON object".into(),
        });
    }
    if op.method == http::Method::PATCH {
        // A PATCH body names only what changes: its root's required fields are the
        // resource's, checked by the handler on the merged result.
        let (service, root) = resolve_in(op.service, schema);
        if let Value::Object(obj) = body {
            return check_object(service, root, obj, &mut at, 0, false);
        }
    }
    check(op.service, schema, body, &mut at, 0)
}

/// Checks one parameter's raw value (a path segment or query value) against its schema.
pub(crate) fn check_param(op: &Operation, p: &Param, raw: &str) -> Result<(), Violation> {
    let (service, schema) = resolve_in(op.service, p.schema);
    let (service, schema) = match types_of(schema) {
        Some("array") => match schema.get("items") {
            Some(items) => resolve_in(service, items),
            None => return Ok(()),
        },
        _ => (service, schema),
    };
    let value = match types_of(schema) {
        Some("integer") => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(violation(&p.name, format!("{raw:?} is not an integer"))),
        },
        Some("number") => match raw.parse::<f64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(violation(&p.name, format!("{raw:?} is not a number"))),
        },
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(violation(
                    &p.name,
                    format!("{raw:?} is not a boolean (true or false)"),
                ))
            }
        },
        _ => Value::String(raw.to_owned()),
    };
    let mut at = p.name.clone();
    check(service, schema, &value, &mut at, 0)
}

fn violation(at: &str, problem: impl Into<String>) -> Violation {
    Violation {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

fn check(
    service: Service,
    schema: &'static Value,
    v: &Value,
    at: &mut String,
    depth: usize,
) -> Result<(), Violation> {
    let (service, s) = resolve_in(service, schema);
    if depth > 64 || v.is_null() {
        // Null is "not set", as protobuf's JSON mapping reads it; required-ness is the
        // parent's to check.
        return Ok(());
    }
    for sub in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(service, sub, v, at, depth + 1)?;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let mut first_err = None;
            let mut matched = 0;
            for alt in alts {
                let mut here = at.clone();
                match check(service, alt, v, &mut here, depth + 1) {
                    Ok(()) => matched += 1,
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            if matched == 0 {
                return Err(first_err.unwrap_or_else(|| violation(at, "matches no alternative")));
            }
        }
    }
    let ty = types_of(s).or_else(|| s.get("properties").map(|_| "object"));
    let fail = |at: &str, problem: String| Err(violation(at, problem));
    match (ty, v) {
        (None, _) => {}
        (Some("object"), Value::Object(obj)) => check_object(service, s, obj, at, depth, true)?,
        (Some("array"), Value::Array(items)) => {
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > max {
                    return fail(at, format!("at most {max} items, got {}", items.len()));
                }
            }
            if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < min {
                    return fail(at, format!("at least {min} item(s), got {}", items.len()));
                }
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    let len = at.len();
                    let _ = write!(at, "[{i}]");
                    check(service, item, x, at, depth + 1)?;
                    at.truncate(len);
                }
            }
        }
        (Some("string"), Value::String(text)) => check_string(s, text, at)?,
        // protobuf's JSON mapping sends 64-bit integers as strings.
        (Some("integer"), Value::String(text)) if text.parse::<i64>().is_ok() => {
            check_number(s, text.parse::<i64>().unwrap_or_default() as f64, at)?
        }
        (Some("integer"), Value::Number(n)) if n.is_i64() || n.is_u64() => {
            check_number(s, n.as_f64().unwrap_or_default(), at)?
        }
        (Some("integer"), Value::Number(n))
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
        {
            check_number(s, n.as_f64().unwrap_or_default(), at)?
        }
        (Some("number"), Value::Number(n)) => check_number(s, n.as_f64().unwrap_or_default(), at)?,
        (Some("boolean"), Value::Bool(_)) => {}
        (Some(expected), other) => {
            return fail(
                at,
                format!("expected {}, got {}", article(expected), kind(other)),
            )
        }
    }
    Ok(())
}

fn check_object(
    service: Service,
    s: &'static Value,
    obj: &Map<String, Value>,
    at: &mut String,
    depth: usize,
    enforce_required: bool,
) -> Result<(), Violation> {
    let required = s.get("required").filter(|_| enforce_required);
    for name in required.and_then(Value::as_array).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        if obj.get(name).is_none_or(Value::is_null) {
            let field = join(at, name);
            return Err(violation(&field, "required field missing"));
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    let extra = s.get("additionalProperties").filter(|a| a.is_object());
    for (name, value) in obj {
        let Some(sub) = props.and_then(|p| p.get(name)).or(extra) else {
            // Fields the document does not name are ignored, as the API ignores them.
            continue;
        };
        let len = at.len();
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(name);
        check(service, sub, value, at, depth + 1)?;
        at.truncate(len);
    }
    Ok(())
}

fn check_string(s: &Value, text: &str, at: &str) -> Result<(), Violation> {
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        if !values.iter().any(|x| x.as_str() == Some(text)) {
            let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            return Err(violation(
                at,
                format!("{text:?} is not one of {}", names.join(", ")),
            ));
        }
    }
    let chars = || text.chars().count() as u64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
        if chars() > max {
            return Err(violation(
                at,
                format!("at most {max} characters, got {}", chars()),
            ));
        }
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
        if chars() < min {
            return Err(violation(at, format!("at least {min} character(s)")));
        }
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        if !matches(pattern, text) {
            return Err(violation(
                at,
                format!("{text:?} does not have the required form ({pattern})"),
            ));
        }
    }
    if s.get("format").and_then(Value::as_str) == Some("date-time")
        && chrono::DateTime::parse_from_rfc3339(text).is_err()
    {
        return Err(violation(
            at,
            format!("{text:?} is not an RFC 3339 timestamp"),
        ));
    }
    Ok(())
}

fn check_number(s: &Value, n: f64, at: &str) -> Result<(), Violation> {
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    let exclusive = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
    if let Some(max) = bound("maximum") {
        if n > max || (exclusive("exclusiveMaximum") && n == max) {
            return Err(violation(at, format!("at most {max}, got {n}")));
        }
    }
    if let Some(min) = bound("minimum") {
        if n < min || (exclusive("exclusiveMinimum") && n == min) {
            return Err(violation(at, format!("at least {min}, got {n}")));
        }
    }
    if s.get("format").and_then(Value::as_str) == Some("int32")
        && (n < i32::MIN as f64 || n > i32::MAX as f64)
    {
        return Err(violation(at, format!("{n} does not fit in 32 bits")));
    }
    Ok(())
}

/// Whether `text` matches `pattern` (compiled once per pattern; patterns come from the
/// documents, so there are few).
fn matches(pattern: &str, text: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    let re = cache
        .entry(pattern.to_owned())
        .or_insert_with(|| Regex::new(pattern).ok());
    // A pattern the regex engine cannot read is not held against the request.
    re.as_ref().is_none_or(|re| re.is_match(text))
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

fn article(ty: &str) -> &'static str {
    match ty {
        "object" => "an object",
        "array" => "an array",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        _ => "another type",
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
