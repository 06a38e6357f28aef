//! The hand-written layer against real HTTP servers on loopback: regions, OAuth2 and Basic
//! auth, retries, the retry budget, deadlines, errors, paging and secret hygiene.

mod common;

use common::{Reply, Scripted};
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use serde_json::json;
use sinch_conversation::prelude::*;
use sinch_conversation::{types, AuthError, BudgetConfig, Client, ClientInfo};
use std::time::{Duration, Instant};

const PROJECT: &str = "proj-1";
const SECRET: &str = "s3cr3t-key-value";

fn oauth_client(api: &str, auth: &str) -> sinch_conversation::ClientBuilder {
    Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .base_url(api)
        .auth_url(auth)
        .credentials(Credentials::oauth2("key-id", SECRET))
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(50)),
        )
}

fn token(value: &str, expires_in: u64) -> serde_json::Value {
    json!({"access_token": value, "expires_in": expires_in, "token_type": "bearer", "scope": ""})
}

/// The token endpoint hands out "old", then "new".
fn old_then_new_token(s: &Scripted) {
    s.on(
        "POST",
        "/oauth2/token",
        vec![
            Reply::json(200, token("old", 3600)),
            Reply::json(200, token("new", 3600)),
        ],
    );
}

/// The API's answer to an expired token.
fn expired() -> Reply {
    Reply::json(
        401,
        json!({"error": {"code": 401, "message": "expired", "status": "UNAUTHENTICATED"}}),
    )
}

/// `again` carries `first`'s body and its content headers (and `also`), all of them present.
fn assert_same_request(again: &common::Seen, first: &common::Seen, also: &[&str]) {
    assert_eq!(again.body, first.body, "identical JSON bodies");
    let content = ["content-type", "accept", "api-version", "user-agent"];
    for name in content.iter().chain(also) {
        assert_eq!(again.headers.get(*name), first.headers.get(*name), "{name}");
        assert!(first.headers.get(*name).is_some(), "{name} sent");
    }
}

fn send_body() -> types::SendMessageRequest {
    serde_json::from_value(json!({
        "app_id": "app-1",
        "recipient": {"contact_id": "contact-1"},
        "message": {"text_message": {"text": "hello"}}
    }))
    .unwrap()
}

fn list_page(ids: &[&str], next: &str) -> serde_json::Value {
    let messages: Vec<_> = ids
        .iter()
        .map(|id| json!({"id": id, "app_message": {"text_message": {"text": "hi"}}}))
        .collect();
    json!({"messages": messages, "next_page_token": next})
}

const MESSAGES: &str = "/v1/projects/proj-1/messages";
const SEND: &str = "/v1/projects/proj-1/messages:send";

#[test]
fn region_hosts_and_override() {
    for (region, host) in [
        (Region::Us, "https://us.conversation.api.sinch.com"),
        (Region::Eu, "https://eu.conversation.api.sinch.com"),
        (Region::Br, "https://br.conversation.api.sinch.com"),
    ] {
        let c = Client::builder()
            .project_id("p")
            .region(region)
            .credentials(Credentials::basic("k", "s"))
            .build()
            .unwrap();
        assert_eq!(c.baseurl(), format!("{host}/v1/projects/p"));
    }
    let c = Client::builder()
        .project_id("p")
        .region(Region::Eu)
        .base_url("https://proxy.example.com/sinch/")
        .credentials(Credentials::basic("k", "s"))
        .build()
        .unwrap();
    assert_eq!(c.baseurl(), "https://proxy.example.com/sinch/v1/projects/p");
    assert_eq!("EU".parse::<Region>().unwrap(), Region::Eu);
    assert!("mars".parse::<Region>().is_err());
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    for url in [
        "http://conversation.example.com",
        "http://192.168.1.10:8080",
    ] {
        let err = Client::builder()
            .project_id("p")
            .region(Region::Us)
            .base_url(url)
            .credentials(Credentials::basic("k", "s"))
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("https")),
            "{err}"
        );
    }
    let err = Client::builder()
        .project_id("p")
        .region(Region::Us)
        .auth_url("http://auth.example.com/oauth2/token")
        .credentials(Credentials::oauth2("k", "s"))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("auth_url")),
        "{err}"
    );
    assert!(matches!(
        Client::builder()
            .credentials(Credentials::basic("k", "s"))
            .build(),
        Err(Error::Config(_))
    ));
}

