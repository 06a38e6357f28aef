//! `cargo xtask semver-proof`: the update-spec verdicts checked against cargo-semver-checks on
//! a copy of this crate with an additive spec change (`xtask/semver-proof.yaml`).
//!
//! Two rustdoc JSON builds, both in the workspace's target directory so dependencies (and the
//! build script's dependencies) compile once and are shared with CI's other steps: this checkout
//! as it is (the baseline), and a copy whose spec has the change. cargo-semver-checks then
//! compares them both ways: the change must pass `--release-type minor`; undone, it must fail and
//! report each expected lint. The classifier must say minor and major for the same two.

use crate::diff;
use crate::semver::Level;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The plan's file, relative to the workspace root.
pub const PLAN: &str = "xtask/semver-proof.yaml";

/// What `xtask/semver-proof.yaml` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// JSON Patch operations by the spec file they apply to.
    pub additive: BTreeMap<String, Vec<Value>>,
    /// Lints cargo-semver-checks must report when the change is undone.
    pub undo_lints: Vec<String>,
}

impl Plan {
    pub fn parse(text: &str) -> Result<Plan, String> {
        let v: Value = serde_norway::from_str(text).map_err(|e| format!("{PLAN}: {e}"))?;
        let additive = v
            .get("additive")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{PLAN}: no `additive` map of spec files"))?
            .iter()
            .map(|(file, ops)| match ops.as_array() {
                Some(ops) => Ok((file.clone(), ops.clone())),
                None => Err(format!(
                    "{PLAN}: additive.{file} is not a list of operations"
                )),
            })
            .collect::<Result<_, _>>()?;
        let undo_lints = diff::strings(v.get("undo_lints"));
        Ok(Plan {
            additive,
            undo_lints,
        })
    }
}

/// Applies JSON Patch operations (`add`, `remove`, `replace`) to `doc`. Unlike RFC 6902, an
/// `add` of an object member that exists is an error: the change must be new to the spec.
pub fn apply(doc: &mut Value, ops: &[Value]) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("operation {i}: no `path`"))?;
        let fail = |what: &str| format!("operation {i} ({kind} {path}): {what}");
        let (parent, last) = path
            .rsplit_once('/')
            .ok_or_else(|| fail("not a JSON pointer"))?;
        let key = last.replace("~1", "/").replace("~0", "~");
        let target = doc
            .pointer_mut(parent)
            .ok_or_else(|| fail("its parent does not exist"))?;
        let value = || op.get("value").cloned().ok_or_else(|| fail("no `value`"));
        match (kind, target) {
            ("add", Value::Object(m)) => {
                if m.contains_key(&key) {
                    return Err(fail("already exists: the change is no longer new"));
                }
                m.insert(key, value()?);
            }
            ("add", Value::Array(a)) => {
                let at = if key == "-" {
                    a.len()
                } else {
                    key.parse()
                        .ok()
                        .filter(|n| *n <= a.len())
                        .ok_or_else(|| fail("bad index"))?
                };
                a.insert(at, value()?);
            }
            ("remove" | "replace", Value::Object(m)) => {
                if !m.contains_key(&key) {
                    return Err(fail("does not exist"));
                }
                if kind == "remove" {
                    m.remove(&key);
                } else {
                    m.insert(key, value()?);
                }
            }
            ("remove" | "replace", Value::Array(a)) => {
                let at: usize = key
                    .parse()
                    .ok()
                    .filter(|n| *n < a.len())
                    .ok_or_else(|| fail("bad index"))?;
                if kind == "remove" {
                    a.remove(at);
                } else {
                    a[at] = value()?;
                }
            }
            ("add" | "remove" | "replace", _) => return Err(fail("its parent is not a container")),
            _ => return Err(fail("unsupported operation (add, remove, replace)")),
        }
    }
    Ok(())
}

/// What the classifier makes of the plan's change on the real spec: one diff per file, forward
/// (the change) and backward (the change undone).
pub fn classify(root: &Path, plan: &Plan) -> Result<Vec<(String, diff::Diff, diff::Diff)>, String> {
    let mut out = Vec::new();
    for (file, ops) in &plan.additive {
        let path = root.join("spec").join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let old: Value =
            serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut new = old.clone();
        apply(&mut new, ops).map_err(|e| format!("{PLAN}, {file}: {e}"))?;
        out.push((file.clone(), diff::diff(&old, &new), diff::diff(&new, &old)));
    }
    Ok(out)
}

