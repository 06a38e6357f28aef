//! Keeps a field that Sinch adds from breaking code that builds the generated types. Every
//! struct of `types` with named fields becomes `#[non_exhaustive]`: outside the crate no struct
//! literal names all of its fields, so a new field breaks nobody. Values are built instead with
//! the hand-written constructors (`src/compose/`), `Default`, the typify builders, and the
//! setters added here: `with_<field>(value)` for each optional field, chainable, taking what
//! converts into the field's type (a boxed kind unboxed, a list or a map as any iterator).
//! Inside the crate, where struct literals still compile, the hand-written constructors build
//! through `required::X`, a companion holding only `X`'s required fields (each optional one
//! starts unset), so that they compile unchanged when an optional field is added too.

use syn::visit_mut::VisitMut;
use syn::{parse_quote, Fields, Item, Type};

/// What the pass did to one document's `types`.
#[derive(Debug, Default, PartialEq)]
pub struct Shaped {
    /// Structs made `#[non_exhaustive]`.
    pub structs: usize,
    /// `with_*` setters added.
    pub setters: usize,
    /// `required::X` companions added.
    pub companions: usize,
}

/// How a field is set, and what it holds while unset.
enum Kind {
    Required,
    /// `Option<T>`: unset is `None`.
    Option(Type),
    /// `Option<Box<T>>` (codegen/boxed.rs): set from a `T`.
    Boxed(Type),
    /// A list with `#[serde(default)]`: unset is empty.
    List(Type),
    /// A map (`HashMap` or `serde_json::Map`) with `#[serde(default)]`: unset is empty.
    Map(Type, Type),
    /// Any other type with `#[serde(default)]` or `#[serde(default = "path")]`.
    Default(Type, Option<syn::Path>),
}

