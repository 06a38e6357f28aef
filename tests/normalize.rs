//! Unit tests of the build script's normalisation transforms (codegen/normalize.rs) and of the
//! renderer's naming, on small documents written for each transform and on the vendored spec.

#[path = "../codegen/bundle.rs"]
mod bundle;
#[path = "../codegen/normalize.rs"]
mod normalize;
#[path = "../codegen/render.rs"]
mod render;

use normalize::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn two_ops() -> Value {
    json!({
        "openapi": "3.0.3",
        "paths": {
            "/v1/projects/{project_id}/apps": {
                "get": {
                    "operationId": "App_ListApps",
                    "parameters": [{"$ref": "#/components/parameters/ProjectId"}],
                    "responses": {
                        "200": {"description": "ok"},
                        "400": {"$ref": "#/components/responses/BadRequest"},
                        "default": {"description": "error"}
                    }
                }
            },
            "/v1/projects/{project_id}/apps/{app_id}": {
                "parameters": [{"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "delete": {
                    "operationId": "App_DeleteApp",
                    "parameters": [
                        {"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}}
                    ],
                    "responses": {"default": {"description": "only a default"}}
                }
            }
        },
        "components": {
            "parameters": {
                "ProjectId": {"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}}
            }
        }
    })
}

fn param_names(op: &Value, doc: &Value) -> Vec<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| match p.get("$ref") {
                    Some(r) => {
                        let name = r.as_str().unwrap().rsplit('/').next().unwrap();
                        doc["components"]["parameters"][name]["name"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    }
                    None => p["name"].as_str().unwrap().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn path_prefix_becomes_configuration() {
    let mut doc = two_ops();
    let (prefix, params) = hoist_path_prefix(&mut doc).unwrap();
    assert_eq!(prefix, "/v1/projects/{project_id}");
    assert_eq!(params, ["project_id"]);
    let paths: BTreeSet<_> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/apps".to_string(), "/apps/{app_id}".to_string()])
    );
    // Removed wherever it was declared: by $ref, inline, and at path-item level.
    assert!(param_names(&doc["paths"]["/apps"]["get"], &doc).is_empty());
    assert_eq!(
        param_names(&doc["paths"]["/apps/{app_id}"]["delete"], &doc),
        ["app_id"]
    );
    assert!(param_names(&doc["paths"]["/apps/{app_id}"], &doc).is_empty());
}

#[test]
fn path_prefix_without_templates_is_left_alone() {
    let mut doc = json!({"paths": {"/v1/a": {}, "/v1/b": {}}});
    let before = doc.clone();
    assert_eq!(
        hoist_path_prefix(&mut doc).unwrap(),
        (String::new(), vec![])
    );
    assert_eq!(doc, before);
}

#[test]
fn path_prefix_stops_before_a_differing_segment() {
    // `{org}` is common, `{team}` is not: only the common part moves.
    let mut doc = json!({"paths": {
        "/orgs/{org}/teams/{team}": {},
        "/orgs/{org}/users": {}
    }});
    let (prefix, params) = hoist_path_prefix(&mut doc).unwrap();
    assert_eq!(prefix, "/orgs/{org}");
    assert_eq!(params, ["org"]);
    assert!(doc["paths"].get("/teams/{team}").is_some());
}

#[test]
fn error_responses_lose_their_bodies_but_a_lone_default_stays() {
    let mut doc = two_ops();
    strip_error_responses(&mut doc);
    let list: Vec<_> = doc["paths"]["/v1/projects/{project_id}/apps"]["get"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(list, ["200"]);
    let del = &doc["paths"]["/v1/projects/{project_id}/apps/{app_id}"]["delete"]["responses"];
    assert!(del.get("default").is_some(), "no 2xx: nothing is removed");
}

fn enum_doc() -> Value {
    json!({
        "paths": {
            "/m": {"get": {
                "operationId": "Messages_ListMessages",
                "parameters": [
                    {"name": "messages_source", "in": "query",
                     "schema": {"type": "string", "enum": ["CONVERSATION_SOURCE", "DISPATCH_SOURCE"], "default": "CONVERSATION_SOURCE"}}
                ],
                "responses": {"200": {"description": "ok"}}
            }},
            "/n": {"get": {
                "operationId": "Messages_GetMessage",
                "parameters": [
                    {"name": "messages_source", "in": "query",
                     "schema": {"type": "string", "enum": ["CONVERSATION_SOURCE", "DISPATCH_SOURCE"]}}
                ],
                "responses": {"200": {"description": "ok"}}
            }}
        },
        "components": {"schemas": {
            "Channel": {"type": "string", "enum": ["SMS", "RCS"]},
            "Agent": {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["HUMAN", "BOT"], "description": "Who speaks."},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["A", "B"]}},
                "by_channel": {"type": "object", "additionalProperties": {"type": "string", "enum": ["X"]}},
                "priority": {"type": "integer", "enum": [1, 2]}
            }},
            "AgentType": {"type": "object"}
        }}
    })
}

#[test]
fn inline_enums_are_hoisted_and_named_after_their_place() {
    let mut doc = enum_doc();
    hoist_inline_enums(&mut doc);
    let schemas = &doc["components"]["schemas"];
    let agent = &schemas["Agent"]["properties"];
    // `AgentType` is taken by another schema, so the enum gets the next free name.
    assert_eq!(agent["type"]["$ref"], "#/components/schemas/AgentType2");
    assert_eq!(schemas["AgentType2"]["enum"], json!(["HUMAN", "BOT"]));
    assert_eq!(schemas["AgentType2"]["description"], "Who speaks.");
    assert_eq!(
        agent["tags"]["items"]["$ref"],
        "#/components/schemas/AgentTagsItem"
    );
    assert_eq!(
        agent["by_channel"]["additionalProperties"]["$ref"],
        "#/components/schemas/AgentByChannelValue"
    );
    assert!(
        agent["priority"].get("$ref").is_none(),
        "integer enums are not string enums"
    );
    assert_eq!(
        schemas["Channel"]["enum"],
        json!(["SMS", "RCS"]),
        "named enums stay put"
    );
    // The same parameter enum in two operations is one type, and its default is dropped.
    for p in ["/m", "/n"] {
        let s = &doc["paths"][p]["get"]["parameters"][0]["schema"];
        assert_eq!(s["$ref"], "#/components/schemas/MessagesSource");
    }
    assert!(schemas["MessagesSource"].get("default").is_none());
    assert!(schemas.get("MessagesSource2").is_none());
}

#[test]
fn every_named_string_enum_is_collected_as_open() {
    let mut doc = enum_doc();
    hoist_inline_enums(&mut doc);
    let enums = collect_open_enums(&doc);
    let names: BTreeSet<_> = enums.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "AgentByChannelValue",
            "AgentTagsItem",
            "AgentType2",
            "Channel",
            "MessagesSource"
        ])
    );
    let channel = enums.iter().find(|e| e.name == "Channel").unwrap();
    assert_eq!(channel.values, ["SMS", "RCS"]);
}