/// Runs the proof, reporting each step and its duration on `out`. `Ok(true)` when every
/// expectation held.
pub fn run(root: &Path, out: &mut dyn Write) -> Result<bool, String> {
    let started = Instant::now();
    let say = |out: &mut dyn Write, s: String| {
        let _ = writeln!(out, "{s}");
        let _ = out.flush();
    };
    let plan_text =
        std::fs::read_to_string(root.join(PLAN)).map_err(|e| format!("reading {PLAN}: {e}"))?;
    let plan = Plan::parse(&plan_text)?;
    let mut ok = true;

    // 1. The classifier, on the real spec.
    let diffs = classify(root, &plan)?;
    let level = |pick: fn(&(String, diff::Diff, diff::Diff)) -> &diff::Diff| {
        diffs.iter().filter_map(|d| pick(d).level()).max()
    };
    for (file, forward, _) in &diffs {
        say(out, format!("== the change to {file}\n{forward}"));
    }
    let (forward, backward) = (level(|d| &d.1), level(|d| &d.2));
    say(
        out,
        format!(
            "update-spec: the change is {}, undone {} (expected minor, major)",
            show(forward),
            show(backward)
        ),
    );
    ok &= forward == Some(Level::Minor) && backward == Some(Level::Major);

    // 2. cargo-semver-checks must be there.
    let version = Command::new("cargo")
        .args(["semver-checks", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .ok_or(
            "cargo-semver-checks is not installed: cargo install cargo-semver-checks --locked",
        )?;
    say(
        out,
        format!("using {}", String::from_utf8_lossy(&version.stdout).trim()),
    );

    // 3. The copy with the change, beside the target directory's other outputs.
    let target = target_dir(root);
    let work = target.join("semver-proof");
    let copy = work.join("crate");
    let _ = std::fs::remove_dir_all(&copy);
    copy_crate(root, &copy)?;
    for (file, ops) in &plan.additive {
        let path = copy.join("spec").join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let mut doc: Value =
            serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        apply(&mut doc, ops)?;
        let yaml = serde_norway::to_string(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&path, yaml).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }

    // 4. Two rustdoc JSON builds.
    let baseline = work.join("baseline.json");
    let changed = work.join("additive.json");
    for (what, manifest, json) in [
        ("this checkout", root.join("Cargo.toml"), &baseline),
        (
            "the copy with the change",
            copy.join("Cargo.toml"),
            &changed,
        ),
    ] {
        let t = Instant::now();
        rustdoc_json(&manifest, &target, json)?;
        say(
            out,
            format!("rustdoc JSON of {what}: {:.0} s", t.elapsed().as_secs_f64()),
        );
    }

    // 5. cargo-semver-checks both ways.
    for (what, from, to, expect) in [
        ("the change", &baseline, &changed, Expect::Minor),
        (
            "the change undone",
            &changed,
            &baseline,
            Expect::Major(&plan.undo_lints),
        ),
    ] {
        let t = Instant::now();
        let o = semver_checks(from, to)?;
        let text = output_text(&o);
        let verdict = judge(o.status.code(), &text, expect);
        say(
            out,
            format!(
                "cargo-semver-checks, {what} as a minor release: {} ({:.0} s)",
                match &verdict {
                    Ok(v) => v.clone(),
                    Err(e) => format!("UNEXPECTED: {e}"),
                },
                t.elapsed().as_secs_f64()
            ),
        );
        for line in text.lines().filter(|l| l.starts_with("--- ")) {
            say(out, format!("  {line}"));
        }
        if verdict.is_err() {
            say(out, text);
            ok = false;
        }
    }

    // The copy always goes; the two JSON files (60 MB each) stay only to look into a failure.
    let _ = std::fs::remove_dir_all(if ok { &work } else { &copy });
    say(
        out,
        format!(
            "semver proof: {} in {:.0} s",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(ok)
}

fn show(level: Option<Level>) -> String {
    level.map_or("unchanged".into(), |l| l.to_string())
}

/// The workspace's target directory (`CARGO_TARGET_DIR` if set).
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d),
        _ => root.join("target"),
    }
}

/// Copies what `cargo rustdoc` of the crate reads: the manifest and lockfile (the copy resolves
/// the same versions, offline), the build script and its codegen, the sources, the specs, the
/// README (the crate's docs), and the benches and xtask the manifest names.
fn copy_crate(root: &Path, to: &Path) -> Result<(), String> {
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "README.md",
        "codegen",
        "src",
        "spec",
        "benches",
        "xtask/Cargo.toml",
        "xtask/src",
    ] {
        copy_tree(&root.join(entry), &to.join(entry))?;
    }
    mark_version(to)
}

