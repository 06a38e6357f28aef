//! Credentials: OAuth2 client credentials with a cached, single-flight token, or Basic auth.

use crate::error::{snippet, AuthError};
use crate::metrics::{ClientMetrics, TokenOutcome};
use crate::retry::{parse_retry_after, RetryConfig};
use base64::Engine as _;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// The default OAuth2 token endpoint.
pub const DEFAULT_AUTH_URL: &str = "https://auth.sinch.com/oauth2/token";

/// An access key (id and secret) from the Sinch dashboard, and how to present it.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    key_id: String,
    key_secret: SecretString,
    scheme: Scheme,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    OAuth2,
    Basic,
}

impl Credentials {
    /// OAuth2 client credentials (recommended): the key obtains short-lived bearer tokens,
    /// cached and refreshed before they expire.
    pub fn oauth2(key_id: impl Into<String>, key_secret: impl Into<String>) -> Self {
        Self::new(key_id, key_secret, Scheme::OAuth2)
    }

    /// HTTP Basic: the key itself on every request.
    pub fn basic(key_id: impl Into<String>, key_secret: impl Into<String>) -> Self {
        Self::new(key_id, key_secret, Scheme::Basic)
    }

    fn new(key_id: impl Into<String>, key_secret: impl Into<String>, scheme: Scheme) -> Self {
        Credentials {
            key_id: key_id.into(),
            key_secret: SecretString::from(key_secret.into()),
            scheme,
        }
    }

    /// The key id (not secret).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn basic_header(&self) -> HeaderValue {
        let raw = format!("{}:{}", self.key_id, self.key_secret.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        let mut v = HeaderValue::try_from(format!("Basic {encoded}"))
            .expect("base64 is a valid header value");
        v.set_sensitive(true);
        v
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("key_secret", &"[redacted]")
            .finish()
    }
}

