//! Renders what the normalisation collected into Rust: invocations of the crate's `open_enum!`
//! and `tagged_union!` macros (defined in `src/macros.rs`), placed in the generated `types` module.

use crate::normalize::{Normalized, OpenEnum, TaggedUnion};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Rust source for every replacement type, to be parsed and placed inside `mod types`.
pub fn render_types(n: &Normalized) -> String {
    let mut out = String::new();
    for e in &n.open_enums {
        render_open_enum(&mut out, e);
    }
    for u in &n.tagged_unions {
        render_union(&mut out, u);
    }
    out
}

fn docs(out: &mut String, description: Option<&str>) {
    for line in description.unwrap_or_default().lines() {
        writeln!(out, "    #[doc = {:?}]", line.trim_end()).unwrap();
    }
}

fn render_open_enum(out: &mut String, e: &OpenEnum) {
    out.push_str("crate::macros::open_enum! {\n");
    docs(out, e.description.as_deref());
    writeln!(out, "    {} {{", e.name).unwrap();
    let mut used = BTreeSet::new();
    for v in &e.values {
        writeln!(out, "        {} => {:?},", variant_ident(v, &mut used), v).unwrap();
    }
    out.push_str("    }\n}\n");
}

fn render_union(out: &mut String, u: &TaggedUnion) {
    out.push_str("crate::macros::tagged_union! {\n");
    docs(out, u.description.as_deref());
    writeln!(out, "    {}, tag = {:?} {{", u.name, u.tag).unwrap();
    let mut used = BTreeSet::new();
    for (value, ty) in &u.variants {
        let ident = variant_ident(value, &mut used);
        writeln!(out, "        {ident}({value:?}) => {ty},").unwrap();
    }
    out.push_str("    }\n}\n");
}

/// A PascalCase variant name for a wire value, unique within its enum. `Unknown` is taken by
/// the catch-all variant, so a declared value "UNKNOWN" becomes `UnknownValue`.
pub fn variant_ident(value: &str, used: &mut BTreeSet<String>) -> String {
    use heck::ToUpperCamelCase;
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // SCREAMING_CASE words are split on '_'; mixed-case values keep their own word boundaries.
    let words = if cleaned.chars().any(|c| c.is_ascii_lowercase()) {
        cleaned
    } else {
        cleaned.to_lowercase()
    };
    let mut ident = words.to_upper_camel_case();
    if ident.is_empty() {
        ident = "Empty".into();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident = format!("V{ident}");
    }
    if matches!(ident.as_str(), "Unknown" | "Self") {
        ident.push_str("Value");
    }
    let mut candidate = ident.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{ident}{n}");
        n += 1;
    }
    candidate
}