/// Appends build metadata to the copy's version, in its manifest and lockfile. Cargo names a
/// workspace member's build units by its path relative to the workspace root, which is the same
/// for the copy as for this checkout: without a version of its own the copy would share this
/// checkout's fingerprints and generated code in the shared target directory (reusing a stale
/// build, or leaving one behind for the next ordinary build).
fn mark_version(copy: &Path) -> Result<(), String> {
    let manifest = copy.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    let package = text
        .find("[package]")
        .ok_or("the manifest has no [package] table")?;
    let at = package
        + text[package..]
            .find("\nversion = \"")
            .ok_or("the manifest's [package] has no version")?
        + "\nversion = \"".len();
    let len = text[at..].find('"').ok_or("unterminated version")?;
    let version = &text[at..at + len];
    let marked = format!("{version}+semver-proof");
    let new_manifest = format!("{}{marked}{}", &text[..at], &text[at + len..]);
    std::fs::write(&manifest, new_manifest).map_err(|e| e.to_string())?;

    let lock = copy.join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).map_err(|e| e.to_string())?;
    let entry = format!("name = \"sinch-conversation\"\nversion = \"{version}\"\n");
    if !text.contains(&entry) {
        return Err(format!("Cargo.lock has no entry {entry:?}"));
    }
    let marked_entry = format!("name = \"sinch-conversation\"\nversion = \"{marked}\"\n");
    std::fs::write(&lock, text.replace(&entry, &marked_entry)).map_err(|e| e.to_string())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("copying {} to {}: {e}", from.display(), to.display());
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(err)?;
        for entry in std::fs::read_dir(from).map_err(err)? {
            let entry = entry.map_err(err)?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        std::fs::copy(from, to).map(drop).map_err(err)
    }
}

/// Set when this binary stands in for rustdoc: the rustdoc to run.
pub const RUSTDOC_ENV: &str = "XTASK_PROOF_RUSTDOC";

