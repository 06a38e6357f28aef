//! Rewrites each generated operation builder for the hot path. Its `send`: the request is built
//! when `send()` is called, from a copy of the builder, and built again from the builder only if
//! a retry happens (progenitor's hooks get a request they must copy before every attempt in
//! case it is repeated); the future uses the request where it captured it (an `async fn` keeps
//! a second copy); the URL joins the operation's path onto the client's base URL parsed once
//! (not the whole URL parsed per call); the response's headers are moved into the
//! `ResponseValue`, not copied. Its body: a complete value given to `.body(..)` is serialized
//! there and then, while the caller's value is still in cache, and kept as JSON bytes that any
//! copy of the builder shares (progenitor converts it into its builder form, then back, moving
//! 1.7 KB each time for a `SendMessageRequest`, and starts from a default builder that allocates
//! an error message per required field). Each builder also gets `.options(CallOptions)`: a
//! timeout, retry settings or a deadline for that call only (`src/call_options.rs`). The helpers
//! it calls live in `src/calls.rs` and `src/hooks.rs`.

use quote::quote;
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;
use syn::{
    parse_quote, Expr, GenericArgument, ImplItem, Item, Pat, PathArguments, Stmt, Token, Type,
};

/// How many operation builders had their `send` and their body rewritten, and the paths that
/// take no parameters (the client parses their full URLs once).
#[derive(Default, Debug, PartialEq)]
pub struct Rewritten {
    pub sends: usize,
    pub bodies: usize,
    pub static_paths: Vec<String>,
}

/// Rewrites every operation builder in `items` (and in inline modules below them).
pub fn rewrite_builders(items: &mut [Item]) -> Rewritten {
    let mut n = Rewritten::default();
    // Builders whose body is `Result<types::builder::X, String>`, and `types::X` for each.
    let mut bodies: Vec<(syn::Ident, syn::Path)> = vec![];
    for item in items.iter_mut() {
        if let Item::Struct(st) = item {
            for field in &mut st.fields {
                if field.ident.as_ref().is_some_and(|i| i == "body") {
                    if let Some(typed) = body_type(&field.ty) {
                        let builder = &field.ty;
                        let builder = result_ok(builder).expect("checked by body_type");
                        field.ty =
                            parse_quote!(Result<crate::calls::Body<#typed, #builder>, String>);
                        bodies.push((st.ident.clone(), typed));
                    }
                }
            }
        }
    }
    // Builders whose `send` was rewritten: they get the per-call options field.
    let mut with_options: Vec<syn::Ident> = vec![];
    for item in items.iter_mut() {
        match item {
            Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    let r = rewrite_builders(inner);
                    n.sends += r.sends;
                    n.bodies += r.bodies;
                    n.static_paths.extend(r.static_paths);
                }
            }
            Item::Impl(imp) if imp.trait_.is_none() => {
                let name = match &*imp.self_ty {
                    Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
                    _ => None,
                };
                let has_body = bodies.iter().find(|(b, _)| Some(b) == name.as_ref());
                if let Some((_, typed)) = has_body {
                    let mut body = BodyUses {
                        typed: typed.clone(),
                        done: 0,
                    };
                    body.visit_item_impl_mut(imp);
                    // `new`, `body`, `body_map` use the body once, `send` twice.
                    assert_eq!(
                        body.done,
                        5,
                        "{}: the body's uses are not the ones progenitor 0.15 generates",
                        quote!(#name)
                    );
                    n.bodies += 1;
                }
                let Some(lifetime) = imp.generics.lifetimes().next().map(|l| l.lifetime.clone())
                else {
                    continue;
                };
                let mut rewritten = false;
                for member in &mut imp.items {
                    if let ImplItem::Fn(f) = member {
                        if f.sig.ident == "send" && f.sig.asyncness.is_some() {
                            if let Some(path) = rewrite_send(f, &lifetime, has_body.is_some()) {
                                n.sends += 1;
                                n.static_paths.extend(path);
                                rewritten = true;
                            }
                        }
                    }
                }
                if rewritten {
                    add_options(imp);
                    with_options.extend(name);
                }
            }
            _ => {}
        }
    }
    for item in items.iter_mut() {
        if let Item::Struct(st) = item {
            if with_options.contains(&st.ident) {
                let syn::Fields::Named(fields) = &mut st.fields else {
                    panic!("{}: an operation builder with unnamed fields", st.ident);
                };
                fields.named.push(parse_quote!(
                    options: ::std::option::Option<::std::sync::Arc<crate::CallOptions>>
                ));
            }
        }
    }
    n
}

