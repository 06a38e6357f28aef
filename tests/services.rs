//! One client, three services: the region picks all three hosts, each can be overridden, one
//! token request serves all of them, every Template Management and Batch operation is callable,
//! and the Batch API refuses Basic credentials before sending anything.

use httpmock::prelude::*;
use serde_json::json;
use sinch_conversation::prelude::*;
use sinch_conversation::{batch, templates, types, Client, ClientInfo};

const PROJECT: &str = "proj-1";

fn body<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_region_picks_all_three_hosts() {
    for (region, name) in [(Region::Us, "us"), (Region::Eu, "eu"), (Region::Br, "br")] {
        let client = Client::builder()
            .project_id(PROJECT)
            .region(region)
            .credentials(Credentials::oauth2("k", "s"))
            .build()
            .unwrap();
        assert_eq!(
            client.baseurl(),
            &format!("https://{name}.conversation.api.sinch.com/v1/projects/{PROJECT}")
        );
        assert_eq!(
            client.templates().baseurl(),
            &format!("https://{name}.template.api.sinch.com/v2/projects/{PROJECT}")
        );
        assert_eq!(
            client.batch().baseurl(),
            &format!("https://{name}.conversationbatch.api.sinch.com/v1/projects/{PROJECT}")
        );
    }
    let custom = Client::builder()
        .project_id(PROJECT)
        .region(Region::Eu)
        .templates_url("http://127.0.0.1:9001")
        .batch_url("https://batch.example.com/")
        .credentials(Credentials::oauth2("k", "s"))
        .build()
        .unwrap();
    assert_eq!(
        custom.baseurl(),
        &format!("https://eu.conversation.api.sinch.com/v1/projects/{PROJECT}")
    );
    assert_eq!(
        custom.templates().baseurl(),
        &format!("http://127.0.0.1:9001/v2/projects/{PROJECT}")
    );
    assert_eq!(
        custom.batch().baseurl(),
        &format!("https://batch.example.com/v1/projects/{PROJECT}")
    );
    // The loopback rule holds for every service's URL.
    let plain = Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .batch_url("http://batch.example.com")
        .credentials(Credentials::oauth2("k", "s"))
        .build();
    assert!(matches!(plain, Err(Error::Config(m)) if m.contains("batch_url")));
}

