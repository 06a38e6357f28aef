//! Loading an OpenAPI document: parse, validate, and bring 3.1 down to 3.0.

use serde_json::{Map, Value};

/// A document that is not a usable OpenAPI 3.0 description.
#[derive(Debug)]
pub struct SpecError(pub String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `load` made of the bytes.
#[derive(Debug)]
pub struct Loaded {
    /// The document as a JSON value (YAML and JSON input both end up here).
    pub doc: Value,
    /// Whether a 3.1 document was converted to 3.0.
    pub converted: bool,
}

/// Parses YAML or JSON, checks it is OpenAPI 3.0 or 3.1 with paths, and converts 3.1 to 3.0.
pub fn load(bytes: &[u8], origin: &str) -> Result<Loaded, SpecError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| SpecError(format!("{origin}: not UTF-8 text")))?;
    let mut doc: Value = serde_norway::from_str(text)
        .map_err(|e| SpecError(format!("{origin}: not valid YAML or JSON: {e}")))?;
    // An unquoted `openapi: 3.1` is a YAML number.
    let version = match doc.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(SpecError(format!(
                "{origin}: not an OpenAPI document (no `openapi` version field)"
            )))
        }
    };
    if !doc.get("paths").is_some_and(Value::is_object) {
        return Err(SpecError(format!(
            "{origin}: OpenAPI document without a `paths` object"
        )));
    }
    let converted = if version.starts_with("3.0") {
        false
    } else if version.starts_with("3.1") {
        convert_31_to_30(&mut doc).map_err(|e| SpecError(format!("{origin}: {e}")))?;
        true
    } else {
        return Err(SpecError(format!(
            "{origin}: OpenAPI {version} is not supported (3.0 is used as is, 3.1 is converted)"
        )));
    };
    Ok(Loaded { doc, converted })
}

/// Rewrites an OpenAPI 3.1 document as 3.0.3, or says which construct has no 3.0 form.
///
/// The rules, applied to every object in keyword position (not to maps of names such as
/// `properties`, nor to example, default or enum data):
/// 1. `openapi: 3.1.x` becomes `3.0.3`; `jsonSchemaDialect`, `webhooks` and `$schema` are dropped
///    (3.0 has no place for them; the client does not use webhooks declared in the spec).
/// 2. `type: [T, "null"]` becomes `type: T` with `nullable: true`; `type: "null"` alone, or a
///    list with two or more non-null types, is refused.
/// 3. `const: v` becomes `enum: [v]`.
/// 4. `examples: [a, ...]` in a schema becomes `example: a`.
/// 5. Numeric `exclusiveMinimum: n` / `exclusiveMaximum: n` become `minimum: n` /
///    `maximum: n` with the boolean flag `true`.
/// 6. A `oneOf`/`anyOf` member `{type: "null"}` is removed and the schema marked `nullable`.
pub fn convert_31_to_30(doc: &mut Value) -> Result<(), String> {
    let root = doc.as_object_mut().ok_or("document is not a mapping")?;
    root.insert("openapi".into(), Value::String("3.0.3".into()));
    root.remove("jsonSchemaDialect");
    root.remove("webhooks");
    walk(doc, "", false)
}

/// Keys whose value maps names (of properties, schemas, paths, media types...) to objects: the
/// map itself is not a schema, so a property called `const` or `examples` is left alone.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "schemas",
    "paths",
    "responses",
    "parameters",
    "content",
    "headers",
    "requestBodies",
    "securitySchemes",
    "callbacks",
    "links",
    "encoding",
    "variables",
    "mapping",
];

/// Keys whose value is example or literal data, never a schema: not rewritten at all.
const DATA: &[&str] = &["example", "default", "enum", "const", "value"];