/// The builder's `new` starts without options, and `.options(..)` sets them.
fn add_options(imp: &mut syn::ItemImpl) {
    let mut started = 0;
    for member in &mut imp.items {
        let ImplItem::Fn(f) = member else { continue };
        assert!(
            f.sig.ident != "options",
            "an operation has a parameter named `options`: rename the per-call options method"
        );
        if f.sig.ident == "new" {
            let mut new = NewWithoutOptions(0);
            new.visit_block_mut(&mut f.block);
            started += new.0;
        }
    }
    assert_eq!(
        started, 1,
        "a builder's `new` is not the one progenitor 0.15 generates"
    );
    imp.items.push(parse_quote! {
        /// Settings for this call only (a timeout, retry settings, a deadline), in place of
        /// the client's: see [`crate::CallOptions`].
        pub fn options(mut self, options: crate::CallOptions) -> Self {
            self.options = ::std::option::Option::Some(::std::sync::Arc::new(options));
            self
        }
    });
}

/// `Self { client, .. }` in `new` gets `options: None`.
struct NewWithoutOptions(usize);

impl VisitMut for NewWithoutOptions {
    fn visit_expr_struct_mut(&mut self, s: &mut syn::ExprStruct) {
        syn::visit_mut::visit_expr_struct_mut(self, s);
        if s.path.is_ident("Self") && s.rest.is_none() {
            s.fields
                .push(parse_quote!(options: ::std::option::Option::None));
            self.0 += 1;
        }
    }
}

/// `let Self { client, params.. } = this;` leaves the options out (`..`): they are read once
/// for the whole call, not per request built.
struct WithoutOptions(usize);

impl VisitMut for WithoutOptions {
    fn visit_pat_struct_mut(&mut self, p: &mut syn::PatStruct) {
        syn::visit_mut::visit_pat_struct_mut(self, p);
        if p.path.is_ident("Self") && p.rest.is_none() {
            p.rest = Some(syn::PatRest {
                attrs: vec![],
                dot2_token: Default::default(),
            });
            self.0 += 1;
        }
    }
}