/// No region is guessed: a client for Sinch's hosts without one is a configuration error that
/// names the services that need it and the regions there are; a service with its own URL needs
/// none, so a client with all three URLs (a proxy, a fake) needs no region.
#[test]
fn sinch_hosts_need_a_region_and_explicit_urls_do_not() {
    let builder = || {
        Client::builder()
            .project_id(PROJECT)
            .credentials(Credentials::oauth2("k", "s"))
    };
    let message = |b: sinch_conversation::ClientBuilder| match b.build() {
        Err(Error::Config(m)) => m,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    assert_eq!(
        message(builder()),
        "no region: the Conversation API, Template Management API and Batch API hosts depend \
         on it; set ClientBuilder::region (or SINCH_REGION) to the region your apps were created \
         in (us, eu or br), or give base_url, templates_url and batch_url"
    );
    // Only the services without a URL of their own need the region.
    let partial = message(builder().base_url("https://proxy.example.com"));
    assert!(
        partial.contains("the Template Management API and Batch API hosts depend on it")
            && partial.ends_with("or give templates_url and batch_url"),
        "{partial}"
    );
    let one = message(
        builder()
            .base_url("https://a.example.com")
            .templates_url("https://b.example.com"),
    );
    assert!(
        one.contains("the Batch API host depends on it") && one.ends_with("or give batch_url"),
        "{one}"
    );

    let urls = builder()
        .base_url("https://conversation.example.com")
        .templates_url("https://templates.example.com")
        .batch_url("https://batch.example.com")
        .build()
        .unwrap();
    assert_eq!(
        urls.batch().baseurl(),
        &format!("https://batch.example.com/v1/projects/{PROJECT}")
    );

    // An unknown region names the ones there are.
    let err = "mars".parse::<Region>().unwrap_err();
    assert!(
        err.to_string().contains("\"mars\"; expected us, eu or br"),
        "{err}"
    );
    assert_eq!(Region::ALL, [Region::Us, Region::Eu, Region::Br]);
}

/// `Client::from_env` reads the region from `SINCH_REGION`, and without it (or the URLs) the
/// client is not built. The only test of this binary that touches the environment.
#[test]
fn from_env_needs_sinch_region() {
    let vars = [
        ("SINCH_PROJECT_ID", PROJECT),
        ("SINCH_KEY_ID", "k"),
        ("SINCH_KEY_SECRET", "s"),
    ];
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    for k in [
        "SINCH_REGION",
        "SINCH_BASE_URL",
        "SINCH_TEMPLATES_URL",
        "SINCH_BATCH_URL",
    ] {
        std::env::remove_var(k);
    }
    let missing = Client::from_env();
    std::env::set_var("SINCH_REGION", "br");
    let br = Client::from_env();
    std::env::set_var("SINCH_REGION", "xx");
    let unknown = Client::from_env();
    for (k, _) in vars {
        std::env::remove_var(k);
    }
    std::env::remove_var("SINCH_REGION");

    assert!(
        matches!(&missing, Err(Error::Config(m)) if m.contains("SINCH_REGION") && m.contains("us, eu or br")),
        "{missing:?}"
    );
    assert_eq!(
        br.unwrap().baseurl(),
        &format!("https://br.conversation.api.sinch.com/v1/projects/{PROJECT}")
    );
    assert!(
        matches!(&unknown, Err(Error::Config(m)) if m.contains("expected us, eu or br")),
        "{unknown:?}"
    );
}

/// Three servers, one token endpoint: a client calls each service once.
#[tokio::test]
async fn one_token_request_serves_all_three_services() {
    let (auth, conv, tmpl, bat) = (
        MockServer::start(),
        MockServer::start(),
        MockServer::start(),
        MockServer::start(),
    );
    let token = auth.mock(|when, then| {
        when.method(POST).path("/oauth2/token");
        then.status(200)
            .json_body(json!({"access_token": "T", "expires_in": 3600, "token_type": "bearer"}));
    });
    let bearer = |when: httpmock::When| when.header("authorization", "Bearer T");
    let conv_messages = conv.mock(|when, then| {
        bearer(
            when.method(GET)
                .path(format!("/v1/projects/{PROJECT}/messages")),
        );
        then.status(200).json_body(json!({"messages": []}));
    });
    let templates = tmpl.mock(|when, then| {
        bearer(
            when.method(GET)
                .path(format!("/v2/projects/{PROJECT}/templates")),
        );
        then.status(200)
            .json_body(json!({"templates": [{"id": "t1", "version": 2}]}));
    });
    // The Batch API's GET messages is another operation on another host.
    let batch_messages = bat.mock(|when, then| {
        bearer(
            when.method(GET)
                .path(format!("/v1/projects/{PROJECT}/messages")),
        )
        .query_param("metadataKey", "campaign")
        .query_param("metadataValue", "july");
        then.status(200)
            .json_body(json!([{"batch_id": "b1", "status": "SCHEDULED"}]));
    });
    let client = Client::builder()
        .project_id(PROJECT)
        .base_url(conv.base_url())
        .templates_url(tmpl.base_url())
        .batch_url(bat.base_url())
        .auth_url(auth.url("/oauth2/token"))
        .credentials(Credentials::oauth2("key-id", "key-secret"))
        .build()
        .unwrap();

    client.messages_list_messages().send().await.unwrap();
    let t = client
        .templates()
        .templates_v2_list_templates()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.templates[0].version, Some(2));
    let b = client
        .batch()
        .batch_get_batch_statuses_by_metadata()
        .metadata_key("campaign")
        .metadata_value("july")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b[0].status, Some(batch::types::BatchStatus::Scheduled));
    token.assert_calls(1);
    conv_messages.assert_calls(1);
    templates.assert_calls(1);
    batch_messages.assert_calls(1);
}

