//! Generates one typed client per API document in `spec/` at compile time.
//!
//! For each document: spec (YAML) -> serde_json::Value -> joined with the documents it shares
//! types with (codegen/bundle.rs) -> normalisation (codegen/normalize.rs) -> openapiv3 ->
//! progenitor (builder style, one trait per tag, our hooks) -> `Debug` without secrets
//! (codegen/redact.rs) -> dates read by our RFC 3339 reader (codegen/dates.rs) -> the message
//! types' optional kinds boxed (codegen/boxed.rs) -> structs `#[non_exhaustive]`, with `with_*`
//! setters and required-field companions (codegen/construct.rs) -> each operation's builder
//! rewritten for the hot path (codegen/calls.rs) -> the operation traits sealed
//! (codegen/seal.rs) -> our open enums and tagged unions placed in `mod types` ->
//! prettyplease -> $OUT_DIR/<file>, included by src/generated.rs.

#[path = "codegen/boxed.rs"]
mod boxed;
#[path = "codegen/bundle.rs"]
mod bundle;
#[path = "codegen/calls.rs"]
mod calls;
#[path = "codegen/construct.rs"]
mod construct;
#[path = "codegen/dates.rs"]
mod dates;
#[path = "codegen/normalize.rs"]
mod normalize;
#[path = "codegen/redact.rs"]
mod redact;
#[path = "codegen/render.rs"]
mod render;
#[path = "codegen/seal.rs"]
mod seal;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use serde_json::Value;
use std::{env, fs, path::PathBuf};

/// One API document and where its generated code lives.
struct Doc {
    spec: &'static str,
    /// Where `types` and `builder` of this document are reachable from the crate.
    module: &'static str,
    out: &'static str,
}

const CONVERSATION: Doc = Doc {
    spec: "spec/conversation.yaml",
    module: "crate::generated",
    out: "conversation.rs",
};
const TEMPLATES: Doc = Doc {
    spec: "spec/templates.yaml",
    module: "crate::generated::templates",
    out: "templates.rs",
};
const BATCH: Doc = Doc {
    spec: "spec/batch.yaml",
    module: "crate::generated::batch",
    out: "batch.rs",
};
/// Our own document of callback payloads; merged into the Conversation document.
const CALLBACKS: &str = "spec/callbacks.yaml";

fn main() {
    println!("cargo:rerun-if-changed=spec");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=codegen");

    let mut conversation = load(CONVERSATION.spec);
    let callbacks = load(CALLBACKS);
    bundle::merge_schemas(&mut conversation, &callbacks, "callbacks.yaml")
        .unwrap_or_else(|e| panic!("merging {CALLBACKS}: {e}"));
    let mut for_fake = serde_json::Map::new();
    for_fake.insert("conversation".into(), conversation.clone());
    let send_path = generate(&CONVERSATION, conversation, &[]);
    let send_path = send_path.unwrap_or_else(|| {
        panic!(
            "{} has no Messages_SendMessage operation",
            CONVERSATION.spec
        )
    });
    // The hot path (`Client::send_message`) builds its request by hand from this path.
    append(
        &CONVERSATION,
        quote::quote! {
            /// `Messages_SendMessage`'s path after [`PATH_PREFIX`].
            pub(crate) const SEND_MESSAGE_PATH: &str = #send_path;
        },
    );

    for (key, doc) in [("templates", &TEMPLATES), ("batch", &BATCH)] {
        let mut spec = load(doc.spec);
        for_fake.insert(key.into(), spec.clone());
        let shared = bundle::link_external(&mut spec);
        generate(doc, spec, &shared);
    }
    // The embedded fake (feature `fake`) routes and validates requests by the documents as
    // written, limits included: one place for each rule, refreshed by `update-spec`.
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("fake_spec.json");
    fs::write(out, Value::Object(for_fake).to_string()).expect("writing the fake's spec");
}

fn load(path: &str) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn out_path(doc: &Doc) -> PathBuf {
    PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join(doc.out)
}

