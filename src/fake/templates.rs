//! The Template Management API v2 (`spec/templates.yaml`): templates with one translation per
//! language and version, versioned updates, and the `"latest"` copies list and get add.

use crate::fake::core::ctx::Ctx;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::Req;
use crate::fake::core::server::Handler;
use crate::fake::core::service::ServiceDef;
use crate::fake::core::state::Project;
use crate::templates::types::{
    V2ListTemplatesResponse, V2ListTranslationsResponse, V2Template, V2TemplateResponse,
    V2TemplateTranslation,
};
use std::collections::BTreeMap;

/// One project's templates, by id.
#[derive(Default)]
pub(crate) struct State {
    pub templates: BTreeMap<String, V2TemplateResponse>,
}

/// The Template Management API v2, at the root (its paths are its own).
pub(crate) const SERVICE: ServiceDef = ServiceDef {
    document: "templates",
    prefix: "",
    bearer_only: false,
    handler,
    state: || Box::<State>::default(),
};

impl Project {
    pub fn templates(&self) -> &State {
        self.part()
    }
    pub fn templates_mut(&mut self) -> &mut State {
        self.part_mut()
    }
}

fn handler(operation: &str) -> Option<Handler> {
    Some(match operation {
        "Templates_v2_ListTemplates" => list,
        "Templates_v2_CreateTemplate" => create,
        "Templates_v2_GetTemplate" => get,
        "Templates_v2_UpdateTemplate" => update,
        "Templates_v2_DeleteTemplate" => delete,
        "Templates_v2_ListTranslations" => translations,
        _ => return None,
    })
}

/// Channels a translation may override with a channel's own template.
const OVERRIDABLE: [&str; 2] = ["WHATSAPP", "KAKAOTALK"];

/// The rules of a template's translations that its schema cannot state.
fn check(t: &V2Template, raw: &serde_json::Value) -> Result<(), ApiFailure> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, tr) in t.translations.iter().enumerate() {
        let version = tr.version.clone().unwrap_or_else(|| "1".into());
        if version == "latest" {
            return Err(ApiFailure::bad_request(format!(
                "translations[{i}].version: \"latest\" names the newest version and cannot be stored"
            )));
        }
        if !seen.insert((tr.language_code.clone(), version.clone())) {
            return Err(ApiFailure::bad_request(format!(
                "translations[{i}]: {} version {version} appears twice",
                tr.language_code
            )));
        }
        if let Some(c) = tr
            .channel_template_overrides
            .keys()
            .find(|c| !OVERRIDABLE.contains(&c.as_str()))
        {
            return Err(ApiFailure::bad_request(format!(
                "translations[{i}].channel_template_overrides: only WHATSAPP and KAKAOTALK take a channel template, not {c}"
            )));
        }
        let kinds = raw
            .pointer(&format!("/translations/{i}"))
            .and_then(|v| v.as_object())
            .map_or(0, |o| {
                o.iter()
                    .filter(|(k, v)| k.ends_with("_message") && !v.is_null())
                    .count()
            });
        if kinds != 1 {
            return Err(ApiFailure::bad_request(format!(
                "translations[{i}] must hold exactly one message, got {kinds}"
            )));
        }
    }
    if !t
        .translations
        .iter()
        .any(|tr| tr.language_code == t.default_translation)
    {
        return Err(ApiFailure::bad_request(format!(
            "default_translation {} is not the language of any translation",
            t.default_translation
        )));
    }
    Ok(())
}

/// The stored form of a template: ids, versions, times and empty collections filled in.
fn stored(
    ctx: &Ctx,
    id: String,
    version: i32,
    created: chrono::DateTime<chrono::Utc>,
    t: V2Template,
) -> V2TemplateResponse {
    let translations = t
        .translations
        .into_iter()
        .map(|mut tr| {
            tr.version.get_or_insert_with(|| "1".into());
            tr.create_time = Some(ctx.now);
            tr.update_time = Some(ctx.now);
            tr
        })
        .collect();
    V2TemplateResponse {
        id: Some(id),
        description: Some(t.description.unwrap_or_default()),
        version: Some(version),
        default_translation: Some(t.default_translation),
        translations,
        create_time: Some(created),
        update_time: Some(ctx.now),
    }
}

