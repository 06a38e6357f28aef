//! Keeps secrets out of `Debug`: generated structs with secret-named fields (channel tokens,
//! webhook secrets, passwords, API keys) get a `Debug` that prints `[redacted]` for those
//! fields instead of the derived one. Driven by the field names the document uses, so it covers
//! upstream's document too.

use quote::quote;
use syn::punctuated::Punctuated;
use syn::{parse_quote, Fields, Item, Path, Token};

/// Whether a property name denotes a secret. `next_page_token` and `flow_token` are not secrets;
/// a bare `token`, anything with `secret` or `password`, and API and AES keys are.
pub fn is_secret(name: &str) -> bool {
    let n = name.trim_start_matches("r#");
    n.contains("secret") || n.contains("password") || matches!(n, "token" | "api_key" | "aes_key")
}

/// Rewrites every struct in `items` (and in inline modules below them) that derives `Debug` and
/// has a secret-named field; returns the names of the structs rewritten.
pub fn redact_debug(items: &mut Vec<Item>) -> Vec<String> {
    let mut impls: Vec<Item> = vec![];
    let mut changed = vec![];
    for item in items.iter_mut() {
        match item {
            Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    changed.extend(redact_debug(inner));
                }
            }
            Item::Struct(s) => {
                let Fields::Named(fields) = &s.fields else {
                    continue;
                };
                let key =
                    |f: &syn::Field| f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                if !fields.named.iter().any(|f| is_secret(&key(f)))
                    || !remove_derive(&mut s.attrs, "Debug")
                {
                    continue;
                }
                let calls = fields.named.iter().map(|f| {
                    let ident = f.ident.as_ref().expect("named field");
                    let name = key(f).trim_start_matches("r#").to_owned();
                    if is_secret(&name) {
                        quote!(.field(#name, &"[redacted]"))
                    } else {
                        quote!(.field(#name, &self.#ident))
                    }
                });
                let (ty, label) = (&s.ident, s.ident.to_string());
                let (impl_g, ty_g, where_c) = s.generics.split_for_impl();
                impls.push(parse_quote! {
                    impl #impl_g ::std::fmt::Debug for #ty #ty_g #where_c {
                        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.debug_struct(#label) #(#calls)* .finish()
                        }
                    }
                });
                changed.push(label);
            }
            _ => {}
        }
    }
    items.extend(impls);
    changed
}

/// Removes `name` from the item's `#[derive(..)]` lists; whether it was there.
fn remove_derive(attrs: &mut [syn::Attribute], name: &str) -> bool {
    let mut removed = false;
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
        else {
            continue;
        };
        let before = paths.len();
        let kept: Vec<&Path> = paths
            .iter()
            .filter(|p| p.segments.last().is_none_or(|s| s.ident != name))
            .collect();
        if kept.len() < before {
            removed = true;
            *attr = parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    removed
}
