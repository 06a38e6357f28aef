//! The HTTP side of the fake: routes made from the API documents, and the path every call
//! takes (fault plan, auth, project rate limit, parameter and body checks against the
//! document, the handler under the store's lock, effects, response shape, request log).

use super::auth::TOKEN_PATH;
use super::callbacks::{self, Outbox};
use super::ctx::Ctx;
use super::faults::{Action, Faults};
use super::inspect::{Log, RecordedRequest};
use super::limits::Bucket;
use super::reply::{ApiFailure, Reply};
use super::request::Req;
use super::schema::{self, Location, Operation, Service};
use super::service::ServiceDef;
use super::state::{Shared, Store};
use super::timers;
use super::{auth::Tokens, clock::Clock};
use crate::fake::{self, Config};
use crate::Error;
use axum::body::{Body, Bytes};
use axum::extract::{RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// A handler: the operation's logic on one project's state. It validates everything before it
/// changes anything; an `Err` drops its effects.
pub(crate) type Handler = fn(&mut Ctx, &Req) -> Result<Reply, ApiFailure>;

pub(crate) async fn start(
    cfg: Config,
    services: &'static [ServiceDef],
) -> crate::Result<Arc<Shared>> {
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
    let policy = cfg.callbacks;
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        tokens: Tokens::new(&cfg),
        clock: Clock::new(cfg.manual_clock),
        cfg,
        services,
        addr,
        store: Mutex::new(Store::new(services)),
        limits,
        faults: Faults::default(),
        log: Log::default(),
        outbox,
        timers: timers::Timers::default(),
        shutdown,
    });
    let router = router(shared.clone());
    tokio::spawn(callbacks::dispatch(
        shared.clone(),
        inbox,
        policy,
        shared.shutdown.subscribe(),
    ));
    tokio::spawn(timers::run(shared.clone(), shared.shutdown.subscribe()));
    tokio::spawn(accept(shared.clone(), listener, router));
    Ok(shared)
}

/// The operations that share one axum route: colon verbs after a path parameter
/// (`contacts/{contact_id}:merge`) cannot be told apart by the router, so the last segment's
/// suffix picks among them.
type Group = Vec<(Option<&'static str>, &'static Operation, Handler)>;

fn router(shared: Arc<Shared>) -> Router {
    let mut groups: BTreeMap<(Service, String, String), Group> = BTreeMap::new();
    for op in schema::operations() {
        let Some(handler) = handler(shared.services, op) else {
            continue;
        };
        let (path, suffix) = axum_path(&op.path);
        let key = (op.service, path, op.method.to_string());
        groups.entry(key).or_default().push((suffix, op, handler));
    }
    // One router per prefix: services whose paths overlap are served under prefixes of their
    // own (in production they have hosts of their own).
    let mut routers: BTreeMap<&'static str, Router<Arc<Shared>>> = BTreeMap::new();
    for ((service, path, method), group) in groups {
        let filter = MethodFilter::try_from(method.parse::<Method>().expect("a method"))
            .expect("the documents use standard methods");
        let group = Arc::new(group);
        let route = on(
            filter,
            move |state: State<Arc<Shared>>, params: RawPathParams, req: Request| {
                let group = group.clone();
                async move { call(state, group, params, req).await }
            },
        );
        let prefix = ServiceDef::find(shared.services, service.0).map_or("", |s| s.prefix);
        let router = routers.remove(prefix).unwrap_or_default();
        routers.insert(prefix, router.route(&path, route));
    }
    let mut api = routers.remove("").unwrap_or_default();
    for (prefix, router) in routers {
        api = api.nest(prefix, router);
    }
    api.route(TOKEN_PATH, axum::routing::any(token))
        .nest("/_fake", fake::control::routes())
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .with_state(shared)
}

/// The handler of `op` in the service whose document holds it, if the fake answers it.
pub(crate) fn handler(services: &'static [ServiceDef], op: &Operation) -> Option<Handler> {
    (ServiceDef::find(services, op.service.0)?.handler)(&op.id)
}

/// The document's path in axum's syntax, and the colon verb that follows a parameter.
/// Parameters are renamed by position (`{p0}`, `{p1}`, ...): the documents name the same
/// segment differently in different operations (`{contact_id}`, `{destination_id}`), which
/// the router would take for two routes.
fn axum_path(path: &str) -> (String, Option<&'static str>) {
    let last = path.rsplit('/').next().unwrap_or_default();
    let (path, verb) = match last.rsplit_once("}:") {
        Some((_, verb)) => {
            let cut = path.len() - verb.len() - 1;
            let verb: &'static str = Box::leak(verb.to_owned().into_boxed_str());
            (&path[..cut], Some(verb))
        }
        None => (path, None),
    };
    let mut n = 0;
    let segments: Vec<String> = path
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(_) => {
                    n += 1;
                    format!("{{p{}}}", n - 1)
                }
                None => seg.to_owned(),
            },
        )
        .collect();
    (segments.join("/"), verb)
}