#[test]
fn debug_output_never_shows_the_secret() {
    let creds = Credentials::oauth2("key-id", SECRET);
    let client = Client::builder()
        .project_id("p")
        .region(Region::Us)
        .credentials(creds.clone())
        .build()
        .unwrap();
    let basic = Client::builder()
        .project_id("p")
        .region(Region::Us)
        .credentials(Credentials::basic("key-id", SECRET))
        .build()
        .unwrap();
    for shown in [
        format!("{creds:?}"),
        format!("{client:?}"),
        format!("{basic:?}"),
        format!("{:?}", Client::builder().credentials(creds.clone())),
    ] {
        assert!(!shown.contains(SECRET), "secret leaked: {shown}");
        assert!(
            shown.contains("key-id") || shown.contains("redacted"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn hundred_concurrent_calls_make_one_token_request() {
    let server = MockServer::start_async().await;
    let tok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/token")
                .header("authorization", "Basic a2V5LWlkOnMzY3IzdC1rZXktdmFsdWU=")
                .body("grant_type=client_credentials");
            then.status(200).json_body(token("tok-1", 3600));
        })
        .await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(MESSAGES)
                .header("authorization", "Bearer tok-1");
            then.status(200).json_body(list_page(&["m1"], ""));
        })
        .await;
    let client = oauth_client(&server.base_url(), &server.url("/oauth2/token"))
        .build()
        .unwrap();
    let calls = (0..100).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.messages_list_messages().send().await })
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(tok.calls_async().await, 1);
    assert_eq!(api.calls_async().await, 100);
}

#[tokio::test]
async fn an_expired_token_is_refreshed() {
    let server = MockServer::start_async().await;
    let tok = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(200).json_body(token("tok", 1));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(MESSAGES);
            then.status(200).json_body(list_page(&[], ""));
        })
        .await;
    let client = oauth_client(&server.base_url(), &server.url("/oauth2/token"))
        .build()
        .unwrap();
    client.messages_list_messages().send().await.unwrap();
    client.messages_list_messages().send().await.unwrap();
    assert_eq!(tok.calls_async().await, 1, "a fresh token is reused");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.messages_list_messages().send().await.unwrap();
    assert_eq!(tok.calls_async().await, 2, "an expired token is replaced");
}

#[tokio::test]
async fn api_401_refreshes_the_token_once_and_retries() {
    let s = Scripted::start().await;
    old_then_new_token(&s);
    s.on(
        "GET",
        MESSAGES,
        vec![expired(), Reply::json(200, list_page(&["m1"], ""))],
    );
    let client = oauth_client(&s.url, &format!("{}/oauth2/token", s.url))
        .build()
        .unwrap();
    let page = client.messages_list_messages().send().await.unwrap();
    assert_eq!(page.messages.len(), 1);
    let seen = s.seen("GET", MESSAGES);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers["authorization"], "Bearer old");
    assert_eq!(seen[1].headers["authorization"], "Bearer new");
    assert_eq!(s.seen("POST", "/oauth2/token").len(), 2);
}

#[tokio::test]
async fn a_second_401_is_an_api_error_not_a_loop() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        "/oauth2/token",
        vec![Reply::json(200, token("t", 3600))],
    );
    s.on(
        "GET",
        MESSAGES,
        vec![Reply::json(
            401,
            json!({"error": {"code": 401, "message": "no", "status": "UNAUTHENTICATED"}}),
        )],
    );
    let client = oauth_client(&s.url, &format!("{}/oauth2/token", s.url))
        .build()
        .unwrap();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert_eq!(err.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    assert_eq!(
        err.api().unwrap().error_status.as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        s.seen("GET", MESSAGES).len(),
        2,
        "one refresh, then the error"
    );
}

