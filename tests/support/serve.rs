//! Serving a tower service or an axum router on a loopback port, and posting signed callbacks
//! to it as the API (or an attacker) would.
#![allow(dead_code)]

use bytes::Bytes;
use sinch_conversation::webhook;
use std::time::{SystemTime, UNIX_EPOCH};

/// Serves `router` on a free loopback port; returns `http://127.0.0.1:PORT`.
pub async fn serve_axum(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// Serves any tower service with hyper alone (no axum); returns `http://127.0.0.1:PORT`.
pub async fn serve_hyper<S, B>(service: S) -> String
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    base
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The answer to a POST: status, `Retry-After` if any, and the body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub text: String,
}

/// Posts `body` with `headers` to `url`.
pub async fn post(url: &str, headers: &[(&str, String)], body: impl Into<reqwest::Body>) -> Answer {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status,
        retry_after,
        text: response.text().await.unwrap(),
    }
}

/// Posts `body` signed with `secret` now, with a fresh nonce (as every try of the API is).
pub async fn post_signed(url: &str, secret: &str, body: &[u8]) -> Answer {
    let nonce = format!("nonce-{}", rand::random::<u64>());
    let headers = webhook::signed_headers(secret.as_bytes(), body, &nonce, now());
    post(url, &headers, body.to_vec()).await
}

/// An inbound text message callback for app `app`, message `id`, in `conversation`.
pub fn inbound(app: &str, id: &str, conversation: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "app_id": app,
        "project_id": "p",
        "accepted_time": "2024-06-18T12:35:01.512Z",
        "message": {
            "id": id,
            "direction": "TO_APP",
            "contact_message": {"text_message": {"text": text}},
            "channel_identity": {"channel": "SMS", "identity": "+15550100", "app_id": ""},
            "conversation_id": conversation,
            "contact_id": format!("contact-of-{conversation}"),
        }
    }))
    .unwrap()
}
