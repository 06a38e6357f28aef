//! What a handler sees of a request (its operation, path parameters, query, checked JSON body),
//! and list paging by the operation's documented page size.

use super::reply::ApiFailure;
use super::schema::Operation;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::str::FromStr;

pub(crate) struct Req {
    pub op: &'static Operation,
    /// Path parameters by name, percent-decoded.
    pub path: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// The JSON body, already checked against the operation's schema (`Null` when none).
    pub body: Value,
}

/// Marks a page token as one the fake made, so that a made-up token is refused, not read.
const TOKEN_TAG: &str = "after:";

/// `page_size` when neither the request nor the document gives one.
const FALLBACK_PAGE: i64 = 10;

impl Req {
    /// A path parameter (`app_id`, `contact_id`, ...).
    pub fn path(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// The body as `T`. The schema check already named any missing or mistyped field the
    /// document describes; serde's message covers what it cannot say.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiFailure> {
        if self.body.is_null() {
            return Err(ApiFailure::bad_request("the request needs a JSON body"));
        }
        T::deserialize(&self.body)
            .map_err(|e| ApiFailure::bad_request(format!("invalid request body: {e}")))
    }

    /// A query parameter; an empty value counts as absent, as the API reads it.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A repeated parameter; comma-separated values count as several.
    pub fn query_all(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn query_as<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiFailure> {
        self.query(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiFailure::bad_request(format!("invalid value {v:?} for parameter {name}"))
                })
            })
            .transpose()
    }

    /// The page size asked for, else the operation's documented default.
    pub fn page_size(&self) -> Result<usize, ApiFailure> {
        let asked = self.query_as::<i64>("page_size")?.filter(|n| *n != 0);
        let default = self
            .op
            .default_of("page_size")
            .and_then(Value::as_i64)
            .unwrap_or(FALLBACK_PAGE);
        page_size(asked, default)
    }
}

/// A size of 0 or none means the default; the schema check refused sizes over the maximum.
pub(crate) fn page_size(asked: Option<i64>, default: i64) -> Result<usize, ApiFailure> {
    match asked.unwrap_or(default) {
        ..0 => Err(ApiFailure::bad_request("page_size must not be negative")),
        0 => Ok(default.max(1) as usize),
        n => Ok(n as usize),
    }
}

/// One page of `items` (already filtered and in list order, each with its sort key) for the
/// request's `page_size` and `page_token`; the token is `None` on the last page.
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    req: &Req,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), ApiFailure> {
    page_with(items, req.page_size()?, req.query("page_token"), descending)
}

/// [`page`] with the size and token given explicitly (some operations take them in the body).
/// The token names the last key returned, so items added between pages neither repeat nor
/// shift the next page. `descending` says which way keys run.
pub(crate) fn page_with<T>(
    items: Vec<(String, T)>,
    size: usize,
    token: Option<&str>,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), ApiFailure> {
    let after = token
        .filter(|t| !t.is_empty())
        .map(|t| {
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|k| k.strip_prefix(TOKEN_TAG).map(str::to_owned))
                .ok_or_else(|| ApiFailure::bad_request(format!("invalid page_token {t:?}")))
        })
        .transpose()?;
    let mut rest = items
        .into_iter()
        .filter(|(k, _)| match &after {
            None => true,
            Some(a) if descending => k < a,
            Some(a) => k > a,
        })
        .peekable();
    let mut out = Vec::with_capacity(size.min(64));
    let mut last = None;
    while out.len() < size {
        let Some((k, v)) = rest.next() else { break };
        last = Some(k);
        out.push(v);
    }
    let next = match (rest.peek(), last) {
        (Some(_), Some(k)) => Some(B64.encode(format!("{TOKEN_TAG}{k}"))),
        _ => None,
    };
    Ok((out, next))
}
