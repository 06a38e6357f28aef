//! Dates in the generated types are read by this crate's RFC 3339 reader (`src/dates.rs`):
//! chrono's own goes through its general format parser, which costs more than the rest of a
//! small response's decoding. Same values accepted, same results (it falls back to chrono for
//! anything but the common form).

use quote::quote;
use syn::{parse_quote, Fields, Item};

/// Adds `deserialize_with` to every `DateTime<Utc>` and `Option<DateTime<Utc>>` field of the
/// structs in `items` (and in inline modules below them); returns how many.
pub fn fast_dates(items: &mut [Item]) -> usize {
    let mut n = 0;
    for item in items {
        match item {
            Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    n += fast_dates(inner);
                }
            }
            Item::Struct(s) if derives_deserialize(&s.attrs) => {
                let Fields::Named(fields) = &mut s.fields else {
                    continue;
                };
                // Compared without spaces: `>>` and `> >` are the same type.
                let text = |t: proc_macro2::TokenStream| t.to_string().replace(' ', "");
                let date = text(quote!(::chrono::DateTime<::chrono::offset::Utc>));
                let maybe = text(quote!(
                    ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>
                ));
                for f in &mut fields.named {
                    let ty = &f.ty;
                    let ty = text(quote!(#ty));
                    if ty == date {
                        f.attrs
                            .push(parse_quote!(#[serde(deserialize_with = "crate::dates::utc")]));
                        n += 1;
                    } else if ty == maybe {
                        // `default`: a missing field is `None`, as without `deserialize_with`.
                        f.attrs.push(parse_quote!(
                            #[serde(default, deserialize_with = "crate::dates::utc_opt")]
                        ));
                        n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    n
}

fn derives_deserialize(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("derive") && quote!(#a).to_string().contains("Deserialize"))
}