#[tokio::test]
async fn token_endpoint_rejection_is_an_auth_error_after_one_attempt() {
    let server = MockServer::start_async().await;
    let tok = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/token");
            then.status(401)
                .json_body(json!({"error": "invalid_client"}));
        })
        .await;
    let api = server
        .mock_async(|when, then| {
            when.method(POST).path(SEND);
            then.status(200).json_body(json!({"message_id": "m"}));
        })
        .await;
    let client = oauth_client(&server.base_url(), &server.url("/oauth2/token"))
        .build()
        .unwrap();
    let err: Error = client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap_err()
        .into();
    match &err {
        Error::Auth(AuthError::Rejected { status, message }) => {
            assert_eq!(status.as_u16(), 401);
            assert!(message.contains("invalid_client"));
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains(SECRET));
    assert_eq!(tok.calls_async().await, 1);
    assert_eq!(api.calls_async().await, 0);
}

#[tokio::test]
async fn token_endpoint_429_and_5xx_are_retried() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        "/oauth2/token",
        vec![
            Reply::raw(429, ""),
            Reply::raw(503, "down"),
            Reply::json(200, token("t", 3600)),
        ],
    );
    s.on("GET", MESSAGES, vec![Reply::json(200, list_page(&[], ""))]);
    let client = oauth_client(&s.url, &format!("{}/oauth2/token", s.url))
        .build()
        .unwrap();
    client.messages_list_messages().send().await.unwrap();
    assert_eq!(s.seen("POST", "/oauth2/token").len(), 3);
}

#[tokio::test]
async fn basic_auth_sends_the_exact_header() {
    let server = MockServer::start_async().await;
    let api = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(SEND)
                .header("authorization", "Basic a2V5LWlkOnMzY3IzdC1rZXktdmFsdWU=")
                .header_exists("user-agent")
                .json_body(json!({
                    "app_id": "app-1",
                    "recipient": {"contact_id": "contact-1"},
                    "message": {"text_message": {"text": "hello"}}
                }));
            then.status(200)
                .json_body(json!({"message_id": "msg-1", "accepted_time": "2024-06-18T12:34:56Z"}));
        })
        .await;
    let client = Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .base_url(server.base_url())
        .credentials(Credentials::basic("key-id", SECRET))
        .build()
        .unwrap();
    let sent = client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("msg-1"));
    assert_eq!(api.calls_async().await, 1);
}

fn basic(url: &str) -> sinch_conversation::ClientBuilder {
    Client::builder()
        .project_id(PROJECT)
        .region(Region::Us)
        .base_url(url)
        .credentials(Credentials::basic("key-id", SECRET))
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(40)),
        )
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        SEND,
        vec![
            Reply::json(429, json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}))
                .header("retry-after", "1"),
            Reply::json(200, json!({"message_id": "m"})),
        ],
    );
    let client = basic(&s.url).build().unwrap();
    let start = Instant::now();
    client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(s.seen("POST", SEND).len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_ends_the_call() {
    let s = Scripted::start().await;
    s.on(
        "GET",
        MESSAGES,
        vec![Reply::raw(429, "").header("retry-after", "3600")],
    );
    let client = basic(&s.url).build().unwrap();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(
        err.retry_after(),
        None,
        "the body was not JSON: a decode error"
    );
    assert_eq!(s.seen("GET", MESSAGES).len(), 1);
}

#[tokio::test]
async fn post_send_survives_two_503s() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        SEND,
        vec![
            Reply::raw(503, "unavailable"),
            Reply::raw(503, "unavailable"),
            Reply::json(200, json!({"message_id": "m"})),
        ],
    );
    let client = basic(&s.url).build().unwrap();
    let sent = client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("m"));
    let seen = s.seen("POST", SEND);
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].body, seen[2].body,
        "the retried body is the same bytes"
    );
}