#[test]
fn discriminated_unions_are_collected_with_their_tags() {
    let doc = json!({"components": {"schemas": {
        "Msg": {
            "oneOf": [{"$ref": "#/components/schemas/Flows"}, {"$ref": "#/components/schemas/Order"}],
            "discriminator": {"propertyName": "message_type", "mapping": {"FLOWS": "#/components/schemas/Flows"}}
        },
        "Flows": {"type": "object", "properties": {"message_type": {"type": "string", "enum": ["FLOWS"]}}},
        "Order": {"type": "object", "properties": {"message_type": {"type": "string", "enum": ["ORDER_DETAILS"]}}},
        "Untagged": {"oneOf": [{"$ref": "#/components/schemas/Flows"}]},
        "Unresolvable": {
            "oneOf": [{"type": "object"}],
            "discriminator": {"propertyName": "kind"}
        }
    }}});
    let unions = collect_tagged_unions(&doc);
    assert_eq!(unions.len(), 1);
    assert_eq!(unions[0].name, "Msg");
    assert_eq!(unions[0].tag, "message_type");
    assert_eq!(
        unions[0].variants,
        [
            ("FLOWS".to_string(), "Flows".to_string()),
            ("ORDER_DETAILS".to_string(), "Order".to_string())
        ]
    );
}

