//! Reading RFC 3339 dates in responses (see `codegen/dates.rs`): the common form the API sends,
//! `2024-06-18T12:34:56.123Z` or with a `±hh:mm` offset, read directly; anything else by
//! chrono, as the derived `Deserialize` would.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// `deserialize_with` for `DateTime<Utc>`.
pub(crate) fn utc<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(Rfc3339)
}

/// `deserialize_with` for `Option<DateTime<Utc>>` (`null` is `None`).
pub(crate) fn utc_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_option(Maybe)
}

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if let Some(t) = parse(s) {
            return Ok(t);
        }
        s.parse::<DateTime<FixedOffset>>()
            .map(|t| t.with_timezone(&Utc))
            .map_err(E::custom)
    }
}

struct Maybe;

impl<'de> Visitor<'de> for Maybe {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        utc(d).map(Some)
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm)`; `None` for anything else (including a leap
/// second), which chrono then reads.
fn parse(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut i = 19;
    let mut nanos = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(start, digits)? * 10u32.pow(9 - digits as u32);
    }
    let offset = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let secs = (num(i + 1, 2)? * 3600 + num(i + 4, 2)? * 60) as i64;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    if second > 59 {
        return None; // a leap second: chrono's rules
    }
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    let utc = local.checked_sub_signed(TimeDelta::try_seconds(offset)?)?;
    Some(DateTime::from_naive_utc_and_offset(utc, Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono(s: &str) -> Option<DateTime<Utc>> {
        s.parse::<DateTime<FixedOffset>>()
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn the_common_forms_read_as_chrono_reads_them() {
        for s in [
            "2024-06-18T12:34:56Z",
            "2024-06-18T12:34:56.1Z",
            "2024-06-18T12:34:56.123Z",
            "2024-06-18T12:34:56.123456789Z",
            "2024-06-18T00:00:00+02:00",
            "2024-01-01T00:30:00-05:30",
            "2024-02-29T23:59:59.999+14:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse(s), chrono(s), "{s}");
            assert!(parse(s).is_some(), "{s}");
        }
    }

    #[test]
    fn anything_else_is_left_to_chrono() {
        for s in [
            "2024-06-18 12:34:56Z",
            "2024-06-18t12:34:56z",
            "2024-06-18T12:34:60Z",
            "2024-06-18T12:34:56.Z",
            "2024-06-18T12:34:56.1234567891Z",
            "2024-02-30T00:00:00Z",
            "2024-06-18T24:00:00Z",
            "2024-06-18T12:34:56+0200",
            "2024-06-18T12:34:56",
            "not a date",
            "",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
        // What chrono accepts still reads, through it.
        let v: DateTime<Utc> = utc(serde_json::Value::from("2024-06-18 12:34:56Z")).unwrap();
        assert_eq!(Some(v), chrono("2024-06-18 12:34:56Z"));
        assert!(utc(serde_json::Value::from("soon")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_rfc3339_instant_reads_as_chrono_reads_it(
            secs in -62_135_596_800i64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
            offset_min in -1439i32..1439,
            digits in 0usize..10,
        ) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let local = t.with_timezone(&FixedOffset::east_opt(offset_min * 60).unwrap());
            let fraction = match digits {
                0 => String::new(),
                n => format!(".{}", &format!("{nanos:09}")[..n]),
            };
            let s = format!(
                "{}{fraction}{}",
                local.format("%Y-%m-%dT%H:%M:%S"),
                local.format("%:z")
            );
            proptest::prop_assert_eq!(parse(&s), chrono(&s), "{}", s);
            let z = t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string();
            proptest::prop_assert_eq!(parse(&z), chrono(&z), "{}", z);
        }
    }
}
