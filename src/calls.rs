//! What every generated operation calls (rewritten in by `codegen/calls.rs`): its body kept as
//! given, its request started from the base URL parsed once, and its response decoded with the
//! headers moved.

use crate::hooks::Inner;
use bytes::Bytes;
use progenitor_client::{ClientInfo, Error, ResponseValue};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::marker::PhantomData;

/// A service's base URL (with the project path) as the generated client holds it, parsed, and
/// the full URL of each of its operations that take no parameters.
pub(crate) struct Base {
    pub url: String,
    parsed: Url,
    /// Sorted, as the generated module lists them.
    paths: &'static [&'static str],
    urls: Vec<Url>,
}

impl Base {
    pub fn new(url: String, paths: &'static [&'static str]) -> Result<Base, String> {
        let parse = |u: &str| Url::parse(u).map_err(|e| format!("{u:?}: {e}"));
        Ok(Base {
            parsed: parse(&url)?,
            urls: paths
                .iter()
                .map(|p| parse(&format!("{url}{p}")))
                .collect::<Result<_, _>>()?,
            paths,
            url,
        })
    }

    /// The URL of `path` (already percent-encoded) under this base: looked up when the path
    /// takes no parameters, else only the path is parsed.
    fn join(&self, path: &str) -> Url {
        if let Ok(i) = self.paths.binary_search(&path) {
            return self.urls[i].clone();
        }
        let mut url = self.parsed.clone();
        let mut full = String::with_capacity(url.path().len() + path.len());
        full.push_str(url.path());
        full.push_str(path);
        url.set_path(&full);
        url
    }
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// A request to `path` (already percent-encoded) under the client's base URL. A generated
/// client made by hand with another base URL falls back to parsing the whole URL.
pub(crate) fn request<C: ClientInfo<Inner>>(
    client: &C,
    method: Method,
    path: &str,
) -> RequestBuilder {
    let base = client.baseurl();
    let Some(base) = client.inner().0.bases.iter().find(|b| b.url == base) else {
        return client.client().request(method, format!("{base}{path}"));
    };
    let mut request = reqwest::Request::new(method, base.join(path));
    // Room for what the operation, the hooks and the connection add, without growing.
    let mut headers = HeaderMap::with_capacity(HEADERS);
    headers.insert(API_VERSION, HeaderValue::from_static(C::api_version()));
    *request.headers_mut() = headers;
    RequestBuilder::from_parts(client.client().clone(), request)
}

/// The header carrying the API document's version, as progenitor sends it.
pub(crate) const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// Headers a request to the API carries: accept, content-type, api-version, user-agent,
/// authorization, and the content-length and host the HTTP client adds.
pub(crate) const HEADERS: usize = 8;

/// A success response's JSON body as `T`, with its status and headers (moved, not copied).
pub(crate) fn response_value<T: DeserializeOwned, E>(
    mut response: Response,
) -> impl std::future::Future<Output = Result<ResponseValue<T>, Error<E>>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    async move {
        let full = response.bytes().await.map_err(Error::ResponseBodyError)?;
        let inner =
            serde_json::from_slice(&full).map_err(|e| Error::InvalidResponsePayload(full, e))?;
        Ok(ResponseValue::new(inner, status, headers))
    }
}

/// Bodies up to this size leave their buffer to the thread's next body.
const KEPT_BUFFER: usize = 256 * 1024;

thread_local! {
    static JSON_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A value's JSON in one allocation of the exact size: serialized into a buffer the thread
/// keeps, then copied. `serde_json::to_vec` grows its vector by doubling, and for a 10 KB
/// carousel those reallocations cost more than the copy.
pub(crate) fn json_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    JSON_BUFFER.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return serde_json::to_vec(value).map(Bytes::from); // re-entered from a Serialize impl
        };
        buf.clear();
        let out = serde_json::to_writer(&mut *buf, value).map(|()| Bytes::copy_from_slice(&buf));
        if buf.capacity() > KEPT_BUFFER {
            *buf = Vec::new();
        }
        out
    })
}

/// An operation builder's body: nothing yet, a complete value from `.body(..)` already
/// serialized, or the builder form that `.body_map(..)` works on (serialized when the call is
/// sent). The JSON is shared by every copy of the builder (a retry builds its request from a
/// copy), and the builder moves a few words, not the value (a `SendMessageRequest` is 1.7 KB).
pub enum Body<T, B> {
    Empty,
    Json(Bytes, PhantomData<fn() -> T>),
    Builder(Box<B>),
}

impl<T, B> Body<T, B>
where
    B: Default + From<T>,
    T: TryFrom<B> + Serialize + DeserializeOwned,
    <T as TryFrom<B>>::Error: std::fmt::Display,
{
    /// `.body(value)`.
    pub fn json(value: T) -> Self {
        match json_bytes(&value) {
            Ok(v) => Body::Json(v, PhantomData),
            // Unreachable for the generated types (string map keys only); kept as a builder
            // form, so that sending reports the error.
            Err(_) => Body::Builder(Box::new(value.into())),
        }
    }

    pub fn builder(value: B) -> Self {
        Body::Builder(Box::new(value))
    }

    /// `.body_map(..)` after `.body(..)` works on the value read back from its JSON.
    pub fn into_builder(self) -> Result<B, String> {
        match self {
            Body::Empty => Ok(B::default()),
            Body::Json(bytes, _) => serde_json::from_slice::<T>(&bytes)
                .map(B::from)
                .map_err(|e| e.to_string()),
            Body::Builder(b) => Ok(*b),
        }
    }

    /// The JSON to send; a builder form that is not complete yet is the error `send()`
    /// reports.
    pub fn into_json(self) -> Result<Bytes, String> {
        let value = match self {
            Body::Json(bytes, _) => return Ok(bytes),
            Body::Empty => T::try_from(B::default()),
            Body::Builder(b) => T::try_from(*b),
        };
        let value = value.map_err(|e| e.to_string())?;
        json_bytes(&value).map_err(|e| e.to_string())
    }

    /// Serialized once before the request is first built, so that copies share it.
    pub fn shared(self) -> Result<Self, String> {
        match self {
            Body::Json(..) => Ok(self),
            other => other.into_json().map(|b| Body::Json(b, PhantomData)),
        }
    }
}

impl<T, B: Clone> Clone for Body<T, B> {
    fn clone(&self) -> Self {
        match self {
            Body::Empty => Body::Empty,
            Body::Json(b, _) => Body::Json(b.clone(), PhantomData),
            Body::Builder(b) => Body::Builder(b.clone()),
        }
    }
}

/// The builder form's own `Debug` (which hides secrets); of the JSON, only its size.
impl<T, B: fmt::Debug> fmt::Debug for Body<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b, _) => write!(f, "Json({} bytes)", b.len()),
            Body::Builder(b) => f.debug_tuple("Builder").field(b).finish(),
        }
    }
}