fn walk(v: &mut Value, at: &str, names: bool) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            if !names {
                convert_schema_keys(m, at)?;
            }
            for (k, child) in m.iter_mut() {
                if !names && (DATA.contains(&k.as_str()) || k.starts_with("x-")) {
                    continue;
                }
                // Media-type `examples` is a map of example objects: data too.
                if !names && k == "examples" && child.is_object() {
                    continue;
                }
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                walk(child, &here, !names && NAME_MAPS.contains(&k.as_str()))?;
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                walk(child, &format!("{at}/{i}"), false)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn convert_schema_keys(m: &mut Map<String, Value>, at: &str) -> Result<(), String> {
    m.remove("$schema");
    if let Some(Value::Array(types)) = m.get("type") {
        let non_null: Vec<_> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        let nullable = non_null.len() < types.len();
        match non_null.as_slice() {
            [one] => {
                m.insert("type".into(), one.clone());
                if nullable {
                    m.insert("nullable".into(), Value::Bool(true));
                }
            }
            [] => {
                return Err(format!(
                    "{at}: `type` lists only \"null\", which OpenAPI 3.0 cannot express"
                ))
            }
            _ => {
                return Err(format!(
                    "{at}: `type` lists several types {types:?}, which OpenAPI 3.0 cannot express"
                ))
            }
        }
    } else if m.get("type").and_then(Value::as_str) == Some("null") {
        return Err(format!(
            "{at}: `type: null`, which OpenAPI 3.0 cannot express"
        ));
    }
    if let Some(c) = m.remove("const") {
        m.insert("enum".into(), Value::Array(vec![c]));
    }
    // Only schema `examples` are arrays; media-type and parameter `examples` are maps and stay.
    if matches!(m.get("examples"), Some(Value::Array(_))) {
        if let Some(Value::Array(mut ex)) = m.remove("examples") {
            if !ex.is_empty() {
                m.insert("example".into(), ex.swap_remove(0));
            }
        }
    }
    for (excl, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(n @ Value::Number(_)) = m.get(excl).cloned() {
            m.insert(bound.into(), n);
            m.insert(excl.into(), Value::Bool(true));
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = m.get_mut(key) {
            let before = members.len();
            members.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
            if members.len() < before {
                m.insert("nullable".into(), Value::Bool(true));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load31(schema: Value) -> Result<Value, String> {
        let doc = json!({"openapi": "3.1.0", "jsonSchemaDialect": "x", "webhooks": {}, "paths": {},
                         "components": {"schemas": {"S": schema}}});
        let bytes = serde_json::to_vec(&doc).unwrap();
        load(&bytes, "t")
            .map(|l| l.doc["components"]["schemas"]["S"].clone())
            .map_err(|e| e.0)
    }

    #[test]
    fn nullable_type_lists_const_examples_and_bounds() {
        let s = load31(json!({"type": "object", "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"const": "FIXED", "examples": ["FIXED", "other"]},
            "c": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
            "d": {"oneOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]}}}))
        .unwrap();
        let p = &s["properties"];
        assert_eq!(p["a"], json!({"type": "string", "nullable": true}));
        assert_eq!(p["b"], json!({"enum": ["FIXED"], "example": "FIXED"}));
        assert_eq!(
            p["c"],
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
        assert_eq!(
            p["d"],
            json!({"oneOf": [{"$ref": "#/components/schemas/T"}], "nullable": true})
        );
    }

    #[test]
    fn property_names_and_example_data_are_not_schema_keywords() {
        let s = load31(json!({"type": "object", "properties": {
            "const": {"type": "string"},
            "examples": {"type": ["array", "null"], "items": {"type": "string"}},
            "type": {"type": "string", "default": {"type": ["x", "y"], "const": 1}}},
            "example": {"const": "kept", "type": ["a", "b"]}}))
        .unwrap();
        let p = &s["properties"];
        assert_eq!(p["const"], json!({"type": "string"}));
        assert_eq!(
            p["examples"],
            json!({"type": "array", "nullable": true, "items": {"type": "string"}})
        );
        assert_eq!(
            p["type"]["default"],
            json!({"type": ["x", "y"], "const": 1})
        );
        assert_eq!(s["example"], json!({"const": "kept", "type": ["a", "b"]}));
    }

    #[test]
    fn media_type_examples_maps_stay() {
        let doc = json!({"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
            "description": "ok",
            "content": {"application/json": {
                "schema": {"type": ["string", "null"]},
                "examples": {"one": {"value": {"type": ["not", "a", "schema"]}}}}}}}}}}});
        let l = load(&serde_json::to_vec(&doc).unwrap(), "t").unwrap();
        let media = &l.doc["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"];
        assert_eq!(media["schema"], json!({"type": "string", "nullable": true}));
        assert_eq!(
            media["examples"]["one"]["value"],
            json!({"type": ["not", "a", "schema"]})
        );
    }

    #[test]
    fn the_document_becomes_3_0() {
        let doc = json!({"openapi": "3.1.0", "jsonSchemaDialect": "x", "webhooks": {"w": {}}, "paths": {}});
        let l = load(&serde_json::to_vec(&doc).unwrap(), "t").unwrap();
        assert!(l.converted);
        assert_eq!(l.doc, json!({"openapi": "3.0.3", "paths": {}}));
    }

    #[test]
    fn what_3_0_cannot_say_is_refused_with_its_location() {
        let e = load31(json!({"type": ["string", "integer"]})).unwrap_err();
        assert!(
            e.contains("/components/schemas/S") && e.contains("several types"),
            "{e}"
        );
        let e = load31(json!({"type": "null"})).unwrap_err();
        assert!(e.contains("cannot express"), "{e}");
    }

    #[test]
    fn non_openapi_input_is_refused() {
        assert!(load(b"{not: [valid", "t")
            .unwrap_err()
            .0
            .contains("not valid YAML"));
        assert!(load(b"a: 1", "t").unwrap_err().0.contains("no `openapi`"));
        assert!(load(b"openapi: 3.0.0", "t")
            .unwrap_err()
            .0
            .contains("paths"));
        assert!(load(b"openapi: 2.0\npaths: {}", "t")
            .unwrap_err()
            .0
            .contains("not supported"));
        assert!(load(b"swagger: '2.0'\npaths: {}", "t").is_err());
        let ok = load(b"openapi: 3.0.3\npaths: {}", "t").unwrap();
        assert!(!ok.converted);
    }
}