/// `async fn send(self) -> Result<T, E> { prepare..; let mut request = ..; rest.. }` becomes
/// `fn send(self) -> impl Future<Output = Result<T, E>> + 'a`, running the preparation on a copy
/// of the builder at once, the rest in the future, and the preparation again for a retry.
/// Leaves a `send` of another shape untouched (returns `None`); else `Some` with the
/// operation's path if it takes no parameters.
fn rewrite_send(
    f: &mut syn::ImplItemFn,
    lifetime: &syn::Lifetime,
    has_body: bool,
) -> Option<Option<String>> {
    let syn::ReturnType::Type(_, output) = &f.sig.output else {
        return None;
    };
    let error = result_error(output)?;
    let split = f.block.stmts.iter().position(binds_request)?;
    let mut prepare: Vec<Stmt> = f.block.stmts[..=split].to_vec();
    let mut rest: Vec<Stmt> = f.block.stmts[split + 1..].to_vec();
    // The `api-version` header: `crate::calls::request` sets it in a map sized for every
    // header, instead of a second map merged in (when it is the operation's only header).
    let api_version_only = prepare.windows(2).position(|w| {
        quote!(#(#w)*).to_string()
            == quote!(
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                header_map.append(
                    ::reqwest::header::HeaderName::from_static("api-version"),
                    ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                );
            )
            .to_string()
    });
    if let Some(i) = api_version_only {
        prepare.drain(i..i + 2);
        for s in &mut prepare {
            NoHeaderMap.visit_stmt_mut(s);
        }
    }
    let mut urls = Urls::default();
    let mut destructured = WithoutOptions(0);
    for s in &mut prepare {
        urls.visit_stmt_mut(s);
        SelfToThis.visit_stmt_mut(s);
        destructured.visit_stmt_mut(s);
    }
    if urls.formats != 1 || urls.requests != 1 || destructured.0 != 1 {
        return None;
    }
    let mut exec = Exec(0);
    for s in &mut rest {
        Responses.visit_stmt_mut(s);
        exec.visit_stmt_mut(s);
    }
    if exec.0 != 1 {
        return None;
    }
    // progenitor's `pre` and `post` hooks: ours are the default no-ops (everything happens in
    // `exec`), and awaiting `pre` with the request borrowed keeps a second copy of the request
    // in the future.
    let hooks = [
        quote!(client.pre(&mut request, &info).await?;).to_string(),
        quote!(client.post(&result, &info).await?;).to_string(),
    ];
    let before = rest.len();
    rest.retain(|s| !hooks.contains(&quote!(#s).to_string()));
    if before - rest.len() != 2 {
        return None;
    }
    let output = output.clone();
    let share: Option<Stmt> =
        has_body.then(|| parse_quote!(self.body = self.body.and_then(crate::calls::Body::shared);));
    f.sig.asyncness = None;
    f.sig.inputs = parse_quote!(mut self);
    f.sig.output = parse_quote!(-> impl ::std::future::Future<Output = #output> + #lifetime);
    f.block = parse_quote!({
        let prepare = |this: Self| -> ::std::result::Result<_, #error> {
            #(#prepare)*
            Ok((client, request))
        };
        #share
        match prepare(self.clone()) {
            Ok((client, mut request)) => ::futures_util::future::Either::Left(async move {
                let options = self.options.take();
                let rebuild = move || prepare(self.clone()).ok().map(|(_, request)| request);
                #(#rest)*
            }),
            Err(e) => ::futures_util::future::Either::Right(::std::future::ready(Err(e))),
        }
    });
    Some(urls.static_path)
}

/// `builder.headers(header_map)` becomes `builder`.
struct NoHeaderMap;

impl VisitMut for NoHeaderMap {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        if let Expr::MethodCall(call) = e {
            let args = &call.args;
            if call.method == "headers" && quote!(#args).to_string() == "header_map" {
                *e = (*call.receiver).clone();
            }
        }
    }
}

/// `let Self { .. } = self;` becomes `let Self { .. } = this;` (the copy being prepared).
struct SelfToThis;

impl VisitMut for SelfToThis {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        if matches!(e, Expr::Path(p) if p.path.is_ident("self")) {
            *e = parse_quote!(this);
        }
    }
}

/// `client.exec(request, &info)` becomes
/// `crate::hooks::call(client, request, &info, &rebuild, options)`.
struct Exec(usize);

impl VisitMut for Exec {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        if quote!(#e).to_string() == quote!(client.exec(request, &info)).to_string() {
            *e = parse_quote!(crate::hooks::call(
                client,
                request,
                &info,
                &rebuild,
                options.as_deref()
            ));
            self.0 += 1;
        }
    }
}

/// `E` of `Result<T, E>`.
fn result_error(ty: &Type) -> Option<Type> {
    result_arg(ty, 1)
}

/// `T` of `Result<T, E>`.
fn result_ok(ty: &Type) -> Option<Type> {
    result_arg(ty, 0)
}

fn result_arg(ty: &Type, n: usize) -> Option<Type> {
    type_arg(ty, "Result", n)
}

/// The `n`th type argument of `ty` when `ty` is `Wrapper<..>` (its last path segment).
pub fn type_arg(ty: &Type, wrapper: &str, n: usize) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().nth(n)? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// For a body field `Result<types::builder::X, String>`, the typed `types::X`.
fn body_type(ty: &Type) -> Option<syn::Path> {
    let Type::Path(p) = result_ok(ty)? else {
        return None;
    };
    let segments: Vec<_> = p.path.segments.iter().collect();
    let [.., module, builder, name] = segments[..] else {
        return None;
    };
    if builder.ident != "builder" {
        return None;
    }
    let (module, name) = (&module.ident, &name.ident);
    let prefix = p.path.segments.iter().take(segments.len() - 3);
    let colon = p.path.leading_colon;
    Some(parse_quote!(#colon #(#prefix ::)* #module :: #name))
}

/// The four places an operation builder uses its body, moved to `crate::calls::Body`.
struct BodyUses {
    typed: syn::Path,
    done: usize,
}

impl VisitMut for BodyUses {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        let typed = &self.typed;
        let text = quote!(#e).to_string();
        match e {
            // `new`: `body: Ok(Default::default())` starts empty, not as a default builder.
            Expr::Struct(s) => {
                for f in &mut s.fields {
                    if matches!(&f.member, syn::Member::Named(i) if i == "body") {
                        f.expr = parse_quote!(Ok(crate::calls::Body::Empty));
                        self.done += 1;
                    }
                }
            }
            // `body(value)`: `value.try_into().map(From::from)` serializes the value at once.
            Expr::MethodCall(call)
                if call.method == "map"
                    && quote!(#call).to_string().contains("map (From :: from)") =>
            {
                call.args = parse_quote!(crate::calls::Body::json);
                self.done += 1;
            }
            // `body_map(f)`: `self.body.map(f)` works on the builder form.
            Expr::MethodCall(_) if text == "self . body . map (f)" => {
                *e = parse_quote!(self
                    .body
                    .and_then(|b| { b.into_builder().map(|b| crate::calls::Body::builder(f(b))) }));
                self.done += 1;
            }
            // `send`: the JSON, with its content type.
            Expr::MethodCall(call)
                if call.method == "json" && text.ends_with(". json (& body)") =>
            {
                let receiver = &call.receiver;
                *e = parse_quote!(#receiver
                    .header(
                        ::reqwest::header::CONTENT_TYPE,
                        ::reqwest::header::HeaderValue::from_static("application/json"),
                    )
                    .body(body));
                self.done += 1;
            }
            // `send`: `types::X::try_from(v)` becomes the JSON (converting a builder form).
            Expr::Call(_) if text == quote!(#typed::try_from(v)).to_string() => {
                *e = parse_quote!(v.into_json());
                self.done += 1;
            }
            _ => {}
        }
    }
}

/// `let mut request = ...;`
fn binds_request(s: &Stmt) -> bool {
    let Stmt::Local(local) = s else { return false };
    matches!(&local.pat, Pat::Ident(i) if i.ident == "request")
}

/// `format!("{}/path/{}", client.baseurl, args..)` becomes the path alone, and
/// `client.client.get(url)` becomes `crate::calls::request(client, Method::GET, &url)`.
#[derive(Default)]
struct Urls {
    formats: usize,
    requests: usize,
    static_path: Option<String>,
}

impl VisitMut for Urls {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, e);
        match e {
            Expr::Macro(m) if m.mac.path.is_ident("format") => {
                let Ok(args) = m
                    .mac
                    .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                else {
                    return;
                };
                let mut args = args.into_iter();
                let (Some(Expr::Lit(lit)), Some(base)) = (args.next(), args.next()) else {
                    return;
                };
                let syn::Lit::Str(template) = &lit.lit else {
                    return;
                };
                if quote!(#base).to_string() != quote!(client.baseurl).to_string() {
                    return;
                }
                let Some(path) = template.value().strip_prefix("{}").map(str::to_owned) else {
                    return;
                };
                let rest: Vec<Expr> = args.collect();
                *e = if rest.is_empty() {
                    self.static_path = Some(path.clone());
                    parse_quote!(#path)
                } else {
                    parse_quote!(::std::format!(#path, #(#rest),*))
                };
                self.formats += 1;
            }
            Expr::MethodCall(call) => {
                let method = match call.method.to_string().as_str() {
                    "get" => quote!(GET),
                    "post" => quote!(POST),
                    "put" => quote!(PUT),
                    "patch" => quote!(PATCH),
                    "delete" => quote!(DELETE),
                    "head" => quote!(HEAD),
                    _ => return,
                };
                let receiver = &call.receiver;
                if quote!(#receiver).to_string() != quote!(client.client).to_string()
                    || call.args.len() != 1
                {
                    return;
                }
                let url = &call.args[0];
                *e = parse_quote!(crate::calls::request(client, ::reqwest::Method::#method, &#url));
                self.requests += 1;
            }
            _ => {}
        }
    }
}

/// `ResponseValue::from_response` becomes `crate::calls::response_value`.
struct Responses;

impl VisitMut for Responses {
    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        let segments: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if segments == ["ResponseValue", "from_response"] {
            *p = parse_quote!(crate::calls::response_value);
        }
    }
}