#[test]
fn list_operations_are_found_for_paging() {
    let doc = json!({
        "paths": {"/contacts": {"get": {
            "operationId": "Contact_ListContacts",
            "parameters": [{"name": "page_token", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListContactsResponse"}}}}}
        }},
        "/apps": {"get": {
            "operationId": "App_ListApps",
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListAppsResponse"}}}}}
        }}},
        "components": {"schemas": {
            "ListContactsResponse": {"type": "object", "properties": {
                "contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
                "next_page_token": {"type": "string"},
                "total_size": {"type": "integer"}
            }},
            "ListAppsResponse": {"type": "object", "properties": {
                "apps": {"type": "array", "items": {"$ref": "#/components/schemas/App"}}
            }}
        }}
    });
    let paged = collect_paged(&doc);
    assert_eq!(
        paged,
        [Paged {
            builder: "ContactListContacts".into(),
            page: "ListContactsResponse".into(),
            items_field: "contacts".into(),
            item: "Contact".into(),
        }]
    );
}

#[test]
fn rust_names_match_typify() {
    assert_eq!(rust_name("ConversationChannel"), "ConversationChannel");
    assert_eq!(rust_name("Messages_SendMessage"), "MessagesSendMessage");
    assert_eq!(rust_name("3dSecure"), "X3dSecure");
}

#[test]
fn variant_names_are_unique_rust_identifiers() {
    let mut used = BTreeSet::new();
    let names: Vec<_> = [
        "TO_APP", "UNKNOWN", "text", "1080p", "a-b", "A_B", "", "applePay",
    ]
    .iter()
    .map(|v| render::variant_ident(v, &mut used))
    .collect();
    assert_eq!(
        names,
        [
            "ToApp",
            "UnknownValue",
            "Text",
            "V1080p",
            "AB",
            "AB2",
            "Empty",
            "ApplePay"
        ]
    );
}

#[test]
fn the_vendored_spec_normalises_completely() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/spec/conversation.yaml"
    ))
    .unwrap();
    let mut doc: Value = serde_norway::from_str(&text).unwrap();
    let ops_before = count_ops(&doc);
    let found = normalize(&mut doc).unwrap();
    assert_eq!(found.path_prefix, "/v1/projects/{project_id}");
    assert_eq!(count_ops(&doc), ops_before, "no operation is lost");
    // No operation takes the project id any more, and no string enum is left anonymous.
    let text = doc.to_string();
    assert!(!text.contains("{project_id}"));
    let mut anonymous = vec![];
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        find_inline_enums(schema, name, true, &mut anonymous);
    }
    assert!(anonymous.is_empty(), "inline enums left: {anonymous:?}");
    assert!(found
        .open_enums
        .iter()
        .any(|e| e.name == "ConversationChannel"));
    let _: openapiv3::OpenAPI = serde_json::from_value(doc).expect("still OpenAPI 3.0");
}

fn count_ops(doc: &Value) -> usize {
    doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            ["get", "put", "post", "delete", "patch"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum()
}

/// Paths of string enums below (not at) a named schema.
fn find_inline_enums(v: &Value, at: &str, top: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if !top
                && m.contains_key("enum")
                && m.get("type").and_then(Value::as_str) == Some("string")
            {
                out.push(at.to_string());
            }
            for (k, sub) in m {
                find_inline_enums(sub, &format!("{at}/{k}"), false, out);
            }
        }
        Value::Array(a) => {
            for (i, sub) in a.iter().enumerate() {
                find_inline_enums(sub, &format!("{at}/{i}"), false, out);
            }
        }
        _ => {}
    }
}

#[test]
fn replacement_types_render_as_macro_invocations() {
    let n = Normalized {
        open_enums: vec![OpenEnum {
            name: "Direction".into(),
            description: Some("Which way.\nSecond line \"quoted\".".into()),
            values: vec!["TO_APP".into(), "UNKNOWN".into()],
        }],
        tagged_unions: vec![TaggedUnion {
            name: "Msg".into(),
            description: None,
            tag: "message_type".into(),
            variants: vec![("FLOWS".into(), "FlowsMsg".into())],
        }],
        ..Normalized::default()
    };
    let out = render::render_types(&n);
    let expected = r#"crate::macros::open_enum! {
    #[doc = "Which way."]
    #[doc = "Second line \"quoted\"."]
    Direction {
        ToApp => "TO_APP",
        UnknownValue => "UNKNOWN",
    }
}
crate::macros::tagged_union! {
    Msg, tag = "message_type" {
        Flows("FLOWS") => FlowsMsg,
    }
}
"#;
    assert_eq!(out, expected);
}

