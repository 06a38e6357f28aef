//! The semver impact of each change `update-spec` shows, judged by what the build generates.
//!
//! The rules follow the generated Rust API, not OpenAPI in the abstract:
//! - A component schema is a struct: `#[non_exhaustive]`, built through a builder; a required
//!   property is a plain `T` (the builder fails without it, serde fails on JSON without it), an
//!   optional one `Option<T>`, and an inline array or map a `Vec`/map either way (typify's
//!   intrinsic default). An optional property is `Option<T>` whether or not it is `nullable`.
//! - Every string enum (named or inline) and every `oneOf` with a `discriminator` is open:
//!   `#[non_exhaustive]` with an `Unknown(..)` variant (codegen/normalize.rs, src/macros.rs).
//! - Each operation is a method on its tag's `Client<Tag>Ext` trait (sealed) returning a builder
//!   with one method per parameter; a required parameter left unset fails at `send()`. An
//!   operation's Rust name comes from its operationId, so a new path or method is invisible.
//! - Error responses are not generated (the SDK reads error bodies itself), nor is `deprecated`.
//!
//! Whether a type is read from the API (a response or callback payload) or sent to it (a request
//! body or parameter) changes what breaks, and each reason says which: a new required field
//! breaks code that builds a request without it, and every older answer (or stored payload, or
//! test double) that lacks it. Either is a major change.

use crate::normalize;
use heck::ToSnakeCase;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How a change affects users of the generated API (Cargo's terms: for a 0.x crate a major
/// change bumps the minor version, a minor one the patch version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Nothing in the generated API changes.
    Patch,
    /// Additive: code that compiled and worked still does.
    Minor,
    /// Some code that compiled or worked no longer does.
    Major,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        })
    }
}

/// A change's level and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    pub level: Level,
    pub reason: String,
}

fn impact(level: Level, reason: impl Into<String>) -> Impact {
    Impact {
        level,
        reason: reason.into(),
    }
}

fn patch(reason: impl Into<String>) -> Impact {
    impact(Level::Patch, reason)
}

fn minor(reason: impl Into<String>) -> Impact {
    impact(Level::Minor, reason)
}

fn major(reason: impl Into<String>) -> Impact {
    impact(Level::Major, reason)
}

/// Where an enum's values are declared.
#[derive(Debug, Clone, Copy)]
pub enum EnumSite<'a> {
    /// A named schema (`ConversationChannel`).
    Schema(&'a str),
    /// A property's inline enum, or its array items' (`Contact.language`).
    Property(&'a str, &'a str),
    /// A parameter's inline enum (`Messages_ListMessages`, `query view`).
    Parameter(&'a str, &'a str),
}

/// What the rules need to know about one version of a document.
#[derive(Debug, Default)]
struct Side {
    /// The document after the build's normalisation (the raw one if it was rejected).
    normalized: Value,
    /// The normalisation's error, if it rejects the document.
    rejected: Option<String>,
    /// Component schemas reachable from request bodies and parameters.
    inputs: BTreeSet<String>,
    /// Component schemas reachable from success responses (and callbacks).
    outputs: BTreeSet<String>,
    /// The open enums by Rust name: their values in document order.
    open_enums: BTreeMap<String, Vec<String>>,
    /// Open unions by Rust name: their (tag value, variant type) pairs.
    unions: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Builders of the operations that get `pages()` / `items()` streams.
    paged: BTreeSet<String>,
    /// The Rust names the normalisation gives inline enums, by where they are declared
    /// (`Contact.language`, `Messages_ListMessages: query view`).
    hoisted: BTreeMap<String, String>,
    /// Each operation's tags.
    tags: BTreeMap<String, Vec<String>>,
}