/// The per-client authenticator used by the hooks.
pub(crate) enum Auth {
    Basic { key_id: String, header: HeaderValue },
    OAuth2(Box<TokenSource>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { key_id, .. } => f
                .debug_struct("Basic")
                .field("key_id", key_id)
                .field("key_secret", &"[redacted]")
                .finish(),
            Auth::OAuth2(t) => f
                .debug_struct("OAuth2")
                .field("key_id", &t.key_id)
                .field("token_url", &t.url.as_str())
                .field("cached_token", &t.cached().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

impl Auth {
    pub(crate) fn new(
        creds: &Credentials,
        http: reqwest::Client,
        url: Url,
        retry: RetryConfig,
        metrics: ClientMetrics,
    ) -> Self {
        match creds.scheme {
            Scheme::Basic => Auth::Basic {
                key_id: creds.key_id.clone(),
                header: creds.basic_header(),
            },
            Scheme::OAuth2 => Auth::OAuth2(Box::new(TokenSource {
                http,
                url,
                key_id: creds.key_id.clone(),
                basic: creds.basic_header(),
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                retry,
                metrics,
            })),
        }
    }

    /// Sets the Authorization header; returns the token used, so a 401 can invalidate exactly it.
    pub(crate) async fn authorize(
        &self,
        req: &mut reqwest::Request,
    ) -> Result<Option<Arc<Token>>, AuthError> {
        match self {
            Auth::Basic { header, .. } => {
                req.headers_mut().insert(AUTHORIZATION, header.clone());
                Ok(None)
            }
            Auth::OAuth2(src) => {
                // A valid cached token needs no future; fetching one is rare, so boxed.
                let token = match src.fresh() {
                    Some(t) => t,
                    None => Box::pin(src.token()).await?,
                };
                req.headers_mut()
                    .insert(AUTHORIZATION, token.header.clone());
                Ok(Some(token))
            }
        }
    }

    /// After a 401: drops the cached token if it is still the one that failed.
    pub(crate) fn invalidate(&self, used: &Arc<Token>) {
        if let Auth::OAuth2(src) = self {
            let mut cur = src.current.write().unwrap_or_else(|p| p.into_inner());
            if cur.as_ref().is_some_and(|c| Arc::ptr_eq(c, used)) {
                *cur = None;
            }
        }
    }

    /// When the cached token expires, if there is one.
    pub(crate) fn expiry(&self) -> Option<std::time::SystemTime> {
        let Auth::OAuth2(src) = self else { return None };
        let left = src
            .cached()?
            .expires_at
            .saturating_duration_since(Instant::now());
        Some(std::time::SystemTime::now() + left)
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self, Auth::OAuth2(_))
    }
}

/// A bearer token, ready to use as a header.
pub(crate) struct Token {
    header: HeaderValue,
    /// From here on one caller refreshes while the others keep using this token.
    refresh_at: Instant,
    /// From here on the token is not used at all.
    expires_at: Instant,
}

pub(crate) struct TokenSource {
    http: reqwest::Client,
    url: Url,
    key_id: String,
    basic: HeaderValue,
    current: RwLock<Option<Arc<Token>>>,
    /// Held only while fetching, so concurrent callers cause one token request.
    refresh: tokio::sync::Mutex<()>,
    retry: RetryConfig,
    metrics: ClientMetrics,
}

/// Refresh a minute early, or halfway through a token's life if that is sooner.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    token_type: Option<String>,
}

impl TokenSource {
    fn cached(&self) -> Option<Arc<Token>> {
        // The read lock is held for a pointer copy, never across an await.
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The cached token while it needs no refresh.
    fn fresh(&self) -> Option<Arc<Token>> {
        self.cached().filter(|t| Instant::now() < t.refresh_at)
    }

    async fn token(&self) -> Result<Arc<Token>, AuthError> {
        if let Some(t) = self.cached() {
            let now = Instant::now();
            if now < t.refresh_at {
                return Ok(t);
            }
            if now < t.expires_at {
                // Still valid: whoever gets the lock refreshes, everyone else goes on.
                return match self.refresh.try_lock() {
                    Ok(_guard) => Ok(self.fetch().await.unwrap_or(t)),
                    Err(_) => Ok(t),
                };
            }
        }
        let _guard = self.refresh.lock().await;
        if let Some(t) = self.cached() {
            if Instant::now() < t.expires_at {
                return Ok(t); // another caller refreshed while we waited
            }
        }
        self.fetch().await
    }

    /// One token request (with retries on 429, 5xx and transport errors); stores the result.
    async fn fetch(&self) -> Result<Arc<Token>, AuthError> {
        let mut attempt = 0;
        loop {
            let sent = self
                .http
                .post(self.url.clone())
                .header(AUTHORIZATION, self.basic.clone())
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await;
            let last = match sent {
                Ok(resp) if resp.status().is_success() => {
                    let stored = self.store(resp).await;
                    self.metrics.token_request(match &stored {
                        Ok(_) => TokenOutcome::Success,
                        Err(AuthError::Unavailable(_)) => TokenOutcome::Transport,
                        Err(_) => TokenOutcome::Invalid,
                    });
                    return stored;
                }
                Ok(resp) => {
                    let status = resp.status();
                    let wait = parse_retry_after(resp.headers());
                    let body = resp.bytes().await.unwrap_or_default();
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        self.metrics.token_request(TokenOutcome::Rejected);
                        return Err(AuthError::Rejected {
                            status,
                            message: snippet(&body),
                        });
                    }
                    self.metrics.token_request(TokenOutcome::Unavailable);
                    (format!("HTTP {status}"), wait)
                }
                Err(e) => {
                    self.metrics.token_request(TokenOutcome::Transport);
                    (e.without_url().to_string(), None)
                }
            };
            attempt += 1;
            if attempt > self.retry.max_retries {
                return Err(AuthError::Unavailable(last.0));
            }
            let wait = last
                .1
                .filter(|w| *w <= self.retry.max_retry_after)
                .unwrap_or_else(|| self.retry.backoff(attempt));
            tracing::debug!(attempt, ?wait, reason = %last.0, "retrying token request");
            tokio::time::sleep(wait).await;
        }
    }

    async fn store(&self, resp: reqwest::Response) -> Result<Arc<Token>, AuthError> {
        let body = resp
            .bytes()
            .await
            .map_err(|e| AuthError::Unavailable(e.without_url().to_string()))?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| AuthError::InvalidResponse(format!("not a token response: {e}")))?;
        if parsed
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(AuthError::InvalidResponse(
                "token_type is not bearer".into(),
            ));
        }
        let mut header = HeaderValue::try_from(format!("Bearer {}", parsed.access_token))
            .map_err(|_| AuthError::InvalidResponse("token is not a valid header value".into()))?;
        header.set_sensitive(true);
        let life = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        let now = Instant::now();
        let token = Arc::new(Token {
            header,
            refresh_at: now + life.saturating_sub(REFRESH_MARGIN.min(life / 2)),
            expires_at: now + life,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        self.metrics
            .token_expiry(std::time::SystemTime::now() + life);
        Ok(token)
    }
}
