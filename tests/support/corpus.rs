//! The independent fixture corpus, shared by the round-trip tests.

use std::path::{Path, PathBuf};

/// `SINCH_FIXTURES_DIR`, or `../shared/fixtures/sinch-java-v1` beside the checkout; `None` when
/// the folder is absent (a fresh clone), so tests can say so and skip.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SINCH_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/sinch-java-v1")
        });
    dir.is_dir().then_some(dir)
}

/// `SINCH_TEMPLATES_FIXTURES_DIR`, or `../shared/fixtures/sinch-java-templates-v2` beside the
/// checkout: the Template Management API v2 fixtures. `None` when absent.
#[allow(dead_code)]
pub fn templates_corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SINCH_TEMPLATES_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/sinch-java-templates-v2")
        });
    dir.is_dir().then_some(dir)
}

/// Every `.json` file below `dir`, as a `/`-separated path relative to it, sorted.
pub fn json_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = vec![];
    walk(dir, dir, &mut out);
    out.sort();
    out
}
