//! The rules the fake follows, each with its source.
#![doc = include_str!("RULES.md")]