#[tokio::test]
async fn every_template_operation() {
    let server = MockServer::start();
    let base = format!("/v2/projects/{PROJECT}/templates");
    let template = json!({
        "id": "01TEMPLATE", "version": 3, "description": "Order shipped",
        "default_translation": "en-US",
        "translations": [{
            "language_code": "en-US", "version": "1",
            "variables": [{"key": "name", "preview_value": "Ada"}],
            "text_message": {"text": "Hi ${name}, your order has shipped"}
        }]
    });
    let list = server.mock(|when, then| {
        when.method(GET).path(&base);
        then.status(200)
            .json_body(json!({"templates": [template.clone()]}));
    });
    let create = server.mock(|when, then| {
        when.method(POST)
            .path(&base)
            .json_body_includes(r#"{"default_translation": "en-US"}"#);
        then.status(200).json_body(template.clone());
    });
    let get = server.mock(|when, then| {
        when.method(GET).path(format!("{base}/01TEMPLATE"));
        then.status(200).json_body(template.clone());
    });
    let update = server.mock(|when, then| {
        when.method(PUT)
            .path(format!("{base}/01TEMPLATE"))
            .json_body_includes(r#"{"version": 3}"#);
        then.status(200)
            .json_body(json!({"id": "01TEMPLATE", "version": 4}));
    });
    let delete = server.mock(|when, then| {
        when.method(DELETE).path(format!("{base}/01TEMPLATE"));
        then.status(200).json_body(json!({}));
    });
    let translations = server.mock(|when, then| {
        when.method(GET)
            .path(format!("{base}/01TEMPLATE/translations"))
            .query_param("language_code", "en-US");
        then.status(200)
            .json_body(json!({"translations": [template["translations"][0].clone()]}));
    });
    let client = Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .templates_url(server.base_url())
        .credentials(Credentials::basic("k", "s"))
        .build()
        .unwrap();
    let t = client.templates();
    let listed = t
        .templates_v2_list_templates()
        .send()
        .await
        .unwrap()
        .into_inner();
    // A translation's message is the Conversation API's own type.
    let text: &types::TextMessage = listed.templates[0].translations[0]
        .text_message
        .as_ref()
        .unwrap();
    assert!(text.text.contains("${name}"));
    let new: templates::types::V2Template = body(json!({
        "description": "Order shipped", "default_translation": "en-US",
        "translations": [{"language_code": "en-US", "text_message": {"text": "Hi ${name}"}}]
    }));
    t.templates_v2_create_template()
        .body(new.clone())
        .send()
        .await
        .unwrap();
    let current = t
        .templates_v2_get_template()
        .template_id("01TEMPLATE")
        .send()
        .await
        .unwrap()
        .into_inner();
    let mut changed = new;
    changed.version = current.version; // the update names the version it replaces
    let updated = t
        .templates_v2_update_template()
        .template_id("01TEMPLATE")
        .body(changed)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.version, Some(4));
    let tr = t
        .templates_v2_list_translations()
        .template_id("01TEMPLATE")
        .language_code("en-US")
        .send()
        .await
        .unwrap();
    assert_eq!(tr.translations[0].variables[0].key.as_deref(), Some("name"));
    t.templates_v2_delete_template()
        .template_id("01TEMPLATE")
        .send()
        .await
        .unwrap();
    for m in [list, create, get, update, delete, translations] {
        m.assert_calls(1);
    }
}

#[tokio::test]
async fn every_batch_operation() {
    let (auth, server) = (MockServer::start(), MockServer::start());
    auth.mock(|when, then| {
        when.method(POST).path("/oauth2/token");
        then.status(200)
            .json_body(json!({"access_token": "T", "expires_in": 3600, "token_type": "bearer"}));
    });
    let base = format!("/v1/projects/{PROJECT}");
    let send = server.mock(|when, then| {
        when.method(POST)
            .path(format!("{base}/messages"))
            .json_body_includes(r#"{"recipient_and_params": [{"recipient": {"contact_id": "c1"}, "parameters": {"name": "Ada"}}]}"#);
        then.status(200).json_body(json!({"batch_id": "01BATCH", "send_after": "2026-12-01T10:00:00Z"}));
    });
    let cancel = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("{base}/messages"))
            .json_body(json!({"batch_id": "01BATCH"}));
        then.status(200).json_body(json!({}));
    });
    let status = server.mock(|when, then| {
        when.method(GET).path(format!("{base}/messages/01BATCH"));
        then.status(200).json_body(
            json!({"batch_id": "01BATCH", "status": "CANCELLED", "meta_data": {"campaign": "x"}}),
        );
    });
    let by_meta = server.mock(|when, then| {
        when.method(GET)
            .path(format!("{base}/messages"))
            .query_param("metadataKey", "campaign");
        then.status(200).json_body(json!([]));
    });
    let contacts = server.mock(|when, then| {
        when.method(POST).path(format!("{base}/contacts"));
        then.status(200).json_body(json!({}));
    });
    let delete_contacts = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("{base}/contacts"))
            .json_body(json!({"contact_ids": ["c1", "c2"]}));
        then.status(200).json_body(json!({}));
    });
    let consents = server.mock(|when, then| {
        when.method(POST).path(format!("{base}/consents"));
        then.status(200)
            .json_body(json!({"batch_id": "01CONSENTS"}));
    });
    let client = Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .batch_url(server.base_url())
        .auth_url(auth.url("/oauth2/token"))
        .credentials(Credentials::oauth2("k", "s"))
        .build()
        .unwrap();
    let b = client.batch();
    let request: batch::types::SendBatchRequest = body(json!({
        "app_id": "01APP", "message": {"text_message": {"text": "Hi ${name}"}},
        "recipient_and_params": [{"recipient": {"contact_id": "c1"}, "parameters": {"name": "Ada"}}],
        "send_after": "2026-12-01T10:00:00Z", "batch_metadata": {"campaign": "x"}
    }));
    let sent = b.batch_send_batch().body(request).send().await.unwrap();
    assert_eq!(sent.batch_id.as_deref(), Some("01BATCH"));
    let cancel_body: batch::types::CancelBatchRequest = body(json!({"batch_id": "01BATCH"}));
    b.batch_cancel_batch()
        .body(cancel_body)
        .send()
        .await
        .unwrap();
    let s = b
        .batch_get_batch_status()
        .batch_id("01BATCH")
        .send()
        .await
        .unwrap();
    assert_eq!(s.status, Some(batch::types::BatchStatus::Cancelled));
    b.batch_get_batch_statuses_by_metadata()
        .metadata_key("campaign")
        .metadata_value("x")
        .send()
        .await
        .unwrap();
    let new_contacts: batch::types::CreateContactsRequest = body(json!({"contacts": [
        {"channel_identities": [{"channel": "SMS", "identity": "+15550001"}], "language": "EN_US"}
    ]}));
    b.batch_create_contacts()
        .body(new_contacts)
        .send()
        .await
        .unwrap();
    let gone: batch::types::DeleteContactsRequest = body(json!({"contact_ids": ["c1", "c2"]}));
    b.batch_delete_contacts().body(gone).send().await.unwrap();
    let records: batch::types::InsertConsentsRequest =
        body(json!({"app_id": "01APP", "consent_records": [
            {"identification": "+15550001", "consent_type": "OPT_OUT_MARKETING"}
        ]}));
    let r = b
        .batch_insert_consents()
        .body(records)
        .send()
        .await
        .unwrap();
    assert_eq!(r.batch_id.as_deref(), Some("01CONSENTS"));
    for m in [
        send,
        cancel,
        status,
        by_meta,
        contacts,
        delete_contacts,
        consents,
    ] {
        m.assert_calls(1);
    }
}

#[tokio::test]
async fn the_batch_api_refuses_basic_credentials_without_sending() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({}));
    });
    let client = Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .batch_url(server.base_url())
        .templates_url(server.base_url())
        .credentials(Credentials::basic("k", "s"))
        .build()
        .unwrap();
    let e = client
        .batch()
        .batch_get_batch_status()
        .batch_id("b")
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("OAuth2")),
        "{e:?}"
    );
    any.assert_calls(0);
    // The Template Management API takes Basic.
    client
        .templates()
        .templates_v2_delete_template()
        .template_id("t")
        .send()
        .await
        .unwrap();
    any.assert_calls(1);
}
