//! An axum extractor for writing the callback handler yourself: the request arrives verified,
//! bounded, parsed and claimed, or is answered with the right status before your code runs.

use super::dedup::{DedupKey, Owner};
use super::intake::{Intake, Rejection};
use super::Event;
use axum_core::extract::{FromRef, FromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use http::{header, HeaderValue};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

/// A callback seen for the first time, from an axum handler's arguments.
///
/// Needs an [`Intake`] in the router's state (`Intake: FromRef<S>`). Everything that must not
/// reach your code is answered before it runs: 401 (forged, stale, tampered), 400
/// (unreadable), 413 (too large), 200 (a copy of a callback already done), 503 (a copy still
/// in progress, or the dedup store unavailable). Call [`Callback::done`] once the event is
/// safely handled; dropping it without (an error, an early return) releases its key, so the
/// API's redelivery is handed to you again. Answer 2xx only after `done`, and 503 if you
/// could not handle it.
///
/// ```
/// use axum::{http::StatusCode, routing::post, Router};
/// use sinch_conversation::webhook::{Callback, Event, Intake, Verifier};
///
/// async fn on_callback(callback: Callback) -> StatusCode {
///     if let Event::MessageInbound(e) = callback.event() {
///         println!("{:?}", e.message.contact_message.text_message);
///     }
///     callback.done().await;
///     StatusCode::OK
/// }
///
/// let app: Router = Router::new()
///     .route("/sinch/callbacks", post(on_callback))
///     .with_state(Intake::new(Verifier::new("secret")));
/// ```
pub struct Callback {
    event: Event,
    /// The claim, until done or dropped.
    claim: Option<(DedupKey, Owner)>,
    intake: Intake,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("trigger", &self.event.trigger())
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// The typed event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The key its copies share.
    pub fn key(&self) -> &DedupKey {
        &self
            .claim
            .as_ref()
            .expect("present until done or dropped")
            .0
    }

    /// Marks it handled: copies the API redelivers are answered 200 without reaching you.
    /// Returns the event.
    pub async fn done(mut self) -> Event {
        let (key, owner) = self.claim.take().expect("present until done or dropped");
        self.intake.complete(&key, owner).await;
        std::mem::replace(&mut self.event, Event::Unknown(Default::default()))
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some((key, owner)) = self.claim.take() {
            let intake = self.intake.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { intake.release(&key, owner).await });
            }
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Callback
where
    Intake: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Rejection> {
        let intake = Intake::from_ref(state);
        let limit = intake.body_limit();
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(Rejection::TooLarge { limit })
            }
            Err(_) => return Err(Rejection::Unreadable),
        };
        let admitted = intake.admit(&parts.headers, &body).await?;
        Ok(Callback {
            event: admitted.event,
            claim: Some((admitted.key, admitted.owner)),
            intake,
        })
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut r = (status, self.to_string()).into_response();
        if status.is_server_error() {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}
