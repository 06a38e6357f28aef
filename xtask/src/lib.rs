//! `cargo xtask update-spec`: compare upstream's Conversation API spec with ours, and update it.

pub mod diff;
pub mod spec;

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where Sinch publishes the Conversation API document.
pub const UPSTREAM_URL: &str =
    "https://developers.sinch.com/_bundle/docs/conversation/api-reference/conversation.yaml";

pub const USAGE: &str = "\
usage: cargo xtask update-spec [--url URL | --from FILE] [--spec PATH] [--write | --check]

Downloads the Conversation API spec (default: upstream's published URL), prints a semantic diff
against the vendored spec, and optionally replaces it.

  --url URL     download from URL instead of upstream's
  --from FILE   read a local file instead of downloading (offline)
  --spec PATH   the vendored spec (default: spec/conversation.yaml in the workspace)
  --write       replace the vendored spec atomically and record its source in SOURCE.toml
  --check       exit 1 if the specs differ, 0 if not (for scheduled CI)

Exit codes: 0 done (or no drift), 1 drift found with --check, 2 error.";

/// What to do, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the new spec comes from.
    pub source: Source,
    /// The vendored spec.
    pub spec: PathBuf,
    /// Replace the vendored spec.
    pub write: bool,
    /// Fail on drift.
    pub check: bool,
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
    /// The documents are semantically equal.
    NoChanges,
    /// They differ (printed); with `--write` the vendored spec was replaced.
    Changed { written: bool },
}

/// Parses the arguments after `update-spec`.
pub fn parse_args<I: IntoIterator<Item = String>>(
    args: I,
    default_spec: PathBuf,
) -> Result<Options, String> {
    let mut opts = Options {
        source: Source::Url(UPSTREAM_URL.into()),
        spec: default_spec,
        write: false,
        check: false,
    };
    let (mut url, mut from) = (None, None);
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value("--url")?),
            "--from" => from = Some(PathBuf::from(value("--from")?)),
            "--spec" => opts.spec = PathBuf::from(value("--spec")?),
            "--write" => opts.write = true,
            "--check" => opts.check = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if opts.write && opts.check {
        return Err("--write and --check exclude each other".into());
    }
    opts.source = match (url, from) {
        (Some(_), Some(_)) => return Err("--url and --from exclude each other".into()),
        (Some(u), None) => Source::Url(u),
        (None, Some(f)) => Source::File(f),
        (None, None) => Source::Url(UPSTREAM_URL.into()),
    };
    Ok(opts)
}

/// Runs the command, printing the diff to `out`. Nothing is written unless every step succeeded.
pub fn run(opts: &Options, out: &mut dyn Write) -> Result<Outcome, String> {
    let (bytes, origin) = match &opts.source {
        Source::Url(url) => (fetch(url)?, url.clone()),
        Source::File(path) => (
            std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?,
            format!("file://{}", absolute(path).display()),
        ),
    };
    let new = spec::load(&bytes, &origin).map_err(|e| e.to_string())?;
    let current_bytes = std::fs::read(&opts.spec)
        .map_err(|e| format!("reading the vendored spec {}: {e}", opts.spec.display()))?;
    let current =
        spec::load(&current_bytes, &opts.spec.display().to_string()).map_err(|e| e.to_string())?;

    if new.converted {
        writeln!(out, "note: {origin} is OpenAPI 3.1; converted to 3.0.3").map_err(io)?;
    }
    let d = diff::diff(&current.doc, &new.doc);
    write!(out, "{d}").map_err(io)?;
    if d.is_empty() {
        return Ok(Outcome::NoChanges);
    }
    if !opts.write {
        return Ok(Outcome::Changed { written: false });
    }
    // What the build reads: the bytes as published, or our conversion when it was 3.1.
    let to_write = if new.converted {
        serde_norway::to_string(&new.doc)
            .map_err(|e| format!("serializing the converted spec: {e}"))?
            .into_bytes()
    } else {
        bytes
    };
    let digest: String = Sha256::digest(&to_write)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let record = format!(
        "# Where spec/{} came from; written by `cargo xtask update-spec --write`.\nurl = {:?}\nretrieved = {:?}\nsha256 = {:?}\nconverted_from_3_1 = {}\n",
        opts.spec.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        origin,
        rfc3339(SystemTime::now()),
        digest,
        new.converted
    );
    let source_path = opts.spec.with_file_name("SOURCE.toml");
    // Both files are staged first, so a failure leaves both untouched.
    let spec_tmp = stage(&opts.spec, &to_write)?;
    let source_tmp = match stage(&source_path, record.as_bytes()) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&spec_tmp);
            return Err(e);
        }
    };
    commit(&spec_tmp, &opts.spec)?;
    commit(&source_tmp, &source_path)?;
    writeln!(
        out,
        "wrote {} and {}",
        opts.spec.display(),
        source_path.display()
    )
    .map_err(io)?;
    Ok(Outcome::Changed { written: true })
}

fn io(e: std::io::Error) -> String {
    format!("writing output: {e}")
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
        let spec = PathBuf::from("spec/conversation.yaml");
        let o = parse_args(Vec::<String>::new(), spec.clone()).unwrap();
        assert_eq!(o.source, Source::Url(UPSTREAM_URL.into()));
        let o = parse_args(
            ["--from", "x.yaml", "--check"].map(String::from),
            spec.clone(),
        )
        .unwrap();
        assert_eq!((o.source, o.check), (Source::File("x.yaml".into()), true));
        assert!(parse_args(["--write", "--check"].map(String::from), spec.clone()).is_err());
        assert!(parse_args(
            ["--url", "a", "--from", "b"].map(String::from),
            spec.clone()
        )
        .is_err());
        assert!(parse_args(["--url"].map(String::from), spec.clone()).is_err());
        assert!(parse_args(["--bogus"].map(String::from), spec).is_err());
    }
}
