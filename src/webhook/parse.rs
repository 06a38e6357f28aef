//! Parsing a callback body in one pass, straight into its kind's type.
//!
//! The kind is named by a payload field that may come after the common fields, so a derived
//! `Deserialize` would need the whole body as a tree first (and did: that was slower than an
//! untyped parse). Instead one visitor reads the common fields into [`Common`], the payload
//! field into its boxed event when it meets it, and skips everything else without allocating.
//! Errors are rare, so for them the body is parsed again the simple way, through a tree, which
//! classifies the error precisely; any body either way gives the same result.

use super::events::{Common, Event, Kind, ParseError};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses a callback body into an [`Event`].
///
/// Verify the signature first (see [`Verifier`](super::Verifier)): parsing trusts the body.
/// Never panics; invalid JSON, a non-object body and a known kind with the wrong shape are
/// errors, and an unknown kind is [`Event::Unknown`].
pub fn parse(body: &[u8]) -> Result<Event, ParseError> {
    match serde_json::from_slice::<OnePass>(body) {
        Ok(OnePass::Event(event)) => Ok(event),
        Ok(OnePass::NotAnObject) => Err(ParseError::NotAnObject),
        // A kind this version does not know is kept whole, which needs the tree anyway.
        Ok(OnePass::NoKnownKind) | Err(_) => through_tree(body),
    }
}

/// The reference: the body as a JSON tree, then the first known kind's type.
fn through_tree(body: &[u8]) -> Result<Event, ParseError> {
    match serde_json::from_slice(body).map_err(ParseError::Json)? {
        serde_json::Value::Object(m) => Event::from_object(m),
        _ => Err(ParseError::NotAnObject),
    }
}

enum OnePass {
    Event(Event),
    NoKnownKind,
    NotAnObject,
}

impl<'de> de::Deserialize<'de> for OnePass {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<OnePass, D::Error> {
        d.deserialize_any(OnePassVisitor)
    }
}

/// A top-level field name, resolved without allocating.
enum Field {
    AppId,
    ProjectId,
    AcceptedTime,
    EventTime,
    MessageMetadata,
    CorrelationId,
    Payload(Kind),
    Other,
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Field, E> {
                Ok(match s {
                    "app_id" => Field::AppId,
                    "project_id" => Field::ProjectId,
                    "accepted_time" => Field::AcceptedTime,
                    "event_time" => Field::EventTime,
                    "message_metadata" => Field::MessageMetadata,
                    "correlation_id" => Field::CorrelationId,
                    other => Kind::from_field(other).map_or(Field::Other, Field::Payload),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

struct OnePassVisitor;

impl<'de> Visitor<'de> for OnePassVisitor {
    type Value = OnePass;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OnePass, A::Error> {
        let mut common = Common::default();
        let mut event: Option<Event> = None;
        let mut seen = 0u8;
        let mut once = |bit: u8| once::<A::Error>(&mut seen, bit);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::AppId => {
                    once(1)?;
                    common.app_id = map.next_value()?;
                }
                Field::ProjectId => {
                    once(2)?;
                    common.project_id = map.next_value()?;
                }
                Field::AcceptedTime => {
                    once(4)?;
                    common.accepted_time = map.next_value()?;
                }
                Field::EventTime => {
                    once(8)?;
                    common.event_time = map.next_value()?;
                }
                Field::MessageMetadata => {
                    once(16)?;
                    common.message_metadata = map.next_value()?;
                }
                Field::CorrelationId => {
                    once(32)?;
                    common.correlation_id = map.next_value()?;
                }
                Field::Payload(kind) => match event.as_ref().and_then(Event::kind) {
                    Some(current) if current == kind => {
                        return Err(de::Error::custom("duplicate field"))
                    }
                    // A second payload field loses to one that takes precedence.
                    Some(current) if current < kind => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    _ => event = Some(Event::next_payload(kind, &mut map)?),
                },
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match event {
            Some(mut e) => {
                e.set_common(common);
                OnePass::Event(e)
            }
            None => OnePass::NoKnownKind,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OnePass, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(OnePass::NotAnObject)
    }
    fn visit_bool<E>(self, _: bool) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
    fn visit_i64<E>(self, _: i64) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
    fn visit_u64<E>(self, _: u64) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
    fn visit_f64<E>(self, _: f64) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
    fn visit_str<E>(self, _: &str) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
    fn visit_unit<E>(self) -> Result<OnePass, E> {
        Ok(OnePass::NotAnObject)
    }
}

/// A repeated common field is an error in the typed structs; the reference reports it.
fn once<E: de::Error>(seen: &mut u8, bit: u8) -> Result<(), E> {
    let first = *seen & bit == 0;
    *seen |= bit;
    if first {
        Ok(())
    } else {
        Err(E::custom("duplicate field"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Our example of every kind, as (field name, raw JSON value) pairs.
    fn examples() -> Vec<Vec<(String, String)>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/callbacks");
        let mut all = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let v: Value =
                serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            let Value::Object(m) = v else { panic!() };
            all.push(m.into_iter().map(|(k, v)| (k, v.to_string())).collect());
        }
        all
    }

    fn same(a: &Result<Event, ParseError>, b: &Result<Event, ParseError>) -> bool {
        match (a, b) {
            (Ok(x), Ok(y)) => x == y,
            (Err(ParseError::Json(_)), Err(ParseError::Json(_))) => true,
            (Err(ParseError::NotAnObject), Err(ParseError::NotAnObject)) => true,
            (
                Err(ParseError::Invalid { kind: x, .. }),
                Err(ParseError::Invalid { kind: y, .. }),
            ) => x == y,
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, cases: 2000, ..ProptestConfig::default() })]

        /// Shuffled, thinned, duplicated, mistyped and mixed-up bodies: the one-pass parse and
        /// the reference through a tree always agree.
        #[test]
        fn one_pass_agrees_with_the_tree(
            pick in 0usize..22, other in 0usize..22, order in any::<u64>(),
            drop_mask in any::<u16>(), dup in 0usize..12, mistype in 0usize..12,
            add_other in any::<bool>(), junk in prop::sample::select(vec!["1", "null", "\"x\"", "[]", "{}", "true"]),
        ) {
            let all = examples();
            let mut fields = all[pick].clone();
            if add_other {
                let extra = all[other].iter().filter(|(k, _)| k.ends_with("notification")
                    || k.starts_with("message") || k == "event" || k.ends_with("report")
                    || k == "unsupported_callback").cloned();
                fields.extend(extra);
            }
            fields = fields.into_iter().enumerate()
                .filter(|(i, _)| *i >= 16 || drop_mask & (1 << i) == 0 || *i % 3 != 0)
                .map(|(_, f)| f).collect();
            if let Some(f) = fields.get(dup).cloned() {
                fields.push(f);
            }
            if let Some(f) = fields.get_mut(mistype) {
                f.1 = junk.to_string();
            }
            let n = fields.len().max(1) as u64;
            fields.rotate_left((order % n) as usize);
            if order & 1 == 1 {
                fields.reverse();
            }
            let body = format!("{{{}}}", fields.iter()
                .map(|(k, v)| format!("{k:?}:{v}")).collect::<Vec<_>>().join(","));
            let fast = parse(body.as_bytes());
            let reference = through_tree(body.as_bytes());
            prop_assert!(same(&fast, &reference), "{body}\n{fast:?}\n{reference:?}");
        }
    }
}
