//! Boxes the optional parts of the outbound message types, except strings and a lone text. A
//! message (`AppMessage`, `OmniMessageOverride`) or a `Choice` holds each kind it may carry as an
//! optional field, and a `CardMessage` its optional media, height and properties: inline, the
//! largest kind sizes every value (a `SendMessageRequest` was 1.76 KB, a `Choice` 376 bytes,
//! a card 192), and a carousel's list of cards and each card's list of choices became
//! allocations too large for the allocator's per-thread cache, on every send. Boxed, a request
//! is 608 bytes, a choice 88 and ten cards fit in 960. The builders (`X::builder()`) keep taking
//! and giving the unboxed values.

use syn::visit_mut::VisitMut;
use syn::{parse_quote, Expr, Fields, GenericArgument, Item, PathArguments, Type};

/// The types whose optional parts are boxed.
pub const CONTAINERS: &[&str] = &["AppMessage", "OmniMessageOverride", "Choice", "CardMessage"];

/// Optional fields of these types stay inline.
const SCALARS: &[&str] = &["String", "bool", "i32", "i64", "u32", "u64", "f32", "f64"];

/// Boxes those fields in `mod types` and adapts the builders' conversions; returns the fields
/// boxed, as `(type, field)`.
pub fn box_fields(items: &mut [Item]) -> Vec<(String, String)> {
    let Some(types) = items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|c| &mut c.1),
        _ => None,
    }) else {
        return vec![];
    };
    // The structs of `types` that are a lone string.
    let lone: Vec<String> = types
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) if one_string(&s.fields) => Some(s.ident.to_string()),
            _ => None,
        })
        .collect();
    let inline = |t: &str| lone.iter().any(|l| l == t) || SCALARS.contains(&t);
    let mut boxed = vec![];
    for item in types.iter_mut() {
        let Item::Struct(s) = item else { continue };
        if !CONTAINERS.iter().any(|c| s.ident == c) {
            continue;
        }
        let Fields::Named(fields) = &mut s.fields else {
            continue;
        };
        for f in &mut fields.named {
            if option_of(&f.ty).is_some_and(|t| !inline(&t)) {
                box_option(&mut f.ty);
                let name = f.ident.as_ref().expect("named").to_string();
                boxed.push((s.ident.to_string(), name));
            }
        }
    }
    for item in types.iter_mut() {
        if let Item::Mod(m) = item {
            if m.ident == "builder" {
                for item in &mut m.content.as_mut().expect("inline module").1 {
                    if let Item::Impl(imp) = item {
                        convert(imp, &boxed);
                    }
                }
            }
        }
    }
    boxed
}

/// A struct of exactly one `String` field.
fn one_string(fields: &Fields) -> bool {
    let mut named = fields.iter();
    match (named.next(), named.next()) {
        (Some(f), None) => {
            let ty = &f.ty;
            quote::quote!(#ty)
                .to_string()
                .replace(' ', "")
                .ends_with("String")
        }
        _ => false,
    }
}

/// `T`'s last path segment in `Option<T>`.
fn option_of(ty: &Type) -> Option<String> {
    match crate::calls::type_arg(ty, "Option", 0)? {
        Type::Path(inner) => Some(inner.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

/// `Option<T>` -> `Option<Box<T>>`.
fn box_option(ty: &mut Type) {
    let Type::Path(p) = ty else {
        unreachable!("checked by option_of")
    };
    let last = p.path.segments.last_mut().expect("checked by option_of");
    let PathArguments::AngleBracketed(args) = &mut last.arguments else {
        unreachable!("checked by option_of")
    };
    let Some(GenericArgument::Type(inner)) = args.args.first_mut() else {
        unreachable!("checked by option_of")
    };
    let t = inner.clone();
    *inner = parse_quote!(::std::boxed::Box<#t>);
}

/// In `impl TryFrom<builder::X> for super::X` and `impl From<super::X> for builder::X`, boxes
/// and unboxes the boxed fields.
fn convert(imp: &mut syn::ItemImpl, boxed: &[(String, String)]) {
    let Some((_, trait_path, _)) = &imp.trait_ else {
        return;
    };
    let into_types = match trait_path
        .segments
        .last()
        .expect("a path")
        .ident
        .to_string()
        .as_str()
    {
        "TryFrom" => true,
        "From" => false,
        _ => return,
    };
    // The struct built: `super::X` for TryFrom, the builder `X` for From.
    let Type::Path(target) = &*imp.self_ty else {
        return;
    };
    let ty = target
        .path
        .segments
        .last()
        .expect("a path")
        .ident
        .to_string();
    let fields: Vec<&str> = boxed
        .iter()
        .filter(|(t, _)| *t == ty)
        .map(|(_, f)| f.as_str())
        .collect();
    if fields.is_empty() {
        return;
    }
    struct Rewrite<'a> {
        fields: &'a [&'a str],
        into_types: bool,
    }
    impl VisitMut for Rewrite<'_> {
        fn visit_expr_struct_mut(&mut self, e: &mut syn::ExprStruct) {
            for fv in &mut e.fields {
                let syn::Member::Named(name) = &fv.member else {
                    continue;
                };
                if !self.fields.iter().any(|f| name == f) {
                    continue;
                }
                let value = &fv.expr;
                fv.expr = if self.into_types {
                    // `value.f?` -> `value.f?.map(Box::new)`
                    parse_quote!(#value.map(::std::boxed::Box::new))
                } else {
                    // `Ok(value.f)` -> `Ok(value.f.map(|b| *b))`
                    let Expr::Call(call) = value else {
                        panic!("From: `Ok(value.{name})`")
                    };
                    let arg = call.args.first().expect("Ok(value)");
                    parse_quote!(Ok(#arg.map(|b| *b)))
                };
            }
            syn::visit_mut::visit_expr_struct_mut(self, e);
        }
    }
    Rewrite {
        fields: &fields,
        into_types,
    }
    .visit_item_impl_mut(imp);
}