#[tokio::test]
async fn post_send_is_not_retried_on_500() {
    let server = MockServer::start_async().await;
    let api = server
        .mock_async(|when, then| {
            when.method(POST).path(SEND);
            then.status(500).json_body(
                json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
            );
        })
        .await;
    let client = basic(&server.base_url()).build().unwrap();
    let err = Error::from(
        client
            .messages_send_message()
            .body(send_body())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        api.calls_async().await,
        1,
        "an ambiguous POST failure is not repeated"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(err.is_retryable(), "the caller may decide to retry");
}

#[tokio::test]
async fn post_send_on_500_is_retried_when_opted_in() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        SEND,
        vec![
            Reply::raw(500, ""),
            Reply::json(200, json!({"message_id": "m"})),
        ],
    );
    let client = basic(&s.url)
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(5))
                .retry_ambiguous_posts(true),
        )
        .build()
        .unwrap();
    client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    assert_eq!(s.seen("POST", SEND).len(), 2);
}

#[tokio::test]
async fn get_on_500_is_retried() {
    let s = Scripted::start().await;
    s.on(
        "GET",
        MESSAGES,
        vec![
            Reply::raw(500, ""),
            Reply::raw(502, ""),
            Reply::json(200, list_page(&["a"], "")),
        ],
    );
    let client = basic(&s.url).build().unwrap();
    let page = client.messages_list_messages().send().await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(s.seen("GET", MESSAGES).len(), 3);
}

#[tokio::test]
async fn retries_stop_after_the_limit() {
    let s = Scripted::start().await;
    s.on("GET", MESSAGES, vec![Reply::raw(503, "")]);
    let client = basic(&s.url).build().unwrap();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(s.seen("GET", MESSAGES).len(), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn the_budget_stops_retries_during_a_long_outage() {
    let s = Scripted::start().await;
    s.on("GET", MESSAGES, vec![Reply::raw(503, "")]);
    let client = basic(&s.url)
        .retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(1))
                .budget(BudgetConfig {
                    capacity: 10,
                    retry_cost: 5,
                }),
        )
        .build()
        .unwrap();
    for _ in 0..5 {
        client.messages_list_messages().send().await.unwrap_err();
    }
    // First call: 1 + 2 retries (the bucket pays for two); the next four: no retries left.
    assert_eq!(s.seen("GET", MESSAGES).len(), 3 + 4);
}

#[tokio::test]
async fn disabled_retries_make_one_attempt() {
    let s = Scripted::start().await;
    s.on("GET", MESSAGES, vec![Reply::raw(503, "")]);
    let client = basic(&s.url)
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    client.messages_list_messages().send().await.unwrap_err();
    assert_eq!(s.seen("GET", MESSAGES).len(), 1);
}

#[tokio::test]
async fn a_slow_response_times_out() {
    let s = Scripted::start().await;
    s.on(
        "GET",
        MESSAGES,
        vec![Reply::json(200, list_page(&[], "")).delay(Duration::from_secs(2))],
    );
    let client = basic(&s.url)
        .timeout(Some(Duration::from_millis(200)))
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let start = Instant::now();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn the_call_deadline_bounds_retries() {
    let s = Scripted::start().await;
    s.on(
        "GET",
        MESSAGES,
        vec![Reply::raw(503, "").delay(Duration::from_millis(150))],
    );
    let client = basic(&s.url)
        .retry(
            RetryConfig::default()
                .max_retries(50)
                .initial_backoff(Duration::from_millis(10))
                .max_elapsed(Some(Duration::from_millis(500))),
        )
        .build()
        .unwrap();
    let start = Instant::now();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert!(err.is_retryable());
    assert!(s.seen("GET", MESSAGES).len() < 6);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = basic(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn error_body_fields_are_parsed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(SEND);
            then.status(400).header("x-request-id", "req-9").json_body(json!({
                "error": {
                    "code": 400,
                    "message": "app_id must be a ULID",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "field": "app_id"}]
                }
            }));
        })
        .await;
    let client = basic(&server.base_url()).build().unwrap();
    let err = Error::from(
        client
            .messages_send_message()
            .body(send_body())
            .send()
            .await
            .unwrap_err(),
    );
    let api = err.api().expect("an API error");
    assert_eq!(api.status.as_u16(), 400);
    assert_eq!(api.code, Some(400));
    assert_eq!(api.message, "app_id must be a ULID");
    assert_eq!(api.error_status.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(api.details[0]["field"], "app_id");
    assert_eq!(api.headers["x-request-id"], "req-9");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("INVALID_ARGUMENT"));
}

