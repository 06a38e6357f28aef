//! A scripted HTTP server on loopback for sequences httpmock cannot express (a 401 and then a
//! 200 on the same route within one call): each route answers from its own queue of replies,
//! the last reply repeating, and every request is recorded.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn raw(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<(String, String), VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
}

pub struct Scripted {
    pub url: String,
    state: Arc<State>,
}

impl Scripted {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let st = state.clone();
        let app =
            axum::Router::new().fallback(move |m: Method, uri: Uri, h: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move { answer(st, m, uri, h, body).await }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Scripted { url, state }
    }

    /// Queues replies for `method path`; the last one repeats.
    pub fn on(&self, method: &str, path: &str, replies: Vec<Reply>) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert((method.into(), path.into()), replies.into());
    }

    pub fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .cloned()
            .collect()
    }
}

async fn answer(
    st: Arc<State>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    st.seen.lock().unwrap().push(Seen {
        method: m.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: h,
        body,
    });
    let reply = {
        let mut routes = st.routes.lock().unwrap();
        match routes.get_mut(&(m.to_string(), uri.path().to_string())) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    };
    let Some(reply) = reply else {
        return (StatusCode::NOT_FOUND, "no script for this route").into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}
