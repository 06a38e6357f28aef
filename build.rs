//! Generates the typed client from `spec/conversation.yaml` at compile time.
//!
//! spec (YAML) -> serde_json::Value -> normalisation (codegen/normalize.rs) -> openapiv3 ->
//! progenitor (builder style, one trait per tag, our hooks) -> `Debug` without secrets
//! (codegen/redact.rs) -> our open enums and tagged unions placed in `mod types` -> prettyplease
//! -> $OUT_DIR/codegen.rs, included by src/generated.rs.

#[path = "codegen/normalize.rs"]
mod normalize;
#[path = "codegen/redact.rs"]
mod redact;
#[path = "codegen/render.rs"]
mod render;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use std::{env, fs, path::PathBuf};

const SPEC: &str = "spec/conversation.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=codegen");

    let text = fs::read_to_string(SPEC).unwrap_or_else(|e| panic!("reading {SPEC}: {e}"));
    let mut doc: serde_json::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{SPEC} is not valid YAML: {e}"));
    let found =
        normalize::normalize(&mut doc).unwrap_or_else(|e| panic!("normalising {SPEC}: {e}"));
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc)
        .unwrap_or_else(|e| panic!("{SPEC} is not an OpenAPI 3.0 document: {e}"));

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Separate)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::hooks::Inner))
        .with_derive("PartialEq");
    for e in &found.open_enums {
        let impls = [TypeImpl::Display, TypeImpl::FromStr];
        settings.with_replacement(
            &e.name,
            format!("crate::types::{}", e.name),
            impls.into_iter(),
        );
    }
    for u in &found.tagged_unions {
        settings.with_replacement(&u.name, format!("crate::types::{}", u.name), [].into_iter());
    }

    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor could not generate a client from {SPEC}: {e}"));
    let mut file: syn::File = syn::parse2(tokens).expect("progenitor emits valid Rust");
    redact::redact_debug(&mut file.items);

    let ours: syn::File = syn::parse_str(&render::render_types(&found))
        .expect("rendered replacement types are valid Rust");
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .expect("progenitor emits a `types` module");
    types.1.extend(ours.items);

    for p in &found.paged {
        let (b, page, field) = (ident(&p.builder), ident(&p.page), ident(&p.items_field));
        let item = ident(&p.item);
        file.items.push(syn::parse_quote! {
            crate::pagination::paged!(#b, #page, #field, crate::types::#item);
        });
    }

    // The hot path (`Client::send_message`) builds its request by hand from this path.
    let send_path = spec
        .paths
        .iter()
        .find_map(|(path, item)| {
            let item = item.as_item()?;
            let op = item.post.as_ref()?;
            (op.operation_id.as_deref() == Some("Messages_SendMessage")).then(|| path.clone())
        })
        .unwrap_or_else(|| panic!("{SPEC} has no Messages_SendMessage operation"));

    let prefix = &found.path_prefix;
    let params = &found.prefix_params;
    let consts: syn::File = syn::parse_quote! {
        /// Path prefix shared by every operation; its parameters come from the client's configuration.
        pub const PATH_PREFIX: &str = #prefix;
        /// The template parameters inside [`PATH_PREFIX`].
        pub const PATH_PREFIX_PARAMS: &[&str] = &[#(#params),*];
        /// `Messages_SendMessage`'s path after [`PATH_PREFIX`].
        pub(crate) const SEND_MESSAGE_PATH: &str = #send_path;
    };
    file.items.extend(consts.items);

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("codegen.rs");
    fs::write(&out, prettyplease::unparse(&file)).expect("writing generated client");
}

fn ident(s: &str) -> syn::Ident {
    syn::Ident::new(s, proc_macro2::Span::call_site())
}