/// Generates `doc` into its output file; `shared` are schemas replaced by the conversation
/// module's types. Returns `Messages_SendMessage`'s path, if the document has that operation.
fn generate(doc: &Doc, mut spec: Value, shared: &[String]) -> Option<String> {
    let name = doc.spec;
    let found =
        normalize::normalize(&mut spec).unwrap_or_else(|e| panic!("normalising {name}: {e}"));
    let spec: openapiv3::OpenAPI = serde_json::from_value(spec)
        .unwrap_or_else(|e| panic!("{name} is not an OpenAPI 3.0 document: {e}"));
    let types = format!("{}::types", doc.module);

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Separate)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::hooks::Inner))
        .with_derive("PartialEq");
    for e in &found.open_enums {
        let impls = [TypeImpl::Display, TypeImpl::FromStr];
        settings.with_replacement(&e.name, format!("{types}::{}", e.name), impls.into_iter());
    }
    for u in &found.tagged_unions {
        settings.with_replacement(&u.name, format!("{types}::{}", u.name), [].into_iter());
    }
    for s in shared {
        let rust = normalize::rust_name(s);
        settings.with_replacement(&rust, format!("crate::types::{rust}"), [].into_iter());
    }

    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor could not generate a client from {name}: {e}"));
    let mut file: syn::File = syn::parse2(tokens).expect("progenitor emits valid Rust");
    redact::redact_debug(&mut file.items);
    dates::fast_dates(&mut file.items);
    if doc.spec == CONVERSATION.spec {
        let boxed = boxed::box_fields(&mut file.items);
        for c in boxed::CONTAINERS {
            assert!(
                boxed.iter().any(|(t, _)| t == c),
                "{name}: nothing boxed in {c}"
            );
        }
    }
    let shaped = construct::shape_types(&mut file.items);
    assert!(shaped.structs > 0, "{name}: no structs shaped: {shaped:?}");
    let mut rewritten = calls::rewrite_builders(&mut file.items);
    assert!(
        rewritten.sends == spec.operations().count(),
        "{name}: {rewritten:?} of {} operations' builders rewritten for the hot path",
        spec.operations().count()
    );
    rewritten.static_paths.sort();
    rewritten.static_paths.dedup();
    let static_paths = &rewritten.static_paths;

    let ours: syn::File = syn::parse_str(&render::render_types(&found))
        .expect("rendered replacement types are valid Rust");
    let types_mod = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
            _ => None,
        })
        .expect("progenitor emits a `types` module");
    types_mod.1.extend(ours.items);

    for p in &found.paged {
        let builder = path(&format!("{}::builder::{}", doc.module, p.builder));
        let page = path(&format!("{types}::{}", p.page));
        let item = path(&format!("{types}::{}", p.item));
        let field = syn::Ident::new(&p.items_field, proc_macro2::Span::call_site());
        file.items.push(syn::parse_quote! {
            crate::pagination::paged!(#builder, #page, #field, #item);
        });
    }

    // The operation traits, sealed; alone in `ext`, so one prelude can hold every service's
    // without three `Client`s colliding.
    let traits = seal::seal_traits(&mut file.items);
    assert!(!traits.is_empty(), "{name}: no operation traits");
    let prefix = &found.path_prefix;
    let params = &found.prefix_params;
    let extra: syn::File = syn::parse_quote! {
        /// Path prefix shared by every operation; its parameters come from the client's configuration.
        pub const PATH_PREFIX: &str = #prefix;
        /// The template parameters inside [`PATH_PREFIX`].
        pub const PATH_PREFIX_PARAMS: &[&str] = &[#(#params),*];
        /// The operations' paths (after [`PATH_PREFIX`]) that take no parameters, sorted: the
        /// client parses their full URLs once.
        pub(crate) const STATIC_PATHS: &[&str] = &[#(#static_paths),*];
        /// The traits that carry the operations, one per tag.
        pub mod ext {
            pub use super::{#(#traits),*};
        }
    };
    file.items.extend(extra.items);
    fs::write(out_path(doc), prettyplease::unparse(&file)).expect("writing a generated client");

    spec.paths.iter().find_map(|(path, item)| {
        let op = item.as_item()?.post.as_ref()?;
        (op.operation_id.as_deref() == Some("Messages_SendMessage")).then(|| path.clone())
    })
}

/// Adds items to a document's generated file.
fn append(doc: &Doc, items: proc_macro2::TokenStream) {
    let out = out_path(doc);
    let mut text = fs::read_to_string(&out).expect("the generated file was just written");
    let file: syn::File = syn::parse2(items).expect("valid items");
    text.push_str(&prettyplease::unparse(&file));
    fs::write(out, text).expect("writing a generated client");
}

fn path(s: &str) -> syn::Path {
    syn::parse_str(s).expect("a Rust path")
}
