//! Building a [`Client`]: project, region or base URLs, credentials, timeouts, retries and
//! rate limiting, for all three services at once.

use crate::auth::{Auth, Credentials, DEFAULT_AUTH_URL};
use crate::calls::Base;
use crate::error::{Error, Result};
use crate::generated::{self, Client, SEND_MESSAGE_PATH};
use crate::hooks::{Inner, Shared};
use crate::limit::{Limiter, RateLimit};
use crate::metrics::{ClientMetrics, MeterSetting};
use crate::region::{words, Region, Service};
use crate::retry::{Budget, RetryConfig};
use progenitor_client::ClientInfo;
use reqwest::Url;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The `User-Agent` this crate sends.
pub const USER_AGENT: &str = concat!("sinch-conversation-rust/", env!("CARGO_PKG_VERSION"));

/// Configuration for a [`Client`]; start with [`Client::builder`].
#[derive(Clone)]
pub struct ClientBuilder {
    project_id: Option<String>,
    region: Option<Region>,
    /// Per service (see [`Service::index`]): a URL replacing the region's host.
    base_urls: [Option<String>; 3],
    auth_url: Option<String>,
    credentials: Option<Credentials>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    retry: RetryConfig,
    rate_limit: RateLimit,
    max_response_bytes: u64,
    http: Option<reqwest::Client>,
    metrics: MeterSetting,
}

/// The default [`ClientBuilder::max_response_bytes`]: far above any answer of the API (a
/// full page of 1,000 messages is a few MB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            project_id: None,
            region: None,
            base_urls: [None, None, None],
            auth_url: None,
            credentials: None,
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(10),
            retry: RetryConfig::default(),
            rate_limit: RateLimit::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            http: None,
            metrics: MeterSetting::default(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("project_id", &self.project_id)
            .field("region", &self.region)
            .field("base_urls", &self.base_urls)
            .field("auth_url", &self.auth_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Reads `SINCH_PROJECT_ID`, `SINCH_KEY_ID`, `SINCH_KEY_SECRET` (OAuth2 credentials),
    /// `SINCH_REGION` (us, eu, br: required unless all three URLs are given), and the optional
    /// `SINCH_BASE_URL`, `SINCH_TEMPLATES_URL`, `SINCH_BATCH_URL` and `SINCH_AUTH_URL`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let need = |name: &str| {
            var(name)
                .ok_or_else(|| Error::Config(format!("environment variable {name} is not set")))
        };
        let mut b = ClientBuilder::default()
            .project_id(need("SINCH_PROJECT_ID")?)
            .credentials(Credentials::oauth2(
                need("SINCH_KEY_ID")?,
                need("SINCH_KEY_SECRET")?,
            ));
        if let Some(r) = var("SINCH_REGION") {
            b = b.region(r.parse()?);
        }
        if let Some(u) = var("SINCH_BASE_URL") {
            b = b.base_url(u);
        }
        if let Some(u) = var("SINCH_TEMPLATES_URL") {
            b = b.templates_url(u);
        }
        if let Some(u) = var("SINCH_BATCH_URL") {
            b = b.batch_url(u);
        }
        if let Some(u) = var("SINCH_AUTH_URL") {
            b = b.auth_url(u);
        }
        Ok(b)
    }

    /// The project every call is made in (required).
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = Some(id.into());
        self
    }
    /// The region your apps were created in; it picks the host of all three APIs. Required
    /// (there is no default) unless every service's URL is given.
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }
    /// Overrides the Conversation API's regional URL (proxies, tests). Plain `http` only to
    /// loopback hosts.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_urls[Service::Conversation.index()] = Some(url.into());
        self
    }
    /// Overrides the Template Management API's regional URL.
    pub fn templates_url(mut self, url: impl Into<String>) -> Self {
        self.base_urls[Service::Templates.index()] = Some(url.into());
        self
    }
    /// Overrides the Conversation Batch API's regional URL.
    pub fn batch_url(mut self, url: impl Into<String>) -> Self {
        self.base_urls[Service::Batch.index()] = Some(url.into());
        self
    }
    /// Overrides the OAuth2 token endpoint. Plain `http` only to loopback hosts.
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }
    /// The access key and how to present it (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
    /// Timeout of one attempt, from sending to the end of the body (default 30 s; `None`: none).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
    /// Connect timeout of the client's own connection pool (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Retry settings (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }
    /// Client-side rate limiting (default [`RateLimit::adaptive`]: engaged by the first 429).
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }
    /// Largest response body read (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB); a larger
    /// one ends the call with [`Error::ResponseTooLarge`] instead of being buffered.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }
    /// Uses your `reqwest::Client` (its pool, proxy and TLS settings) instead of a new one.
    /// [`Self::connect_timeout`] then does not apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Records the client's metrics with `provider` instead of the global meter provider
    /// (feature `metrics`; see the README's "Operating the client").
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn meter_provider<P>(mut self, provider: &P) -> Self
    where
        P: opentelemetry::metrics::MeterProvider + ?Sized,
    {
        self.metrics = MeterSetting::given(provider);
        self
    }

    /// Records no metrics for this client: no instruments, no clock reads, as without the
    /// feature (feature `metrics`).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn without_metrics(mut self) -> Self {
        self.metrics = MeterSetting::Off;
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let project_id = self
            .project_id
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| Error::Config("project_id is required".into()))?;
        let credentials = self
            .credentials
            .ok_or_else(|| Error::Config("credentials are required".into()))?;
        // Each service's host (region or override) and its document's path prefix.
        let mut bases = Vec::with_capacity(3);
        let mut hosts = Vec::with_capacity(3);
        for (service, (prefix, params, paths)) in Service::ALL.into_iter().zip([
            (
                generated::PATH_PREFIX,
                generated::PATH_PREFIX_PARAMS,
                generated::STATIC_PATHS,
            ),
            (
                generated::templates::PATH_PREFIX,
                generated::templates::PATH_PREFIX_PARAMS,
                generated::templates::STATIC_PATHS,
            ),
            (
                generated::batch::PATH_PREFIX,
                generated::batch::PATH_PREFIX_PARAMS,
                generated::batch::STATIC_PATHS,
            ),
        ]) {
            let what = service.setter();
            let host = match (&self.base_urls[service.index()], self.region) {
                (Some(u), _) => u.clone(),
                (None, Some(region)) => region.url(service),
                (None, None) => return Err(no_region(&self.base_urls)),
            };
            let host = checked_url(what, &host)?;
            hosts.push(host.clone());
            let path = fill_prefix(prefix, params, &project_id)?;
            let url = format!("{}{path}", host.as_str().trim_end_matches('/'));
            bases.push(Base::new(url, paths).map_err(|e| Error::Config(format!("{what}: {e}")))?);
        }
        let bases: [Base; 3] = bases.try_into().expect("one base URL per service");
        let [baseurl, templates_url, batch_url] = bases.each_ref().map(|b| b.url.clone());
        let auth_url = checked_url(
            "auth_url",
            self.auth_url.as_deref().unwrap_or(DEFAULT_AUTH_URL),
        )?;

        // Our own HTTP client carries the attempt timeout, so a request needs its own (an
        // allocation, and a copy in every spare) only when the call's deadline is nearer.
        let (http, client_timeout) = match self.http {
            Some(h) => (h, None),
            None => {
                let mut b = reqwest::Client::builder().connect_timeout(self.connect_timeout);
                if let Some(t) = self.timeout {
                    b = b.timeout(t);
                }
                let h = b
                    .build()
                    .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?;
                (h, self.timeout)
            }
        };
        let send_url = Url::parse(&format!("{baseurl}{SEND_MESSAGE_PATH}"))
            .map_err(|e| Error::Config(format!("base_url {baseurl:?}: {e}")))?;
        let metrics = ClientMetrics::new(&self.metrics, [&hosts[0], &hosts[1], &hosts[2]]);
        let limiters = Service::ALL.map(|s| {
            Limiter::new(
                self.rate_limit.clone(),
                &format!("{project_id}/{}", s.host()),
            )
        });
        for service in Service::ALL {
            metrics.pace(service, limiters[service.index()].pace());
        }
        let shared = Shared {
            auth: Auth::new(
                &credentials,
                http.clone(),
                auth_url,
                self.retry.clone(),
                metrics.clone(),
            ),
            budget: Budget::new(self.retry.budget),
            limiters,
            metrics,
            max_response_bytes: self.max_response_bytes,
            retry: self.retry,
            timeout: self.timeout,
            client_timeout,
            project_id,
            bases,
            templates_url,
            batch_url,
            send_url,
        };
        Ok(Client::new_with_client(
            &baseurl,
            http,
            Inner(Arc::new(shared)),
        ))
    }
}