/// This binary as rustdoc: runs the real one (`RUSTDOC_ENV`) with `RUSTC_BOOTSTRAP=1`, which the
/// unstable JSON output needs on a stable toolchain. Set on cargo instead, the variable would
/// reach every compiler run and rebuild each dependency whose build script watches it
/// (proc-macro2, and with it every proc macro and their users: 57 crates), and again for the
/// next ordinary build.
pub fn run_rustdoc(real: std::ffi::OsString) -> std::process::ExitCode {
    let status = Command::new(real)
        .args(std::env::args_os().skip(1))
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove(RUSTDOC_ENV)
        .status();
    match status {
        Ok(s) if s.success() => std::process::ExitCode::SUCCESS,
        Ok(s) => std::process::ExitCode::from(s.code().map_or(1, |c| c.clamp(1, 255) as u8)),
        Err(e) => {
            eprintln!("error: running rustdoc: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// The features docs.rs documents (`[package.metadata.docs.rs] features = [..]`): the public API.
pub fn docs_rs_features(manifest: &str) -> Vec<String> {
    let Some(table) = manifest.split("\n[package.metadata.docs.rs]\n").nth(1) else {
        return vec![];
    };
    let table = table.split("\n[").next().unwrap_or_default();
    table
        .lines()
        .find_map(|l| l.trim().strip_prefix("features"))
        .and_then(|l| l.trim_start().strip_prefix('='))
        .map(|list| {
            list.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the crate's rustdoc JSON as cargo-semver-checks does (its flags) with the docs.rs
/// features, and moves it to `json`. Cargo runs this binary as rustdoc (see [`run_rustdoc`]).
fn rustdoc_json(manifest: &Path, target: &Path, json: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let features = docs_rs_features(&text).join(",");
    let me = std::env::current_exe().map_err(|e| format!("finding xtask's binary: {e}"))?;
    let real = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let status = Command::new("cargo")
        .env("RUSTDOC", me)
        .env(RUSTDOC_ENV, real)
        .env_remove("RUSTC_BOOTSTRAP")
        .args([
            "rustdoc",
            "--quiet",
            "--locked",
            "--lib",
            "-p",
            "sinch-conversation",
        ])
        .args(["--features", &features, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .args([
            "--document-private-items",
            "--document-hidden-items",
            "--cap-lints",
            "allow",
        ])
        .status()
        .map_err(|e| format!("running cargo rustdoc: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo rustdoc of {} failed ({status})",
            manifest.display()
        ));
    }
    let produced = target.join("doc").join("sinch_conversation.json");
    std::fs::rename(&produced, json)
        .map_err(|e| format!("moving {} to {}: {e}", produced.display(), json.display()))
}

/// cargo-semver-checks' exit code when a lint fails (101 is an error of its own).
const LINT_FAILURE: i32 = 100;

/// What a check of `--release-type minor` must find.
#[derive(Debug, Clone, Copy)]
enum Expect<'a> {
    /// Nothing that needs a major release.
    Minor,
    /// A major release, for (at least) each of these lints.
    Major(&'a [String]),
}

/// Whether cargo-semver-checks' exit code and report meet the expectation: a short description
/// if so, what is wrong if not.
fn judge(code: Option<i32>, text: &str, expect: Expect) -> Result<String, String> {
    match (expect, code) {
        (Expect::Minor, Some(0)) => Ok("passes (minor)".into()),
        (Expect::Minor, Some(LINT_FAILURE)) => Err("it needs a major release".into()),
        (Expect::Major(lints), Some(LINT_FAILURE)) => {
            let missing: Vec<&str> = lints
                .iter()
                .map(String::as_str)
                .filter(|l| !text.contains(&format!("--- failure {l}:")))
                .collect();
            if missing.is_empty() {
                Ok("fails (major), as expected".into())
            } else {
                Err(format!("major, but these lints did not fire: {missing:?}"))
            }
        }
        (Expect::Major(_), Some(0)) => Err("it passes: the break went unseen".into()),
        (_, code) => Err(format!(
            "cargo-semver-checks did not run its checks (exit {code:?})"
        )),
    }
}

fn semver_checks(baseline: &Path, current: &Path) -> Result<Output, String> {
    Command::new("cargo")
        .args(["semver-checks", "check-release", "--color", "never"])
        .arg("--baseline-rustdoc")
        .arg(baseline)
        .arg("--current-rustdoc")
        .arg(current)
        .args(["--release-type", "minor"])
        .output()
        .map_err(|e| format!("running cargo semver-checks: {e}"))
}

fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_add_remove_replace_and_refuse_what_is_not_new() {
        let mut doc = json!({"a": {"b~c/d": 1}, "list": [1, 2]});
        let ops = [
            json!({"op": "add", "path": "/a/new", "value": {"x": true}}),
            json!({"op": "add", "path": "/list/-", "value": 3}),
            json!({"op": "add", "path": "/list/0", "value": 0}),
            json!({"op": "replace", "path": "/a/b~0c~1d", "value": 2}),
            json!({"op": "remove", "path": "/list/1"}),
        ];
        apply(&mut doc, &ops).unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b~c/d": 2, "new": {"x": true}}, "list": [0, 2, 3]})
        );
        for (bad, why) in [
            (
                json!({"op": "add", "path": "/a/new", "value": 1}),
                "already exists",
            ),
            (
                json!({"op": "add", "path": "/nope/x", "value": 1}),
                "parent does not exist",
            ),
            (json!({"op": "remove", "path": "/a/zz"}), "does not exist"),
            (
                json!({"op": "replace", "path": "/list/9", "value": 1}),
                "bad index",
            ),
            (
                json!({"op": "add", "path": "/a/new/x/y", "value": 1}),
                "not a container",
            ),
            (json!({"op": "move", "path": "/a/new"}), "unsupported"),
            (json!({"op": "add", "path": "/a/other"}), "no `value`"),
        ] {
            let e = apply(&mut doc.clone(), std::slice::from_ref(&bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn semver_checks_reports_are_judged_by_exit_code_and_lints() {
        let lints = [
            "struct_missing".to_string(),
            "enum_variant_missing".to_string(),
        ];
        let report = "--- failure struct_missing: pub struct removed or renamed ---\n\
                      --- failure enum_variant_missing: pub enum variant removed or renamed ---\n";
        assert!(judge(Some(0), "", Expect::Minor).is_ok());
        assert!(judge(Some(100), report, Expect::Minor)
            .unwrap_err()
            .contains("major"));
        assert!(judge(Some(100), report, Expect::Major(&lints)).is_ok());
        // A lint that did not fire, a pass, and an error of the tool itself are all failures.
        let e = judge(Some(100), &report[..60], Expect::Major(&lints)).unwrap_err();
        assert!(e.contains("enum_variant_missing"), "{e}");
        assert!(judge(Some(0), "", Expect::Major(&lints))
            .unwrap_err()
            .contains("unseen"));
        for expect in [Expect::Minor, Expect::Major(&lints)] {
            let e = judge(Some(101), report, expect).unwrap_err();
            assert!(e.contains("exit Some(101)"), "{e}");
            assert!(judge(None, report, expect).is_err());
        }
    }

    #[test]
    fn docs_rs_features_are_read_from_the_manifest() {
        let manifest = "[package]\nname = \"x\"\n\n[package.metadata.docs.rs]\n\
                        rustdoc-args = [\"--cfg\", \"docsrs\"]\nfeatures = [\"fake\", \"axum\",\"redis\"]\n\n\
                        [features]\nfeatures = [\"not\", \"these\"]\n";
        assert_eq!(docs_rs_features(manifest), ["fake", "axum", "redis"]);
        assert!(docs_rs_features("[package]\nname = \"x\"\n").is_empty());
        let real =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"));
        assert!(docs_rs_features(&real.unwrap()).contains(&"fake".to_string()));
    }

    #[test]
    fn the_copy_gets_a_version_of_its_own() {
        let dir = std::env::temp_dir().join(format!("xtask-proof-mark-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"sinch-conversation\"\nversion = \"0.3.1\"\n\n[dependencies]\nx = { version = \"1\" }\n",
        )
        .unwrap();
        let lock = "[[package]]\nname = \"other\"\nversion = \"0.3.1\"\n\n[[package]]\nname = \"sinch-conversation\"\nversion = \"0.3.1\"\ndependencies = []\n";
        std::fs::write(dir.join("Cargo.lock"), lock).unwrap();
        mark_version(&dir).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(
                "version = \"0.3.1+semver-proof\"\n\n[dependencies]\nx = { version = \"1\" }"
            ),
            "{manifest}"
        );
        let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
        assert!(
            lock.contains("name = \"other\"\nversion = \"0.3.1\"\n"),
            "{lock}"
        );
        assert!(
            lock.contains("name = \"sinch-conversation\"\nversion = \"0.3.1+semver-proof\"\n"),
            "{lock}"
        );
        // A lockfile without the crate is an error, not a silent skip.
        std::fs::write(dir.join("Cargo.lock"), "").unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            manifest.replace("+semver-proof", ""),
        )
        .unwrap();
        assert!(mark_version(&dir).unwrap_err().contains("Cargo.lock"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The plan in the repository applies to the vendored spec, and the classifier calls it
    /// minor, and undone major: the first half of the proof, without cargo-semver-checks.
    #[test]
    fn the_plan_is_minor_and_undone_major() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let plan = Plan::parse(&std::fs::read_to_string(root.join(PLAN)).unwrap()).unwrap();
        assert!(plan.undo_lints.len() >= 5, "{plan:?}");
        let diffs = classify(&root, &plan).unwrap();
        for (file, forward, backward) in &diffs {
            assert_eq!(forward.level(), Some(Level::Minor), "{file}:\n{forward}");
            assert_eq!(backward.level(), Some(Level::Major), "{file}:\n{backward}");
            // Every undone change is itself major, not just one of them.
            let minor_undone: Vec<_> = backward
                .changes()
                .filter(|c| c.impact.level != Level::Major)
                .collect();
            assert!(minor_undone.is_empty(), "{minor_undone:?}");
        }
    }
}
