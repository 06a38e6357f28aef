//! The HTTP side of the fake: accept loop, one hyper connection per client, and the path a
//! request takes (body limit, route, fault plan, auth, rate limit, handler, effects).

use super::auth::{Tokens, TOKEN_PATH};
use super::callbacks::{self, Outbox};
use super::ctx::{Ctx, Effects};
use super::faults::{Action, Faults};
use super::inspect::{Log, RecordedRequest};
use super::limits::Bucket;
use super::reply::{ApiFailure, Reply};
use super::request::Req;
use super::state::{Shared, Store};
use super::{queue, routes, Config};
use crate::Error;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, Response};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

pub(crate) async fn start(cfg: Config) -> crate::Result<Arc<Shared>> {
    let listener = TcpListener::bind(cfg.addr)
        .await
        .map_err(|e| Error::Config(format!("the fake could not bind {}: {e}", cfg.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("the fake's listening address: {e}")))?;
    let (outbox, inbox) = Outbox::new();
    let projects = std::iter::once(cfg.project_id.clone())
        .chain(cfg.extra_projects.iter().map(|(p, _, _)| p.clone()));
    let limits: HashMap<String, Bucket> = match cfg.rate_limit {
        Some(rate) => projects
            .map(|p| (p, Bucket::new(rate, cfg.burst)))
            .collect(),
        None => HashMap::new(),
    };
    let policy = callbacks::Policy {
        attempts: cfg.callback_attempts,
        backoff: cfg.callback_backoff,
    };
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        tokens: Tokens::new(&cfg),
        cfg,
        addr,
        store: Mutex::new(Store::default()),
        limits,
        faults: Faults::default(),
        log: Log::default(),
        outbox,
        shutdown,
    });
    let stop = shared.shutdown.subscribe();
    tokio::spawn(callbacks::dispatch(shared.clone(), inbox, policy, stop));
    tokio::spawn(accept(shared.clone(), listener));
    Ok(shared)
}

async fn accept(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(shared.clone(), stream));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let kill = Arc::new(Notify::new());
    let mut shutdown = shared.shutdown.subscribe();
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |req| {
            let (shared, kill) = (shared.clone(), kill.clone());
            async move { Ok::<_, Infallible>(handle(&shared, &kill, req).await) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    // A fault plan's dropped connection, or the fake stopping, ends the connection unanswered.
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = shutdown.wait_for(|s| *s) => {}
    }
}

/// What a request was answered with.
enum Outcome {
    Answer {
        status: u16,
        body: Bytes,
        retry_after: Option<String>,
    },
    Drop,
}

impl From<ApiFailure> for Outcome {
    fn from(f: ApiFailure) -> Self {
        Outcome::Answer {
            status: f.status,
            body: f.body(),
            retry_after: f.retry_after_header(),
        }
    }
}

