//! Contacts: CRUD, merge, channel profiles, identity conflicts, and resolving a recipient.

use super::ctx::Ctx;
use super::patch;
use super::reply::{ApiFailure, Reply};
use super::request::{page, Req};
use super::state::Project;
use crate::types::{self, ConversationChannel as Channel};
use std::collections::BTreeMap;

/// Channels whose identities are phone numbers shared across apps (identity conflicts).
const SIM_CHANNELS: [Channel; 3] = [Channel::Sms, Channel::Mms, Channel::Rcs];

/// The contact holding `identity` on `channel` (the oldest, if several do). App-scoped
/// identities (Messenger, Instagram, ...) only match for their app.
pub(crate) fn find_by_identity(
    p: &Project,
    channel: &Channel,
    identity: &str,
    app_id: Option<&str>,
) -> Option<String> {
    p.contacts.iter().find_map(|(id, c)| {
        c.channel_identities
            .iter()
            .any(|ci| {
                ci.channel == *channel
                    && ci.identity == identity
                    && (ci.app_id.is_none() || ci.app_id.as_deref() == app_id)
            })
            .then(|| id.clone())
    })
}

/// The existing contact a recipient names (by id, or by its first channel identity); queries
/// such as capability and channel profile never create one.
pub(crate) fn existing(
    ctx: &Ctx,
    recipient: &types::Recipient,
    app_id: &str,
) -> Result<String, ApiFailure> {
    match (&recipient.contact_id, &recipient.identified_by) {
        (Some(id), _) => ctx.contact(id).map(|_| id.clone()),
        (None, Some(by)) => {
            let first = by.channel_identities.first().ok_or_else(|| {
                ApiFailure::bad_request("identified_by.channel_identities is empty")
            })?;
            find_by_identity(ctx.p, &first.channel, &first.identity, Some(app_id))
                .ok_or_else(|| ApiFailure::not_found("contact with identity", &first.identity))
        }
        (None, None) => Err(ApiFailure::bad_request(
            "recipient must set contact_id or identified_by",
        )),
    }
}

/// Who a send, event or query goes to, decided before anything is stored.
pub(crate) struct Target {
    /// An existing contact, or the one to create for identities not seen before.
    pub contact: Result<String, types::Contact>,
    /// The channel identity used, the first of the recipient's on a channel the app has.
    pub identity: types::ChannelIdentity,
}

/// Resolves `recipient` for `app` as the API does: by contact id, or by channel identities,
/// creating the contact when none holds the first of them. `priority` (the request's
/// `channel_priority_order`) reorders the candidates.
pub(crate) fn resolve(
    ctx: &Ctx,
    app: &types::AppResponse,
    recipient: &types::Recipient,
    priority: &[Channel],
) -> Result<Target, ApiFailure> {
    let app_id = app.id.as_deref().unwrap_or_default();
    let (contact, mut candidates) = match (&recipient.contact_id, &recipient.identified_by) {
        (Some(id), None) => {
            let c = ctx.contact(id)?;
            let mut list = c.channel_identities.clone();
            rank(&mut list, &c.channel_priority);
            (Ok(id.clone()), list)
        }
        (None, Some(by)) if !by.channel_identities.is_empty() => {
            let list: Vec<types::ChannelIdentity> = by
                .channel_identities
                .iter()
                .map(|i| types::ChannelIdentity {
                    channel: i.channel.clone(),
                    identity: i.identity.clone(),
                    app_id: None,
                })
                .collect();
            let first = &list[0];
            let contact =
                match find_by_identity(ctx.p, &first.channel, &first.identity, Some(app_id)) {
                    Some(id) => Ok(id),
                    None => Err(types::Contact {
                        channel_priority: list.iter().map(|i| i.channel.clone()).collect(),
                        channel_identities: list.clone(),
                        language: Some(types::ContactLanguage::Unspecified),
                        ..Default::default()
                    }),
                };
            (contact, list)
        }
        (Some(_), Some(_)) => {
            return Err(ApiFailure::bad_request(
                "recipient must set either contact_id or identified_by, not both",
            ))
        }
        _ => {
            return Err(ApiFailure::bad_request(
                "recipient must set contact_id or identified_by.channel_identities",
            ))
        }
    };
    rank(&mut candidates, priority);
    let channels: Vec<&Channel> = app.channel_credentials.iter().map(|c| &c.channel).collect();
    let identity = candidates
        .into_iter()
        .find(|i| channels.contains(&&i.channel) && i.app_id.as_deref().is_none_or(|a| a == app_id))
        .ok_or_else(|| {
            ApiFailure::bad_request(format!(
                "the recipient has no channel identity on a channel app {app_id} has credentials for"
            ))
        })?;
    Ok(Target { contact, identity })
}

/// Stable sort: channels named in `priority` first, in its order.
fn rank(list: &mut [types::ChannelIdentity], priority: &[Channel]) {
    list.sort_by_key(|i| {
        priority
            .iter()
            .position(|c| *c == i.channel)
            .unwrap_or(usize::MAX)
    });
}