impl Side {
    fn new(raw: &Value, callback_roots: &BTreeSet<String>) -> Side {
        let mut normalized = raw.clone();
        let (found, rejected) = match normalize::normalize(&mut normalized) {
            Ok(found) => (found, None),
            Err(e) => {
                normalized = raw.clone();
                (normalize::Normalized::default(), Some(e))
            }
        };
        let (mut input_roots, mut output_roots) = (Vec::new(), Vec::new());
        let mut tags = BTreeMap::new();
        for (id, op) in operations(raw) {
            if let Some(body) = op.get("requestBody") {
                schema_refs(raw, body, &mut input_roots);
            }
            for p in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                schema_refs(raw, p, &mut input_roots);
            }
            for (status, r) in op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if status.starts_with('2') {
                    schema_refs(raw, r, &mut output_roots);
                }
            }
            tags.insert(id, crate::diff::strings(op.get("tags")));
        }
        // Path-level parameters.
        for item in raw
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|p| p.values())
        {
            if let Some(params) = item.get("parameters") {
                schema_refs(raw, params, &mut input_roots);
            }
        }
        output_roots.extend(callback_roots.iter().cloned());
        let hoisted = hoisted_names(raw, &normalized);
        Side {
            inputs: closure(raw, input_roots),
            outputs: closure(raw, output_roots),
            open_enums: found
                .open_enums
                .iter()
                .map(|e| (e.name.clone(), e.values.clone()))
                .collect(),
            unions: found
                .tagged_unions
                .iter()
                .map(|u| (u.name.clone(), u.variants.iter().cloned().collect()))
                .collect(),
            paged: found.paged.iter().map(|p| p.builder.clone()).collect(),
            hoisted,
            tags,
            normalized,
            rejected,
        }
    }

    /// The Rust type an enum site's values end up in, if it is one of the open enums.
    fn open_enum_at(&self, site: EnumSite) -> Option<String> {
        let schema = match site {
            EnumSite::Schema(name) => {
                let rust = normalize::rust_name(name);
                return self.open_enums.contains_key(&rust).then_some(rust);
            }
            EnumSite::Property(schema, prop) => self
                .normalized
                .pointer(&format!("/components/schemas/{}", escape(schema)))
                .and_then(|s| crate::diff::properties(s).get(prop).copied().cloned()),
            EnumSite::Parameter(op, param) => operations(&self.normalized)
                .into_iter()
                .find(|(id, _)| id == op)
                .and_then(|(_, o)| {
                    let params = o.get("parameters")?.as_array()?;
                    params
                        .iter()
                        .map(|p| resolve(&self.normalized, p))
                        .find(|p| {
                            param.ends_with(&format!(
                                " {}",
                                p.get("name").and_then(Value::as_str).unwrap_or_default()
                            ))
                        })
                        .and_then(|p| p.get("schema").cloned())
                }),
        }?;
        let target = schema
            .get("$ref")
            .or_else(|| schema.pointer("/items/$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))?;
        let rust = normalize::rust_name(target);
        self.open_enums.contains_key(&rust).then_some(rust)
    }

    /// Each value's variant name in an open enum, as the build names them.
    fn variants(&self, rust: &str) -> BTreeMap<String, String> {
        let mut used = BTreeSet::new();
        self.open_enums
            .get(rust)
            .into_iter()
            .flatten()
            .map(|v| (v.clone(), crate::render::variant_ident(v, &mut used)))
            .collect()
    }
}

/// The rules, with what they need to know about both versions of a document.
#[derive(Debug, Default)]
pub struct Rules {
    old: Side,
    new: Side,
    /// Raw component schemas of each version.
    old_schemas: BTreeMap<String, Value>,
    new_schemas: BTreeMap<String, Value>,
}

impl Rules {
    /// `callback_roots`: schemas of this document that webhook payloads use (read, never sent).
    pub fn new(old: &Value, new: &Value, callback_roots: &BTreeSet<String>) -> Rules {
        let schemas = |d: &Value| {
            d.pointer("/components/schemas")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        Rules {
            old: Side::new(old, callback_roots),
            new: Side::new(new, callback_roots),
            old_schemas: schemas(old),
            new_schemas: schemas(new),
        }
    }

    /// "a request type", "a response type", ... for a schema in either version.
    fn role(&self, schema: &str) -> &'static str {
        let input = self.old.inputs.contains(schema) || self.new.inputs.contains(schema);
        let output = self.old.outputs.contains(schema) || self.new.outputs.contains(schema);
        match (input, output) {
            (true, true) => "a request and response type",
            (true, false) => "a request type",
            (false, true) => "a response type",
            (false, false) => "a type no operation uses",
        }
    }

    pub fn operation_added(&self, id: &str) -> Impact {
        let (method, builder) = (id.to_snake_case(), normalize::rust_name(id));
        let tags = self.new.tags.get(id).cloned().unwrap_or_default();
        let Some(tag) = tags.first() else {
            return minor(format!(
                "a new operation: `Client::{method}()` and `builder::{builder}`"
            ));
        };
        let tr = trait_name(tag);
        let existed = self
            .old
            .tags
            .values()
            .flatten()
            .any(|t| trait_name(t) == tr);
        minor(if existed {
            format!("a new operation: `{tr}::{method}()` (a sealed trait) and `builder::{builder}`")
        } else {
            format!("a new operation on a new trait: `{tr}::{method}()` and `builder::{builder}`")
        })
    }

    pub fn operation_removed(&self, id: &str) -> Impact {
        major(format!(
            "operation removed: `.{}()` and `builder::{}` are gone",
            id.to_snake_case(),
            normalize::rust_name(id)
        ))
    }

    pub fn operation_moved(&self) -> Impact {
        patch("same operationId, same Rust API; the client calls the new method and path")
    }

    pub fn tags_changed(&self, id: &str, from: &[&str], to: &[&str]) -> Impact {
        let m = id.to_snake_case();
        let traits = |tags: &[&str]| -> Vec<String> {
            tags.iter()
                .map(|t| format!("`{}`", trait_name(t)))
                .collect()
        };
        match (from, to) {
            ([], _) => major(format!(
                "`.{m}()` moves from `Client` onto {}: calls need the trait in scope",
                traits(to).join(", ")
            )),
            (_, []) => major(format!(
                "`.{m}()` leaves {} for `Client` itself: paths naming the trait break",
                traits(from).join(", ")
            )),
            _ => major(format!(
                "`.{m}()` moves from {} to {}: code importing only the old trait breaks, and \
                 a method on two imported traits is ambiguous",
                traits(from).join(", "),
                traits(to).join(", ")
            )),
        }
    }

    /// `param` is `"<in> <name>"`.
    pub fn parameter_added(&self, param: &str, required: bool) -> Impact {
        let m = param_method(param);
        if required {
            major(format!(
                "a new required parameter: a call that does not set `.{m}()` fails at `send()`"
            ))
        } else {
            minor(format!("a new optional parameter: builder method `.{m}()`"))
        }
    }

    pub fn parameter_removed(&self, param: &str) -> Impact {
        major(format!(
            "parameter removed: builder method `.{}()` is gone",
            param_method(param)
        ))
    }

    pub fn parameter_retyped(&self, param: &str) -> Impact {
        major(format!(
            "`.{}()` takes another type: calls with the old one no longer compile",
            param_method(param)
        ))
    }

    pub fn parameter_required(&self, param: &str, now: bool) -> Impact {
        let m = param_method(param);
        if now {
            major(format!(
                "a parameter newly required: a call that does not set `.{m}()` fails at `send()`"
            ))
        } else {
            minor(format!("`.{m}()` is unchanged and may now be left out"))
        }
    }

    /// A request body's schema changed, appeared or went away (descriptions as `diff` makes them).
    pub fn request_body(&self, from: Option<&str>, to: Option<&str>) -> Impact {
        match (from, to) {
            (None, Some(to)) => {
                let needs_fields = to
                    .strip_prefix("ref ")
                    .and_then(|n| self.new_schemas.get(n))
                    .is_none_or(|s| !crate::diff::required(s).is_empty());
                if needs_fields {
                    major(format!(
                        "a new request body ({to}): a call that does not set `.body()` fails at `send()`"
                    ))
                } else {
                    minor(format!(
                        "a new request body ({to}) without required fields: `.body()` / `.body_map()` start from an empty one"
                    ))
                }
            }
            (Some(_), None) => major("request body removed: `.body()` and `.body_map()` are gone"),
            _ => major("`.body()` takes another type: calls with the old one no longer compile"),
        }
    }

    /// A response changed; `success_types_changed`: the set of 2xx body types differs.
    pub fn response(&self, status: &str, success_types_changed: bool) -> Impact {
        if !status.starts_with('2') {
            patch("error responses are not generated (the SDK reads error bodies itself)")
        } else if success_types_changed {
            major("the operation's return type changes")
        } else {
            patch("the success type is unchanged")
        }
    }

    pub fn deprecated(&self) -> Impact {
        patch("progenitor generates no `#[deprecated]` from it: documentation only")
    }

    pub fn schema_added(&self, name: &str) -> Impact {
        minor(format!("a new type `{}`", normalize::rust_name(name)))
    }

    pub fn schema_removed(&self, name: &str) -> Impact {
        major(format!(
            "`{}` ({}) is gone",
            normalize::rust_name(name),
            self.role(name)
        ))
    }

    /// A schema's own type changed (`describe` before and after).
    pub fn schema_retyped(&self, name: &str, from: &str, to: &str) -> Impact {
        let rust = normalize::rust_name(name);
        match (self.old.unions.get(&rust), self.new.unions.get(&rust)) {
            (Some(a), Some(b)) if a.is_subset(b) => {
                return minor(format!(
                    "a new kind of the open union `{rust}` (`#[non_exhaustive]`; it used to \
                     arrive as `Unknown`)"
                ))
            }
            (Some(_), Some(_)) => {
                return major(format!(
                    "a kind of the union `{rust}` removed or re-tagged: its variant is gone"
                ))
            }
            (Some(_), None) => {
                return major(format!(
                    "`{rust}` is no longer an open union (no discriminator): another type"
                ))
            }
            _ => {}
        }
        let closed = from.trim_end_matches('?') == "string" && to.starts_with("string enum");
        if closed {
            major(format!(
                "an enum closed over a free string: `{rust}` becomes an enum, code that uses it as a `String` no longer compiles"
            ))
        } else {
            major(format!(
                "`{rust}` ({}) becomes another Rust type",
                self.role(name)
            ))
        }
    }

    pub fn property_added(&self, schema: &str, prop: &str, required: bool) -> Impact {
        let (rust, field) = (normalize::rust_name(schema), prop.to_snake_case());
        if !required {
            return minor(format!(
                "a new optional field `{rust}.{field}` (`#[non_exhaustive]` struct: a \
                 `with_{field}` setter and a builder method)"
            ));
        }
        let loses_default = self
            .old_schemas
            .get(schema)
            .is_some_and(|s| crate::diff::required(s).is_empty());
        let default = if loses_default {
            "; and it no longer implements `Default`"
        } else {
            ""
        };
        major(format!(
            "a new required field of {}: {}{default}",
            self.role(schema),
            self.required_effects(schema, &rust, &field)
        ))
    }

    pub fn property_removed(&self, schema: &str, prop: &str) -> Impact {
        major(format!(
            "field `{}.{}` ({}) is gone: code that sets or reads it no longer compiles",
            normalize::rust_name(schema),
            prop.to_snake_case(),
            self.role(schema)
        ))
    }

    /// A property's type changed; `optional_both`: it is optional before and after.
    pub fn property_retyped(
        &self,
        schema: &str,
        prop: &str,
        from: &str,
        to: &str,
        optional_both: bool,
    ) -> Impact {
        let field = format!("{}.{}", normalize::rust_name(schema), prop.to_snake_case());
        if optional_both && from.trim_end_matches('?') == to.trim_end_matches('?') {
            return patch(format!(
                "`{field}` is `Option<_>` whether or not it is nullable"
            ));
        }
        let closed = from.trim_end_matches('?') == "string" && to.starts_with("string enum");
        if closed {
            major(format!(
                "an enum closed over a free string: `{field}` becomes an enum type"
            ))
        } else {
            major(format!(
                "`{field}` ({}) changes Rust type ({from} -> {to})",
                self.role(schema)
            ))
        }
    }

    /// A property became required (`now`) or optional; `ty` is its description.
    pub fn property_required(&self, schema: &str, prop: &str, ty: &str, now: bool) -> Impact {
        let (rust, field) = (normalize::rust_name(schema), prop.to_snake_case());
        // Inline arrays and maps are a `Vec`/map either way (typify's intrinsic default).
        let collection = ty.starts_with("array of ") || ty.starts_with("map of ");
        match (now, collection) {
            (true, true) => major(format!(
                "a field of {} newly required: {}",
                self.role(schema),
                self.required_effects(schema, &rust, &field)
            )),
            (true, false) => major(format!(
                "a field of {} newly required: `{rust}.{field}` changes from `Option<_>` to a \
                 plain value, and {}",
                self.role(schema),
                self.required_effects(schema, &rust, &field)
            )),
            (false, true) => minor(format!(
                "`{rust}.{field}` stays a collection (empty when absent) and may now be absent"
            )),
            (false, false) => major(format!(
                "`{rust}.{field}` changes from a plain value to `Option<_>`: code that reads \
                 or sets it no longer compiles"
            )),
        }
    }

    /// What a required field breaks, by the schema's role.
    fn required_effects(&self, schema: &str, rust: &str, field: &str) -> String {
        let build = format!("code that builds `{rust}` without `{field}` fails");
        let read = "an answer without it (older API, stored payload, test double) no longer \
                    deserializes";
        match self.role(schema) {
            "a request type" => build,
            "a response type" => read.to_string(),
            _ => format!("{build}, and {read}"),
        }
    }

    /// The schema gained or lost `additionalProperties: false` (typify's `deny_unknown_fields`).
    pub fn closed_object(&self, schema: &str, now: bool) -> Impact {
        let rust = normalize::rust_name(schema);
        if now {
            major(format!(
                "`{rust}` now rejects unknown fields: JSON with a field this version does not \
                 know no longer deserializes"
            ))
        } else {
            minor(format!("`{rust}` now accepts unknown fields"))
        }
    }

    pub fn enum_value_added(&self, site: EnumSite, value: &str) -> Impact {
        match self.new.open_enum_at(site) {
            Some(rust) => minor(format!(
                "a new variant of the open enum `{rust}` (`#[non_exhaustive]`; the value used \
                 to arrive as `Unknown({value:?})`)"
            )),
            None => major("a closed (not a string) enum gains a value: exhaustive matches break"),
        }
    }

    pub fn enum_value_removed(&self, site: EnumSite) -> Impact {
        let ty = self
            .old
            .open_enum_at(site)
            .map_or_else(String::new, |r| format!(" of `{r}`"));
        major(format!(
            "a variant{ty} is gone: code that names it no longer compiles"
        ))
    }

    /// Changes only the normalised documents show: an inline enum the normalisation names
    /// differently (another schema took its name), operations that lose or gain their
    /// auto-paging streams, and a document the build's normalisation rejects. Each as
    /// `(line, impact)`.
    pub fn generated(&self) -> Vec<(String, Impact)> {
        let mut out = Vec::new();
        if let (Some(e), None) = (&self.new.rejected, &self.old.rejected) {
            out.push((
                "! the build's normalisation rejects the new document".to_string(),
                major(format!("the crate would not build: {e}")),
            ));
            return out;
        }
        for (site, before) in &self.old.hoisted {
            match self.new.hoisted.get(site) {
                Some(after) if after != before => out.push((
                    format!("~ {site}: enum type {before} -> {after}"),
                    major(format!(
                        "the normalisation names this enum `{after}` now: code that names \
                         `{before}` no longer compiles"
                    )),
                )),
                _ => {}
            }
        }
        for rust in self.old.open_enums.keys() {
            let after = self.new.variants(rust);
            for (value, before) in self.old.variants(rust) {
                match after.get(&value) {
                    Some(now) if *now != before => out.push((
                        format!("~ {rust}::{before}: variant of {value:?} -> {rust}::{now}"),
                        major(format!(
                            "a new value takes the variant name of {value:?} (names are made \
                             in document order): code that names `{rust}::{before}` now \
                             means another value"
                        )),
                    )),
                    _ => {}
                }
            }
        }
        for b in self.old.paged.difference(&self.new.paged) {
            if self
                .new
                .tags
                .keys()
                .any(|id| &normalize::rust_name(id) == b)
            {
                out.push((
                    format!("- {b}: auto-paging"),
                    major(format!(
                        "`builder::{b}` loses `pages()` and `items()`: its response is no longer \
                         one array of items with an optional `next_page_token`"
                    )),
                ));
            }
        }
        for b in self.new.paged.difference(&self.old.paged) {
            out.push((
                format!("+ {b}: auto-paging"),
                minor(format!("`builder::{b}` gains `pages()` and `items()`")),
            ));
        }
        out
    }
}

/// The verdict over many changes: the highest level, and how many are at it.
pub fn verdict<'a>(impacts: impl IntoIterator<Item = &'a Impact>) -> Option<String> {
    let mut counts: BTreeMap<Level, usize> = BTreeMap::new();
    for i in impacts {
        *counts.entry(i.level).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let (&top, &n) = counts.iter().next_back()?;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Some(match top {
        Level::Major => format!(
            "major: {n} of {total} change{} break{} the generated API",
            plural(total),
            if n == 1 { "s" } else { "" }
        ),
        Level::Minor => format!(
            "minor: {total} change{}, all additive to the generated API",
            plural(total)
        ),
        Level::Patch => format!(
            "patch: {total} change{}, none to the generated API",
            plural(total)
        ),
    })
}

/// Where the normalisation hoisted an inline enum to, by site: top-level properties of component
/// schemas (or their items / map values) and operation parameters.
fn hoisted_names(raw: &Value, normalized: &Value) -> BTreeMap<String, String> {
    let raw_schemas = raw
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let is_hoisted = |s: &Value| -> Option<String> {
        let target = ["/$ref", "/items/$ref", "/additionalProperties/$ref"]
            .iter()
            .find_map(|p| s.pointer(p))
            .and_then(Value::as_str)?
            .strip_prefix("#/components/schemas/")?;
        let declared = raw_schemas.is_some_and(|m| m.contains_key(target));
        (!declared).then(|| normalize::rust_name(target))
    };
    let mut out = BTreeMap::new();
    for (name, s) in normalized
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if !raw_schemas.is_some_and(|m| m.contains_key(name)) {
            continue;
        }
        for (prop, p) in crate::diff::properties(s) {
            if let Some(t) = is_hoisted(p) {
                out.insert(format!("{name}.{prop}"), t);
            }
        }
    }
    for (id, op) in operations(normalized) {
        for p in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = resolve(normalized, p);
            let place = p.get("in").and_then(Value::as_str).unwrap_or("?");
            let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
            if let Some(t) = p.get("schema").and_then(is_hoisted) {
                out.insert(format!("{id}: parameter {place} {name}"), t);
            }
        }
    }
    out
}

