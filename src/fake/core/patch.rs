//! PATCH semantics shared by apps, contacts, conversations, webhooks and settings: the body's
//! fields replace the resource's, or, with `update_mask.paths`, exactly the masked paths do.

use super::reply::ApiFailure;
use super::request::Req;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// `current` updated by the request's JSON object body and field mask, checked against `T`.
pub(crate) fn apply<T: Serialize + DeserializeOwned>(
    current: &T,
    req: &Req,
) -> Result<T, ApiFailure> {
    let body: Value = req.json()?;
    let Value::Object(body) = body else {
        return Err(ApiFailure::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let mut merged = serde_json::to_value(current)
        .map_err(|e| ApiFailure::internal(format!("stored resource: {e}")))?;
    let Value::Object(target) = &mut merged else {
        return Err(ApiFailure::internal("stored resource is not an object"));
    };
    // Clients send the mask as `update_mask=a,b` or as (repeated) `update_mask.paths`.
    let mut mask = req.query_all("update_mask.paths");
    mask.extend(req.query_all("update_mask"));
    if mask.is_empty() {
        for (k, v) in body {
            set(target, &[k.as_str()], Some(v));
        }
    } else {
        for path in &mask {
            let parts: Vec<&str> = path.split('.').collect();
            set(target, &parts, get(&body, &parts).cloned());
        }
    }
    serde_json::from_value(merged)
        .map_err(|e| ApiFailure::bad_request(format!("invalid update: {e}")))
}

fn get<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = obj.get(*first)?;
    match rest {
        [] => Some(v),
        _ => get(v.as_object()?, rest),
    }
}

/// Sets (or, for `None` and `null`, removes) the value at `path`, creating objects on the way.
fn set(obj: &mut Map<String, Value>, path: &[&str], value: Option<Value>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match value.filter(|v| !v.is_null()) {
            Some(v) => obj.insert((*first).to_owned(), v),
            None => obj.remove(*first),
        };
        return;
    }
    let child = obj
        .entry((*first).to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(child) = child {
        set(child, rest, value);
    }
}
