//! `cargo xtask <task>`; see `xtask::USAGE` and `xtask::PROOF_USAGE`.

use std::path::Path;
use std::process::ExitCode;
use xtask::{parse_args, run, Outcome, PROOF_USAGE, USAGE};

fn main() -> ExitCode {
    // Run by cargo as rustdoc, for semver-proof's JSON builds.
    if let Some(real) = std::env::var_os(xtask::proof::RUSTDOC_ENV) {
        return xtask::proof::run_rustdoc(real);
    }
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let args: Vec<String> = args.collect();
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(manifest).to_path_buf();
    match task.as_deref() {
        Some("update-spec") if help => println!("{USAGE}"),
        Some("update-spec") => return update_spec(args, root),
        Some("semver-proof") if help => println!("{PROOF_USAGE}"),
        Some("semver-proof") if !args.is_empty() => {
            eprintln!("error: semver-proof takes no arguments\n\n{PROOF_USAGE}");
            return ExitCode::from(2);
        }
        Some("semver-proof") => {
            return match xtask::proof::run(&root, &mut std::io::stdout()) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some("-h" | "--help") | None => println!("{USAGE}\n\n{PROOF_USAGE}"),
        Some(other) => {
            eprintln!("error: unknown task {other:?}\n\n{USAGE}\n\n{PROOF_USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn update_spec(args: Vec<String>, root: std::path::PathBuf) -> ExitCode {
    let opts = match parse_args(args, root) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts, &mut std::io::stdout(), &mut std::io::stderr()) {
        Ok(Outcome::Changed { written: false }) if opts.check => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}