/// What list and get answer: every translation, plus a copy of the newest version of each
/// language whose version is `"latest"`.
fn with_latest(t: &V2TemplateResponse) -> V2TemplateResponse {
    let mut out = t.clone();
    let mut newest: BTreeMap<&str, &V2TemplateTranslation> = BTreeMap::new();
    for tr in &t.translations {
        let e = newest.entry(tr.language_code.as_str()).or_insert(tr);
        if version_key(tr) > version_key(e) {
            *e = tr;
        }
    }
    for tr in newest.into_values() {
        let mut copy = tr.clone();
        copy.version = Some("latest".into());
        out.translations.push(copy);
    }
    out
}

/// Versions compare as numbers when they are numbers.
fn version_key(tr: &V2TemplateTranslation) -> (u64, String) {
    let v = tr.version.clone().unwrap_or_default();
    (v.parse().unwrap_or(0), v)
}

fn template<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a V2TemplateResponse, ApiFailure> {
    ctx.p
        .templates()
        .templates
        .get(id)
        .ok_or_else(|| ApiFailure::not_found("template", id))
}

fn list(ctx: &mut Ctx, _: &Req) -> Result<Reply, ApiFailure> {
    let templates = ctx
        .p
        .templates()
        .templates
        .values()
        .map(with_latest)
        .collect();
    Reply::json(&V2ListTemplatesResponse { templates })
}

fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let t: V2Template = req.json()?;
    check(&t, &req.body)?;
    let id = match t.id.clone().filter(|id| !id.is_empty()) {
        Some(id) if ctx.p.templates().templates.contains_key(&id) => {
            return Err(ApiFailure::bad_request(format!(
                "template {id} already exists"
            )))
        }
        Some(id) => id,
        None => ctx.new_id(),
    };
    // The first version is 1, whatever the request says.
    let t = stored(ctx, id.clone(), 1, ctx.now, t);
    ctx.p.templates_mut().templates.insert(id, t.clone());
    Reply::json(&t)
}

fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(&with_latest(template(ctx, req.path("template_id"))?))
}

/// A full replacement that names the version it replaces.
fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("template_id");
    let current = template(ctx, id)?;
    let t: V2Template = req.json()?;
    let current_version = current.version.unwrap_or(1);
    let created = current.create_time.unwrap_or(ctx.now);
    match t.version {
        None => {
            return Err(ApiFailure::bad_request(
                "invalid argument: version: an update names the version it replaces",
            ))
        }
        Some(v) if v != current_version => {
            return Err(ApiFailure::precondition(format!(
                "template {id} is at version {current_version}, not {v}: read it again"
            )))
        }
        Some(_) => {}
    }
    if t.id.as_deref().is_some_and(|b| !b.is_empty() && b != id) {
        return Err(ApiFailure::bad_request(
            "the body's id differs from the template in the path",
        ));
    }
    check(&t, &req.body)?;
    let t = stored(ctx, id.to_owned(), current_version + 1, created, t);
    ctx.p
        .templates_mut()
        .templates
        .insert(id.to_owned(), t.clone());
    Reply::json(&t)
}

fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("template_id");
    template(ctx, id)?;
    ctx.p.templates_mut().templates.remove(id);
    Reply::empty()
}

/// A template's translations, by language and version (`latest`: the newest per language).
fn translations(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let t = template(ctx, req.path("template_id"))?;
    let language = req.query("language_code");
    let version = req.query("translation_version");
    let latest = with_latest(t);
    let translations = latest
        .translations
        .into_iter()
        .filter(|tr| match version {
            Some(v) => tr.version.as_deref() == Some(v),
            None => tr.version.as_deref() != Some("latest"),
        })
        .filter(|tr| {
            language.is_none_or(|l| {
                tr.language_code
                    .replace('_', "-")
                    .eq_ignore_ascii_case(&l.replace('_', "-"))
            })
        })
        .map(|mut tr| {
            if version == Some("latest") {
                // The newest translation itself, under its real version.
                let real = t
                    .translations
                    .iter()
                    .filter(|x| x.language_code == tr.language_code)
                    .max_by_key(|x| version_key(x));
                tr.version = real.and_then(|r| r.version.clone());
            }
            tr
        })
        .collect();
    Reply::json(&V2ListTranslationsResponse { translations })
}
