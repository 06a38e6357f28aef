//! The API documents as the fake reads them: every operation (method, path, parameters, body,
//! response), their schemas compiled for checking requests, and the wire shape of responses.
//! A documented limit written into `spec/` is enforced through here, with no code of its own.

pub(crate) use super::check::Violation;
use super::check::{Compiled, Id, Ty};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The documents as `build.rs` wrote them, one key per document (`{"<name>": <document>}`),
/// before the client's normalisation (limits kept, paths whole).
const DOCUMENTS: &str = include_str!(concat!(env!("OUT_DIR"), "/fake_spec.json"));

/// Which API document (and so which service) an operation belongs to: the document's key
/// (its file name without `.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Service(pub &'static str);

impl Service {
    /// Every document `build.rs` wrote, in its order.
    fn all() -> impl Iterator<Item = Service> {
        let docs = documents().as_object().expect("build.rs writes an object");
        docs.keys().map(|k| Service(k.as_str()))
    }

    /// The document a `$ref` names by file (`conversation.yaml#/...`), if it is one of them.
    fn of_file(file: &str) -> Option<Service> {
        let stem = file.rsplit('/').next()?.strip_suffix(".yaml")?;
        Service::all().find(|s| s.0 == stem)
    }

    fn doc(self) -> &'static Value {
        &documents()[self.0]
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
    compiled: Id,
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
    body_compiled: Option<Id>,
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

/// The operations of every document and their compiled schemas.
struct Catalog {
    operations: Vec<Operation>,
    schemas: Compiled,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut schemas = Compiled::default();
        let operations = Service::all()
            .flat_map(|s| read_operations(s, &mut schemas))
            .collect();
        Catalog {
            operations,
            schemas,
        }
    })
}

/// Every operation of every document.
pub(crate) fn operations() -> &'static [Operation] {
    &catalog().operations
}

pub(crate) fn operation(id: &str) -> Option<&'static Operation> {
    operations().iter().find(|o| o.id == id)
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn read_operations(service: Service, schemas: &mut Compiled) -> Vec<Operation> {
    let follow: &dyn Fn(Service, &'static Value) -> (Service, &'static Value) = &resolve_in;
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
                    let schema = p.get("schema").unwrap_or(&Value::Null);
                    let param = Param {
                        required: p["required"]
                            .as_bool()
                            .unwrap_or(location == Location::Path),
                        compiled: schemas.compile(service, schema, follow),
                        schema,
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
            let body_compiled = body.map(|(schema, _)| schemas.compile(service, schema, follow));
            out.push(Operation {
                id: id.to_owned(),
                service,
                method: m.to_uppercase().parse().expect("a known method"),
                path: path.clone(),
                params,
                body,
                body_compiled,
                response,
                shapes_response,
            });
        }
    }
    out
}

/// Follows `$ref`s (local, or `<document>.yaml#/...` into another document) to a schema,
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
        if let Some(other) = Service::of_file(file) {
            service = other;
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

/// Checks a request body against an operation's body schema.
pub(crate) fn check_body(op: &Operation, body: &Value) -> Result<(), Violation> {
    let Some(id) = op.body_compiled else {
        return Ok(());
    };
    if !body.is_object() {
        return Err(Violation {
            at: String::new(),
            problem: "the request body must be a JSON object".into(),
        });
    }
    // A PATCH body names only what changes: its root's required fields are the resource's,
    // checked by the handler on the merged result.
    let partial = op.method == http::Method::PATCH;
    catalog()
        .schemas
        .check(id, body, &mut String::new(), partial)
}

/// Checks one parameter's raw value (a path segment or query value) against its schema, read
/// as the type it declares.
pub(crate) fn check_param(p: &Param, raw: &str) -> Result<(), Violation> {
    let schemas = &catalog().schemas;
    let id = match schemas.ty(p.compiled) {
        Some(Ty::Array) => match schemas.items(p.compiled) {
            Some(items) => items,
            None => return Ok(()),
        },
        _ => p.compiled,
    };
    let not = |what: &str| Violation {
        at: p.name.clone(),
        problem: format!("{raw:?} is not {what}"),
    };
    let value = match schemas.ty(id) {
        Some(Ty::Integer) => Value::from(raw.parse::<i64>().map_err(|_| not("an integer"))?),
        Some(Ty::Number) => Value::from(raw.parse::<f64>().map_err(|_| not("a number"))?),
        Some(Ty::Boolean) => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(not("a boolean (true or false)")),
        },
        _ => Value::String(raw.to_owned()),
    };
    schemas.check(id, &value, &mut p.name.clone(), false)
}