#[tokio::test]
async fn a_non_json_error_body_is_a_decode_error_with_status_and_snippet() {
    let server = MockServer::start_async().await;
    let page = format!("<html><body>Bad gateway{}</body></html>", "x".repeat(5000));
    server
        .mock_async(|when, then| {
            when.method(POST).path(SEND);
            then.status(502).body(page);
        })
        .await;
    let client = basic(&server.base_url()).build().unwrap();
    let err = Error::from(
        client
            .messages_send_message()
            .body(send_body())
            .send()
            .await
            .unwrap_err(),
    );
    match err {
        Error::Decode {
            status, snippet, ..
        } => {
            assert_eq!(status.map(|s| s.as_u16()), Some(502));
            assert!(snippet.starts_with("<html><body>Bad gateway"));
            assert!(snippet.len() <= 512);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_success_body_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(MESSAGES);
            then.status(200).body("{\"messages\": [");
        })
        .await;
    let client = basic(&server.base_url()).build().unwrap();
    let err = Error::from(client.messages_list_messages().send().await.unwrap_err());
    assert!(
        matches!(err, Error::Decode { ref snippet, .. } if snippet == "{\"messages\": ["),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unknown_enum_value_still_deserializes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(MESSAGES);
            then.status(200).json_body(json!({
                "messages": [{
                    "id": "m1",
                    "channel_identity": {"channel": "NEW_CHANNEL", "identity": "x"},
                    "direction": "SIDEWAYS",
                    "app_message": {"text_message": {"text": "hi"}}
                }],
                "next_page_token": ""
            }));
        })
        .await;
    let client = basic(&server.base_url()).build().unwrap();
    let page = client
        .messages_list_messages()
        .send()
        .await
        .unwrap()
        .into_inner();
    let identity = page.messages[0].channel_identity.as_ref().unwrap();
    assert_eq!(
        identity.channel,
        types::ConversationChannel::Unknown("NEW_CHANNEL".into())
    );
    let back = serde_json::to_value(&page).unwrap();
    assert_eq!(
        back["messages"][0]["channel_identity"]["channel"],
        "NEW_CHANNEL"
    );
    assert_eq!(back["messages"][0]["direction"], "SIDEWAYS");
}

#[tokio::test]
async fn paging_yields_every_item_once() {
    let server = MockServer::start_async().await;
    for (token, ids, next) in [
        (None, vec!["a", "b"], "p2"),
        (Some("p2"), vec!["c", "d"], "p3"),
        (Some("p3"), vec!["e"], ""),
    ] {
        server
            .mock_async(|when, then| {
                let when = when
                    .method(GET)
                    .path(MESSAGES)
                    .query_param("page_size", "2");
                match token {
                    Some(t) => when.query_param("page_token", t),
                    None => when.query_param_missing("page_token"),
                };
                then.status(200).json_body(list_page(&ids, next));
            })
            .await;
    }
    let client = basic(&server.base_url()).build().unwrap();
    let ids: Vec<String> = client
        .messages_list_messages()
        .page_size(2)
        .items()
        .map_ok(|m| m.id.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let pages: Vec<_> = client
        .messages_list_messages()
        .page_size(2)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
}

#[tokio::test]
async fn paging_stops_on_an_error_and_reports_it() {
    let s = Scripted::start().await;
    s.on(
        "GET",
        MESSAGES,
        vec![
            Reply::json(200, list_page(&["a"], "next")),
            Reply::raw(404, ""),
        ],
    );
    let client = basic(&s.url).build().unwrap();
    let all: Vec<_> = client.messages_list_messages().items().collect().await;
    assert_eq!(all.len(), 2);
    assert!(all[0].is_ok());
    assert_eq!(
        all[1].as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(404)
    );
}

#[tokio::test]
async fn a_caller_supplied_http_client_gets_the_user_agent() {
    let server = MockServer::start_async().await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(MESSAGES)
                .header("user-agent", sinch_conversation::USER_AGENT);
            then.status(200).json_body(list_page(&[], ""));
        })
        .await;
    let client = basic(&server.base_url())
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    client.messages_list_messages().send().await.unwrap();
    assert_eq!(api.calls_async().await, 1);
}