/// The trait progenitor puts a tag's operations on.
fn trait_name(tag: &str) -> String {
    format!("Client{}Ext", normalize::rust_name(tag))
}

/// The builder method of a parameter described as `"<in> <name>"`.
fn param_method(param: &str) -> String {
    param
        .split_once(' ')
        .map_or(param, |(_, name)| name)
        .to_snake_case()
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation by id (`METHOD path` when it has none), as `diff` names them.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{} {path}", m.to_uppercase()), str::to_owned);
                out.push((id, op));
            }
        }
    }
    out
}

/// Follows a local `$ref` to anything but a schema (parameters, bodies, responses).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) if !r.starts_with("#/components/schemas/") => r
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(v),
        _ => v,
    }
}

/// The component schemas `v` refers to, following references to other components.
fn schema_refs(doc: &Value, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                match r.strip_prefix("#/components/schemas/") {
                    Some(name) => out.push(name.to_string()),
                    None => {
                        let target = resolve(doc, v);
                        if !std::ptr::eq(target, v) {
                            schema_refs(doc, target, out);
                        }
                    }
                }
            }
            m.values().for_each(|c| schema_refs(doc, c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| schema_refs(doc, c, out)),
        _ => {}
    }
}

/// The schemas reachable from `roots`.
fn closure(doc: &Value, mut todo: Vec<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(s) = doc.pointer(&format!("/components/schemas/{}", escape(&name))) {
            schema_refs(doc, s, &mut todo);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, Change, Diff};
    use serde_json::json;

    /// A document with one operation sending `Req` and answering `Resp`, and `schemas`.
    fn doc(schemas: Value) -> Value {
        doc_with(json!({}), schemas)
    }

    fn doc_with(extra_paths: Value, schemas: Value) -> Value {
        let mut paths = json!({"/v1/projects/{project_id}/things": {"post": {
            "operationId": "Things_Create", "tags": ["Things"],
            "parameters": [{"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}},
            "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resp"}}}}}}}});
        for (k, v) in extra_paths.as_object().unwrap() {
            paths[k] = v.clone();
        }
        json!({"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}})
    }

    fn base_schemas() -> Value {
        json!({
            "Req": {"type": "object", "required": ["app_id"], "properties": {
                "app_id": {"type": "string"}, "ttl": {"type": "string"},
                "channel": {"$ref": "#/components/schemas/Channel"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"type": "string", "enum": ["A", "B"]}}},
            "Resp": {"type": "object", "properties": {
                "id": {"type": "string"}, "count": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "string"}},
                "contact": {"$ref": "#/components/schemas/Contact"}}},
            "Contact": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Channel": {"type": "string", "enum": ["SMS", "RCS"]},
            "Unused": {"type": "object", "properties": {"x": {"type": "string"}}}
        })
    }

    /// The one change `edit` makes to the base schemas, with its impact.
    fn one(edit: impl FnOnce(&mut Value)) -> Change {
        let old = doc(base_schemas());
        let mut new_schemas = base_schemas();
        edit(&mut new_schemas);
        let new = doc(new_schemas);
        only(diff(&old, &new))
    }

    fn only(d: Diff) -> Change {
        let all: Vec<Change> = d.changes().cloned().collect();
        assert_eq!(all.len(), 1, "{d}");
        all.into_iter().next().unwrap()
    }

    fn assert_level(c: &Change, level: Level, words: &[&str]) {
        assert_eq!(c.impact.level, level, "{c:?}");
        for w in words {
            assert!(c.impact.reason.contains(w), "{w:?} not in {c:?}");
        }
    }

    #[test]
    fn new_fields() {
        let c = one(|s| s["Req"]["properties"]["priority"] = json!({"type": "string"}));
        assert_level(&c, Level::Minor, &["optional field `Req.priority`"]);
        let c = one(|s| s["Resp"]["properties"]["extra"] = json!({"type": "string"}));
        assert_level(&c, Level::Minor, &["`Resp.extra`"]);

        // Required in a request: code building it without the field fails.
        let c = one(|s| {
            s["Req"]["properties"]["priority"] = json!({"type": "string"});
            s["Req"]["required"] = json!(["app_id", "priority"]);
        });
        assert_level(
            &c,
            Level::Major,
            &["a request type", "builds `Req` without `priority` fails"],
        );
        assert!(!c.impact.reason.contains("Default"), "{c:?}");
        // Required in a response: older answers no longer deserialize, and Default is lost.
        let c = one(|s| {
            s["Resp"]["properties"]["extra"] = json!({"type": "string"});
            s["Resp"]["required"] = json!(["extra"]);
        });
        assert_level(
            &c,
            Level::Major,
            &["a response type", "no longer deserializes", "`Default`"],
        );
        // A type used both ways (Contact through Resp, here also sent): both effects.
        let c = one(|s| {
            s["Req"]["properties"]["contact"] = json!({"$ref": "#/components/schemas/Contact"});
        });
        assert_level(&c, Level::Minor, &[]);
        let both = doc(
            json!({"Req": {"$ref": "#/components/schemas/Contact"}, "Resp": {"$ref": "#/components/schemas/Contact"},
                               "Contact": {"type": "object", "properties": {"name": {"type": "string"}}}}),
        );
        let mut after = both.clone();
        after["components"]["schemas"]["Contact"]["properties"]["age"] = json!({"type": "integer"});
        after["components"]["schemas"]["Contact"]["required"] = json!(["age"]);
        let c = only(diff(&both, &after));
        assert_level(
            &c,
            Level::Major,
            &["request and response type", "fails, and an answer"],
        );
    }

    #[test]
    fn removed_and_retyped_fields() {
        let c = one(|s| {
            s["Resp"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("count");
        });
        assert_level(
            &c,
            Level::Major,
            &["`Resp.count`", "a response type", "gone"],
        );
        let c = one(|s| s["Resp"]["properties"]["count"] = json!({"type": "string"}));
        assert_level(&c, Level::Major, &["integer -> string"]);
        let c = one(|s| {
            s["Resp"]["properties"]["count"] = json!({"type": "integer", "format": "int64"})
        });
        assert_level(&c, Level::Major, &["integer -> integer(int64)"]);
        // Optional and nullable is `Option<T>` as before; required and nullable is not.
        let c =
            one(|s| s["Req"]["properties"]["ttl"] = json!({"type": "string", "nullable": true}));
        assert_level(&c, Level::Patch, &["whether or not it is nullable"]);
        let c =
            one(|s| s["Req"]["properties"]["app_id"] = json!({"type": "string", "nullable": true}));
        assert_level(&c, Level::Major, &["string -> string?"]);
        // A free string that gains a list of values becomes an enum type.
        let c = one(|s| {
            s["Req"]["properties"]["ttl"] = json!({"type": "string", "enum": ["1s", "2s"]})
        });
        assert_level(&c, Level::Major, &["enum closed", "`Req.ttl`"]);
        let c = one(|s| {
            s["Req"]["properties"]["kind"] = json!({"type": "string"});
        });
        assert_level(&c, Level::Major, &["string enum -> string"]);
    }

    #[test]
    fn fields_newly_required_or_optional() {
        let c = one(|s| s["Req"]["required"] = json!(["app_id", "ttl"]));
        assert_level(
            &c,
            Level::Major,
            &[
                "a request type newly required",
                "from `Option<_>`",
                "without `ttl` fails",
            ],
        );
        let c = one(|s| s["Resp"]["required"] = json!(["id"]));
        assert_level(
            &c,
            Level::Major,
            &["a response type", "no longer deserializes"],
        );
        // A required array or map is still a `Vec`: only missing values break.
        let c = one(|s| s["Resp"]["required"] = json!(["items"]));
        assert_level(&c, Level::Major, &["no longer deserializes"]);
        assert!(!c.impact.reason.contains("Option"), "{c:?}");
        let c = one(|s| s["Req"]["required"] = json!([]));
        assert_level(&c, Level::Major, &["`Req.app_id`", "to `Option<_>`"]);
        let mut start = base_schemas();
        start["Req"]["required"] = json!(["app_id", "tags"]);
        let c = only(diff(&doc(start), &doc(base_schemas())));
        assert_level(&c, Level::Minor, &["`Req.tags` stays a collection"]);
    }

    #[test]
    fn enums() {
        let c = one(|s| s["Channel"]["enum"] = json!(["SMS", "RCS", "KAKAO"]));
        assert_level(
            &c,
            Level::Minor,
            &["open enum `Channel`", "Unknown(\"KAKAO\")"],
        );
        // An inline enum is hoisted into an open enum too (named ReqKind by the normalisation).
        let c = one(|s| s["Req"]["properties"]["kind"]["enum"] = json!(["A", "B", "C"]));
        assert_level(&c, Level::Minor, &["open enum `ReqKind`"]);
        let c = one(|s| s["Channel"]["enum"] = json!(["SMS"]));
        assert_level(&c, Level::Major, &["variant of `Channel` is gone"]);
        // A new value whose variant name clashes with an existing one, declared before it,
        // takes that name (`Rcs`), and the old value becomes `Rcs2`.
        let mut start = base_schemas();
        start["Channel"]["enum"] = json!(["SMS", "rcs"]);
        let mut end = start.clone();
        end["Channel"]["enum"] = json!(["SMS", "RCS", "rcs"]);
        let d = diff(&doc(start.clone()), &doc(end));
        assert_level(&d.enum_values[0], Level::Minor, &[]);
        assert_eq!(
            d.generated[0].text,
            "~ Channel::Rcs: variant of \"rcs\" -> Channel::Rcs2"
        );
        assert_level(&d.generated[0], Level::Major, &["now means another value"]);
        // Declared after it, the new value gets `...2` and nothing is renamed.
        let mut end = start.clone();
        end["Channel"]["enum"] = json!(["SMS", "rcs", "RCS"]);
        let d = diff(&doc(start), &doc(end));
        assert_eq!(d.level(), Some(Level::Minor), "{d}");
        // An integer enum is not made open.
        let mut start = base_schemas();
        start["Prio"] = json!({"type": "integer", "enum": [1, 2]});
        let mut end = start.clone();
        end["Prio"]["enum"] = json!([1, 2, 3]);
        let c = only(diff(&doc(start), &doc(end)));
        assert_level(&c, Level::Major, &["closed"]);
        // A named free string that becomes an enum.
        let mut start = base_schemas();
        start["Code"] = json!({"type": "string"});
        let mut end = start.clone();
        end["Code"]["enum"] = json!(["X"]);
        let c = only(diff(&doc(start), &doc(end)));
        assert_level(&c, Level::Major, &["enum closed", "`Code`"]);
    }

    #[test]
    fn schemas_and_objects() {
        let c = one(|s| s["Fresh"] = json!({"type": "object"}));
        assert_level(&c, Level::Minor, &["new type `Fresh`"]);
        let c = one(|s| {
            s.as_object_mut().unwrap().remove("Unused");
        });
        assert_level(
            &c,
            Level::Major,
            &["`Unused` (a type no operation uses) is gone"],
        );
        let c = one(|s| s["Contact"]["additionalProperties"] = json!(false));
        assert_level(&c, Level::Major, &["rejects unknown fields"]);
        let mut start = base_schemas();
        start["Contact"]["additionalProperties"] = json!(false);
        let c = only(diff(&doc(start), &doc(base_schemas())));
        assert_level(&c, Level::Minor, &["accepts unknown fields"]);
    }

    #[test]
    fn unions() {
        let union = |members: &[&str]| {
            let mut s = base_schemas();
            let refs: Vec<Value> = members
                .iter()
                .map(|m| json!({"$ref": format!("#/components/schemas/{m}")}))
                .collect();
            let mapping: serde_json::Map<String, Value> = members
                .iter()
                .map(|m| (m.to_uppercase(), json!(format!("#/components/schemas/{m}"))))
                .collect();
            s["Msg"] = json!({"oneOf": refs, "discriminator": {"propertyName": "type", "mapping": mapping}});
            for m in ["Text", "Card", "Media"] {
                s[m] = json!({"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}});
            }
            s
        };
        let c = only(diff(
            &doc(union(&["Text", "Card"])),
            &doc(union(&["Text", "Card", "Media"])),
        ));
        assert_level(&c, Level::Minor, &["open union `Msg`"]);
        let c = only(diff(&doc(union(&["Text", "Card"])), &doc(union(&["Text"]))));
        assert_level(&c, Level::Major, &["removed"]);
        // Without a discriminator typify makes an exhaustive enum: a new member breaks.
        let mut a = union(&["Text"]);
        a["Msg"].as_object_mut().unwrap().remove("discriminator");
        let mut b = union(&["Text", "Card"]);
        b["Msg"].as_object_mut().unwrap().remove("discriminator");
        let c = only(diff(&doc(a), &doc(b)));
        assert_level(&c, Level::Major, &["another Rust type"]);
    }

    fn op(extra: Value) -> Value {
        let mut op = json!({"operationId": "Things_Get", "tags": ["Things"],
            "parameters": [{"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}},
                           {"name": "view", "in": "query", "schema": {"type": "string", "enum": ["BASIC", "FULL"]}},
                           {"name": "page_token", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}}});
        for (k, v) in extra.as_object().unwrap() {
            op[k] = v.clone();
        }
        op
    }

    fn with_op(op: Value) -> Value {
        let mut s = base_schemas();
        s["Page"] = json!({"type": "object", "properties": {"next_page_token": {"type": "string"},
            "things": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}}}});
        doc_with(
            json!({"/v1/projects/{project_id}/things/list": {"get": op}}),
            s,
        )
    }

    /// The one change between the operation as `op` makes it and as changed by `edit`.
    fn op_change(edit: impl FnOnce(&mut Value)) -> Change {
        let mut changed = op(json!({}));
        edit(&mut changed);
        only(diff(&with_op(op(json!({}))), &with_op(changed)))
    }

    #[test]
    fn operations() {
        let old = doc(base_schemas());
        let new = with_op(op(json!({})));
        let d = diff(&old, &new);
        let added = &d.operations_added[0];
        assert_level(
            added,
            Level::Minor,
            &[
                "`ClientThingsExt::things_get()` (a sealed trait)",
                "`builder::ThingsGet`",
            ],
        );
        let added_schema = &d.schemas_added[0];
        assert_level(added_schema, Level::Minor, &["new type `Page`"]);
        let d = diff(&new, &old);
        assert_level(
            &d.operations_removed[0],
            Level::Major,
            &["`.things_get()` and `builder::ThingsGet` are gone"],
        );
        // A new tag is a new trait.
        let mut other = op(json!({"tags": ["Others"]}));
        other["operationId"] = json!("Others_Get");
        let d = diff(&old, &with_op(other));
        assert_level(
            &d.operations_added[0],
            Level::Minor,
            &["new trait: `ClientOthersExt::others_get()`"],
        );

        let c = op_change(|o| o["tags"] = json!(["Things", "More"]));
        assert_level(
            &c,
            Level::Major,
            &[
                "from `ClientThingsExt` to `ClientThingsExt`, `ClientMoreExt`",
                "ambiguous",
            ],
        );
        let c = op_change(|o| {
            o.as_object_mut().unwrap().remove("tags");
        });
        assert_level(&c, Level::Major, &["leaves `ClientThingsExt` for `Client`"]);
        let c = op_change(|o| o["deprecated"] = json!(true));
        assert_level(&c, Level::Patch, &["documentation only"]);
        // The same operationId on another path: the Rust API does not see it.
        let old = with_op(op(json!({})));
        let mut new = old.clone();
        let moved = new["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/v1/projects/{project_id}/things/list")
            .unwrap();
        new["paths"]["/v1/projects/{project_id}/things:list"] = moved;
        assert_level(&only(diff(&old, &new)), Level::Patch, &["same operationId"]);
    }

    #[test]
    fn parameters() {
        let param = |o: &mut Value, p: Value| o["parameters"].as_array_mut().unwrap().push(p);
        let c = op_change(|o| {
            param(
                o,
                json!({"name": "only_recent", "in": "query", "schema": {"type": "boolean"}}),
            )
        });
        assert_level(
            &c,
            Level::Minor,
            &["optional parameter", "`.only_recent()`"],
        );
        let c = op_change(|o| {
            param(
                o,
                json!({"name": "region", "in": "query", "required": true, "schema": {"type": "string"}}),
            )
        });
        assert_level(
            &c,
            Level::Major,
            &["required parameter", "fails at `send()`"],
        );
        let c = op_change(|o| {
            param(
                o,
                json!({"name": "X-Trace", "in": "header", "required": true, "schema": {"type": "string"}}),
            )
        });
        assert_level(&c, Level::Major, &["`.x_trace()`"]);
        // Removing page_token also ends auto-paging: two changes.
        let mut end = op(json!({}));
        end["parameters"].as_array_mut().unwrap().remove(2);
        let d = diff(&with_op(op(json!({}))), &with_op(end));
        assert_level(
            &d.operations_changed[0],
            Level::Major,
            &["`.page_token()` is gone"],
        );
        assert_level(&d.generated[0], Level::Major, &["loses `pages()`"]);
    }

    #[test]
    fn parameter_changes() {
        let c = op_change(|o| o["parameters"][1]["required"] = json!(true));
        assert_level(&c, Level::Major, &["newly required", "`.view()`"]);
        let mut start = op(json!({}));
        start["parameters"][1]["required"] = json!(true);
        let c = only(diff(&with_op(start), &with_op(op(json!({})))));
        assert_level(&c, Level::Minor, &["may now be left out"]);
        let c = op_change(|o| o["parameters"][1]["schema"] = json!({"type": "integer"}));
        assert_level(&c, Level::Major, &["`.view()` takes another type"]);
        // An inline parameter enum is an open enum named after the parameter.
        let c =
            op_change(|o| o["parameters"][1]["schema"]["enum"] = json!(["BASIC", "FULL", "NONE"]));
        assert_level(&c, Level::Minor, &["open enum `View`", "Unknown(\"NONE\")"]);
        let c = op_change(|o| o["parameters"][1]["schema"]["enum"] = json!(["FULL"]));
        assert_level(&c, Level::Major, &["variant of `View` is gone"]);
    }

    #[test]
    fn bodies_and_responses() {
        let body = |s: &str| json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}});
        let c = op_change(|o| o["requestBody"] = body("Contact"));
        assert_level(&c, Level::Minor, &["without required fields"]);
        let c = op_change(|o| o["requestBody"] = body("Req"));
        assert_level(&c, Level::Major, &["does not set `.body()`"]);
        let mut start = op(json!({}));
        start["requestBody"] = body("Contact");
        let c = only(diff(&with_op(start.clone()), &with_op(op(json!({})))));
        assert_level(&c, Level::Major, &["`.body()` and `.body_map()` are gone"]);
        let mut end = start.clone();
        end["requestBody"] = body("Resp");
        let c = only(diff(&with_op(start), &with_op(end)));
        assert_level(&c, Level::Major, &["`.body()` takes another type"]);

        let c = op_change(
            |o| o["responses"]["404"] = json!({"description": "", "content": {"application/json": {"schema": {"type": "object"}}}}),
        );
        assert_level(&c, Level::Patch, &["error responses are not generated"]);
        // The return type changes, and with it auto-paging ends.
        let mut end = op(json!({}));
        end["responses"]["200"]["content"]["application/json"]["schema"] =
            json!({"$ref": "#/components/schemas/Contact"});
        let d = diff(&with_op(op(json!({}))), &with_op(end));
        assert_level(&d.operations_changed[0], Level::Major, &["return type"]);
        assert_level(&d.generated[0], Level::Major, &["loses `pages()`"]);
        let c = op_change(|o| o["responses"]["201"] = o["responses"]["200"].clone());
        assert_level(&c, Level::Patch, &["success type is unchanged"]);
    }

    #[test]
    fn generated_code_seen_only_after_normalisation() {
        // A second array on the page ends auto-paging: an optional field, yet major.
        let old = with_op(op(json!({})));
        let mut new = old.clone();
        new["components"]["schemas"]["Page"]["properties"]["warnings"] =
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Contact"}});
        let d = diff(&old, &new);
        assert_eq!(d.level(), Some(Level::Major), "{d}");
        assert_level(
            &d.generated[0],
            Level::Major,
            &["`builder::ThingsGet` loses `pages()`"],
        );
        assert_level(&d.properties[0], Level::Minor, &[]);
        // A new schema takes the name the normalisation gave an inline enum: a new type, and a
        // renamed one.
        let old = doc(base_schemas());
        let mut schemas = base_schemas();
        schemas["ReqKind"] = json!({"type": "object"});
        let d = diff(&old, &doc(schemas));
        assert_eq!(d.level(), Some(Level::Major), "{d}");
        assert_level(&d.schemas_added[0], Level::Minor, &["`ReqKind`"]);
        assert_eq!(
            d.generated[0].text,
            "~ Req.kind: enum type ReqKind -> ReqKind2"
        );
        assert_level(&d.generated[0], Level::Major, &["no longer compiles"]);
        // The same for a parameter's enum, named after the parameter.
        let old = with_op(op(json!({})));
        let mut new = old.clone();
        new["components"]["schemas"]["View"] = json!({"type": "string"});
        let d = diff(&old, &new);
        assert_eq!(
            d.generated[0].text,
            "~ Things_Get: parameter query view: enum type View -> View2"
        );
    }

    #[test]
    fn verdicts() {
        let i = |l| impact(l, "");
        assert_eq!(verdict([]), None);
        assert_eq!(
            verdict(&[i(Level::Patch), i(Level::Minor), i(Level::Minor)]).unwrap(),
            "minor: 3 changes, all additive to the generated API"
        );
        assert_eq!(
            verdict(&[i(Level::Major), i(Level::Minor)]).unwrap(),
            "major: 1 of 2 changes breaks the generated API"
        );
        assert_eq!(
            verdict(&[i(Level::Patch)]).unwrap(),
            "patch: 1 change, none to the generated API"
        );
    }
}