async fn handle(
    shared: &Arc<Shared>,
    kill: &Notify,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let is_token = path == TOKEN_PATH;
    let route = routes::find(&parts.method, &path);
    let operation = match &route {
        _ if is_token => "oauth2.token",
        Some(found) => found.route.op,
        None => "unknown",
    };
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let authorization = header(AUTHORIZATION).map(str::to_owned);
    let content_type = header(CONTENT_TYPE).map(str::to_owned);

    let (body, outcome) = match Limited::new(body, shared.cfg.max_body).collect().await {
        Ok(b) => {
            let body = b.to_bytes();
            let outcome = match route {
                _ if is_token => {
                    token(shared, &parts.method, authorization.as_deref(), &body).await
                }
                None => {
                    ApiFailure::new(404, format!("no operation at {} {path}", parts.method)).into()
                }
                Some(found) => {
                    let req = Req {
                        params: found.params,
                        query: url::form_urlencoded::parse(
                            parts.uri.query().unwrap_or("").as_bytes(),
                        )
                        .into_owned()
                        .collect(),
                        body: body.clone(),
                        content_type,
                    };
                    call(
                        shared,
                        found.route,
                        &found.project,
                        authorization.as_deref(),
                        req,
                    )
                    .await
                }
            };
            (body, outcome)
        }
        Err(e) => {
            let failure = if e.is::<http_body_util::LengthLimitError>() {
                ApiFailure::new(
                    413,
                    format!("request body larger than {} bytes", shared.cfg.max_body),
                )
            } else {
                ApiFailure::bad_request(format!("could not read the request body: {e}"))
            };
            (Bytes::new(), failure.into())
        }
    };

    if shared.cfg.record_requests {
        shared.log.push(RecordedRequest {
            operation,
            method: parts.method.to_string(),
            path,
            query: parts.uri.query().map(str::to_owned),
            auth_scheme: authorization
                .as_deref()
                .and_then(|a| a.split_whitespace().next())
                .map(str::to_owned),
            body,
            status: match &outcome {
                Outcome::Answer { status, .. } => *status,
                Outcome::Drop => 0,
            },
            received_at: SystemTime::now(),
        });
    }

    match outcome {
        Outcome::Answer {
            status,
            body,
            retry_after,
        } => {
            let mut resp = Response::new(Full::new(body));
            *resp.status_mut() = hyper::StatusCode::from_u16(status)
                .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = resp.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if let Some(v) = retry_after.and_then(|v| HeaderValue::try_from(v).ok()) {
                headers.insert(RETRY_AFTER, v);
            }
            resp
        }
        Outcome::Drop => {
            kill.notify_one();
            std::future::pending().await
        }
    }
}

/// Applies a fault plan for `operation`, if any: `Err` is the outcome to answer instead.
async fn fault(shared: &Shared, operation: &str) -> Result<(), Outcome> {
    match shared.faults.take(operation) {
        None => Ok(()),
        Some(Action::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(())
        }
        Some(Action::Drop) => Err(Outcome::Drop),
        Some(Action::Status {
            status,
            retry_after,
        }) => {
            let failure = ApiFailure {
                retry_after,
                ..ApiFailure::new(status, format!("injected fault: HTTP {status}"))
            };
            Err(failure.into())
        }
    }
}

async fn token(
    shared: &Shared,
    method: &hyper::Method,
    authorization: Option<&str>,
    form: &[u8],
) -> Outcome {
    if let Err(o) = fault(shared, "oauth2.token").await {
        return o;
    }
    if method != hyper::Method::POST {
        return ApiFailure::new(405, "the token endpoint takes POST").into();
    }
    let (status, body) = shared.tokens.token(authorization, form);
    Outcome::Answer {
        status,
        body: body.into(),
        retry_after: None,
    }
}

async fn call(
    shared: &Arc<Shared>,
    route: &'static routes::Route,
    project: &str,
    authorization: Option<&str>,
    req: Req,
) -> Outcome {
    if let Err(o) = fault(shared, route.op).await {
        return o;
    }
    if let Err(f) = shared.tokens.authorize(authorization, project) {
        return f.into();
    }
    if let Some(Err(wait)) = shared.limits.get(project).map(Bucket::take) {
        let f = ApiFailure::rate_limited(
            format!("project {project} exceeded its limit of requests per second"),
            wait,
        );
        return f.into();
    }
    let result = {
        let mut store = shared.lock();
        let (p, ids) = store.split(project);
        let mut ctx = Ctx::new(p, ids, &shared.cfg);
        let result = (route.handler)(&mut ctx, &req);
        // A rejected request changes nothing, effects included.
        result.map(|reply| (reply, ctx.effects))
    };
    match result {
        Ok((Reply(body), effects)) => {
            apply(shared, project, effects);
            Outcome::Answer {
                status: 200,
                body,
                retry_after: None,
            }
        }
        Err(f) => f.into(),
    }
}

/// Carries out what a handler decided once the store is unlocked.
pub(crate) fn apply(shared: &Arc<Shared>, project: &str, effects: Effects) {
    for cb in effects.callbacks {
        shared.outbox.send(cb);
    }
    for app in effects.wake {
        queue::wake(shared, project, &app);
    }
}