/// `send_message` is the same operation on the same wire, through the same hooks.
#[tokio::test]
async fn send_message_by_reference_matches_the_generated_call() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        SEND,
        vec![Reply::json(
            200,
            json!({"message_id": "m1", "accepted_time": "2024-06-18T12:34:56.123Z"}),
        )],
    );
    let client = basic(&s.url).build().unwrap();
    let body = send_body();
    let fast = client.send_message(&body).await.unwrap();
    let generated = client
        .messages_send_message()
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(fast.message_id.as_deref(), Some("m1"));
    assert_eq!(fast.into_inner(), generated.into_inner());

    let seen = s.seen("POST", SEND);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body, "identical JSON bodies");
    let as_json: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(as_json, serde_json::to_value(&body).unwrap());
    assert_same_request(&seen[1], &seen[0], &["authorization"]);
}

#[tokio::test]
async fn send_message_retries_429_and_refreshes_after_401() {
    let s = Scripted::start().await;
    old_then_new_token(&s);
    s.on(
        "POST",
        SEND,
        vec![
            expired(),
            Reply::raw(429, "").header("retry-after", "0"),
            Reply::json(200, json!({"message_id": "m2"})),
        ],
    );
    let client = oauth_client(&s.url, &format!("{}/oauth2/token", s.url))
        .build()
        .unwrap();
    let sent = client.send_message(&send_body()).await.unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("m2"));
    let seen = s.seen("POST", SEND);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].headers["authorization"], "Bearer old");
    assert_eq!(seen[2].headers["authorization"], "Bearer new");
    // Retries are rebuilt from the serialized bytes: same body, same headers.
    for retry in &seen[1..] {
        assert_same_request(retry, &seen[0], &[]);
    }
}

#[tokio::test]
async fn send_message_reports_api_and_decode_errors_like_the_generated_call() {
    let s = Scripted::start().await;
    s.on(
        "POST",
        SEND,
        vec![Reply::json(400, json!({"error": {"code": 400, "message": "app_id is required", "status": "INVALID_ARGUMENT"}}))],
    );
    let client = basic(&s.url).build().unwrap();
    match client.send_message(&send_body()).await.unwrap_err() {
        Error::Api(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.message, "app_id is required");
            assert_eq!(e.error_status.as_deref(), Some("INVALID_ARGUMENT"));
        }
        other => panic!("{other:?}"),
    }

    let s = Scripted::start().await;
    s.on("POST", SEND, vec![Reply::raw(200, "{\"message_id\": ")]);
    let client = basic(&s.url).build().unwrap();
    match client.send_message(&send_body()).await.unwrap_err() {
        Error::Decode { snippet, .. } => assert!(snippet.starts_with("{\"message_id\"")),
        other => panic!("{other:?}"),
    }
}

/// Field masks go out as repeated `update_mask.paths` parameters, as the API expects.
#[tokio::test]
async fn update_masks_are_repeated_query_parameters() {
    let s = Scripted::start().await;
    let path = "/v1/projects/proj-1/apps/app-1";
    s.on(
        "PATCH",
        path,
        vec![Reply::json(
            200,
            json!({"id": "app-1", "display_name": "New name"}),
        )],
    );
    let client = basic(&s.url).build().unwrap();
    let body: types::AppUpdateRequest = serde_json::from_value(
        json!({"display_name": "New name", "retention_policy": {"ttl_days": 30}}),
    )
    .unwrap();
    let app = client
        .app_update_app()
        .app_id("app-1")
        .update_mask_paths(vec![
            "display_name".to_string(),
            "retention_policy.ttl_days".to_string(),
        ])
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(app.display_name.as_deref(), Some("New name"));
    let seen = s.seen("PATCH", path);
    assert_eq!(
        seen[0].query.as_deref(),
        Some("update_mask.paths=display_name&update_mask.paths=retention_policy.ttl_days")
    );
}

