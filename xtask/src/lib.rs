//! `cargo xtask update-spec`: compare upstream's OpenAPI documents with ours, and update them.

pub mod diff;
pub mod names;
pub mod proof;
pub mod record;
pub mod semver;
pub mod spec;

/// The build's own normalisation: what the generated API is made from.
#[allow(dead_code)]
#[path = "../../codegen/normalize.rs"]
mod normalize;

/// The build's renderer of open enums and unions: their variant names.
#[allow(dead_code)]
#[path = "../../codegen/render.rs"]
mod render;

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where Sinch publishes the Conversation API document.
pub const UPSTREAM_URL: &str =
    "https://developers.sinch.com/_bundle/docs/conversation/api-reference/conversation.yaml";

/// Where Sinch publishes the Template Management API document (v2; v1 was retired on
/// 2026-01-31). Based on the "Download OpenAPI description" links of the Template Management API
/// reference on developers.sinch.com, whose page data lists
/// `/_bundle/docs/conversation/api-reference/template.yaml?download` (and `template.json?download`,
/// which is archived as an OpenAPI 3.1 document): the same `_bundle` scheme as [`UPSTREAM_URL`],
/// without the `?download` that only makes browsers save the file. Upstream's document is
/// self-contained (message types inlined) where ours refers to conversation.yaml, so expect a
/// large diff and a careful review before a `--write`.
pub const TEMPLATES_URL: &str =
    "https://developers.sinch.com/_bundle/docs/conversation/api-reference/template.yaml";

/// Where Sinch publishes the Conversation Batch API document. Based on the "Download OpenAPI
/// description" link of the Batch API reference (docs/conversation/api-reference/batch-api/batch),
/// a stable `_bundle` path like [`UPSTREAM_URL`]; the hashed
/// `developers.sinch.com/<hash>/batch.yaml` copies seen elsewhere change with every publication.
pub const BATCH_URL: &str =
    "https://developers.sinch.com/_bundle/docs/conversation/api-reference/batch-api/batch.yaml";

pub const USAGE: &str = "\
usage: cargo xtask update-spec [--doc DOC[,DOC...]]... [--url URL | --from FILE]
                               [--spec PATH | --spec-dir DIR] [--root DIR]
                               [--write [--force] | --check]

Downloads upstream's OpenAPI documents, prints a semantic diff of each against the vendored copy,
and optionally replaces them. The documents (default: all three):

  conversation  Conversation API v1          spec/conversation.yaml
  templates     Template Management API v2   spec/templates.yaml
  batch         Conversation Batch API       spec/batch.yaml

Each change is shown with its semver impact on the generated Rust API, `[patch|minor|major:
reason]` (patch: the generated API does not change; minor: additive; major: code that compiled or
worked may no longer), and one `Semver verdict:` line gives the highest for the whole update.

spec/callbacks.yaml (webhook payloads) is ours: upstream publishes no such document, so it is
never downloaded or replaced, but the name check reads it.

  --doc DOC       only these documents; repeatable, or a comma-separated list
  --url URL       download the document from URL instead of upstream's (one document only;
                  XTASK_URL_CONVERSATION, XTASK_URL_TEMPLATES, XTASK_URL_BATCH do the same per
                  document)
  --from FILE     read the document from a local file instead (one document only; offline)
  --spec PATH     the document's vendored copy (one document only; SOURCE.toml goes beside it)
  --spec-dir DIR  the directory of the vendored documents and SOURCE.toml (default: spec/ of
                  the workspace)
  --root DIR      the workspace whose hand-written code the name check reads (default: this one)
  --write         replace the documents that changed and record their sources in SOURCE.toml
  --force         with --write: write even when the name check fails (the list is a warning)
  --check         exit 1 if any document differs, 0 if not (for scheduled CI)

--url, --from and --spec apply to exactly one document: the one --doc names, or conversation
when there is no --doc.

Before writing, the name check makes sure every generated name the hand-written code (src/,
examples/, build.rs, codegen/) uses and the current documents define still exists in the new
ones: types (types::X, templates::types::X, batch::types::X), builder methods and operationIds,
and every conversation.yaml#/... reference of callbacks.yaml, templates.yaml and batch.yaml.

--write writes all or nothing: every selected document must load and the name check must pass
(or --force); then each changed document and SOURCE.toml (one [table] per document, other
tables kept) are staged beside their targets and renamed into place. An error leaves every file
as it was.

Exit codes: 0 done (or no drift), 1 drift found with --check, 2 error (a document that could not
be read, or a write refused by the name check).";

pub const PROOF_USAGE: &str = "\
usage: cargo xtask semver-proof