/// The error for a missing region: which services need one (those without a URL of their own),
/// and the regions there are.
fn no_region(base_urls: &[Option<String>; 3]) -> Error {
    let (mut hosts, mut urls) = (vec![], vec![]);
    for service in Service::ALL {
        if base_urls[service.index()].is_none() {
            hosts.push(service.name());
            urls.push(service.setter());
        }
    }
    let (s, verb) = if hosts.len() == 1 {
        ("", "s")
    } else {
        ("s", "")
    };
    Error::Config(format!(
        "no region: the {} host{s} depend{verb} on it; set ClientBuilder::region (or SINCH_REGION) \
         to the region your apps were created in ({}), or give {}",
        words(&hosts, "and"),
        Region::list(),
        words(&urls, "and")
    ))
}

/// Puts the project id into the spec's shared path prefix (`/v1/projects/{project_id}`).
fn fill_prefix(prefix: &str, params: &[&str], project_id: &str) -> Result<String> {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // Everything but RFC 3986 unreserved characters.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = prefix.to_string();
    for p in params {
        if *p != "project_id" {
            return Err(Error::Config(format!(
                "the spec's path prefix needs {p:?}, which this client cannot configure"
            )));
        }
        let encoded = utf8_percent_encode(project_id, SEGMENT).to_string();
        out = out.replace(&format!("{{{p}}}"), &encoded);
    }
    Ok(out)
}

/// A URL the client may talk to: `https`, or `http` to a loopback host only, so that keys and
/// tokens never cross a network in clear text.
fn checked_url(what: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| Error::Config(format!("{what} {raw:?}: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::Config(format!(
            "{what} must use https (plain http is allowed only for loopback hosts): {raw}"
        ))),
        other => Err(Error::Config(format!(
            "{what} has unsupported scheme {other:?}"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Client {
    /// A builder with the defaults: no region (set one, or all three URLs), 30 s timeout, 3
    /// retries, adaptive rate limiting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment (see [`ClientBuilder::from_env`]).
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The project this client calls.
    pub fn project_id(&self) -> &str {
        &self.inner().0.project_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_only() {
        for ok in [
            "https://example.com",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:3000",
            "http://localhost:1",
        ] {
            assert!(checked_url("u", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://x",
        ] {
            assert!(
                matches!(checked_url("u", bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn project_id_is_encoded_into_the_prefix() {
        let p = fill_prefix("/v1/projects/{project_id}", &["project_id"], "a b/c-d_e.f~").unwrap();
        assert_eq!(p, "/v1/projects/a%20b%2Fc-d_e.f~");
        assert!(fill_prefix("/v1/{tenant}", &["tenant"], "x").is_err());
    }
}
