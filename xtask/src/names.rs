//! The name check: would the hand-written layer still find every generated name it uses?
//!
//! The hand-written code (every `.rs` file under `src/` and `examples/`, `build.rs` and
//! `codegen/*.rs`; not tests or benches) is read with a small Rust lexer, not compiled. It yields:
//! - type paths: `types::Name` (also `crate::types::`, `sinch_conversation::types::`, names in
//!   `use …::types::{A, B as C, nested::{…}}` groups, and `types::builder::Name`), attributed to
//!   the conversation document, or to templates / batch when the segment before `types` is
//!   `templates` / `batch` (or the file binds `types` to one of those with `use`);
//! - method calls `.ident(`, compared with the snake_case of each operationId (progenitor's
//!   builder methods, `Messages_SendMessage` -> `messages_send_message`);
//! - operation builder paths `builder::Name` (progenitor's PascalCase of an operationId);
//! - string literals, compared with operationIds (`"Messages_SendMessage"` in `build.rs`).
//!
//! A document's type names are what the build generates: `rust_name` of every component schema
//! after the build's own normalisation (`codegen/normalize.rs`, which also names inline enums).
//! The conversation module also holds the schemas of `callbacks.yaml` (ours, never downloaded).
//! A name is required only when the code uses it and the *current* document (or callbacks.yaml)
//! defines it: a used name the document never had comes from elsewhere. Each external
//! `conversation.yaml#/…` reference in callbacks.yaml, templates.yaml and batch.yaml must
//! resolve in the new conversation document.
//!
//! Limits: names reached only through macro arguments (`events! { Kind(SomeEvent) … }` expanding
//! to `types::$ty`), glob imports (`use crate::types::*`) or type aliases are not seen; comments
//! are read like code (doc examples are compiled by `cargo test`), so a name mentioned only in a
//! comment counts as used.

use crate::normalize;
use crate::Doc;
use heck::ToSnakeCase;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the hand-written code uses; each name with the first file that uses it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Generated type names by the document whose module they come from.
    pub types: BTreeMap<(Doc, String), String>,
    /// Identifiers called as methods (`.name(`).
    pub methods: BTreeMap<String, String>,
    /// Names after a `builder::` segment that is not `types::builder::`.
    pub builders: BTreeMap<String, String>,
    /// String literals that could be operationIds (no spaces, at most 100 characters).
    pub strings: BTreeMap<String, String>,
}

impl Usage {
    /// Reads the hand-written code under `root`. Missing directories are fine (a small test
    /// workspace); unreadable files are errors.
    pub fn scan(root: &Path) -> Result<Usage, String> {
        let mut files = Vec::new();
        for dir in ["src", "examples"] {
            collect_rs(&root.join(dir), true, &mut files)?;
        }
        collect_rs(&root.join("codegen"), false, &mut files)?;
        let build = root.join("build.rs");
        if build.is_file() {
            files.push(build);
        }
        let mut usage = Usage::default();
        for f in files {
            let text =
                std::fs::read_to_string(&f).map_err(|e| format!("reading {}: {e}", f.display()))?;
            let label = f
                .strip_prefix(root)
                .unwrap_or(&f)
                .to_string_lossy()
                .replace('\\', "/");
            usage.add_source(&label, &text);
        }
        Ok(usage)
    }

