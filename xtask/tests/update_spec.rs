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
    let spec = spec.to_str().unwrap();
    update_spec(&[&["--spec", spec], args].concat(), &[])
}

/// The binary with `args` after `update-spec`, and only the given `XTASK_URL_*` variables.
fn update_spec(args: &[&str], urls: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("update-spec").args(args);
    for doc in ["CONVERSATION", "TEMPLATES", "BATCH"] {
        cmd.env_remove(format!("XTASK_URL_{doc}"));
    }
    cmd.envs(urls.iter().copied()).output().unwrap()
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
    assert_eq!(stdout(&o), format!("== conversation ({url})\nNo changes\n"));
}

#[test]
fn changes_are_grouped_and_fail_the_check() {
    let dir = Dir::new("changed");
    let server = MockServer::start();
    let url = serve(&server, &changed());
    let o = xtask(&dir.spec(), &["--url", &url, "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    // The name check's line ends the report; its count depends on this workspace's code.
    let (report, names) = out.trim_end().rsplit_once('\n').unwrap();
    assert!(
        names.starts_with("Names the hand-written layer uses: ") && names.ends_with("all present"),
        "{names}"
    );
    assert_eq!(
        format!("{report}\n"),
        format!("== conversation ({url})\n")
            + "Operations added (1):
  + Transcoding_TranscodeMessage  POST /v1/projects/{project_id}/messages:transcode  \
[minor: a new operation: `Client::transcoding_transcode_message()` and `builder::TranscodingTranscodeMessage`]
Schemas removed (1):
  - Legacy  [major: `Legacy` (a type no operation uses) is gone]
Properties (1):
  ~ SendMessageRequest.ttl: type string -> integer  \
[major: `SendMessageRequest.ttl` (a request type) changes Rust type (string -> integer)]
Enum values (1):
  + ConversationChannel: NEW_CHANNEL  \
[minor: a new variant of the open enum `ConversationChannel` (`#[non_exhaustive]`; the value used to arrive as `Unknown(\"NEW_CHANNEL\")`)]
Semver verdict: major: 2 of 4 changes break the generated API
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
        out.starts_with(&format!(
            "== conversation ({url})\nnote: {url} is OpenAPI 3.1; converted to 3.0.3\n"
        )),
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
        stderr(&o).starts_with("error: conversation: downloading http://127.0.0.1:"),
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
    let out = stdout(&o);
    assert!(
        out.starts_with("== conversation (file://") && out.ends_with(")\nNo changes\n"),
        "{out}"
    );
}

// ---- Several documents, SOURCE.toml tables, and the name check. ----

/// A small Template Management API v2 document; like ours, it refers to conversation.yaml.
const TEMPLATES: &str = r#"openapi: 3.0.3
info: {title: Template Management API, version: '2.0'}
paths:
  /v2/projects/{project_id}/templates:
    get:
      operationId: Templates_v2_ListTemplates
      parameters:
      - {name: project_id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/V2ListTemplatesResponse'}
components:
  schemas:
    V2ListTemplatesResponse:
      type: object
      properties:
        templates:
          type: array
          items: {$ref: '#/components/schemas/V2Template'}
    V2Template:
      type: object
      properties:
        id: {type: string}
        channel: {$ref: 'conversation.yaml#/components/schemas/ConversationChannel'}
"#;

/// A small Batch API document.
const BATCH: &str = r#"openapi: 3.0.3
info: {title: Conversation Batch API, version: '1.0'}
paths:
  /v1/projects/{project_id}/messages:
    post:
      operationId: Batch_SendBatch
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendBatchRequest'}
      responses:
        '200': {description: ok}
components:
  schemas:
    SendBatchRequest:
      type: object
      properties:
        app_id: {type: string}
        recipient_count: {type: integer}
"#;

/// Our callbacks document: payload schemas that use conversation.yaml's types.
const CALLBACKS: &str = r#"openapi: 3.0.3
info: {title: Callbacks, version: '1'}
paths: {}
components:
  schemas:
    MessageInboundEvent:
      type: object
      properties:
        app_id: {type: string}
        channel: {$ref: 'conversation.yaml#/components/schemas/ConversationChannel'}
"#;

/// The hand-written layer of the small workspace: it needs `SendMessageRequest`,
/// `SendMessageResponse`, the `Messages_SendMessage` operation and a callback type.
const LIB_RS: &str = r#"//! A tiny hand-written layer over the generated client.
use crate::types::{SendMessageRequest, self};

pub async fn send(client: &Client, request: SendMessageRequest) -> Result<types::SendMessageResponse> {
    client.messages_send_message().body(request).send().await
}

pub fn kind(event: &crate::types::MessageInboundEvent) -> &str { "MESSAGE_INBOUND" }

pub fn list(client: &templates::Client) -> templates::types::V2ListTemplatesResponse { todo!() }
"#;

/// Upstream-style (OpenAPI 3.1, extra info, `type: [T, 'null']`) Conversation API document that
/// renames `SendMessageRequest` to `SendMessageRequestV2`, which the hand-written layer uses.
const RENAMED_UPSTREAM: &str = r#"openapi: 3.1.0
info:
  title: Conversation API | Sinch
  version: '1.0'
  contact: {name: support at sinch, email: support@sinch.com}
servers:
- url: https://{region}.conversation.api.sinch.com
  variables:
    region: {default: us, enum: [us, eu, br]}
paths:
  /v1/projects/{project_id}/messages:send:
    post:
      operationId: Messages_SendMessage
      tags: [Messages]
      parameters:
      - {name: project_id, in: path, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SendMessageRequestV2'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/SendMessageResponse'}
components:
  schemas:
    SendMessageRequestV2:
      type: object
      required: [app_id]
      properties:
        app_id: {type: string}
        ttl: {type: [string, 'null']}
        channel: {$ref: '#/components/schemas/ConversationChannel'}
    SendMessageResponse:
      type: object
      properties:
        message_id: {type: string}
    ConversationChannel:
      type: string
      enum: [SMS, WHATSAPP]
"#;

/// A temporary workspace: `src/lib.rs` and `spec/` with the given documents.
struct Ws(Dir);

impl Ws {
    fn new(name: &str, docs: &[(&str, &str)]) -> Ws {
        let d = Dir::new(name);
        std::fs::remove_file(d.spec()).unwrap();
        std::fs::create_dir_all(d.0.join("src")).unwrap();
        std::fs::create_dir_all(d.0.join("spec")).unwrap();
        std::fs::write(d.0.join("src/lib.rs"), LIB_RS).unwrap();
        for (file, text) in docs {
            std::fs::write(d.0.join("spec").join(file), text).unwrap();
        }
        Ws(d)
    }
    fn root(&self) -> &str {
        self.0 .0.to_str().unwrap()
    }
    fn spec(&self, file: &str) -> PathBuf {
        self.0 .0.join("spec").join(file)
    }
    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.spec(file)).unwrap()
    }
    fn spec_files(&self) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(self.0 .0.join("spec"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
    fn source_toml(&self) -> xtask::record::SourceToml {
        xtask::record::SourceToml::parse(&self.read("SOURCE.toml")).unwrap()
    }
}

fn serve_at(server: &MockServer, path: &str, body: &str) -> String {
    server.mock(|when, then| {
        when.method(GET).path(path);
        then.status(200)
            .header("content-type", "application/yaml")
            .body(body);
    });
    server.url(path)
}

fn templates_changed() -> String {
    TEMPLATES.replace(
        "        id: {type: string}\n",
        "        id: {type: string}\n        version: {type: integer}\n",
    )
}

#[test]
fn one_other_document_from_a_local_file() {
    let ws = Ws::new(
        "tplfrom",
        &[("conversation.yaml", OURS), ("templates.yaml", TEMPLATES)],
    );
    let upstream = ws.0 .0.join("template-upstream.yaml");
    std::fs::write(&upstream, templates_changed()).unwrap();
    let canonical = std::fs::canonicalize(&upstream).unwrap();
    let o = update_spec(
        &[
            "--doc",
            "templates",
            "--from",
            upstream.to_str().unwrap(),
            "--root",
            ws.root(),
            "--check",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "== templates (file://{})
Properties (1):
  + V2Template.version (integer)  [minor: a new optional field `V2Template.version` (`#[non_exhaustive]` struct: a `with_version` setter and a builder method)]
Semver verdict: minor: 1 change, all additive to the generated API
Names the hand-written layer uses: 5 checked, all present
",
            canonical.display()
        ),
        // 5: in src/lib.rs `templates::types::V2ListTemplatesResponse`, and from the unchanged
        // conversation.yaml `types::SendMessageRequest`, `types::SendMessageResponse`,
        // `.messages_send_message()`; and templates.yaml's reference to ConversationChannel.
    );
    assert_eq!(ws.read("templates.yaml"), TEMPLATES);
}

#[test]
fn several_documents_in_one_run() {
    let ws = Ws::new(
        "multi",
        &[
            ("conversation.yaml", OURS),
            ("templates.yaml", TEMPLATES),
            ("batch.yaml", BATCH),
        ],
    );
    let server = MockServer::start();
    let batch_new = BATCH.replace(
        "recipient_count: {type: integer}",
        "recipient_count: {type: string}",
    );
    let urls = [
        (
            "XTASK_URL_CONVERSATION",
            serve_at(&server, "/c.yaml", &changed()),
        ),
        (
            "XTASK_URL_TEMPLATES",
            serve_at(&server, "/t.yaml", TEMPLATES),
        ),
        ("XTASK_URL_BATCH", serve_at(&server, "/b.yaml", &batch_new)),
    ];
    let env: Vec<(&str, &str)> = urls.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // All three by default; drift in any fails the check.
    let o = update_spec(&["--root", ws.root(), "--check"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headers,
        [
            format!("== conversation ({})", urls[0].1),
            format!("== templates ({})", urls[1].1),
            format!("== batch ({})", urls[2].1),
        ]
    );
    assert!(
        out.contains(&format!(
            "== templates ({})\nNo changes\n== batch",
            urls[1].1
        )),
        "{out}"
    );
    assert!(
        out.contains("~ SendBatchRequest.recipient_count: type integer -> string"),
        "{out}"
    );

    // --url needs exactly one document.
    let o = update_spec(
        &[
            "--root",
            ws.root(),
            "--doc",
            "conversation,batch",
            "--url",
            &urls[0].1,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pick one with --doc"), "{}", stderr(&o));

    // --write replaces the two that changed and records both.
    let o = update_spec(&["--root", ws.root(), "--write"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote "), "{}", stdout(&o));
    assert_eq!(ws.read("conversation.yaml"), changed());
    assert_eq!(ws.read("templates.yaml"), TEMPLATES);
    assert_eq!(ws.read("batch.yaml"), batch_new);
    let record = ws.source_toml();
    assert_eq!(
        record.tables().collect::<Vec<_>>(),
        ["conversation", "batch"]
    );
    assert_eq!(record.get("conversation", "url"), Some(urls[0].1.clone()));
    assert_eq!(record.get("batch", "url"), Some(urls[2].1.clone()));
    assert_eq!(
        ws.spec_files(),
        [
            "SOURCE.toml",
            "batch.yaml",
            "conversation.yaml",
            "templates.yaml"
        ]
    );
    let o = update_spec(&["--root", ws.root(), "--check"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn an_error_in_one_document_writes_nothing_at_all() {
    let ws = Ws::new(
        "multierr",
        &[("conversation.yaml", OURS), ("batch.yaml", BATCH)],
    );
    let server = MockServer::start();
    let conv = serve_at(&server, "/c.yaml", &changed());
    server.mock(|when, then| {
        when.method(GET).path("/b.yaml");
        then.status(503).body("down");
    });
    let batch = server.url("/b.yaml");
    let o = update_spec(
        &[
            "--root",
            ws.root(),
            "--doc",
            "conversation",
            "--doc",
            "batch",
            "--write",
        ],
        &[
            ("XTASK_URL_CONVERSATION", &conv),
            ("XTASK_URL_BATCH", &batch),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!("error: batch: downloading {batch}: HTTP 503")),
        "{}",
        stderr(&o)
    );
    // The document that did load is still reported, but not written.
    assert!(stdout(&o).starts_with(&format!("== conversation ({conv})\n")));
    assert_eq!(ws.read("conversation.yaml"), OURS);
    assert_eq!(ws.spec_files(), ["batch.yaml", "conversation.yaml"]);
}

/// The required safety net: an upstream document that renames a schema the hand-written layer
/// uses is refused, and the vendored spec stays byte for byte; `--force` writes it anyway.
#[test]
fn a_document_that_drops_a_used_name_is_refused() {
    let ws = Ws::new("rename", &[("conversation.yaml", OURS)]);
    let server = MockServer::start();
    let url = serve(&server, RENAMED_UPSTREAM);
    let args = [
        "--root",
        ws.root(),
        "--doc",
        "conversation",
        "--url",
        &url,
        "--write",
    ];

    let o = update_spec(&args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: refusing to write"), "{err}");
    assert!(
        err.contains(
            "  - types::SendMessageRequest (a schema of conversation.yaml; used in src/lib.rs)"
        ),
        "{err}"
    );
    assert_eq!(
        err.matches("\n  - ").count(),
        1,
        "only the renamed name: {err}"
    );
    assert!(err.contains("--force"), "{err}");
    // The report still ends with its verdict: a renamed request type breaks.
    assert!(
        stdout(&o).ends_with("Semver verdict: major: 4 of 5 changes break the generated API\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(ws.spec("conversation.yaml")).unwrap(),
        OURS.as_bytes()
    );
    assert_eq!(
        ws.spec_files(),
        ["conversation.yaml"],
        "no SOURCE.toml, no temp files"
    );

    // A dry run shows the same list, as a report.
    let o = update_spec(&args[..args.len() - 1], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains(
            "3 checked, 1 missing (--write would refuse):\n  - types::SendMessageRequest"
        ),
        "{}",
        stdout(&o)
    );

    let o = update_spec(&[&args[..], &["--force"]].concat(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("warning: writing anyway (--force)"),
        "{err}"
    );
    assert!(err.contains("types::SendMessageRequest"), "{err}");
    let written = ws.read("conversation.yaml");
    assert!(
        written.contains("openapi: 3.0.3") && written.contains("SendMessageRequestV2:"),
        "{written}"
    );
    assert_eq!(
        ws.source_toml()
            .get("conversation", "converted_from_3_1")
            .as_deref(),
        Some("true")
    );
}

#[test]
fn renamed_operations_and_broken_references_are_refused_too() {
    let ws = Ws::new(
        "renameop",
        &[
            ("conversation.yaml", OURS),
            ("templates.yaml", TEMPLATES),
            ("callbacks.yaml", CALLBACKS),
        ],
    );
    let server = MockServer::start();
    // The operation renamed, and ConversationChannel (used by callbacks.yaml, templates.yaml
    // and, through callbacks.yaml's MessageInboundEvent, not by the code) renamed to Channel.
    let upstream = OURS
        .replace("Messages_SendMessage", "Messages_Send")
        .replace("ConversationChannel", "Channel");
    let url = serve(&server, &upstream);
    let o = update_spec(
        &[
            "--root",
            ws.root(),
            "--doc",
            "conversation",
            "--url",
            &url,
            "--write",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    for line in [
        "  - .messages_send_message() (operation Messages_SendMessage of conversation.yaml; used in src/lib.rs)",
        "  - callbacks.yaml -> conversation.yaml#/components/schemas/ConversationChannel",
        "  - templates.yaml -> conversation.yaml#/components/schemas/ConversationChannel",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    // MessageInboundEvent comes from callbacks.yaml, which update-spec never replaces.
    assert!(!err.contains("MessageInboundEvent"), "{err}");
    assert_eq!(ws.read("conversation.yaml"), OURS);
    assert_eq!(ws.read("callbacks.yaml"), CALLBACKS);
}

#[test]
fn source_toml_keeps_the_other_documents_and_reads_the_old_format() {
    let ws = Ws::new(
        "record",
        &[
            ("conversation.yaml", OURS),
            ("templates.yaml", TEMPLATES),
            (
                "SOURCE.toml",
                "# Where spec/conversation.yaml came from; written by `cargo xtask update-spec --write`.\n\
                 url = \"https://old.example/conversation.yaml\"\n\
                 retrieved = \"2025-01-01T00:00:00Z\"\n\
                 sha256 = \"00\"\n\
                 converted_from_3_1 = false\n",
            ),
        ],
    );
    let server = MockServer::start();
    let tpl = serve_at(&server, "/template.yaml", &templates_changed());
    let o = update_spec(
        &[
            "--root",
            ws.root(),
            "--doc",
            "templates",
            "--url",
            &tpl,
            "--write",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = ws.source_toml();
    assert_eq!(
        r.tables().collect::<Vec<_>>(),
        ["conversation", "templates"]
    );
    assert_eq!(
        r.get("conversation", "url").as_deref(),
        Some("https://old.example/conversation.yaml")
    );
    assert_eq!(r.get("conversation", "sha256").as_deref(), Some("00"));
    assert_eq!(r.get("templates", "url"), Some(tpl.clone()));
    let hash: String = Sha256::digest(templates_changed().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(r.get("templates", "sha256"), Some(hash));
    assert!(ws.read("SOURCE.toml").contains("\n[conversation]\nurl = "));

    // Now the conversation document: its table is replaced, the templates one kept.
    let conv = serve(&server, &changed());
    let o = update_spec(
        &[
            "--root",
            ws.root(),
            "--doc",
            "conversation",
            "--url",
            &conv,
            "--write",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r2 = ws.source_toml();
    assert_eq!(r2.get("conversation", "url"), Some(conv));
    assert_eq!(r2.get("templates", "url"), Some(tpl));
    assert_eq!(
        r2.get("templates", "retrieved"),
        r.get("templates", "retrieved")
    );
}

#[test]
fn callbacks_is_never_a_download() {
    let ws = Ws::new("callbacks", &[("callbacks.yaml", CALLBACKS)]);
    let o = update_spec(&["--root", ws.root(), "--doc", "callbacks"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("our own document"), "{}", stderr(&o));
}

/// Each change states its semver impact by what the build generates from it; the whole update
/// gets one verdict line. A schema only callbacks.yaml uses is read from the API: a new required
/// field there breaks deserialization of older payloads.
#[test]
fn each_change_states_its_impact_and_the_update_its_verdict() {
    let callbacks = CALLBACKS.replace(
        "        app_id: {type: string}\n",
        "        app_id: {type: string}\n        legacy: {$ref: 'conversation.yaml#/components/schemas/Legacy'}\n",
    );
    let ws = Ws::new(
        "verdict",
        &[("conversation.yaml", OURS), ("callbacks.yaml", &callbacks)],
    );
    let run = |upstream: &str| {
        let file = ws.0 .0.join("upstream.yaml");
        std::fs::write(&file, upstream).unwrap();
        let o = update_spec(
            &[
                "--root",
                ws.root(),
                "--from",
                file.to_str().unwrap(),
                "--check",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stdout(&o)
    };

    // Additive: an optional request field, a new enum value, a new optional query parameter.
    let additive = OURS
        .replace(
            "        ttl: {type: string}\n",
            "        ttl: {type: string}\n        priority: {type: string}\n",
        )
        .replace("enum: [SMS, WHATSAPP]", "enum: [SMS, WHATSAPP, RCS]")
        .replace(
            "      - {name: project_id, in: path, required: true, schema: {type: string}}\n",
            "      - {name: project_id, in: path, required: true, schema: {type: string}}\n      - {name: dry_run, in: query, schema: {type: boolean}}\n",
        );
    let out = run(&additive);
    for line in [
        "  ~ Messages_SendMessage: parameter query dry_run added (boolean)  [minor: a new optional parameter: builder method `.dry_run()`]\n",
        "  + SendMessageRequest.priority (string)  [minor: a new optional field `SendMessageRequest.priority`",
        "  + ConversationChannel: RCS  [minor: a new variant of the open enum `ConversationChannel`",
        "\nSemver verdict: minor: 3 changes, all additive to the generated API\n",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }

    // Breaking: a request field newly required, a field required in a callback payload.
    let breaking = OURS
        .replace("required: [app_id]", "required: [app_id, ttl]")
        .replace(
            "      properties:\n        old: {type: string}\n",
            "      required: [old]\n      properties:\n        old: {type: string}\n",
        );
    let out = run(&breaking);
    for line in [
        "  ~ SendMessageRequest.ttl: now required  [major: a field of a request type newly required: \
         `SendMessageRequest.ttl` changes from `Option<_>` to a plain value, and code that builds \
         `SendMessageRequest` without `ttl` fails]\n",
        "  ~ Legacy.old: now required  [major: a field of a response type newly required: \
         `Legacy.old` changes from `Option<_>` to a plain value, and an answer without it \
         (older API, stored payload, test double) no longer deserializes]\n",
        "\nSemver verdict: major: 2 of 2 changes break the generated API\n",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
}

/// The other task's usage, and unknown tasks or arguments refused before any work.
#[test]
fn semver_proof_usage_and_bad_invocations() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["semver-proof", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("usage: cargo xtask semver-proof"));
    let o = run(&["semver-proof", "--keep"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("takes no arguments"), "{}", stderr(&o));
    let o = run(&["no-such-task"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown task"), "{}", stderr(&o));
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("cargo xtask update-spec")
            && stdout(&o).contains("cargo xtask semver-proof")
    );
}
