//! `cargo xtask update-spec` end to end: the binary against httpmock servers, on temp copies.

use httpmock::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OURS: &str = r#"openapi: 3.0.3
info: {title: T, version: '1'}
paths:
  /v1/projects/{project_id}/messages:send:
    post:
      operationId: Messages_SendMessage
      parameters:
      - {name: project_id, in: path, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendMessageRequest'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SendMessageResponse'}
components:
  schemas:
    SendMessageRequest:
      type: object
      required: [app_id]
      properties:
        app_id: {type: string}
        ttl: {type: string}
        channel: {$ref: '#/components/schemas/ConversationChannel'}
    SendMessageResponse:
      type: object
      properties:
        message_id: {type: string}
    Legacy:
      type: object
      properties:
        old: {type: string}
    ConversationChannel:
      type: string
      enum: [SMS, WHATSAPP]
"#;

/// OURS with an added operation, a removed schema, a new enum value and a changed field type.
fn changed() -> String {
    OURS.replace(
        "components:\n",
        r#"  /v1/projects/{project_id}/messages:transcode:
    post:
      operationId: Transcoding_TranscodeMessage
      responses:
        '200': {description: ok}
components:
"#,
    )
    .replace(
        "    Legacy:\n      type: object\n      properties:\n        old: {type: string}\n",
        "",
    )
    .replace(
        "enum: [SMS, WHATSAPP]",
        "enum: [SMS, WHATSAPP, NEW_CHANNEL]",
    )
    .replace("ttl: {type: string}", "ttl: {type: integer}")
}