    /// Adds what one file uses.
    pub fn add_source(&mut self, label: &str, text: &str) {
        let mut toks = Vec::new();
        lex(text, &mut toks);
        let paths = collect_paths(&toks);

        // `use …::templates::types;` makes a bare `types::X` in this file a templates type.
        let mut bindings: BTreeMap<String, Doc> = BTreeMap::new();
        for p in paths.iter().filter(|p| p.is_use) {
            let segs = &p.segs;
            let k = match segs.iter().rposition(|s| s == "types") {
                Some(k) if k + 1 == segs.len() => k,
                Some(k) if k + 2 == segs.len() && segs[k + 1] == "self" => k,
                _ => continue,
            };
            let doc = module_of(segs, k, &BTreeMap::new());
            bindings.insert(p.alias.clone().unwrap_or_else(|| "types".into()), doc);
        }

        fn first<K: Ord>(m: &mut BTreeMap<K, String>, k: K, label: &str) {
            m.entry(k).or_insert_with(|| label.to_string());
        }
        for p in &paths {
            let segs = &p.segs;
            let (doc, rest) = if let Some(k) = segs.iter().position(|s| s == "types") {
                (module_of(segs, k, &bindings), &segs[k + 1..])
            } else if let Some(doc) = segs
                .first()
                .filter(|_| segs.len() > 1)
                .and_then(|s| bindings.get(s))
            {
                (*doc, &segs[1..])
            } else {
                if let Some(k) = segs.iter().position(|s| s == "builder") {
                    if let Some(name) = segs.get(k + 1) {
                        first(&mut self.builders, name.clone(), label);
                    }
                }
                continue;
            };
            let rest = match rest.first() {
                Some(b) if b == "builder" => &rest[1..],
                _ => rest,
            };
            if let Some(name) = rest.first().filter(|n| n.as_str() != "self") {
                first(&mut self.types, (doc, name.clone()), label);
            }
        }

        for w in toks.windows(3) {
            if let [Tok::P('.'), Tok::Ident(name), Tok::P('(')] = w {
                first(&mut self.methods, name.clone(), label);
            }
        }
        for t in &toks {
            if let Tok::Str(s) = t {
                if !s.is_empty() && s.len() <= 100 && !s.chars().any(char::is_whitespace) {
                    first(&mut self.strings, s.clone(), label);
                }
            }
        }
    }
}

/// The document a `types` segment at `segs[k]` belongs to.
fn module_of(segs: &[String], k: usize, bindings: &BTreeMap<String, Doc>) -> Doc {
    if k == 0 {
        return bindings.get("types").copied().unwrap_or(Doc::Conversation);
    }
    match segs[k - 1].as_str() {
        "templates" => Doc::Templates,
        "batch" => Doc::Batch,
        _ => Doc::Conversation,
    }
}

fn collect_rs(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("listing {}: {e}", dir.display()))?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                collect_rs(&p, true, out)?;
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// What the check found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Required names looked for.
    pub checked: usize,
    /// Required names the new documents lack, one line each.
    pub missing: Vec<String>,
}

/// The documents on one side of the update; a document absent from the map is not vendored.
pub type Docs = BTreeMap<Doc, Value>;

/// Compares what `usage` needs from the `old` documents with what the `new` ones provide.
/// `callbacks` is our callbacks.yaml, merged into the conversation module and never replaced.
pub fn check(usage: &Usage, old: &Docs, new: &Docs, callbacks: Option<&Value>) -> Report {
    let mut report = Report::default();
    let callback_types = callbacks.map(|c| type_names(c).0).unwrap_or_default();

    for doc in Doc::ALL {
        let file = doc.file_name();
        let Some(old_doc) = old.get(&doc) else {
            continue;
        };
        let new_doc = new.get(&doc).unwrap_or(old_doc);
        let (mut old_types, _) = type_names(old_doc);
        let (mut new_types, err) = type_names(new_doc);
        if let Some(e) = err {
            report.missing.push(format!(
                "{file}: the build's normalisation rejects the new document: {e}"
            ));
        }
        if doc == Doc::Conversation {
            old_types.extend(callback_types.iter().cloned());
            new_types.extend(callback_types.iter().cloned());
        }
        for ((d, name), at) in &usage.types {
            if *d == doc && old_types.contains(name) {
                report.checked += 1;
                if !new_types.contains(name) {
                    report.missing.push(format!(
                        "{}{name} (a schema of {file}; used in {at})",
                        doc.types_path()
                    ));
                }
            }
        }

        let (old_ops, new_ops) = (operation_ids(old_doc), operation_ids(new_doc));
        let new_methods: BTreeSet<String> = new_ops.iter().map(|id| id.to_snake_case()).collect();
        let new_builders: BTreeSet<String> =
            new_ops.iter().map(|id| normalize::rust_name(id)).collect();
        for id in &old_ops {
            let method = id.to_snake_case();
            if let Some(at) = usage.methods.get(&method) {
                report.checked += 1;
                if !new_methods.contains(&method) {
                    report.missing.push(format!(
                        ".{method}() (operation {id} of {file}; used in {at})"
                    ));
                }
            }
            let builder = normalize::rust_name(id);
            if let Some(at) = usage.builders.get(&builder) {
                report.checked += 1;
                if !new_builders.contains(&builder) {
                    report.missing.push(format!(
                        "builder::{builder} (operation {id} of {file}; used in {at})"
                    ));
                }
            }
            if let Some(at) = usage.strings.get(id) {
                report.checked += 1;
                if !new_ops.contains(id) {
                    report
                        .missing
                        .push(format!("{id:?} (an operationId of {file}; used in {at})"));
                }
            }
        }
    }

    // References into conversation.yaml from our other documents, as they will be after the
    // update, must resolve in the conversation document as it will be.
    if let Some(conversation) = new.get(&Doc::Conversation) {
        let mut sources: Vec<(&str, &Value)> = Vec::new();
        if let Some(c) = callbacks {
            sources.push(("callbacks.yaml", c));
        }
        for doc in [Doc::Templates, Doc::Batch] {
            if let Some(d) = new.get(&doc) {
                sources.push((doc.file_name(), d));
            }
        }
        for (file, d) in sources {
            let mut refs = BTreeSet::new();
            external_refs(d, Doc::Conversation.file_name(), &mut refs);
            for fragment in refs {
                report.checked += 1;
                if conversation.pointer(&fragment).is_none() {
                    report.missing.push(format!(
                        "{file} -> {}#{fragment}",
                        Doc::Conversation.file_name()
                    ));
                }
            }
        }
    }
    report
}

