//! Send-path throughput against a hand-written floor, for several message shapes, both auth
//! modes and every way of sending, in one process and one run.
//!
//! A loopback server answers `messages:send` (and hands out OAuth2 tokens). For each message
//! shape (a contact id recipient, a channel identities recipient, a media message, a template
//! message, a carousel of more than 10 KB) the floor is plain reqwest + serde_json sending the
//! same JSON from hand-written structs (precomputed auth header, JSON response parsed), as a
//! tuned hand-written client would. Against it, with Basic and with OAuth2:
//!
//! - `builder`: the generated builder, `messages_send_message().body(request.clone()).send()`;
//! - `send_message`: `Client::send_message(&request)`, the request borrowed;
//! - `constructors`: the one-line constructors (`SendMessageRequest::new`, `Recipient::contact`
//!   / `::channel`, `AppMessage::text` / `::media` / `::template` / `::carousel`,
//!   `CardMessage::new`, `Choice::text`) building each request from the same strings, then
//!   `send_message`;
//! - `send_all`: `Client::send_all` over a chunk of requests (each cloned from one), as many in
//!   flight as the floor.
//!
//! Each is compared with the floor doing the same work: `send_message` with the floor sending a
//! borrowed body; `builder` and `send_all`, which take each request by value, with the floor
//! cloning its body per request; `constructors` with the floor building its body per request
//! from the same strings. The ratios to the borrowed floor are printed too. Also: the floor with
//! the generated types (what typing costs); for the contact shape, the floor and `send_message`
//! against the embedded fake (it is not what limits a test); and what metrics cost (feature
//! `metrics`): `send_message` (contact shape, Basic) with an OpenTelemetry SDK meter provider,
//! and with the feature on but no provider installed (OpenTelemetry's no-op), each to the same
//! client without metrics.
//!
//! Our clients are built with the defaults (their own connection pool, 30 s timeout, retries,
//! rate limiter) and without metrics (`without_metrics()`: what a build without the feature
//! runs, up to one branch per record); the floor has one `reqwest::Client` with reqwest's
//! defaults. Contenders take
//! turns in chunks, grouped by shape, in an order shuffled every round, each chunk after an
//! untimed warm-up of its own. A contender's ratio is the median over rounds of (floor's
//! time / its time) for the same shape in the same round, so
//! drift in machine load hits floor and contender alike; printed for wall time and for the
//! process's CPU time (what other processes on the machine disturb least).
//!
//! `cargo bench --bench send` (env: BENCH_REQUESTS per contender, default 20000; BENCH_CHUNK,
//! default 500; BENCH_INFLIGHT, default 32; BENCH_ONLY=<part of a label such as
//! `carousel/Builder/OAuth2`> runs the matching contenders alone, for profiling).

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sinch_conversation::fake::Fake;
use sinch_conversation::prelude::*;
use sinch_conversation::types::{
    self, AppMessage, CardMessage, Choice, ConversationChannel, Recipient, SendMessageRequest,
};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;

