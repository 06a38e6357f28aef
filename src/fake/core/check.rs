//! Request values checked against the documents' schemas: types, required fields, enums,
//! lengths, bounds, item counts, patterns and RFC 3339 times. Each schema is compiled once
//! (references resolved, keywords read, patterns built), so a check is a walk of plain structs.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

/// A compiled schema: an index into [`Compiled`].
pub(crate) type Id = usize;

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

fn violation(at: &str, problem: impl Into<String>) -> Violation {
    Violation {
        at: at.to_owned(),
        problem: problem.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

/// One schema's keywords, as the checker needs them.
#[derive(Default)]
struct Node {
    ty: Option<Ty>,
    properties: HashMap<String, Id>,
    /// `additionalProperties` when it is a schema (maps such as `metadata_json`).
    additional: Option<Id>,
    required: Vec<String>,
    all_of: Vec<Id>,
    /// `oneOf` and `anyOf`: at least one must hold.
    alternatives: Vec<Id>,
    items: Option<Id>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    values: Option<Vec<String>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<(String, Option<Regex>)>,
    date_time: bool,
    minimum: Option<(f64, bool)>,
    maximum: Option<(f64, bool)>,
    int32: bool,
}

/// Every compiled schema; references to the same schema share one node.
#[derive(Default)]
pub(crate) struct Compiled {
    nodes: Vec<Node>,
    /// A schema's address in the (static) documents -> its node.
    seen: HashMap<usize, Id>,
}

impl Compiled {
    /// Compiles `schema`, found in document `doc`; `resolve` follows a `$ref` to its target
    /// (and the document it is in).
    pub fn compile<D: Copy>(
        &mut self,
        doc: D,
        schema: &'static Value,
        resolve: &dyn Fn(D, &'static Value) -> (D, &'static Value),
    ) -> Id {
        let (doc, schema) = resolve(doc, schema);
        let key = schema as *const Value as usize;
        if let Some(id) = self.seen.get(&key) {
            return *id;
        }
        // Registered before its parts, so a schema that contains itself ends.
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.seen.insert(key, id);
        let mut node = Node {
            ty: match schema.get("type").and_then(Value::as_str) {
                Some("object") => Some(Ty::Object),
                Some("array") => Some(Ty::Array),
                Some("string") => Some(Ty::String),
                Some("integer") => Some(Ty::Integer),
                Some("number") => Some(Ty::Number),
                Some("boolean") => Some(Ty::Boolean),
                _ if schema.get("properties").is_some() => Some(Ty::Object),
                _ => None,
            },
            required: strings(schema.get("required")),
            min_items: schema.get("minItems").and_then(Value::as_u64),
            max_items: schema.get("maxItems").and_then(Value::as_u64),
            values: schema.get("enum").map(|v| strings(Some(v))),
            min_length: schema.get("minLength").and_then(Value::as_u64),
            max_length: schema.get("maxLength").and_then(Value::as_u64),
            pattern: schema
                .get("pattern")
                .and_then(Value::as_str)
                // A pattern the regex engine cannot read is not held against a request.
                .map(|p| (p.to_owned(), Regex::new(p).ok())),
            date_time: schema.get("format").and_then(Value::as_str) == Some("date-time"),
            minimum: bound(schema, "minimum", "exclusiveMinimum"),
            maximum: bound(schema, "maximum", "exclusiveMaximum"),
            int32: schema.get("format").and_then(Value::as_str) == Some("int32"),
            ..Node::default()
        };
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                let sub = self.compile(doc, p, resolve);
                node.properties.insert(name.clone(), sub);
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            node.additional = Some(self.compile(doc, extra, resolve));
        }
        if let Some(items) = schema.get("items") {
            node.items = Some(self.compile(doc, items, resolve));
        }
        for (key, list) in [("allOf", true), ("oneOf", false), ("anyOf", false)] {
            for sub in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let sub = self.compile(doc, sub, resolve);
                if list {
                    node.all_of.push(sub);
                } else {
                    node.alternatives.push(sub);
                }
            }
        }
        self.nodes[id] = node;
        id
    }

    /// The type a schema declares (parameters are read as it says).
    pub fn ty(&self, id: Id) -> Option<Ty> {
        self.nodes[id].ty
    }

    /// The schema of an array's items.
    pub fn items(&self, id: Id) -> Option<Id> {
        self.nodes[id].items
    }

    /// Checks `v` against schema `id`; `at` names where `v` is. `partial`: the root object's
    /// required fields are not asked for (a PATCH body names only what changes).
    pub fn check(
        &self,
        id: Id,
        v: &Value,
        at: &mut String,
        partial: bool,
    ) -> Result<(), Violation> {
        self.walk(id, v, at, !partial, 0)
    }

    fn walk(
        &self,
        id: Id,
        v: &Value,
        at: &mut String,
        required: bool,
        depth: usize,
    ) -> Result<(), Violation> {
        // Null is "not set", as protobuf's JSON mapping reads it; required-ness is the
        // parent's to check.
        if depth > 64 || v.is_null() {
            return Ok(());
        }
        let s = &self.nodes[id];
        for sub in &s.all_of {
            self.walk(*sub, v, at, true, depth + 1)?;
        }
        if !s.alternatives.is_empty() {
            let mut first_err = None;
            let matched = s.alternatives.iter().any(|alt| {
                let mut here = at.clone();
                match self.walk(*alt, v, &mut here, true, depth + 1) {
                    Ok(()) => true,
                    Err(e) => {
                        first_err.get_or_insert(e);
                        false
                    }
                }
            });
            if !matched {
                return Err(first_err.unwrap_or_else(|| violation(at, "matches no alternative")));
            }
        }
        let fail = |at: &str, problem: String| Err(violation(at, problem));
        match (s.ty, v) {
            (None, _) => Ok(()),
            (Some(Ty::Object), Value::Object(obj)) => self.object(s, obj, at, required, depth),
            (Some(Ty::Array), Value::Array(items)) => {
                if let Some(max) = s.max_items.filter(|m| items.len() as u64 > *m) {
                    return fail(at, format!("at most {max} items, got {}", items.len()));
                }
                if let Some(min) = s.min_items.filter(|m| (items.len() as u64) < *m) {
                    return fail(at, format!("at least {min} item(s), got {}", items.len()));
                }
                if let Some(item) = s.items {
                    for (i, x) in items.iter().enumerate() {
                        let len = at.len();
                        let _ = write!(at, "[{i}]");
                        self.walk(item, x, at, true, depth + 1)?;
                        at.truncate(len);
                    }
                }
                Ok(())
            }
            (Some(Ty::String), Value::String(text)) => string(s, text, at),
            // protobuf's JSON mapping sends 64-bit integers as strings.
            (Some(Ty::Integer), Value::String(text)) if text.parse::<i64>().is_ok() => {
                number(s, text.parse::<i64>().unwrap_or_default() as f64, at)
            }
            (Some(Ty::Integer), Value::Number(n))
                if n.is_i64()
                    || n.is_u64()
                    || n.as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                number(s, n.as_f64().unwrap_or_default(), at)
            }
            (Some(Ty::Number), Value::Number(n)) => number(s, n.as_f64().unwrap_or_default(), at),
            (Some(Ty::Boolean), Value::Bool(_)) => Ok(()),
            (Some(expected), other) => fail(
                at,
                format!("expected {}, got {}", article(expected), kind(other)),
            ),
        }
    }

    fn object(
        &self,
        s: &Node,
        obj: &Map<String, Value>,
        at: &mut String,
        required: bool,
        depth: usize,
    ) -> Result<(), Violation> {
        if required {
            for name in &s.required {
                if obj.get(name).is_none_or(Value::is_null) {
                    let field = if at.is_empty() {
                        name.clone()
                    } else {
                        format!("{at}.{name}")
                    };
                    return Err(violation(&field, "required field missing"));
                }
            }
        }
        for (name, value) in obj {
            // Fields the document does not name are ignored, as the API ignores them.
            let Some(sub) = s.properties.get(name).copied().or(s.additional) else {
                continue;
            };
            let len = at.len();
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(name);
            self.walk(sub, value, at, true, depth + 1)?;
            at.truncate(len);
        }
        Ok(())
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn bound(s: &Value, key: &str, exclusive: &str) -> Option<(f64, bool)> {
    let n = s.get(key).and_then(Value::as_f64)?;
    Some((
        n,
        s.get(exclusive).and_then(Value::as_bool).unwrap_or(false),
    ))
}

fn string(s: &Node, text: &str, at: &str) -> Result<(), Violation> {
    if let Some(values) = &s.values {
        if !values.iter().any(|x| x == text) {
            return Err(violation(
                at,
                format!("{text:?} is not one of {}", values.join(", ")),
            ));
        }
    }
    if s.max_length.is_some() || s.min_length.is_some() {
        let chars = text.chars().count() as u64;
        if let Some(max) = s.max_length.filter(|m| chars > *m) {
            return Err(violation(
                at,
                format!("at most {max} characters, got {chars}"),
            ));
        }
        if let Some(min) = s.min_length.filter(|m| chars < *m) {
            return Err(violation(at, format!("at least {min} character(s)")));
        }
    }
    if let Some((pattern, Some(re))) = &s.pattern {
        if !re.is_match(text) {
            return Err(violation(
                at,
                format!("{text:?} does not have the required form ({pattern})"),
            ));
        }
    }
    if s.date_time && chrono::DateTime::parse_from_rfc3339(text).is_err() {
        return Err(violation(
            at,
            format!("{text:?} is not an RFC 3339 timestamp"),
        ));
    }
    Ok(())
}

fn number(s: &Node, n: f64, at: &str) -> Result<(), Violation> {
    if let Some((max, exclusive)) = s.maximum {
        if n > max || (exclusive && n == max) {
            return Err(violation(at, format!("at most {max}, got {n}")));
        }
    }
    if let Some((min, exclusive)) = s.minimum {
        if n < min || (exclusive && n == min) {
            return Err(violation(at, format!("at least {min}, got {n}")));
        }
    }
    if s.int32 && (n < i32::MIN as f64 || n > i32::MAX as f64) {
        return Err(violation(at, format!("{n} does not fit in 32 bits")));
    }
    Ok(())
}

fn article(ty: Ty) -> &'static str {
    match ty {
        Ty::Object => "an object",
        Ty::Array => "an array",
        Ty::String => "a string",
        Ty::Integer => "an integer",
        Ty::Number => "a number",
        Ty::Boolean => "a boolean",
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