/// Stores the contact a [`Target`] decided to create (with its callbacks); returns its id.
pub(crate) fn commit(ctx: &mut Ctx, contact: Result<String, types::Contact>) -> String {
    match contact {
        Ok(id) => id,
        Err(new) => insert(ctx, new),
    }
}

fn insert(ctx: &mut Ctx, mut contact: types::Contact) -> String {
    let id = ctx.new_id();
    contact.id = Some(id.clone());
    let duplicated: Vec<types::DuplicatedIdentity> = contact
        .channel_identities
        .iter()
        .filter(|i| SIM_CHANNELS.contains(&i.channel))
        .filter_map(|i| {
            let holders: Vec<String> = ctx
                .p
                .contacts
                .iter()
                .filter(|(_, c)| {
                    c.channel_identities
                        .iter()
                        .any(|x| x.channel == i.channel && x.identity == i.identity)
                })
                .map(|(id, _)| id.clone())
                .collect();
            (!holders.is_empty()).then(|| types::DuplicatedIdentity {
                channel: Some(i.channel.clone()),
                contact_ids: holders.into_iter().chain([id.clone()]).collect(),
            })
        })
        .collect();
    ctx.p.contacts.insert(id.clone(), contact.clone());
    ctx.emit_to_all_apps(
        "CONTACT_CREATE",
        types::ContactNotification {
            contact: Some(contact),
        },
    );
    if !duplicated.is_empty() {
        let n = types::DuplicatedIdentitiesNotification {
            duplicated_identities: duplicated,
        };
        ctx.emit_to_all_apps("CONTACT_IDENTITIES_DUPLICATION", n);
    }
    id
}

