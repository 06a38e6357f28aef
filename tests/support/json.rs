//! JSON comparison shared by the round-trip tests.
//!
//! Three rules, all about representation, not content: an explicit `null` equals an absent
//! field; an empty list equals an absent one (the API is proto3-based, where the two are the same
//! value, and the generated types leave empty optional lists out); numbers compare by value.

use serde_json::Value;

/// `null` fields and empty lists dropped; numbers as f64.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, x)| (k.clone(), canonical(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64()),
        other => other.clone(),
    }
}

/// The first JSON pointer where two documents differ.
pub fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let path = format!("{at}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &path) {
                            return Some(d);
                        }
                    }
                    (Some(_), None) => return Some(format!("{path}: dropped")),
                    (None, Some(_)) => return Some(format!("{path}: added")),
                    (None, None) => unreachable!(),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} became {b}")),
    }
}
