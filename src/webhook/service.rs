//! The receiver as a tower `Service` (for hyper, axum, tonic or any tower stack), and a
//! `Layer` that mounts it at a path in front of another service.

use super::body::{self, Read};
use super::intake::Rejection;
use super::receiver::{BoxError, Receiver};
use crate::metrics::Refused;
use bytes::Bytes;
use futures_core::future::BoxFuture;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{Either, Full};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Answers callbacks posted to it: see [`Receiver::service`].
#[derive(Clone, Debug)]
pub struct ReceiverService {
    receiver: Receiver,
}

/// Mounts a [`Receiver`] at a path in front of another service: see [`Receiver::layer`].
#[derive(Clone, Debug)]
pub struct ReceiverLayer {
    receiver: Receiver,
    path: Arc<str>,
}

/// `inner`, with callbacks posted to the layer's path answered by the receiver.
#[derive(Clone, Debug)]
pub struct WithReceiver<S> {
    inner: S,
    receiver: Receiver,
    path: Arc<str>,
}

impl Receiver {
    /// A tower service that answers every request as a callback: `POST` with the signed body,
    /// anything else 405. Mount it where the webhook's `target` points:
    ///
    /// ```
    /// # use sinch_conversation::webhook::{Receiver, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let receiver = Receiver::builder(Verifier::new("secret"))
    ///     .start(|event: sinch_conversation::webhook::Event| async move {
    ///         println!("{:?}", event.trigger());
    ///         Ok::<(), std::convert::Infallible>(())
    ///     });
    /// // axum
    /// let app: axum::Router = axum::Router::new()
    ///     .route_service("/sinch/callbacks", receiver.service());
    /// // hyper: hyper_util::service::TowerToHyperService::new(receiver.service())
    /// # }
    /// ```
    pub fn service(&self) -> ReceiverService {
        ReceiverService {
            receiver: self.clone(),
        }
    }

    /// A tower layer that answers `POST path` with this receiver and passes every other
    /// request to the service it wraps.
    ///
    /// ```
    /// # use sinch_conversation::webhook::{Receiver, Verifier};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let receiver = Receiver::builder(Verifier::new("secret"))
    /// #     .start(|_e| async { Ok::<(), std::convert::Infallible>(()) });
    /// use tower::ServiceBuilder;
    /// let app = ServiceBuilder::new()
    ///     .layer(receiver.layer("/sinch/callbacks"))
    ///     .service(tower::service_fn(|_req: http::Request<String>| async {
    ///         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("your API")))
    ///     }));
    /// # let _ = app;
    /// # }
    /// ```
    pub fn layer(&self, path: impl Into<String>) -> ReceiverLayer {
        ReceiverLayer {
            receiver: self.clone(),
            path: path.into().into(),
        }
    }
}

impl<B> tower_service::Service<Request<B>> for ReceiverService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Never pushes back by waiting: a full receiver answers 503 at once, which the API
        // redelivers, instead of holding connections open until it times out.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.receiver.clone();
        Box::pin(async move { Ok(answer(&receiver, request).await) })
    }
}

impl<S> tower_layer::Layer<S> for ReceiverLayer {
    type Service = WithReceiver<S>;

    fn layer(&self, inner: S) -> WithReceiver<S> {
        WithReceiver {
            inner,
            receiver: self.receiver.clone(),
            path: self.path.clone(),
        }
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for WithReceiver<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Either<Full<Bytes>, R>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() == &*self.path {
            let receiver = self.receiver.clone();
            Box::pin(async move { Ok(answer(&receiver, request).await.map(Either::Left)) })
        } else {
            let inner = self.inner.call(request);
            Box::pin(async move { Ok(inner.await?.map(Either::Right)) })
        }
    }
}

/// Reads the body within the limit, receives it, and turns the outcome into the answer.
async fn answer<B>(receiver: &Receiver, request: Request<B>) -> Response<Full<Bytes>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if request.method() != Method::POST {
        receiver.count_refused(Refused::Method);
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "callbacks are POSTed");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let limit = receiver.intake().body_limit();
    let (parts, body) = request.into_parts();
    let body = match body::read(&parts.headers, body, limit).await {
        Read::Body(body) => body,
        Read::TooLarge { drained } => {
            receiver.count_refused(Refused::TooLarge);
            let mut r = plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
            if !drained {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return r;
        }
        Read::Unreadable => {
            receiver.count_refused(Refused::Unreadable);
            let r = Rejection::Unreadable;
            return plain(r.status(), &r.to_string());
        }
    };
    match receiver.receive(&parts.headers, &body).await {
        Ok(()) => ok(),
        Err(rejection) => {
            let status = rejection.status();
            let mut r = plain(status, &rejection.to_string());
            if status == StatusCode::SERVICE_UNAVAILABLE {
                let secs = receiver.retry_after().as_secs().max(1);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            r
        }
    }
}

fn ok() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
