//! [`Client::send_message`]: the hot path, by reference and without the generated builder.

use crate::generated::{Client, ClientInfo as _, ResponseValue};
use crate::{types, CallOptions, Error, Result};
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};

impl Client {
    /// Sends a message (`Messages_SendMessage`), borrowing the request.
    ///
    /// The same operation as `client.messages_send_message().body(request).send()`, through the
    /// same authentication, retry, timeout and error handling, but built for volume: the request
    /// is serialized straight from the reference (send one message to many recipients without
    /// cloning it), skips the generated builder's conversions, and is rebuilt from its bytes only
    /// when a retry actually happens.
    ///
    /// ```no_run
    /// # async fn demo(client: &sinch_conversation::Client, requests: &[sinch_conversation::types::SendMessageRequest]) -> sinch_conversation::Result<()> {
    /// for request in requests {
    ///     let accepted = client.send_message(request).await?;
    ///     println!("{:?}", accepted.message_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_message<'a>(
        &'a self,
        request: &'a types::SendMessageRequest,
    ) -> impl std::future::Future<Output = Result<ResponseValue<types::SendMessageResponse>>> + 'a
    {
        // Boxed, so that the caller's future stays small: a task holding a send inline is over
        // 1 KiB, beyond the allocator's per-thread cache, which cost up to 5% of a send.
        Box::pin(self.send_message_with(request, false, None))
    }

    /// [`Self::send_message`] with a timeout, retry settings or a deadline for this call only
    /// (see [`CallOptions`]).
    ///
    /// ```no_run
    /// # async fn demo(client: &sinch_conversation::Client, request: &sinch_conversation::types::SendMessageRequest) -> sinch_conversation::Result<()> {
    /// use sinch_conversation::{CallOptions, RetryConfig};
    /// use std::time::Duration;
    ///
    /// // An OTP: worth nothing in a minute, so no long retries.
    /// let otp = CallOptions::new()
    ///     .timeout(Duration::from_secs(3))
    ///     .retry(RetryConfig::default().max_elapsed(Some(Duration::from_secs(10))));
    /// client.send_message_with_options(request, &otp).await?;
    /// # Ok(()) }
    /// ```
    pub fn send_message_with_options<'a>(
        &'a self,
        request: &'a types::SendMessageRequest,
        options: &'a CallOptions,
    ) -> impl std::future::Future<Output = Result<ResponseValue<types::SendMessageResponse>>> + 'a
    {
        Box::pin(self.send_message_with(request, false, Some(options)))
    }

    /// [`Self::send_message`]; `at_most_once` never repeats after an ambiguous failure, whatever
    /// the retry settings say.
    pub(crate) async fn send_message_with(
        &self,
        request: &types::SendMessageRequest,
        at_most_once: bool,
        options: Option<&CallOptions>,
    ) -> Result<ResponseValue<types::SendMessageResponse>> {
        let body =
            crate::calls::json_bytes(request).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let build = || {
            let mut req =
                reqwest::Request::new(reqwest::Method::POST, self.inner.0.send_url.clone());
            *req.headers_mut() = reqwest::header::HeaderMap::with_capacity(crate::calls::HEADERS);
            let headers = req.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            headers.insert(
                crate::calls::API_VERSION,
                HeaderValue::from_static(Client::api_version()),
            );
            *req.body_mut() = Some(body.clone().into());
            req
        };
        let rebuild = || Some(build());
        let resp = crate::hooks::run(
            self,
            crate::region::Service::Conversation,
            build(),
            "messages_send_message",
            Some(&rebuild),
            at_most_once,
            options,
        )
        .await
        .map_err(progenitor_client::Error::<()>::CommunicationError)?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(progenitor_client::Error::<()>::UnexpectedResponse(resp).into());
        }
        Ok(crate::calls::response_value::<_, ()>(resp).await?)
    }
}