#[test]
fn callbacks_merge_into_the_conversation_document_with_local_refs() {
    let mut conv = json!({"components": {"schemas": {"ConversationChannel": {"type": "string", "enum": ["SMS"]}}}});
    let callbacks = json!({"components": {"schemas": {
        "PingEvent": {"type": "object", "properties": {
            "channel": {"$ref": "conversation.yaml#/components/schemas/ConversationChannel"},
            "ping": {"$ref": "#/components/schemas/Ping"}
        }},
        "Ping": {"type": "object"}
    }}});
    bundle::merge_schemas(&mut conv, &callbacks, "callbacks.yaml").unwrap();
    assert_eq!(
        conv.pointer("/components/schemas/PingEvent/properties/channel/$ref"),
        Some(&json!("#/components/schemas/ConversationChannel"))
    );
    assert!(conv.pointer("/components/schemas/Ping").is_some());
    // A schema both documents define is an error, not a silent choice.
    let clash = json!({"components": {"schemas": {"ConversationChannel": {"type": "object"}}}});
    let err = bundle::merge_schemas(&mut conv, &clash, "callbacks.yaml").unwrap_err();
    assert!(err.contains("ConversationChannel"), "{err}");
}

#[test]
fn external_refs_become_placeholders_replaced_by_the_conversation_types() {
    let mut doc = json!({
        "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {"schema":
            {"$ref": "conversation.yaml#/components/schemas/Error"}}}}}}}},
        "components": {"schemas": {"Translation": {"type": "object", "properties": {
            "text_message": {"$ref": "conversation.yaml#/components/schemas/TextMessage"},
            "channels": {"type": "array", "items": {"$ref": "conversation.yaml#/components/schemas/ConversationChannel"}},
            "local": {"$ref": "#/components/schemas/Translation"}
        }}}}
    });
    let names = bundle::link_external(&mut doc);
    assert_eq!(names, ["ConversationChannel", "Error", "TextMessage"]);
    assert_eq!(
        doc.pointer("/components/schemas/Translation/properties/channels/items/$ref"),
        Some(&json!("#/components/schemas/ConversationChannel"))
    );
    for n in &names {
        let placeholder = doc.pointer(&format!("/components/schemas/{n}")).unwrap();
        assert_eq!(placeholder["type"], "object", "{n}");
    }
    assert!(!doc.to_string().contains("conversation.yaml#"));
}

#[test]
fn the_three_vendored_documents_bundle_and_normalise() {
    let load = |p: &str| -> Value {
        serde_norway::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let mut conv = load("spec/conversation.yaml");
    bundle::merge_schemas(&mut conv, &load("spec/callbacks.yaml"), "callbacks.yaml").unwrap();
    let prefix = normalize(&mut conv).unwrap().path_prefix;
    assert_eq!(prefix, "/v1/projects/{project_id}");
    let conv_schemas = conv["components"]["schemas"].as_object().unwrap().clone();
    for (file, expected) in [
        ("spec/templates.yaml", "/v2/projects/{project_id}"),
        ("spec/batch.yaml", "/v1/projects/{project_id}"),
    ] {
        let mut doc = load(file);
        for shared in bundle::link_external(&mut doc) {
            assert!(
                conv_schemas.contains_key(&shared),
                "{file} refers to {shared}, which the conversation document lacks"
            );
        }
        assert_eq!(normalize(&mut doc).unwrap().path_prefix, expected, "{file}");
    }
}

#[test]
fn validation_keywords_and_defaults_stay_out_of_the_client() {
    let mut doc = json!({
        "openapi": "3.0.3",
        "paths": {"/v1/projects/{project_id}/things": {"get": {
            "operationId": "Things_List",
            "parameters": [
                {"name": "project_id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 20, "default": 10}}
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
        }}},
        "components": {"schemas": {"Thing": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "pattern": "^[0-9A-Z]{26}$"},
                "pattern": {"type": "string", "maxLength": 10, "description": "a property called pattern"},
                "tags": {"type": "array", "minItems": 1, "maxItems": 5, "items": {"type": "string", "maxLength": 3}},
                "meta": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1024}}
            }
        }}}
    });
    strip_validation(&mut doc);
    let thing = &doc["components"]["schemas"]["Thing"];
    assert_eq!(
        thing["required"],
        json!(["id"]),
        "required stays: it shapes the types"
    );
    assert_eq!(thing["properties"]["id"], json!({"type": "string"}));
    assert_eq!(
        thing["properties"]["pattern"],
        json!({"type": "string", "description": "a property called pattern"}),
        "a property's name is not a keyword"
    );
    assert_eq!(
        thing["properties"]["tags"],
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        thing["properties"]["meta"]["additionalProperties"],
        json!({"type": "string"})
    );
    let page_size =
        &doc["paths"]["/v1/projects/{project_id}/things"]["get"]["parameters"][1]["schema"];
    assert_eq!(page_size, &json!({"type": "integer"}));
}