Proves that update-spec's semver verdicts hold for the generated crate: applies the additive
change in xtask/semver-proof.yaml to a copy of this crate's spec/, builds the rustdoc JSON of this
checkout and of the copy (in the workspace's target directory, with the docs.rs features), and runs
cargo-semver-checks (installed separately: cargo install cargo-semver-checks --locked) both ways
with --release-type minor. The change must pass; undone, it must fail with each lint the plan
lists; update-spec's classifier must call them minor and major. On a failure the two JSON files
stay in target/semver-proof/.

Exit codes: 0 proven, 1 an expectation failed, 2 error (no cargo-semver-checks, a build failed).";

/// One of the documents upstream publishes and we vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Doc {
    /// Conversation API v1.
    Conversation,
    /// Template Management API v2.
    Templates,
    /// Conversation Batch API.
    Batch,
}

impl Doc {
    /// Every document, in the order they are processed and recorded.
    pub const ALL: [Doc; 3] = [Doc::Conversation, Doc::Templates, Doc::Batch];

    /// The name used by `--doc`, section headers and SOURCE.toml tables.
    pub fn name(self) -> &'static str {
        match self {
            Doc::Conversation => "conversation",
            Doc::Templates => "templates",
            Doc::Batch => "batch",
        }
    }

    /// The vendored file's name in `spec/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Doc::Conversation => "conversation.yaml",
            Doc::Templates => "templates.yaml",
            Doc::Batch => "batch.yaml",
        }
    }

    /// Where upstream publishes it.
    pub fn upstream_url(self) -> &'static str {
        match self {
            Doc::Conversation => UPSTREAM_URL,
            Doc::Templates => TEMPLATES_URL,
            Doc::Batch => BATCH_URL,
        }
    }

    /// The path the hand-written code names its generated types by.
    pub fn types_path(self) -> &'static str {
        match self {
            Doc::Conversation => "types::",
            Doc::Templates => "templates::types::",
            Doc::Batch => "batch::types::",
        }
    }

    /// The environment variable that overrides its URL.
    pub fn url_env(self) -> String {
        format!("XTASK_URL_{}", self.name().to_ascii_uppercase())
    }

    pub fn parse(s: &str) -> Result<Doc, String> {
        match s {
            "conversation" => Ok(Doc::Conversation),
            "templates" => Ok(Doc::Templates),
            "batch" => Ok(Doc::Batch),
            "callbacks" => Err(
                "callbacks.yaml is our own document (upstream publishes none): it is never downloaded"
                    .into(),
            ),
            other => Err(format!(
                "unknown document {other:?} (expected conversation, templates or batch)"
            )),
        }
    }
}

impl std::fmt::Display for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The documents to compare, in [`Doc::ALL`] order, without duplicates.
    pub docs: Vec<Doc>,
    /// `--url` / `--from`: where the one selected document comes from.
    pub source: Option<Source>,
    /// `--spec`: the one selected document's vendored copy.
    pub spec: Option<PathBuf>,
    /// The directory of the vendored documents (ignored with `spec`, whose directory it is).
    pub spec_dir: PathBuf,
    /// The workspace whose hand-written code the name check reads.
    pub root: PathBuf,
    /// Replace the vendored documents.
    pub write: bool,
    /// Write even when the name check fails.
    pub force: bool,
    /// Fail on drift.
    pub check: bool,
}

impl Options {
    /// The directory of the vendored documents and SOURCE.toml.
    pub fn spec_dir(&self) -> PathBuf {
        match &self.spec {
            Some(p) => match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            },
            None => self.spec_dir.clone(),
        }
    }

    /// A document's vendored copy.
    pub fn spec_path(&self, doc: Doc) -> PathBuf {
        match &self.spec {
            Some(p) if self.docs == [doc] => p.clone(),
            _ => self.spec_dir().join(doc.file_name()),
        }
    }

    /// Where a document's new version comes from: `--url`/`--from`, else `XTASK_URL_<DOC>`,
    /// else upstream.
    pub fn source_for(&self, doc: Doc) -> Source {
        if let Some(s) = &self.source {
            return s.clone();
        }
        match std::env::var(doc.url_env()) {
            Ok(u) if !u.is_empty() => Source::Url(u),
            _ => Source::Url(doc.upstream_url().into()),
        }
    }
}

/// Where the new spec comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Download it.
    Url(String),
    /// Read a local file.
    File(PathBuf),
}

/// The result of a successful run.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every document is semantically equal to its vendored copy.
    NoChanges,
    /// Some differ (printed); with `--write` the changed ones were replaced.
    Changed { written: bool },
}