/// The Rust type names the build generates for a document's component schemas, and the
/// normalisation's error when it rejects the document (then the names are the raw ones).
pub fn type_names(doc: &Value) -> (BTreeSet<String>, Option<String>) {
    let mut copy = doc.clone();
    let err = normalize::normalize(&mut copy).err();
    let source = if err.is_some() { doc } else { &copy };
    let names = source
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(|k| normalize::rust_name(k)).collect())
        .unwrap_or_default();
    (names, err)
}

/// Every operationId of a document.
pub fn operation_ids(doc: &Value) -> BTreeSet<String> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut out = BTreeSet::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            for m in METHODS {
                if let Some(id) = item.pointer(&format!("/{m}/operationId")) {
                    if let Some(id) = id.as_str() {
                        out.insert(id.to_string());
                    }
                }
            }
        }
    }
    out
}

/// The JSON-pointer fragments of every `$ref` into `file` (`file#/components/…`).
pub fn external_refs(v: &Value, file: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "$ref" {
                    if let Some(r) = child.as_str() {
                        let r = r.strip_prefix("./").unwrap_or(r);
                        if let Some(frag) = r.strip_prefix(file).and_then(|r| r.strip_prefix('#')) {
                            out.insert(frag.to_string());
                        }
                    }
                } else {
                    external_refs(child, file, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| external_refs(c, file, out)),
        _ => {}
    }
}

// ---- A lexer good enough to find paths, method calls and string literals in Rust. ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    /// `::`
    Sep,
    P(char),
}