/// Shapes every named struct directly in `mod types` (the typify builders below it keep
/// theirs); run after codegen/boxed.rs, whose boxes the setters hide.
pub fn shape_types(items: &mut [Item]) -> Shaped {
    let mut shaped = Shaped::default();
    let Some(types) = items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|c| &mut c.1),
        _ => None,
    }) else {
        return shaped;
    };
    let mut added: Vec<Item> = vec![];
    let mut companions: Vec<Item> = vec![];
    for item in types.iter_mut() {
        let Item::Struct(s) = item else { continue };
        let Fields::Named(fields) = &s.fields else {
            continue;
        };
        if !s.attrs.iter().any(|a| a.path().is_ident("non_exhaustive")) {
            s.attrs.push(parse_quote!(#[non_exhaustive]));
        }
        shaped.structs += 1;
        let ty = &s.ident;
        let fields: Vec<(&syn::Field, Kind)> = fields.named.iter().map(|f| (f, kind(f))).collect();
        let mut names: Vec<String> = vec![];
        let setters = fields.iter().filter_map(|(f, kind)| {
            let field = f.ident.as_ref().expect("named field");
            let bare = field.to_string();
            let bare = bare.trim_start_matches("r#");
            // typify writes `type` as `type_`; the setter reads `with_type` unless that is taken.
            let mut name = bare.trim_end_matches('_').to_string();
            if names.contains(&name) {
                name = bare.to_string();
            }
            names.push(name.clone());
            let setter = quote::format_ident!("with_{name}");
            let doc = format!("Sets `{bare}`.");
            Some(match kind {
                Kind::Required => return None,
                Kind::Option(t) => parse_quote! {
                    #[doc = #doc]
                    pub fn #setter(mut self, value: impl ::std::convert::Into<#t>) -> Self {
                        self.#field = ::std::option::Option::Some(value.into());
                        self
                    }
                },
                Kind::Boxed(t) => parse_quote! {
                    #[doc = #doc]
                    pub fn #setter(mut self, value: impl ::std::convert::Into<#t>) -> Self {
                        self.#field = ::std::option::Option::Some(::std::boxed::Box::new(value.into()));
                        self
                    }
                },
                Kind::List(t) => parse_quote! {
                    #[doc = #doc]
                    pub fn #setter<I>(mut self, values: I) -> Self
                    where
                        I: ::std::iter::IntoIterator,
                        I::Item: ::std::convert::Into<#t>,
                    {
                        self.#field = values.into_iter().map(::std::convert::Into::into).collect();
                        self
                    }
                },
                Kind::Map(k, v) => parse_quote! {
                    #[doc = #doc]
                    pub fn #setter<I, K, V>(mut self, entries: I) -> Self
                    where
                        I: ::std::iter::IntoIterator<Item = (K, V)>,
                        K: ::std::convert::Into<#k>,
                        V: ::std::convert::Into<#v>,
                    {
                        self.#field = entries
                            .into_iter()
                            .map(|(k, v)| (k.into(), v.into()))
                            .collect();
                        self
                    }
                },
                Kind::Default(t, _) => parse_quote! {
                    #[doc = #doc]
                    pub fn #setter(mut self, value: impl ::std::convert::Into<#t>) -> Self {
                        self.#field = value.into();
                        self
                    }
                },
            })
        });
        let setters: Vec<syn::ImplItemFn> = setters.collect();
        shaped.setters += setters.len();
        if !setters.is_empty() {
            added.push(parse_quote!(impl #ty { #(#setters)* }));
        }

        if !fields.iter().any(|(_, k)| matches!(k, Kind::Required)) {
            continue;
        }
        let required = fields.iter().filter(|(_, k)| matches!(k, Kind::Required));
        let declared = required.clone().map(|(f, _)| {
            let (name, mut ty) = (&f.ident, f.ty.clone());
            FromSibling.visit_type_mut(&mut ty);
            quote::quote!(pub(crate) #name: #ty)
        });
        let doc = format!("`{ty}`'s required fields; the optional ones start unset.");
        companions.push(parse_quote! {
            #[doc = #doc]
            pub(crate) struct #ty { #(#declared,)* }
        });
        let values = fields.iter().map(|(f, kind)| {
            let name = &f.ident;
            match kind {
                Kind::Required => quote::quote!(#name: r.#name),
                Kind::Option(_) | Kind::Boxed(_) => {
                    quote::quote!(#name: ::std::option::Option::None)
                }
                Kind::Default(_, Some(path)) => quote::quote!(#name: #path()),
                Kind::List(_) | Kind::Map(..) | Kind::Default(_, None) => {
                    quote::quote!(#name: ::std::default::Default::default())
                }
            }
        });
        added.push(parse_quote! {
            impl ::std::convert::From<required::#ty> for #ty {
                fn from(r: required::#ty) -> Self {
                    Self { #(#values,)* }
                }
            }
        });
        shaped.companions += 1;
    }
    types.extend(added);
    types.push(parse_quote! {
        /// Each type's required fields alone, for the crate's hand-written constructors.
        pub(crate) mod required {
            #(#companions)*
        }
    });
    shaped
}

fn kind(f: &syn::Field) -> Kind {
    use crate::calls::type_arg;
    if let Some(inner) = type_arg(&f.ty, "Option", 0) {
        return match type_arg(&inner, "Box", 0) {
            Some(t) => Kind::Boxed(t),
            None => Kind::Option(inner),
        };
    }
    let Some(default) = serde_default(&f.attrs) else {
        return Kind::Required;
    };
    if let Some(t) = type_arg(&f.ty, "Vec", 0) {
        return Kind::List(t);
    }
    for map in ["HashMap", "Map"] {
        if let (Some(k), Some(v)) = (type_arg(&f.ty, map, 0), type_arg(&f.ty, map, 1)) {
            return Kind::Map(k, v);
        }
    }
    Kind::Default(f.ty.clone(), default)
}

/// `Some(None)` for `#[serde(default)]`, `Some(Some(path))` for `#[serde(default = "path")]`.
fn serde_default(attrs: &[syn::Attribute]) -> Option<Option<syn::Path>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let value = if meta.input.peek(syn::Token![=]) {
                Some(meta.value()?.parse::<syn::LitStr>()?)
            } else {
                None
            };
            if meta.path.is_ident("default") {
                found = Some(value.map(|v| v.parse().expect("a path in serde(default = ..)")));
            }
            Ok(())
        });
    }
    found
}

/// A type as written in `mod types`, made to resolve one module below it: a sibling type
/// (`ChannelIdentity`) becomes `super::ChannelIdentity`.
struct FromSibling;

impl VisitMut for FromSibling {
    fn visit_type_path_mut(&mut self, t: &mut syn::TypePath) {
        const PRIMITIVES: &[&str] = &[
            "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
            "u64", "u128", "usize", "f32", "f64",
        ];
        let first = t.path.segments.first().map(|s| s.ident.to_string());
        let primitive = |f: &str| t.path.segments.len() == 1 && PRIMITIVES.contains(&f);
        let anchored = |f: &str| matches!(f, "crate" | "super" | "self" | "Self");
        let local = t.qself.is_none()
            && t.path.leading_colon.is_none()
            && first.is_some_and(|f| !anchored(&f) && !primitive(&f));
        if local {
            t.path.segments.insert(0, parse_quote!(super));
        }
        syn::visit_mut::visit_type_path_mut(self, t);
    }
}