/// The run failed; what went wrong has been written to the error stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Reported;

/// Parses the arguments after `update-spec`; `root` is the workspace (its `spec/` holds the
/// vendored documents).
pub fn parse_args<I: IntoIterator<Item = String>>(
    args: I,
    root: PathBuf,
) -> Result<Options, String> {
    let (mut docs, mut url, mut from, mut spec, mut spec_dir, mut root_arg) =
        (Vec::new(), None, None, None, None, None);
    let (mut write, mut check, mut force) = (false, false, false);
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--doc" => {
                for part in value("--doc")?.split(',').map(str::trim) {
                    if !part.is_empty() {
                        docs.push(Doc::parse(part)?);
                    }
                }
            }
            "--url" => url = Some(value("--url")?),
            "--from" => from = Some(PathBuf::from(value("--from")?)),
            "--spec" => spec = Some(PathBuf::from(value("--spec")?)),
            "--spec-dir" => spec_dir = Some(PathBuf::from(value("--spec-dir")?)),
            "--root" => root_arg = Some(PathBuf::from(value("--root")?)),
            "--write" => write = true,
            "--check" => check = true,
            "--force" => force = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if write && check {
        return Err("--write and --check exclude each other".into());
    }
    if force && !write {
        return Err("--force only applies to --write".into());
    }
    if spec.is_some() && spec_dir.is_some() {
        return Err("--spec and --spec-dir exclude each other".into());
    }
    let source = match (url, from) {
        (Some(_), Some(_)) => return Err("--url and --from exclude each other".into()),
        (Some(u), None) => Some(Source::Url(u)),
        (None, Some(f)) => Some(Source::File(f)),
        (None, None) => None,
    };
    let single = source.is_some() || spec.is_some();
    docs.sort();
    docs.dedup();
    if docs.is_empty() {
        docs = if single {
            vec![Doc::Conversation]
        } else {
            Doc::ALL.to_vec()
        };
    }
    if single && docs.len() != 1 {
        return Err(format!(
            "--url, --from and --spec apply to one document, but {} are selected; pick one with --doc",
            docs.len()
        ));
    }
    let root = root_arg.unwrap_or(root);
    Ok(Options {
        docs,
        source,
        spec,
        spec_dir: spec_dir.unwrap_or_else(|| root.join("spec")),
        root,
        write,
        force,
        check,
    })
}

/// One document's vendored and new versions.
struct Candidate {
    doc: Doc,
    /// The vendored copy.
    path: PathBuf,
    /// Where the new version came from (a URL, or `file://…`).
    origin: String,
    current: serde_json::Value,
    new: serde_json::Value,
    converted: bool,
    /// What `--write` puts in `path`.
    to_write: Vec<u8>,
    diff: diff::Diff,
}

fn candidate(opts: &Options, doc: Doc) -> Result<Candidate, String> {
    let path = opts.spec_path(doc);
    let (bytes, origin) = match opts.source_for(doc) {
        Source::Url(url) => (fetch(&url)?, url),
        Source::File(path) => (
            std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?,
            format!("file://{}", absolute(&path).display()),
        ),
    };
    let new = spec::load(&bytes, &origin).map_err(|e| e.to_string())?;
    let current_bytes = std::fs::read(&path)
        .map_err(|e| format!("reading the vendored spec {}: {e}", path.display()))?;
    let current =
        spec::load(&current_bytes, &path.display().to_string()).map_err(|e| e.to_string())?;
    // What the build reads: the bytes as published, or our conversion when it was 3.1.
    let to_write = if new.converted {
        serde_norway::to_string(&new.doc)
            .map_err(|e| format!("serializing the converted spec: {e}"))?
            .into_bytes()
    } else {
        bytes
    };
    // Callback payloads are read from the API like responses: their schemas' role counts.
    let mut callback_roots = std::collections::BTreeSet::new();
    if doc == Doc::Conversation {
        if let Some(callbacks) = read_yaml(&opts.spec_dir().join("callbacks.yaml"))? {
            let mut refs = std::collections::BTreeSet::new();
            names::external_refs(&callbacks, doc.file_name(), &mut refs);
            callback_roots.extend(
                refs.iter()
                    .filter_map(|r| r.strip_prefix("/components/schemas/"))
                    .map(str::to_owned),
            );
        }
    }
    Ok(Candidate {
        doc,
        diff: diff::diff_with(&current.doc, &new.doc, &callback_roots),
        path,
        origin,
        current: current.doc,
        new: new.doc,
        converted: new.converted,
        to_write,
    })
}