/// The names of an operation's path parameters, in path order.
fn param_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|seg| {
        let inner = seg.strip_prefix('{')?;
        inner.split_once('}').map(|(name, _)| name)
    })
}

/// The connection a request came on, so that a fault plan can drop it.
#[derive(Clone)]
pub(crate) struct Conn(Arc<Notify>);

async fn accept(shared: Arc<Shared>, listener: TcpListener, router: Router) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(shared.clone(), stream, router.clone()));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, router: Router) {
    let kill = Arc::new(Notify::new());
    let mut shutdown = shared.shutdown.subscribe();
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(Conn(kill.clone()));
            tower_service::Service::call(&mut router.clone(), req)
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
        headers: Vec<(&'static str, String)>,
    },
    Drop,
}

impl From<ApiFailure> for Outcome {
    fn from(f: ApiFailure) -> Self {
        Outcome::Answer {
            status: f.status,
            body: f.body(),
            headers: f.headers(),
        }
    }
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request's parts and its body, read up to the size limit.
async fn read(shared: &Shared, req: Request) -> (Parts, Result<Bytes, ApiFailure>) {
    let (parts, body) = req.into_parts();
    let limit = shared.cfg.max_body;
    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiFailure::new(
            413,
            format!("the request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(ApiFailure::bad_request(format!(
            "could not read the request body: {e}"
        ))),
    };
    (parts, body)
}

async fn call(
    State(shared): State<Arc<Shared>>,
    group: Arc<Group>,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (parts, body) = read(&shared, req).await;
    let last = parts.uri.path().rsplit('/').next().unwrap_or_default();
    let verb = last.rsplit_once(':').map(|(_, v)| v);
    let picked = group
        .iter()
        .find(|(suffix, _, _)| suffix.is_some() && *suffix == verb)
        .or_else(|| group.iter().find(|(suffix, _, _)| suffix.is_none()));
    let Some(&(suffix, op, handler)) = picked else {
        let failure = ApiFailure::new(
            404,
            format!("no operation at {} {}", parts.method, parts.uri.path()),
        );
        return finish(&shared, "unknown", &parts, body, failure.into()).await;
    };
    let mut path: Vec<(String, String)> = param_names(&op.path)
        .zip(params.iter())
        .map(|(name, (_, v))| (name.to_owned(), v.to_owned()))
        .collect();
    if let (Some(verb), Some((_, last))) = (suffix, path.last_mut()) {
        if let Some(id) = last.strip_suffix(verb).and_then(|s| s.strip_suffix(':')) {
            *last = id.to_owned();
        }
    }
    let outcome = match &body {
        Ok(bytes) => {
            run(
                &shared,
                op,
                handler,
                path,
                &parts.uri,
                &parts.headers,
                bytes,
            )
            .await
        }
        Err(f) => f.clone().into(),
    };
    finish(&shared, &op.id, &parts, body, outcome).await
}

