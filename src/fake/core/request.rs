//! What a handler sees of a request: path parameters, query, JSON body; and list paging.

use super::reply::ApiFailure;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::str::FromStr;

pub(crate) struct Req {
    /// Path parameters after the project, in path order, percent-decoded.
    pub params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub content_type: Option<String>,
}

/// Default and largest `page_size`.
const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;

impl Req {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or_default()
    }

    /// The body as `T`: it must be JSON and carry `T`'s required fields. Serde's message names
    /// the field that is missing or mistyped.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiFailure> {
        let is_json = self.content_type.as_deref().is_some_and(|c| {
            c.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !is_json {
            return Err(ApiFailure::bad_request(format!(
                "expected a JSON body (Content-Type: application/json), got {}",
                self.content_type.as_deref().unwrap_or("no Content-Type")
            )));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiFailure::bad_request(format!("invalid request body: {e}")))
    }

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

    pub fn required_query(&self, name: &str) -> Result<&str, ApiFailure> {
        self.query(name)
            .ok_or_else(|| ApiFailure::bad_request(format!("missing required parameter {name}")))
    }
}

/// One page of `items` (already filtered and in list order), each with its sort key, for the
/// request's `page_size` and `page_token`.
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    req: &Req,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), ApiFailure> {
    let size = req.query_as::<i64>("page_size")?;
    page_with(items, size, req.query("page_token"), descending)
}

/// [`page`] with the size and token given explicitly (some operations take them in the body).
/// The token names the last key returned, so items added between pages neither repeat nor
/// shift the next page. `descending` says which way keys run.
pub(crate) fn page_with<T>(
    items: Vec<(String, T)>,
    size: Option<i64>,
    token: Option<&str>,
    descending: bool,
) -> Result<(Vec<T>, Option<String>), ApiFailure> {
    let size = match size.unwrap_or(0) {
        ..0 => return Err(ApiFailure::bad_request("page_size must not be negative")),
        0 => DEFAULT_PAGE,
        n => (n as usize).min(MAX_PAGE),
    };
    let after = token
        .filter(|t| !t.is_empty())
        .map(|t| {
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
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
        (Some(_), Some(k)) => Some(B64.encode(k)),
        _ => None,
    };
    Ok((out, next))
}