/// Tokenizes Rust source. Line comments are tokenized too (doc examples are code), each on
/// its own so an apostrophe or a stray quote in prose cannot swallow what follows; block
/// comments are skipped; numbers are dropped.
fn lex(text: &str, out: &mut Vec<Tok>) {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            let body: String = c[i + 2..end].iter().collect();
            lex(body.trim_start_matches(['/', '!']), out);
            i = end;
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some((s, next)) = string_at(&c, i) {
            out.push(Tok::Str(s));
            i = next;
        } else if ch == '"' {
            // Unterminated (in a comment line): just a character.
            out.push(Tok::P('"'));
            i += 1;
        } else if ch == '\'' {
            // A char literal, else a lifetime or an apostrophe.
            if at(i + 1) == '\\' {
                i = (i + 3..c.len().min(i + 14))
                    .find(|&j| c[j] == '\'')
                    .map_or(i + 1, |j| j + 1);
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                out.push(Tok::P('\''));
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = if ch == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
                i + 2
            } else {
                i
            };
            let mut j = start;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            out.push(Tok::Ident(c[start..j].iter().collect()));
            i = j;
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Tok::Sep);
            i += 2;
        } else {
            out.push(Tok::P(ch));
            i += 1;
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// A string literal starting at `i` (`"…"`, `b"…"`, `r"…"`, `r#"…"#`, `br#"…"#`, `c"…"`):
/// its (unescaped) content and the index after it; `None` if there is none or it is
/// unterminated.
fn string_at(c: &[char], i: usize) -> Option<(String, usize)> {
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    // Not the tail of an identifier (`for"` is not a prefix).
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if matches!(at(j), 'b' | 'c') {
        j += 1;
    }
    if at(j) == 'r' {
        j += 1;
        let hashes = (j..c.len()).take_while(|&k| c[k] == '#').count();
        j += hashes;
        if at(j) != '"' {
            return None;
        }
        let body = j + 1;
        let end =
            (body..c.len()).find(|&k| c[k] == '"' && (1..=hashes).all(|h| at(k + h) == '#'))?;
        return Some((c[body..end].iter().collect(), end + 1 + hashes));
    }
    if at(j) != '"' {
        return None;
    }
    let mut s = String::new();
    let mut k = j + 1;
    while k < c.len() {
        match c[k] {
            '"' => return Some((s, k + 1)),
            '\\' => {
                match at(k + 1) {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    '\n' => {
                        // Line continuation: skip the newline and leading whitespace.
                        k += 2;
                        while k < c.len() && c[k].is_whitespace() {
                            k += 1;
                        }
                        continue;
                    }
                    other => s.push(other),
                }
                k += 2;
            }
            ch => {
                s.push(ch);
                k += 1;
            }
        }
    }
    None
}

/// One path of the source, `use` groups expanded: `use a::{b, c::d as e}` gives `a::b` and
/// `a::c::d` (alias `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathRef {
    segs: Vec<String>,
    alias: Option<String>,
    is_use: bool,
}