// The floor's hand-written request types: what a tuned client would write for these shapes.
#[derive(Serialize, Clone)]
struct FloorRequest {
    app_id: String,
    recipient: FloorRecipient,
    message: FloorMessage,
}
#[derive(Serialize, Clone)]
#[serde(rename_all = "snake_case")]
enum FloorRecipient {
    ContactId(String),
    IdentifiedBy {
        channel_identities: Vec<FloorIdentity>,
    },
}
#[derive(Serialize, Clone)]
struct FloorIdentity {
    channel: &'static str,
    identity: String,
}
#[derive(Serialize, Clone)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the wire's names
enum FloorMessage {
    TextMessage { text: String },
    MediaMessage { url: String },
    TemplateMessage { omni_template: FloorTemplate },
    CarouselMessage { cards: Vec<FloorCard> },
}
#[derive(Serialize, Clone)]
struct FloorTemplate {
    template_id: String,
    language_code: String,
    parameters: HashMap<String, String>,
}
#[derive(Serialize, Clone)]
struct FloorCard {
    title: String,
    description: String,
    media_message: FloorMedia,
    choices: Vec<FloorChoice>,
}
#[derive(Serialize, Clone)]
struct FloorMedia {
    url: String,
}
#[derive(Serialize, Clone)]
struct FloorChoice {
    text_message: FloorText,
    postback_data: String,
}
#[derive(Serialize, Clone)]
struct FloorText {
    text: String,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorResponse {
    message_id: String,
    accepted_time: String,
}

const PATH: &str = "/v1/projects/bench/messages:send";
const REPLY: &str =
    r#"{"message_id":"01HZX3G7N2Q9W8E5R4T3Y2U1I0","accepted_time":"2024-06-18T12:34:56.123Z"}"#;
const APP: &str = "01HZX3G7N2Q9W8E5R4T3Y2APP0";
const CONTACT: &str = "01HZX3G7N2Q9W8E5R4T3YCONT0";
const PHONE: &str = "+15551234567";
const TEXT: &str = "Your table is ready";
const IMAGE: &str = "https://media.example.com/catalogue/2024/summer/image-0001.jpg";
const TEMPLATE: &str = "01HZX3G7N2Q9W8E5R4T3YTMPL0";
const PARAMS: [(&str, &str); 3] = [
    ("name", "Ada Lovelace"),
    ("order", "A-1024-77"),
    ("eta", "Thursday"),
];
const DESCRIPTION: &str = "Lightweight, breathable and made to last: this piece is cut from \
    organic cotton and finished by hand in our own workshop. It keeps its shape wash after wash, \
    packs flat for travel and pairs with everything else in the collection. Available in six \
    colours and sizes from XS to XXL, with free returns for thirty days and a two-year warranty \
    on seams and zips. Tap a button below to see it in the shop, save it for later, or ask our \
    team a question about fit, materials or delivery times in your area. Orders placed before \
    noon ship the same day; tracking links arrive by message as soon as the parcel leaves us.";

/// The carousel's strings: ten cards, each a title and three (text, postback) choices.
struct Cards {
    titles: Vec<String>,
    choices: Vec<[(String, String); 3]>,
}

static CARDS: LazyLock<Cards> = LazyLock::new(|| Cards {
    titles: (0..10)
        .map(|i| format!("Summer collection, item {i}"))
        .collect(),
    choices: (0..10)
        .map(|i| {
            [0, 1, 2].map(|k| {
                (
                    format!("Option {k} of item {i}"),
                    format!("item-{i}-choice-{k}"),
                )
            })
        })
        .collect(),
});

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A message shape: how ours and the floor's body are built from the same strings.
struct Shape {
    name: &'static str,
    construct: fn() -> SendMessageRequest,
    floor_construct: fn() -> FloorRequest,
    request: SendMessageRequest,
    floor: FloorRequest,
}

fn shape(
    name: &'static str,
    construct: fn() -> SendMessageRequest,
    floor_construct: fn() -> FloorRequest,
) -> Shape {
    let s = Shape {
        name,
        construct,
        floor_construct,
        request: construct(),
        floor: floor_construct(),
    };
    // The floor and ours put the same JSON on the wire.
    assert_eq!(
        serde_json::to_value(&s.floor).unwrap(),
        serde_json::to_value(&s.request).unwrap(),
        "{name}"
    );
    s
}

fn by_phone() -> Recipient {
    Recipient::channel(ConversationChannel::Sms, PHONE)
}

fn floor_by_phone() -> FloorRecipient {
    FloorRecipient::IdentifiedBy {
        channel_identities: vec![FloorIdentity {
            channel: "SMS",
            identity: PHONE.into(),
        }],
    }
}

fn floor_request(recipient: FloorRecipient, message: FloorMessage) -> FloorRequest {
    FloorRequest {
        app_id: APP.into(),
        recipient,
        message,
    }
}

fn floor_text() -> FloorMessage {
    FloorMessage::TextMessage { text: TEXT.into() }
}

fn shapes() -> Vec<Shape> {
    let v = vec![
        shape(
            "contact id",
            || SendMessageRequest::new(APP, Recipient::contact(CONTACT), AppMessage::text(TEXT)),
            || floor_request(FloorRecipient::ContactId(CONTACT.into()), floor_text()),
        ),
        shape(
            "channel identities",
            || SendMessageRequest::new(APP, by_phone(), AppMessage::text(TEXT)),
            || floor_request(floor_by_phone(), floor_text()),
        ),
        shape(
            "media",
            || SendMessageRequest::new(APP, by_phone(), AppMessage::media(IMAGE)),
            || {
                floor_request(
                    floor_by_phone(),
                    FloorMessage::MediaMessage { url: IMAGE.into() },
                )
            },
        ),
        shape(
            "template",
            || {
                let message = AppMessage::template(TEMPLATE, "en-US", PARAMS);
                SendMessageRequest::new(APP, by_phone(), message)
            },
            || {
                let omni_template = FloorTemplate {
                    template_id: TEMPLATE.into(),
                    language_code: "en-US".into(),
                    parameters: PARAMS
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                };
                floor_request(
                    floor_by_phone(),
                    FloorMessage::TemplateMessage { omni_template },
                )
            },
        ),
        shape("carousel", carousel, floor_carousel),
    ];
    let big = serde_json::to_vec(&v[4].request).unwrap().len();
    assert!(big >= 10 * 1024, "the carousel is {big} bytes");
    v
}

/// A carousel of ten cards, built with `AppMessage::carousel`, `CardMessage::new` and
/// `Choice::text`.
fn carousel() -> SendMessageRequest {
    let c = &*CARDS;
    let cards = c.titles.iter().zip(&c.choices).map(|(title, choices)| {
        CardMessage::new(title, DESCRIPTION)
            .with_media(IMAGE)
            .with_choices(
                choices
                    .iter()
                    .map(|(text, postback)| Choice::text(text).with_postback(postback)),
            )
    });
    SendMessageRequest::new(APP, by_phone(), AppMessage::carousel(cards))
}

fn floor_carousel() -> FloorRequest {
    let c = &*CARDS;
    let cards = c
        .titles
        .iter()
        .zip(&c.choices)
        .map(|(title, choices)| FloorCard {
            title: title.clone(),
            description: DESCRIPTION.into(),
            media_message: FloorMedia { url: IMAGE.into() },
            choices: choices
                .iter()
                .map(|(text, postback)| FloorChoice {
                    text_message: FloorText { text: text.clone() },
                    postback_data: postback.clone(),
                })
                .collect(),
        })
        .collect();
    floor_request(floor_by_phone(), FloorMessage::CarouselMessage { cards })
}

async fn serve() -> String {
    let app = axum::Router::new()
        .route(
            PATH,
            axum::routing::post(|_body: axum::body::Bytes| async {
                ([("content-type", "application/json")], REPLY)
            }),
        )
        .route(
            "/oauth2/token",
            axum::routing::post(|| async {
                (
                    [("content-type", "application/json")],
                    r#"{"access_token":"bench-token-0123456789abcdef","expires_in":3600,"token_type":"bearer"}"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Path {
    /// The floor, body borrowed.
    Floor,
    /// The floor cloning its body for each request.
    FloorCloned,
    /// The floor building its body for each request.
    FloorBuilt,
    /// The floor with the generated types.
    TypedFloor,
    Builder,
    SendMessage,
    Constructors,
    SendAll,
    /// Against the embedded fake (contact shape only).
    FakeFloor,
    FakeSendMessage,
    /// `send_message` with an SDK meter provider (contact shape, Basic).
    MetricsSdk,
    /// `send_message` with the feature on and the global no-op provider.
    MetricsNoop,
}

impl Path {
    fn is_floor(self) -> bool {
        matches!(
            self,
            Path::Floor | Path::FloorCloned | Path::FloorBuilt | Path::TypedFloor | Path::FakeFloor
        )
    }

    /// The floor doing the same work.
    fn floor(self) -> Path {
        match self {
            Path::Builder | Path::SendAll => Path::FloorCloned,
            Path::Constructors => Path::FloorBuilt,
            Path::FakeSendMessage => Path::FakeFloor,
            _ => Path::Floor,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Auth {
    Basic,
    OAuth2,
}

const OURS: [Path; 4] = [
    Path::Builder,
    Path::SendMessage,
    Path::Constructors,
    Path::SendAll,
];

#[derive(Clone, Copy, Debug)]
struct Contender {
    /// An index into the shapes, or `shapes.len()` for the fake group.
    group: usize,
    path: Path,
    auth: Auth,
}

/// What the contenders share.
struct Ctx {
    http: reqwest::Client,
    floor_url: String,
    floor_auth: reqwest::header::HeaderValue,
    shapes: Vec<Shape>,
    basic: Client,
    oauth: Client,
    /// Basic, recording metrics with `_provider`.
    metered: Client,
    _provider: opentelemetry_sdk::metrics::SdkMeterProvider,
    /// Basic, with OpenTelemetry's global no-op provider.
    noop: Client,
    fake_url: String,
    fake_floor_body: FloorRequest,
    fake_body: SendMessageRequest,
    fake_client: Client,
}

/// Wall time and the process's CPU time.
#[derive(Clone, Copy, Default)]
struct Took {
    wall: f64,
    cpu: f64,
}

fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

impl Ctx {
    fn label(&self, c: Contender) -> String {
        let group = self.shapes.get(c.group).map_or("fake", |s| s.name);
        if c.path.is_floor() {
            format!("{group}/{:?}", c.path)
        } else {
            format!("{group}/{:?}/{:?}", c.path, c.auth)
        }
    }

    fn client(&self, auth: Auth) -> &Client {
        match auth {
            Auth::Basic => &self.basic,
            Auth::OAuth2 => &self.oauth,
        }
    }

    /// `n` requests by contender `c`, at most `inflight` at a time. Each path drives its own
    /// future type, so none carries another's state.
    async fn chunk(&self, c: Contender, n: usize, inflight: usize) -> Took {
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        let client = self.client(c.auth);
        let shape = self.shapes.get(c.group);
        match c.path {
            Path::Floor => {
                let body = &shape.unwrap().floor;
                drive(n, inflight, || {
                    self.floor::<_, FloorResponse>(&self.floor_url, body)
                })
                .await
            }
            Path::FloorCloned => {
                let body = &shape.unwrap().floor;
                drive(n, inflight, || async {
                    let body = body.clone();
                    self.floor::<_, FloorResponse>(&self.floor_url, &body).await
                })
                .await
            }
            Path::FloorBuilt => {
                let construct = shape.unwrap().floor_construct;
                drive(n, inflight, || async {
                    let body = construct();
                    self.floor::<_, FloorResponse>(&self.floor_url, &body).await
                })
                .await
            }
            Path::TypedFloor => {
                let body = &shape.unwrap().request;
                drive(n, inflight, || {
                    self.floor::<_, types::SendMessageResponse>(&self.floor_url, body)
                })
                .await
            }
            Path::Builder => {
                let request = &shape.unwrap().request;
                drive(n, inflight, || async {
                    client
                        .messages_send_message()
                        .body(request.clone())
                        .send()
                        .await
                        .unwrap();
                })
                .await
            }
            Path::SendMessage | Path::MetricsSdk | Path::MetricsNoop => {
                let client = match c.path {
                    Path::MetricsSdk => &self.metered,
                    Path::MetricsNoop => &self.noop,
                    _ => client,
                };
                let request = &shape.unwrap().request;
                drive(n, inflight, || async {
                    client.send_message(request).await.unwrap();
                })
                .await
            }
            Path::Constructors => {
                let construct = shape.unwrap().construct;
                drive(n, inflight, || async {
                    let request = construct();
                    client.send_message(&request).await.unwrap();
                })
                .await
            }
            Path::SendAll => {
                let request = &shape.unwrap().request;
                let requests = (0..n).map(|_| request.clone());
                client
                    .send_all(requests, inflight)
                    .for_each(|o| {
                        o.result.unwrap();
                        async {}
                    })
                    .await;
            }
            Path::FakeFloor => {
                drive(n, inflight, || {
                    self.floor::<_, FloorResponse>(&self.fake_url, &self.fake_floor_body)
                })
                .await
            }
            Path::FakeSendMessage => {
                drive(n, inflight, || async {
                    self.fake_client
                        .send_message(&self.fake_body)
                        .await
                        .unwrap();
                })
                .await
            }
        }
        Took {
            wall: wall.elapsed().as_secs_f64(),
            cpu: cpu_seconds() - cpu,
        }
    }

    async fn floor<B: Serialize, R: for<'de> Deserialize<'de>>(&self, url: &str, body: &B) {
        let resp = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.floor_auth.clone())
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let bytes = resp.bytes().await.unwrap();
        let _: R = serde_json::from_slice(&bytes).unwrap();
    }
}

/// Runs `n` futures made by `f`, at most `inflight` at a time.
async fn drive<F, Fut>(n: usize, inflight: usize, f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    stream::iter(0..n)
        .map(|_| f())
        .buffer_unordered(inflight)
        .for_each(|_| async {})
        .await;
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = env_usize("BENCH_REQUESTS", 20_000);
        let chunk = env_usize("BENCH_CHUNK", 500).max(1);
        let inflight = env_usize("BENCH_INFLIGHT", 32);
        let url = serve().await;
        let http = reqwest::Client::new();
        let builder = |credentials: Credentials| {
            Client::builder()
                .project_id("bench")
                .region(Region::Us)
                .base_url(&url)
                .auth_url(format!("{url}/oauth2/token"))
                .credentials(credentials)
        };
        let build = |credentials| builder(credentials).without_metrics().build().unwrap();
        // An SDK meter provider as a service runs one (exporting every 60 s).
        let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).build())
            .build();
        let basic = || Credentials::basic("key", "secret");
        // The embedded fake, without its request limit or log, with one app and one contact.
        let fake = Fake::builder()
            .key("key", "secret")
            .rate_limit(None)
            .record_requests(false)
            .queue_capacity(usize::MAX)
            .start()
            .await
            .unwrap();
        // CONVERSATION mode: the bench sends to a contact id, which DISPATCH apps refuse.
        let mut app = sinch_conversation::fake::app_request("bench", &[ConversationChannel::Sms]);
        app.processing_mode = Some(types::ProcessingMode::Conversation);
        let fake_app = fake.create_app_with(&app).unwrap().id.unwrap();

        let fake_client = fake
            .client_builder()
            .credentials(Credentials::basic("key", "secret"))
            .http_client(http.clone())
            .build()
            .unwrap();
        let contact = types::ContactCreateRequest::new(
            [types::ChannelIdentity::new(ConversationChannel::Sms, "+15550000000")],
            types::ContactLanguage::EnUs,
        );
        let contact = fake_client
            .contact_create_contact()
            .body(contact)
            .send()
            .await
            .unwrap()
            .into_inner()
            .id
            .unwrap();
        let cx = Ctx {
            floor_url: format!("{url}{PATH}"),
            floor_auth: reqwest::header::HeaderValue::from_static("Basic a2V5OnNlY3JldA=="), // key:secret
            basic: build(basic()),
            oauth: build(Credentials::oauth2("key", "secret")),
            metered: builder(basic()).meter_provider(&provider).build().unwrap(),
            _provider: provider,
            noop: builder(basic()).build().unwrap(),
            http: http.clone(),
            fake_url: format!(
                "{}/v1/projects/{}/messages:send",
                fake.base_url(),
                fake.project_id()
            ),
            fake_floor_body: FloorRequest {
                app_id: fake_app.clone(),
                recipient: FloorRecipient::ContactId(contact.clone()),
                message: FloorMessage::TextMessage {
                    text: "hello".into(),
                },
            },
            fake_body: SendMessageRequest::new(
                &fake_app,
                Recipient::contact(&contact),
                AppMessage::text("hello"),
            ),
            fake_client,
            shapes: shapes(),
        };

        // Contenders grouped by shape: its floors first.
        let mut groups: Vec<Vec<Contender>> = vec![];
        for group in 0..cx.shapes.len() {
            let mut g: Vec<Contender> =
                [Path::Floor, Path::FloorCloned, Path::FloorBuilt, Path::TypedFloor]
                    .into_iter()
                    .map(|path| Contender { group, path, auth: Auth::Basic })
                    .collect();
            for auth in [Auth::Basic, Auth::OAuth2] {
                g.extend(OURS.iter().map(|&path| Contender { group, path, auth }));
            }
            if group == 0 {
                for path in [Path::MetricsSdk, Path::MetricsNoop] {
                    g.push(Contender { group, path, auth: Auth::Basic });
                }
            }
            groups.push(g);
        }
        let group = cx.shapes.len();
        groups.push(vec![
            Contender { group, path: Path::FakeFloor, auth: Auth::Basic },
            Contender { group, path: Path::FakeSendMessage, auth: Auth::Basic },
        ]);

        // For profiling: BENCH_ONLY=<part of a label> runs the matching contenders alone.
        if let Ok(only) = std::env::var("BENCH_ONLY") {
            for c in groups.iter().flatten().filter(|c| cx.label(**c).contains(&only)) {
                cx.chunk(*c, 500, inflight).await;
                let t = cx.chunk(*c, n, inflight).await;
                println!("{}: {:.0} msg/s", cx.label(*c), n as f64 / t.wall);
            }
            return;
        }
        // Warm up connections, the token cache and allocators.
        for c in groups.iter().flatten() {
            cx.chunk(*c, 500, inflight).await;
        }

        // Rounds: each group in turn (rotating), each contender of the group for one chunk, in
        // an order shuffled every round (a fixed order would always put the same contenders
        // after the same others).
        let rounds = (n / chunk).max(1);
        let mut times: Vec<Vec<Vec<Took>>> =
            groups.iter().map(|g| vec![vec![]; g.len()]).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for r in 0..rounds {
            for gi in 0..groups.len() {
                let gi = (gi + r) % groups.len();
                let g = &groups[gi];
                let mut order: Vec<usize> = (0..g.len()).collect();
                for i in (1..order.len()).rev() {
                    // xorshift64: no dependency for a shuffle.
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    order.swap(i, (rng % (i as u64 + 1)) as usize);
                }
                for k in order {
                    // Untimed: the first requests after a switch of client (and connection pool)
                    // are slower, which a service using one client never sees.
                    cx.chunk(g[k], inflight, inflight).await;
                    let t = cx.chunk(g[k], chunk, inflight).await;
                    times[gi][k].push(t);
                }
            }
        }
        let at = |gi: usize, path: Path, auth: Auth| {
            groups[gi]
                .iter()
                .position(|c| c.path == path && (c.auth == auth || path.is_floor()))
                .unwrap()
        };
        let rate = |gi: usize, k: usize| {
            (rounds * chunk) as f64 / times[gi][k].iter().map(|t| t.wall).sum::<f64>()
        };
        // Median over rounds of the floor's time over the contender's, (wall, CPU).
        let ratio = |gi: usize, floor: usize, k: usize| {
            let per_round = |f: fn(&Took) -> f64| {
                median(
                    times[gi][floor]
                        .iter()
                        .zip(&times[gi][k])
                        .map(|(a, b)| f(a) / f(b))
                        .collect(),
                )
            };
            (per_round(|t| t.wall), per_round(|t| t.cpu))
        };
        println!(
            "requests per contender: {}, in flight: {inflight}, chunks of {chunk}",
            rounds * chunk
        );
        println!("ratio = median over rounds of (the floor's time / the contender's); wall time, and CPU time in brackets");
        println!("to the floor doing the same work (send_message: body borrowed; builder, send_all: cloned per request; constructors: built per request):");
        println!(
            "{:<24} {:<7} {:>15} {:>15} {:>15} {:>15}",
            "shape", "auth", "builder", "send_message", "constructors", "send_all"
        );
        let mut lowest = (f64::INFINITY, f64::INFINITY, String::new());
        let cell = |(w, c): (f64, f64)| format!("{w:.3} ({c:.3})");
        for (gi, shape) in cx.shapes.iter().enumerate() {
            for auth in [Auth::Basic, Auth::OAuth2] {
                let mut cells = vec![];
                for path in OURS {
                    let k = at(gi, path, auth);
                    let r = ratio(gi, at(gi, path.floor(), auth), k);
                    if r.0 < lowest.0 {
                        lowest = (r.0, r.1, cx.label(groups[gi][k]));
                    }
                    cells.push(cell(r));
                }
                println!(
                    "shape {:<18} {:<7} {:>15} {:>15} {:>15} {:>15}",
                    shape.name,
                    format!("{auth:?}"),
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3]
                );
            }
        }
        println!(
            "ratio lowest: {:.3} (CPU {:.3}), {}",
            lowest.0, lowest.1, lowest.2
        );
        println!("to the floor with its body borrowed, and the floors themselves:");
        println!(
            "{:<24} {:<7} {:>15} {:>15} {:>15} {:>15}   {:>11} {:>15} {:>15} {:>15}",
            "shape", "auth", "builder", "send_message", "constructors", "send_all",
            "floor msg/s", "floor cloned", "floor built", "typed floor"
        );
        for (gi, shape) in cx.shapes.iter().enumerate() {
            for auth in [Auth::Basic, Auth::OAuth2] {
                let floor = at(gi, Path::Floor, auth);
                let cells: Vec<String> = OURS
                    .iter()
                    .map(|&p| cell(ratio(gi, floor, at(gi, p, auth))))
                    .collect();
                let floors: Vec<String> = [Path::FloorCloned, Path::FloorBuilt, Path::TypedFloor]
                    .iter()
                    .map(|&p| cell(ratio(gi, floor, at(gi, p, auth))))
                    .collect();
                println!(
                    "borrowed {:<15} {:<7} {:>15} {:>15} {:>15} {:>15}   {:>11.0} {:>15} {:>15} {:>15}",
                    shape.name,
                    format!("{auth:?}"),
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    rate(gi, floor),
                    floors[0],
                    floors[1],
                    floors[2]
                );
            }
        }
        let off = at(0, Path::SendMessage, Auth::Basic);
        for (path, what) in [
            (Path::MetricsSdk, "with an SDK meter provider installed"),
            (Path::MetricsNoop, "with the feature on and no provider installed (no-op)"),
        ] {
            let (w, c) = ratio(0, off, at(0, path, Auth::Basic));
            println!(
                "metrics: send_message ({}, Basic) {what}, to the same without metrics: {w:.3} (CPU {c:.3})",
                cx.shapes[0].name
            );
        }
        let fg = cx.shapes.len();
        let (w, c) = ratio(fg, 0, 1);
        println!(
            "fake: floor against it {:.0} msg/s ({:.2} of the stub's contact-id floor), send_message {w:.3} (CPU {c:.3}) of that floor",
            rate(fg, 0),
            rate(fg, 0) / rate(0, 0),
        );
    });
}