async fn run(
    shared: &Arc<Shared>,
    op: &'static Operation,
    handler: Handler,
    path: Vec<(String, String)>,
    uri: &Uri,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Outcome {
    if let Err(o) = fault(shared, &op.id).await {
        return o;
    }
    let project = path
        .iter()
        .find(|(k, _)| k == "project_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let authorization = header(headers, header::AUTHORIZATION);
    let bearer_only =
        ServiceDef::find(shared.services, op.service.0).is_some_and(|s| s.bearer_only);
    let now = shared.clock.elapsed();
    if let Err(f) = shared
        .tokens
        .authorize(now, authorization, &project, bearer_only)
    {
        return f.into();
    }
    if let Some(Err(wait)) = shared.limits.get(&project).map(Bucket::take) {
        let f = ApiFailure::rate_limited(
            format!("project {project} exceeded its limit of requests per second"),
            wait,
        );
        return f.into();
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let req = match checked(
        op,
        path,
        query,
        header(headers, header::CONTENT_TYPE),
        bytes,
    ) {
        Ok(req) => req,
        Err(f) => return f.into(),
    };
    let result = {
        let mut store = shared.lock();
        let (p, ids) = store.split(&project);
        let mut ctx = Ctx::new(p, ids, shared, now);
        let result = handler(&mut ctx, &req);
        // A rejected request changes nothing, effects included.
        result.map(|reply| (reply, ctx.effects))
    };
    match result {
        Ok((reply, effects)) => {
            timers::apply(shared, &project, effects);
            let body = if op.shapes_response {
                shaped(op, reply.0)
            } else {
                reply.0
            };
            Outcome::Answer {
                status: 200,
                body,
                headers: vec![],
            }
        }
        Err(f) => f.into(),
    }
}

/// The request's parameters and body, checked against the operation's document.
fn checked(
    op: &'static Operation,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    content_type: Option<&str>,
    bytes: &Bytes,
) -> Result<Req, ApiFailure> {
    let invalid = |v: schema::Violation| ApiFailure::bad_request(format!("invalid argument: {v}"));
    for p in &op.params {
        match p.location {
            Location::Path => {
                if let Some((_, v)) = path.iter().find(|(k, _)| *k == p.name) {
                    schema::check_param(p, v).map_err(invalid)?;
                }
            }
            Location::Query => {
                let mut values = query.iter().filter(|(k, v)| *k == p.name && !v.is_empty());
                let mut any = false;
                for (_, v) in values.by_ref() {
                    any = true;
                    schema::check_param(p, v).map_err(invalid)?;
                }
                if p.required && !any {
                    return Err(ApiFailure::bad_request(format!(
                        "missing required parameter {}",
                        p.name
                    )));
                }
            }
            Location::Other => {}
        }
    }
    let body = match op.body {
        None => serde_json::Value::Null,
        Some((_, required)) if bytes.is_empty() => {
            if required {
                return Err(ApiFailure::bad_request("the request needs a JSON body"));
            }
            serde_json::Value::Null
        }
        Some(_) => {
            let is_json = content_type.is_some_and(|c| {
                c.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
            if !is_json {
                return Err(ApiFailure::bad_request(format!(
                    "expected a JSON body (Content-Type: application/json), got {}",
                    content_type.unwrap_or("no Content-Type")
                )));
            }
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| ApiFailure::bad_request(format!("invalid JSON body: {e}")))?;
            schema::check_body(op, &value).map_err(invalid)?;
            value
        }
    };
    Ok(Req {
        op,
        path,
        query,
        body,
    })
}

fn shaped(op: &Operation, body: Bytes) -> Bytes {
    match serde_json::from_slice(&body) {
        Ok(mut value) => {
            schema::shape(op, &mut value);
            Bytes::from(value.to_string())
        }
        Err(_) => body,
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

async fn token(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = read(&shared, req).await;
    let outcome = match (&body, fault(&shared, "oauth2.token").await) {
        (_, Err(o)) => o,
        (Err(f), _) => f.clone().into(),
        (Ok(_), _) if parts.method != Method::POST => {
            ApiFailure::new(405, "the token endpoint takes POST").into()
        }
        (Ok(form), Ok(())) => {
            let authorization = header(&parts.headers, header::AUTHORIZATION);
            let now = shared.clock.elapsed();
            let expires_at = shared.clock.wall(now + shared.cfg.token_ttl).timestamp();
            let (status, body) = shared.tokens.token(now, expires_at, authorization, form);
            Outcome::Answer {
                status,
                body: body.into(),
                headers: vec![],
            }
        }
    };
    finish(&shared, "oauth2.token", &parts, body, outcome).await
}

async fn unknown(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = read(&shared, req).await;
    let failure = ApiFailure::new(
        404,
        format!("no operation at {} {}", parts.method, parts.uri.path()),
    );
    finish(&shared, "unknown", &parts, body, failure.into()).await
}

/// Logs the request and turns the outcome into a response; a dropped connection never answers.
async fn finish(
    shared: &Shared,
    operation: &str,
    parts: &Parts,
    body: Result<Bytes, ApiFailure>,
    outcome: Outcome,
) -> Response {
    if shared.cfg.record_requests {
        shared.log.push(RecordedRequest {
            operation: operation.to_owned(),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            auth_scheme: header(&parts.headers, header::AUTHORIZATION)
                .and_then(|a| a.split_whitespace().next())
                .map(str::to_owned),
            body: body.unwrap_or_default(),
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
            headers,
        } => json_response(status, body, headers),
        Outcome::Drop => {
            // The connection task closes the connection; this request waits until then.
            if let Some(conn) = parts.extensions.get::<Conn>() {
                conn.0.notify_one();
            }
            std::future::pending().await
        }
    }
}

/// A JSON response with the API's headers.
pub(crate) fn json_response(
    status: u16,
    body: Bytes,
    extra: Vec<(&'static str, String)>,
) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    }
    resp
}