fn collect_paths(toks: &[Tok]) -> Vec<PathRef> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(kw) if kw == "use" => {
                i += 1;
                if toks.get(i) == Some(&Tok::Sep) {
                    i += 1;
                }
                if matches!(toks.get(i), Some(Tok::Ident(_) | Tok::P('{'))) {
                    parse_tree(toks, &mut i, &[], true, &mut out);
                }
            }
            Tok::Ident(_) if i == 0 || toks[i - 1] != Tok::Sep => {
                parse_tree(toks, &mut i, &[], false, &mut out);
            }
            // A leading `::` (`::sinch_conversation::types::X`).
            Tok::Sep
                if (i == 0 || !matches!(toks[i - 1], Tok::Ident(_) | Tok::P('>')))
                    && matches!(toks.get(i + 1), Some(Tok::Ident(_))) =>
            {
                i += 1;
                parse_tree(toks, &mut i, &[], false, &mut out);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses `seg (:: seg)* [:: {tree, …} | :: *] [as alias]` from `toks[*i]` (an identifier or
/// `{`), always consuming at least one token.
fn parse_tree(
    toks: &[Tok],
    i: &mut usize,
    prefix: &[String],
    is_use: bool,
    out: &mut Vec<PathRef>,
) {
    let mut segs = prefix.to_vec();
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(s)) => {
                segs.push(s.clone());
                *i += 1;
            }
            Some(Tok::P('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        None => return,
                        Some(Tok::P('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Ident(_) | Tok::P('{')) => {
                            parse_tree(toks, i, &segs, is_use, out)
                        }
                        Some(_) => *i += 1,
                    }
                }
            }
            Some(Tok::P('*')) => {
                *i += 1;
                return;
            }
            _ => {
                *i += 1;
                return;
            }
        }
        let continues = toks.get(*i) == Some(&Tok::Sep)
            && matches!(
                toks.get(*i + 1),
                Some(Tok::Ident(_) | Tok::P('{') | Tok::P('*'))
            );
        if !continues {
            break;
        }
        *i += 1;
    }
    let mut alias = None;
    if is_use && toks.get(*i) == Some(&Tok::Ident("as".into())) {
        if let Some(Tok::Ident(a)) = toks.get(*i + 1) {
            alias = Some(a.clone());
            *i += 2;
        }
    }
    out.push(PathRef {
        segs,
        alias,
        is_use,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn usage(src: &str) -> Usage {
        let mut u = Usage::default();
        u.add_source("src/lib.rs", src);
        u
    }

    fn types_of(u: &Usage, doc: Doc) -> Vec<&str> {
        u.types
            .keys()
            .filter(|(d, _)| *d == doc)
            .map(|(_, n)| n.as_str())
            .collect()
    }

    #[test]
    fn paths_and_use_groups() {
        let u = usage(
            r#"
use crate::types::{self, ConversationChannel as Channel, nested::{Inner, deeper::{Deepest}}};
use sinch_conversation::types::{AppMessage, Recipient};
use crate::{templates::types::{V2Template}, batch::types::SendBatchRequest};
fn f(r: &types::SendMessageRequest) -> crate::types::SendMessageResponse {
    let b = types::builder::Contact::default();
    let x: ::sinch_conversation::types::Rooted = todo!();
    let t = crate::templates::types::V2TemplateResponse::default();
    Vec::<types::Generic>::new()
}
"#,
        );
        let conv = types_of(&u, Doc::Conversation);
        for name in [
            "ConversationChannel",
            "AppMessage",
            "Recipient",
            "SendMessageRequest",
            "SendMessageResponse",
            "Contact",
            "Rooted",
            "Generic",
        ] {
            assert!(conv.contains(&name), "{name} in {conv:?}");
        }
        assert!(!conv.contains(&"self") && !conv.contains(&"builder"));
        // `types::{nested::{…}}`: the segment after `types` is `nested`, not a schema.
        assert!(conv.contains(&"nested"));
        assert_eq!(
            types_of(&u, Doc::Templates),
            ["V2Template", "V2TemplateResponse"]
        );
        assert_eq!(types_of(&u, Doc::Batch), ["SendBatchRequest"]);
        assert_eq!(
            u.types[&(Doc::Conversation, "SendMessageRequest".into())],
            "src/lib.rs"
        );
    }

    #[test]
    fn a_file_can_bind_types_to_another_module() {
        let u = usage(
            "use crate::templates::types;\nuse crate::batch::types as bt;\n\
             fn f(a: types::V2Template, b: bt::SendBatchRequest) {}",
        );
        assert_eq!(types_of(&u, Doc::Templates), ["V2Template"]);
        assert_eq!(types_of(&u, Doc::Batch), ["SendBatchRequest"]);
        assert!(types_of(&u, Doc::Conversation).is_empty());
    }

    #[test]
    fn methods_builders_and_strings() {
        let u = usage(
            r##"
// The client's `messages_send_message` isn't called here; "quote in prose
/// ```
/// client.app_list_apps().send().await?;
/// ```
fn f(client: &Client) {
    client
        .messages_send_message()
        .body(x);
    let _: crate::generated::builder::ContactListContacts = todo!();
    let id = "Messages_SendMessage";
    let raw = r#"Raw_Op"#;
    let not = "has space";
    let c = 'x'; let l: &'static str = "";
}
/* .block_comment_call() */
"##,
        );
        for m in ["messages_send_message", "body", "app_list_apps", "send"] {
            assert!(u.methods.contains_key(m), "{m}: {:?}", u.methods);
        }
        assert!(!u.methods.contains_key("block_comment_call"));
        assert!(u.builders.contains_key("ContactListContacts"));
        assert!(u.strings.contains_key("Messages_SendMessage"));
        assert!(u.strings.contains_key("Raw_Op"));
        assert!(!u.strings.contains_key("has space"));
        // Strings inside literals are not code: `"crate::types::{}"` names nothing.
        let u = usage(r#"format!("crate::types::{}", e.name); let y = "types::Hidden";"#);
        assert!(u.types.is_empty(), "{:?}", u.types);
    }

    fn doc(schemas: Value, ops: &[&str]) -> Value {
        let paths: serde_json::Map<String, Value> = ops
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    format!("/v1/projects/{{project_id}}/op{i}"),
                    json!({"post": {"operationId": id, "responses": {"200": {"description": "ok"}}}}),
                )
            })
            .collect();
        json!({"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}})
    }

    #[test]
    fn rust_names_include_hoisted_enums() {
        let d = doc(
            json!({"send-message_request": {"type": "object", "properties": {
                "kind": {"type": "string", "enum": ["A", "B"]}}}}),
            &[],
        );
        let (names, err) = type_names(&d);
        assert!(err.is_none());
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["SendMessageRequest", "SendMessageRequestKind"]
        );
    }

    #[test]
    fn only_used_names_of_the_old_document_are_required() {
        let u = usage(
            "use crate::types::{SendMessageRequest, FromElsewhere};\n\
             fn f(c: &C) { c.messages_send_message(); c.unrelated(); let _ = \"Messages_SendMessage\"; }\n\
             fn g(t: templates::types::V2Template) {}",
        );
        let old_conv = doc(
            json!({"SendMessageRequest": {"type": "object"}, "Unused": {"type": "object"}}),
            &["Messages_SendMessage"],
        );
        let old_tpl = doc(json!({"V2Template": {"type": "object"}}), &[]);
        let old: Docs = [
            (Doc::Conversation, old_conv.clone()),
            (Doc::Templates, old_tpl),
        ]
        .into_iter()
        .collect();

        // Unchanged: 4 required (type, method, string, templates type), none missing.
        let r = check(&u, &old, &old, None);
        assert_eq!(
            r,
            Report {
                checked: 4,
                missing: vec![]
            }
        );

        // Renamed schema and operation, dropped `Unused`: only the used names are reported.
        let new_conv = doc(
            json!({"SendMessageRequestV2": {"type": "object"}}),
            &["Messages_Send"],
        );
        let mut new = old.clone();
        new.insert(Doc::Conversation, new_conv);
        new.insert(Doc::Templates, doc(json!({}), &[]));
        let r = check(&u, &old, &new, None);
        assert_eq!(r.checked, 4);
        assert_eq!(
            r.missing,
            [
                "types::SendMessageRequest (a schema of conversation.yaml; used in src/lib.rs)",
                ".messages_send_message() (operation Messages_SendMessage of conversation.yaml; used in src/lib.rs)",
                "\"Messages_SendMessage\" (an operationId of conversation.yaml; used in src/lib.rs)",
                "templates::types::V2Template (a schema of templates.yaml; used in src/lib.rs)",
            ]
        );
    }

    #[test]
    fn callbacks_names_count_and_external_refs_must_resolve() {
        let u = usage("fn f(e: types::MessageInboundEvent, c: types::ConversationChannel) {}");
        let callbacks = json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
            "MessageInboundEvent": {"type": "object", "properties": {
                "channel": {"$ref": "conversation.yaml#/components/schemas/ConversationChannel"}}}}}});
        let conv = doc(
            json!({"ConversationChannel": {"type": "string", "enum": ["SMS"]}}),
            &[],
        );
        let batch = doc(
            json!({"SendBatchRequest": {"type": "object", "properties": {
                "m": {"$ref": "./conversation.yaml#/components/schemas/AppMessage"}}}}),
            &[],
        );
        let old: Docs = [(Doc::Conversation, conv.clone()), (Doc::Batch, batch)]
            .into_iter()
            .collect();
        let r = check(&u, &old, &old, Some(&callbacks));
        // Two used types (one from callbacks.yaml) and two references; AppMessage never existed.
        assert_eq!(r.checked, 4);
        assert_eq!(
            r.missing,
            ["batch.yaml -> conversation.yaml#/components/schemas/AppMessage"]
        );

        let mut new = old.clone();
        new.insert(
            Doc::Conversation,
            doc(json!({"Channel": {"type": "string"}}), &[]),
        );
        let r = check(&u, &old, &new, Some(&callbacks));
        assert_eq!(
            r.missing,
            [
                "types::ConversationChannel (a schema of conversation.yaml; used in src/lib.rs)",
                "callbacks.yaml -> conversation.yaml#/components/schemas/ConversationChannel",
                "batch.yaml -> conversation.yaml#/components/schemas/AppMessage",
            ]
        );
    }

    #[test]
    fn this_workspace_uses_its_documents_consistently() {
        // The real hand-written layer against the real vendored documents, unchanged.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let u = Usage::scan(&root).unwrap();
        assert!(u
            .types
            .contains_key(&(Doc::Conversation, "SendMessageRequest".into())));
        let mut docs = Docs::new();
        for d in Doc::ALL {
            if let Ok(text) = std::fs::read_to_string(root.join("spec").join(d.file_name())) {
                docs.insert(d, serde_norway::from_str(&text).unwrap());
            }
        }
        let r = check(&u, &docs, &docs, None);
        assert!(r.checked > 0);
        // Names may only go missing between different documents.
        assert!(
            r.missing.iter().all(|m| m.contains(" -> ")),
            "{:?}",
            r.missing
        );
    }
}