/// Runs the command: a section per document on `out`, errors and warnings on `err`. Nothing is
/// written unless every selected document loaded and the name check passed (or `--force`).
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, Reported> {
    let mut candidates = Vec::new();
    let mut failed = false;
    for &doc in &opts.docs {
        match candidate(opts, doc) {
            Ok(c) => {
                let mut section = format!("== {doc} ({})\n", c.origin);
                if c.converted {
                    section.push_str(&format!(
                        "note: {} is OpenAPI 3.1; converted to 3.0.3\n",
                        c.origin
                    ));
                }
                section.push_str(&c.diff.to_string());
                say(out, err, &section)?;
                candidates.push(c);
            }
            Err(e) => {
                fail(err, format!("{doc}: {e}"));
                failed = true;
            }
        }
    }
    if failed {
        return Err(Reported);
    }
    if candidates.iter().all(|c| c.diff.is_empty()) {
        return Ok(Outcome::NoChanges);
    }

    // One line for the whole update: the highest impact of any change in any document.
    let impacts = candidates
        .iter()
        .flat_map(|c| c.diff.changes())
        .map(|c| &c.impact);
    if let Some(v) = semver::verdict(impacts) {
        say(out, err, &format!("Semver verdict: {v}\n"))?;
    }
    let report = name_check(opts, &candidates).map_err(|e| fail(err, e))?;
    let list: String = report
        .missing
        .iter()
        .map(|m| format!("  - {m}\n"))
        .collect();
    if report.missing.is_empty() {
        say(
            out,
            err,
            &format!(
                "Names the hand-written layer uses: {} checked, all present\n",
                report.checked
            ),
        )?;
    } else if !opts.write {
        say(
            out,
            err,
            &format!(
                "Names the hand-written layer uses: {} checked, {} missing (--write would refuse):\n{list}",
                report.checked,
                report.missing.len()
            ),
        )?;
    } else if !opts.force {
        return Err(fail(
            err,
            format!(
                "refusing to write: the hand-written layer uses {} name(s) the new document(s) lack \
                 (fix the code first, or write anyway with --force):\n{list}",
                report.missing.len()
            ),
        ));
    } else {
        let _ = write!(
            err,
            "warning: writing anyway (--force); the hand-written layer uses {} name(s) the new \
             document(s) lack:\n{list}",
            report.missing.len()
        );
    }
    if !opts.write {
        return Ok(Outcome::Changed { written: false });
    }
    let written = write_all(opts, &candidates).map_err(|e| fail(err, e))?;
    say(out, err, &format!("wrote {written}\n"))?;
    Ok(Outcome::Changed { written: true })
}

/// The name check over the documents as they are (old) and as they would be after the update
/// (new): selected documents from their candidates, the others as vendored.
fn name_check(opts: &Options, candidates: &[Candidate]) -> Result<names::Report, String> {
    let dir = opts.spec_dir();
    let (mut old, mut new) = (names::Docs::new(), names::Docs::new());
    for doc in Doc::ALL {
        if let Some(c) = candidates.iter().find(|c| c.doc == doc) {
            old.insert(doc, c.current.clone());
            new.insert(doc, c.new.clone());
        } else if let Some(v) = read_yaml(&dir.join(doc.file_name()))? {
            old.insert(doc, v.clone());
            new.insert(doc, v);
        }
    }
    let callbacks = read_yaml(&dir.join("callbacks.yaml"))?;
    let usage = names::Usage::scan(&opts.root)?;
    Ok(names::check(&usage, &old, &new, callbacks.as_ref()))
}