fn spec31() -> String {
    OURS.replace("openapi: 3.0.3", "openapi: 3.1.0")
        .replace("ttl: {type: string}", "ttl: {type: [string, 'null']}")
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("conversation.yaml"), OURS).unwrap();
        Dir(d)
    }
    fn spec(&self) -> PathBuf {
        self.0.join("conversation.yaml")
    }
    fn files(&self) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn xtask(spec: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("update-spec")
        .arg("--spec")
        .arg(spec)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn serve(server: &MockServer, body: &str) -> String {
    server.mock(|when, then| {
        when.method(GET).path("/conversation.yaml");
        then.status(200)
            .header("content-type", "application/yaml")
            .body(body);
    });
    server.url("/conversation.yaml")
}

#[test]
fn an_unchanged_spec_reports_no_changes_and_passes_the_check() {
    let dir = Dir::new("same");
    let server = MockServer::start();
    let url = serve(&server, OURS);
    let o = xtask(&dir.spec(), &["--url", &url, "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "No changes\n");
}

#[test]
fn changes_are_grouped_and_fail_the_check() {
    let dir = Dir::new("changed");
    let server = MockServer::start();
    let url = serve(&server, &changed());
    let o = xtask(&dir.spec(), &["--url", &url, "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Operations added (1):
  + Transcoding_TranscodeMessage  POST /v1/projects/{project_id}/messages:transcode
Schemas removed (1):
  - Legacy
Properties (1):
  ~ SendMessageRequest.ttl: type string -> integer
Enum values (1):
  + ConversationChannel: NEW_CHANNEL
"
    );
    // Without --check, a difference is not a failure.
    let o = xtask(&dir.spec(), &["--url", &url]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.spec()).unwrap(),
        OURS,
        "nothing written without --write"
    );
}

#[test]
fn write_replaces_the_spec_with_the_served_bytes_and_records_the_source() {
    let dir = Dir::new("write");
    let server = MockServer::start();
    let served = changed();
    let url = serve(&server, &served);
    let o = xtask(&dir.spec(), &["--url", &url, "--write"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote "));
    assert_eq!(std::fs::read(dir.spec()).unwrap(), served.as_bytes());
    let record = std::fs::read_to_string(dir.0.join("SOURCE.toml")).unwrap();
    let hash: String = Sha256::digest(served.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(record.contains(&format!("url = {url:?}")), "{record}");
    assert!(record.contains(&format!("sha256 = \"{hash}\"")), "{record}");
    assert!(record.contains("converted_from_3_1 = false"), "{record}");
    let retrieved = record
        .lines()
        .find(|l| l.starts_with("retrieved = "))
        .unwrap();
    assert_eq!(
        retrieved.len(),
        "retrieved = \"2026-01-01T00:00:00Z\"".len(),
        "{retrieved}"
    );
    assert_eq!(
        dir.files(),
        ["SOURCE.toml", "conversation.yaml"],
        "no temp files left"
    );
    // Now equal.
    let o = xtask(&dir.spec(), &["--url", &url, "--check"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_3_1_document_is_converted_then_diffed() {
    let dir = Dir::new("v31");
    let server = MockServer::start();
    let url = serve(&server, &spec31());
    let o = xtask(&dir.spec(), &["--url", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("note: ") && out.contains("OpenAPI 3.1; converted to 3.0.3"),
        "{out}"
    );
    assert!(
        out.contains("~ SendMessageRequest.ttl: type string -> string?"),
        "{out}"
    );

    // Written as converted 3.0 YAML that loads again.
    let o = xtask(&dir.spec(), &["--url", &url, "--write"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read_to_string(dir.spec()).unwrap();
    assert!(
        written.contains("openapi: 3.0.3") && written.contains("nullable: true"),
        "{written}"
    );
    let record = std::fs::read_to_string(dir.0.join("SOURCE.toml")).unwrap();
    assert!(record.contains("converted_from_3_1 = true"));
}

#[test]
fn an_unconvertible_3_1_document_is_refused_and_nothing_changes() {
    let dir = Dir::new("v31bad");
    let server = MockServer::start();
    let url = serve(
        &server,
        &spec31().replace("[string, 'null']", "[string, integer]"),
    );
    let o = xtask(&dir.spec(), &["--url", &url, "--write"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("several types"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.spec()).unwrap(), OURS);
    assert_eq!(dir.files(), ["conversation.yaml"]);
}

#[test]
fn an_http_error_is_reported_and_nothing_changes() {
    let dir = Dir::new("http500");
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/conversation.yaml");
        then.status(500).body("upstream is down");
    });
    let o = xtask(
        &dir.spec(),
        &["--url", &server.url("/conversation.yaml"), "--write"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HTTP 500"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert_eq!(std::fs::read_to_string(dir.spec()).unwrap(), OURS);
    assert_eq!(dir.files(), ["conversation.yaml"]);
}

#[test]
fn an_unreachable_server_is_reported() {
    let dir = Dir::new("refused");
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = xtask(
        &dir.spec(),
        &["--url", &format!("http://127.0.0.1:{port}/x.yaml")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: downloading http://127.0.0.1:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_yaml_is_reported_and_nothing_changes() {
    let dir = Dir::new("badyaml");
    let server = MockServer::start();
    let url = serve(&server, "openapi: 3.0.3\npaths: {unclosed: [\n");
    let o = xtask(&dir.spec(), &["--url", &url, "--write"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not valid YAML or JSON"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(dir.spec()).unwrap(), OURS);
    assert_eq!(dir.files(), ["conversation.yaml"]);
}

#[test]
fn a_local_file_works_offline() {
    let dir = Dir::new("from");
    let other = dir.0.join("upstream.json");
    // JSON input is accepted too.
    let doc: serde_json::Value = serde_norway::from_str(&changed()).unwrap();
    std::fs::write(&other, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let o = xtask(&dir.spec(), &["--from", other.to_str().unwrap(), "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("+ ConversationChannel: NEW_CHANNEL"));
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let dir = Dir::new("args");
    let o = xtask(&dir.spec(), &["--write", "--check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("usage: cargo xtask update-spec"));
}

/// The vendored spec of this repository loads, and equals itself.
#[test]
fn the_vendored_spec_is_valid_input() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/conversation.yaml");
    let o = xtask(&spec, &["--from", spec.to_str().unwrap(), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "No changes\n");
}