/// The generated builders' body: given whole, built with `body_map` alone or on top of a whole
/// one, or missing (an invalid request naming the field, nothing sent). The path is joined onto
/// the configured base URL, percent-encoded parameters and all.
#[tokio::test]
async fn generated_builders_take_a_body_whole_or_built_and_refuse_a_missing_one() {
    let s = Scripted::start().await;
    let reply = || {
        Reply::json(
            200,
            json!({"message_id": "m", "accepted_time": "2024-06-18T12:34:56Z"}),
        )
    };
    s.on("POST", SEND, vec![reply(), reply(), reply()]);
    let client = basic(&s.url).build().unwrap();

    client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    client
        .messages_send_message()
        .body_map(|b| {
            b.app_id("app-1")
                .recipient(types::Recipient::contact("contact-1"))
                .message(types::AppMessage::text("hello"))
        })
        .send()
        .await
        .unwrap();
    client
        .messages_send_message()
        .body(send_body())
        .body_map(|b| b.message_metadata(Some("tag".to_string())))
        .send()
        .await
        .unwrap();
    let seen = s.seen("POST", SEND);
    assert_eq!(seen.len(), 3);
    let json = |i: usize| serde_json::from_slice::<serde_json::Value>(&seen[i].body).unwrap();
    let whole = serde_json::to_value(send_body()).unwrap();
    assert_eq!(json(0), whole);
    assert_eq!(json(1), whole);
    let mut tagged = whole.clone();
    tagged["message_metadata"] = json!("tag");
    assert_eq!(json(2), tagged);

    for missing in [
        client.messages_send_message().send().await.unwrap_err(),
        client
            .messages_send_message()
            .body_map(|b| b.app_id("app-1"))
            .send()
            .await
            .unwrap_err(),
    ] {
        let e = Error::from(missing);
        assert!(
            matches!(&e, Error::InvalidRequest(m) if m.contains("no value supplied for")),
            "{e:?}"
        );
    }
    assert_eq!(s.seen("POST", SEND).len(), 3, "nothing sent without a body");

    // A path parameter is percent-encoded into the path under the base URL.
    let path = "/v1/projects/proj-1/apps/a%2Fb%20c";
    s.on("GET", path, vec![Reply::json(200, json!({"id": "a/b c"}))]);
    let app = client.app_get_app().app_id("a/b c").send().await.unwrap();
    assert_eq!(app.id.as_deref(), Some("a/b c"));
    assert_eq!(s.seen("GET", path).len(), 1);
}

/// A generated client made by hand (not through `Client::builder`) with another base URL
/// still calls that URL.
#[tokio::test]
async fn a_hand_made_generated_client_calls_its_own_base_url() {
    let s = Scripted::start().await;
    let other = "/elsewhere/v1/projects/proj-2/apps";
    s.on("GET", other, vec![Reply::json(200, json!({"apps": []}))]);
    let configured = basic(&s.url).build().unwrap();
    let hand_made = Client::new_with_client(
        &format!("{}/elsewhere/v1/projects/proj-2", s.url),
        reqwest::Client::new(),
        configured.inner().clone(),
    );
    hand_made.app_list_apps().send().await.unwrap();
    assert_eq!(s.seen("GET", other).len(), 1);
}

/// A generated call that is repeated (a 401 with a fresh token, a 429, a 503) sends a request
/// built again from the builder: same body, same headers, a new token.
#[tokio::test]
async fn a_repeated_generated_call_sends_the_same_request_again() {
    let s = Scripted::start().await;
    old_then_new_token(&s);
    s.on(
        "POST",
        SEND,
        vec![
            expired(),
            Reply::raw(429, "").header("retry-after", "0"),
            Reply::raw(503, ""),
            Reply::json(200, json!({"message_id": "m3"})),
        ],
    );
    let client = oauth_client(&s.url, &format!("{}/oauth2/token", s.url))
        .build()
        .unwrap();
    let sent = client
        .messages_send_message()
        .body(send_body())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.message_id.as_deref(), Some("m3"));
    let seen = s.seen("POST", SEND);
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].headers["authorization"], "Bearer old");
    assert_eq!(seen[3].headers["authorization"], "Bearer new");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body, serde_json::to_value(send_body()).unwrap());
    for retry in &seen[1..] {
        assert_same_request(retry, &seen[0], &[]);
    }
}