/// A YAML file as JSON, `None` if it does not exist.
fn read_yaml(path: &Path) -> Result<Option<serde_json::Value>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_norway::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: not valid YAML: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Stages every changed document and SOURCE.toml, then renames them into place; on an error
/// before the renames nothing has changed. Returns what was written, for the report.
fn write_all(opts: &Options, candidates: &[Candidate]) -> Result<String, String> {
    let source_path = opts.spec_dir().join("SOURCE.toml");
    let mut toml = match std::fs::read_to_string(&source_path) {
        Ok(text) => record::SourceToml::parse(&text)
            .map_err(|e| format!("{}: {e}", source_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => record::SourceToml::default(),
        Err(e) => return Err(format!("reading {}: {e}", source_path.display())),
    };
    let retrieved = rfc3339(SystemTime::now());
    let mut targets: Vec<(&Path, Vec<u8>)> = Vec::new();
    for c in candidates.iter().filter(|c| !c.diff.is_empty()) {
        let digest: String = Sha256::digest(&c.to_write)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        toml.set(
            c.doc.name(),
            &record::Record {
                url: c.origin.clone(),
                retrieved: retrieved.clone(),
                sha256: digest,
                converted_from_3_1: c.converted,
            },
        );
        targets.push((&c.path, c.to_write.clone()));
    }
    let order: Vec<&str> = Doc::ALL.iter().map(|d| d.name()).collect();
    targets.push((&source_path, toml.render(&order).into_bytes()));

    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    for (target, bytes) in &targets {
        match stage(target, bytes) {
            Ok(tmp) => staged.push((tmp, target)),
            Err(e) => {
                for (tmp, _) in &staged {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(e);
            }
        }
    }
    let mut done = Vec::new();
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = commit(tmp, target) {
            for (tmp, _) in &staged[i + 1..] {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(e);
        }
        done.push(target.display().to_string());
    }
    let last = done.pop().unwrap_or_default();
    Ok(if done.is_empty() {
        last
    } else {
        format!("{} and {last}", done.join(", "))
    })
}

/// Reports an error on `err`.
fn fail(err: &mut dyn Write, msg: impl std::fmt::Display) -> Reported {
    let _ = writeln!(err, "error: {msg}");
    Reported
}

/// Writes to `out`; a failure to do so is reported on `err`.
fn say(out: &mut dyn Write, err: &mut dyn Write, text: &str) -> Result<(), Reported> {
    out.write_all(text.as_bytes())
        .map_err(|e| fail(err, format!("writing output: {e}")))
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Downloads `url`; any transport failure or non-2xx status is an error naming both.
pub fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "sinch-conversation-xtask/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    let resp = client
        .get(url)
        .send()
        .map_err(|e| format!("downloading {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("downloading {url}: HTTP {status}"));
    }
    Ok(resp
        .bytes()
        .map_err(|e| format!("downloading {url}: {e}"))?
        .to_vec())
}

/// Writes `bytes` to a temporary file beside `target` and flushes it to disk.
fn stage(target: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    result.map(|()| tmp.clone()).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", tmp.display())
    })
}

/// Moves a staged file into place (atomic on the same file system).
fn commit(tmp: &Path, target: &Path) -> Result<(), String> {
    std::fs::rename(tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        format!("replacing {}: {e}", target.display())
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_736_760_161)),
            "2025-01-13T09:22:41Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn arguments() {
        let root = PathBuf::from("/ws");
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()), root.clone());
        let o = args(&[]).unwrap();
        assert_eq!(o.docs, Doc::ALL);
        assert_eq!((&o.source, &o.spec), (&None, &None));
        assert_eq!(o.spec_dir, PathBuf::from("/ws/spec"));
        assert_eq!(
            o.spec_path(Doc::Batch),
            PathBuf::from("/ws/spec/batch.yaml")
        );
        assert_eq!(
            o.source_for(Doc::Conversation),
            Source::Url(UPSTREAM_URL.into())
        );

        // --from (or --url, --spec) alone means the conversation document, as before.
        let o = args(&["--from", "x.yaml", "--check"]).unwrap();
        assert_eq!(o.docs, [Doc::Conversation]);
        assert_eq!(
            (o.source_for(Doc::Conversation), o.check),
            (Source::File("x.yaml".into()), true)
        );
        let o = args(&["--spec", "d/c.yaml"]).unwrap();
        assert_eq!(
            (o.spec_dir(), o.spec_path(Doc::Conversation)),
            (PathBuf::from("d"), PathBuf::from("d/c.yaml"))
        );

        let o = args(&["--doc", "batch,templates", "--doc", "batch", "--root", "/r"]).unwrap();
        assert_eq!(o.docs, [Doc::Templates, Doc::Batch]);
        assert_eq!(
            (o.root.clone(), o.spec_dir()),
            ("/r".into(), "/r/spec".into())
        );
        let o = args(&["--doc", "templates", "--url", "u", "--spec-dir", "s"]).unwrap();
        assert_eq!(
            o.spec_path(Doc::Templates),
            PathBuf::from("s/templates.yaml")
        );
        assert_eq!(o.source_for(Doc::Templates), Source::Url("u".into()));
        let o = args(&["--write", "--force"]).unwrap();
        assert!(o.write && o.force);

        for bad in [
            &["--write", "--check"][..],
            &["--force"],
            &["--url", "a", "--from", "b"],
            &["--url"],
            &["--bogus"],
            &["--doc", "nope"],
            &["--doc", "callbacks"],
            &["--doc", "conversation,batch", "--url", "u"],
            &["--doc", "templates", "--doc", "batch", "--from", "f"],
            &["--spec", "a", "--spec-dir", "b"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }
}