/// With Unified Contact ID on, an identity may belong to one contact only.
fn check_unique(
    ctx: &Ctx,
    identities: &[types::ChannelIdentity],
    except: Option<&str>,
) -> Result<(), ApiFailure> {
    if !ctx.p.unified_contacts() {
        return Ok(());
    }
    for i in identities {
        if let Some(other) = find_by_identity(ctx.p, &i.channel, &i.identity, i.app_id.as_deref()) {
            if Some(other.as_str()) != except {
                return Err(ApiFailure::bad_request(format!(
                    "{} identity {} already belongs to contact {other}",
                    i.channel, i.identity
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::ContactCreateRequest = req.json()?;
    if r.channel_identities.is_empty() {
        return Err(ApiFailure::bad_request(
            "channel_identities must not be empty",
        ));
    }
    check_unique(ctx, &r.channel_identities, None)?;
    let contact = types::Contact {
        channel_identities: r.channel_identities,
        channel_priority: r.channel_priority,
        display_name: r.display_name,
        email: r.email,
        external_id: r.external_id,
        id: None,
        language: Some(r.language),
        metadata: r.metadata,
    };
    let id = insert(ctx, contact);
    Reply::json(&ctx.p.contacts[&id])
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(ctx.contact(req.param(0))?)
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let external = req.query("external_id");
    let channel = req.query("channel").map(Channel::from);
    let identity = req.query("identity");
    let items = ctx
        .p
        .contacts
        .iter()
        .filter(|(_, c)| external.is_none_or(|e| c.external_id.as_deref() == Some(e)))
        .filter(|(_, c)| {
            (channel.is_none() && identity.is_none())
                || c.channel_identities.iter().any(|i| {
                    channel.as_ref().is_none_or(|ch| i.channel == *ch)
                        && identity.is_none_or(|id| i.identity == id)
                })
        })
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect();
    let (contacts, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListContactsResponse {
        contacts,
        next_page_token,
    })
}

pub(crate) fn update(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    let mut contact = patch::apply(ctx.contact(id)?, req)?;
    contact.id = Some(id.to_owned());
    check_unique(ctx, &contact.channel_identities, Some(id))?;
    ctx.p.contacts.insert(id.to_owned(), contact.clone());
    ctx.emit_to_all_apps(
        "CONTACT_UPDATE",
        types::ContactNotification {
            contact: Some(contact.clone()),
        },
    );
    Reply::json(&contact)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.param(0);
    ctx.contact(id)?;
    let contact = ctx.p.contacts.remove(id);
    ctx.emit_to_all_apps("CONTACT_DELETE", types::ContactNotification { contact });
    Reply::empty()
}

/// Merges the source contact into the destination, by the rules the API documents: the
/// destination keeps its identities and gains the source's on channels it lacked (at the end of
/// its priority list), takes the source's optional fields where its own are empty, and inherits
/// the source's conversations; where both had an active conversation with the same app, the
/// source's messages move into the destination's. The source is deleted.
pub(crate) fn merge(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let dest_id = req.param(0).to_owned();
    let r: types::MergeContactRequest = req.json()?;
    let source_id = r.source_id;
    if source_id == dest_id {
        return Err(ApiFailure::bad_request(
            "a contact cannot be merged into itself",
        ));
    }
    let mut dest = ctx.contact(&dest_id)?.clone();
    let source = ctx.contact(&source_id)?.clone();

    for i in &source.channel_identities {
        if !dest
            .channel_identities
            .iter()
            .any(|d| d.channel == i.channel)
        {
            dest.channel_identities.push(i.clone());
            if !dest.channel_priority.contains(&i.channel) {
                dest.channel_priority.push(i.channel.clone());
            }
        }
    }
    fill(&mut dest.display_name, &source.display_name);
    fill(&mut dest.email, &source.email);
    fill(&mut dest.external_id, &source.external_id);
    fill(&mut dest.metadata, &source.metadata);
    if dest
        .language
        .as_ref()
        .is_none_or(|l| *l == types::ContactLanguage::Unspecified)
    {
        if let Some(l) = &source.language {
            dest.language = Some(l.clone());
        }
    }

    // Active destination conversation per app, to merge the source's into.
    let active: BTreeMap<String, String> = ctx
        .p
        .conversations
        .iter()
        .filter(|(_, c)| c.contact_id.as_deref() == Some(&dest_id) && c.active == Some(true))
        .filter_map(|(id, c)| Some((c.app_id.clone()?, id.clone())))
        .collect();
    let mut moved: BTreeMap<String, String> = BTreeMap::new(); // source conversation -> destination's
    for (id, c) in ctx.p.conversations.iter_mut() {
        if c.contact_id.as_deref() != Some(&source_id) {
            continue;
        }
        match c.app_id.as_ref().and_then(|a| active.get(a)) {
            Some(target) => {
                moved.insert(id.clone(), target.clone());
            }
            None => c.contact_id = Some(dest_id.clone()),
        }
    }
    for from in moved.keys() {
        ctx.p.conversations.remove(from);
    }
    for m in ctx.p.messages.values_mut() {
        if m.item.contact_id.as_deref() == Some(&source_id) {
            m.item.contact_id = Some(dest_id.clone());
        }
        if let Some(to) = m.item.conversation_id.as_ref().and_then(|c| moved.get(c)) {
            m.item.conversation_id = Some(to.clone());
        }
    }
    for e in ctx.p.events.values_mut() {
        if e.item.contact_id.as_deref() == Some(&source_id) {
            e.item.contact_id = Some(dest_id.clone());
        }
        if let Some(to) = e.item.conversation_id.as_ref().and_then(|c| moved.get(c)) {
            e.item.conversation_id = Some(to.clone());
        }
    }
    ctx.p.contacts.remove(&source_id);
    ctx.p.contacts.insert(dest_id, dest.clone());
    let n = types::ContactMergeNotification {
        preserved_contact: Some(dest.clone()),
        deleted_contact: Some(source),
    };
    ctx.emit_to_all_apps("CONTACT_MERGE", n);
    Reply::json(&dest)
}

fn fill(dest: &mut Option<String>, source: &Option<String>) {
    if dest.as_deref().is_none_or(str::is_empty) {
        dest.clone_from(source);
    }
}

pub(crate) fn channel_profile(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::GetChannelProfileRequest = req.json()?;
    if r.channel.is_unknown() {
        return Err(ApiFailure::bad_request(format!(
            "channel profiles are available on MESSENGER, INSTAGRAM, VIBER and LINE, not {}",
            r.channel
        )));
    }
    ctx.app(&r.app_id)?;
    let channel = Channel::from(r.channel.as_str());
    let contact = ctx.contact(&existing(ctx, &r.recipient, &r.app_id)?)?;
    let identity = contact
        .channel_identities
        .iter()
        .find(|i| i.channel == channel)
        .ok_or_else(|| {
            ApiFailure::new(
                404,
                format!("the contact has no {channel} identity, so no profile"),
            )
        })?;
    let profile_name = contact
        .display_name
        .clone()
        .unwrap_or_else(|| format!("{channel} user {}", identity.identity));
    Reply::json(&types::GetChannelProfileResponse {
        profile_name: Some(profile_name),
    })
}

/// Identities on SIM-based channels held by more than one contact, by identity.
pub(crate) fn conflicts(p: &Project) -> BTreeMap<String, types::IdentityConflict> {
    let mut by_identity: BTreeMap<String, types::IdentityConflict> = BTreeMap::new();
    for (id, c) in &p.contacts {
        for i in c
            .channel_identities
            .iter()
            .filter(|i| SIM_CHANNELS.contains(&i.channel))
        {
            let e =
                by_identity
                    .entry(i.identity.clone())
                    .or_insert_with(|| types::IdentityConflict {
                        identity: Some(i.identity.clone()),
                        ..Default::default()
                    });
            if !e.channels.contains(&i.channel) {
                e.channels.push(i.channel.clone());
            }
            if !e.contact_ids.contains(id) {
                e.contact_ids.push(id.clone());
            }
        }
    }
    by_identity.retain(|_, c| c.contact_ids.len() > 1);
    by_identity
}

pub(crate) fn identity_conflicts(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let items = conflicts(ctx.p).into_iter().collect();
    let (conflicts, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListIdentityConflictsResponse {
        conflicts,
        next_page_token,
    })
}
