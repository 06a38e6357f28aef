//! Contacts: created (with Unified Contact ID's companion identities), listed with the
//! documented filter combinations, patched, merged by the documented rules, deleted; channel
//! profiles and identity conflicts.

use super::notify::emit_to_all_apps;
use super::{app_scoped, State};
use crate::fake::core::ctx::{found, Ctx};
use crate::fake::core::patch;
use crate::fake::core::reply::{ApiFailure, Reply};
use crate::fake::core::request::{page, Req};
use crate::types::{self, ConversationChannel as Channel};
use std::collections::BTreeMap;

/// Channels whose identities are phone numbers shared across apps (identity conflicts,
/// Unified Contact ID).
const SIM_CHANNELS: [Channel; 3] = [Channel::Sms, Channel::Mms, Channel::Rcs];

pub(crate) fn contact<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a types::Contact, ApiFailure> {
    found(&ctx.p.conv().contacts, "contact", id)
}

/// The contact holding `identity` on `channel` (the oldest, if several do). App-scoped
/// identities (Messenger, Instagram, ...) only match for their app.
pub(crate) fn find_by_identity(
    s: &State,
    channel: &Channel,
    identity: &str,
    app_id: Option<&str>,
) -> Option<String> {
    s.contacts.iter().find_map(|(id, c)| {
        c.channel_identities
            .iter()
            .any(|ci| {
                ci.channel == *channel
                    && ci.identity == identity
                    && (ci.app_id.as_deref().is_none_or(str::is_empty)
                        || ci.app_id.as_deref() == app_id)
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
        (Some(id), None) => contact(ctx, id).map(|_| id.clone()),
        (None, Some(by)) => {
            let first = by.channel_identities.first().ok_or_else(|| {
                ApiFailure::bad_request("recipient.identified_by.channel_identities is empty")
            })?;
            find_by_identity(ctx.p.conv(), &first.channel, &first.identity, Some(app_id))
                .ok_or_else(|| ApiFailure::not_found("contact with identity", &first.identity))
        }
        _ => Err(ApiFailure::bad_request(
            "recipient must set exactly one of contact_id and identified_by",
        )),
    }
}

/// A new contact's stored form: the API's defaults, and with Unified Contact ID on, a phone
/// number on one SIM channel also on the other two.
pub(crate) fn normalized(s: &State, mut c: types::Contact) -> types::Contact {
    if c.display_name.as_deref().is_none_or(str::is_empty) {
        c.display_name = Some("Unknown".into());
    }
    for f in [&mut c.email, &mut c.external_id, &mut c.metadata] {
        f.get_or_insert_with(String::new);
    }
    c.language
        .get_or_insert(types::ContactLanguage::Unspecified);
    for i in &mut c.channel_identities {
        i.app_id.get_or_insert_with(String::new);
    }
    if s.unified_contacts() {
        let phones: Vec<String> = c
            .channel_identities
            .iter()
            .filter(|i| SIM_CHANNELS.contains(&i.channel))
            .map(|i| i.identity.clone())
            .collect();
        for phone in phones {
            for ch in SIM_CHANNELS {
                let has = c
                    .channel_identities
                    .iter()
                    .any(|i| i.channel == ch && i.identity == phone);
                if !has {
                    c.channel_identities.push(types::ChannelIdentity {
                        channel: ch,
                        identity: phone.clone(),
                        app_id: Some(String::new()),
                    });
                }
            }
        }
    }
    c
}

/// Stores a new contact with its callbacks (and the duplication notice when a SIM identity
/// was already someone's); returns its id.
pub(crate) fn insert(ctx: &mut Ctx, contact: types::Contact) -> String {
    let mut contact = normalized(ctx.p.conv(), contact);
    let id = ctx.new_id();
    contact.id = Some(id.clone());
    let duplicated: Vec<types::DuplicatedIdentity> = contact
        .channel_identities
        .iter()
        .filter(|i| SIM_CHANNELS.contains(&i.channel))
        .filter_map(|i| {
            let holders: Vec<String> = ctx
                .p
                .conv()
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
    ctx.p
        .conv_mut()
        .contacts
        .insert(id.clone(), contact.clone());
    emit_to_all_apps(
        ctx,
        "CONTACT_CREATE",
        types::ContactNotification {
            contact: Some(contact),
        },
    );
    if !duplicated.is_empty() {
        let n = types::DuplicatedIdentitiesNotification {
            duplicated_identities: duplicated,
        };
        emit_to_all_apps(ctx, "CONTACT_IDENTITIES_DUPLICATION", n);
    }
    id
}

/// Identity rules of a contact: app-scoped channels name their app; with Unified Contact ID
/// on, an identity belongs to one contact only.
fn check_identities(
    ctx: &Ctx,
    identities: &[types::ChannelIdentity],
    except: Option<&str>,
) -> Result<(), ApiFailure> {
    for (n, i) in identities.iter().enumerate() {
        if app_scoped(&i.channel) && i.app_id.as_deref().is_none_or(str::is_empty) {
            return Err(ApiFailure::bad_request(format!(
                "channel_identities[{n}]: a {} identity needs the app_id it belongs to",
                i.channel
            )));
        }
    }
    if !ctx.p.conv().unified_contacts() {
        return Ok(());
    }
    for i in identities {
        let app = i.app_id.as_deref().filter(|a| !a.is_empty());
        // A phone number is one identity across the SIM channels.
        let channels: &[Channel] = if SIM_CHANNELS.contains(&i.channel) {
            &SIM_CHANNELS
        } else {
            std::slice::from_ref(&i.channel)
        };
        let holder = channels
            .iter()
            .find_map(|ch| find_by_identity(ctx.p.conv(), ch, &i.identity, app));
        if let Some(other) = holder {
            if Some(other.as_str()) != except {
                return Err(ApiFailure::precondition(format!(
                    "{} identity {} already belongs to contact {other}",
                    i.channel, i.identity
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn create(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = create_from(ctx, req.json()?)?;
    Reply::json(&ctx.p.conv().contacts[&id])
}

pub(crate) fn get(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    Reply::json(contact(ctx, req.path("contact_id"))?)
}

/// Stores a contact as create does (the Batch API's bulk create too); returns its id.
pub(crate) fn create_from(
    ctx: &mut Ctx,
    r: types::ContactCreateRequest,
) -> Result<String, ApiFailure> {
    check_identities(ctx, &r.channel_identities, None)?;
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
    Ok(insert(ctx, contact))
}

/// Deletes a contact with its callback; `false` if there was none.
pub(crate) fn remove(ctx: &mut Ctx, id: &str) -> bool {
    let Some(removed) = ctx.p.conv_mut().contacts.remove(id) else {
        return false;
    };
    emit_to_all_apps(
        ctx,
        "CONTACT_DELETE",
        types::ContactNotification {
            contact: Some(removed),
        },
    );
    true
}

pub(crate) fn list(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let external = req.query("external_id");
    let channel = req.query("channel").map(Channel::from);
    let identity = req.query("identity");
    if external.is_some() && (channel.is_some() || identity.is_some()) {
        return Err(ApiFailure::bad_request(
            "external_id cannot be combined with channel and identity",
        ));
    }
    if channel.is_some() != identity.is_some() {
        return Err(ApiFailure::bad_request(
            "channel and identity filter together: give both or neither",
        ));
    }
    let items = ctx
        .p
        .conv()
        .contacts
        .iter()
        .filter(|(_, c)| external.is_none_or(|e| c.external_id.as_deref() == Some(e)))
        .filter(|(_, c)| {
            let (Some(ch), Some(id)) = (&channel, identity) else {
                return true;
            };
            c.channel_identities
                .iter()
                .any(|i| i.channel == *ch && i.identity == id)
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
    let id = req.path("contact_id");
    let mut updated: types::Contact = patch::apply(contact(ctx, id)?, req)?;
    updated.id = Some(id.to_owned());
    if updated.channel_identities.is_empty() {
        return Err(ApiFailure::bad_request(
            "a contact keeps at least one channel identity",
        ));
    }
    check_identities(ctx, &updated.channel_identities, Some(id))?;
    let updated = normalized(ctx.p.conv(), updated);
    ctx.p
        .conv_mut()
        .contacts
        .insert(id.to_owned(), updated.clone());
    emit_to_all_apps(
        ctx,
        "CONTACT_UPDATE",
        types::ContactNotification {
            contact: Some(updated.clone()),
        },
    );
    Reply::json(&updated)
}

pub(crate) fn delete(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let id = req.path("contact_id");
    contact(ctx, id)?;
    remove(ctx, id);
    Reply::empty()
}

/// Merges the source contact into the destination, by the rules the API documents: the
/// destination keeps its identities and gains the source's on channels it lacked (at the end of
/// its priority list), takes the source's optional fields where its own are empty, and inherits
/// the source's conversations; where both had an active conversation with the same app, the
/// source's messages move into the destination's. The source is deleted.
pub(crate) fn merge(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let dest_id = req.path("destination_id").to_owned();
    let r: types::MergeContactRequest = req.json()?;
    let source_id = r.source_id;
    if source_id == dest_id {
        return Err(ApiFailure::bad_request(
            "a contact cannot be merged into itself",
        ));
    }
    let mut dest = contact(ctx, &dest_id)?.clone();
    let source = contact(ctx, &source_id)?.clone();

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
    let unknown = |v: &Option<String>| v.as_deref().is_none_or(|s| s.is_empty() || s == "Unknown");
    if unknown(&dest.display_name) && !unknown(&source.display_name) {
        dest.display_name.clone_from(&source.display_name);
    }
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

    let s = ctx.p.conv_mut();
    // Active destination conversation per app, to merge the source's into.
    let active: BTreeMap<String, String> = s
        .conversations
        .iter()
        .filter(|(_, c)| c.contact_id.as_deref() == Some(&dest_id) && c.active == Some(true))
        .filter_map(|(id, c)| Some((c.app_id.clone()?, id.clone())))
        .collect();
    let mut moved: BTreeMap<String, String> = BTreeMap::new(); // source conversation -> destination's
    for (id, c) in s.conversations.iter_mut() {
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
        s.conversations.remove(from);
    }
    for m in s.messages.values_mut() {
        if m.item.contact_id.as_deref() == Some(&source_id) {
            m.item.contact_id = Some(dest_id.clone());
        }
        if let Some(to) = m.item.conversation_id.as_ref().and_then(|c| moved.get(c)) {
            m.item.conversation_id = Some(to.clone());
        }
    }
    for e in s.events.values_mut() {
        if e.item.contact_id.as_deref() == Some(&source_id) {
            e.item.contact_id = Some(dest_id.clone());
        }
        if let Some(to) = e.item.conversation_id.as_ref().and_then(|c| moved.get(c)) {
            e.item.conversation_id = Some(to.clone());
        }
    }
    s.contacts.remove(&source_id);
    s.contacts.insert(dest_id, dest.clone());
    let n = types::ContactMergeNotification {
        preserved_contact: Some(dest.clone()),
        deleted_contact: Some(source),
    };
    emit_to_all_apps(ctx, "CONTACT_MERGE", n);
    Reply::json(&dest)
}

fn fill(dest: &mut Option<String>, source: &Option<String>) {
    if dest.as_deref().is_none_or(str::is_empty) {
        dest.clone_from(source);
    }
}

/// The profile name a channel holds for a contact (channels that have profiles: the document
/// lists them, and the schema check refused the others).
pub(crate) fn channel_profile(ctx: &mut Ctx, req: &Req) -> Result<Reply, ApiFailure> {
    let r: types::GetChannelProfileRequest = req.json()?;
    super::apps::app(ctx, &r.app_id)?;
    let channel = Channel::from(r.channel.as_str());
    let contact = contact(ctx, &existing(ctx, &r.recipient, &r.app_id)?)?;
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
        .filter(|n| n != "Unknown")
        .unwrap_or_else(|| format!("{channel} user {}", identity.identity));
    Reply::json(&types::GetChannelProfileResponse {
        profile_name: Some(profile_name),
    })
}

/// Identities on SIM-based channels held by more than one contact, by identity.
pub(crate) fn conflicts(s: &State) -> BTreeMap<String, types::IdentityConflict> {
    let mut by_identity: BTreeMap<String, types::IdentityConflict> = BTreeMap::new();
    for (id, c) in &s.contacts {
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
    let items = conflicts(ctx.p.conv()).into_iter().collect();
    let (conflicts, next_page_token) = page(items, req, false)?;
    Reply::json(&types::ListIdentityConflictsResponse {
        conflicts,
        next_page_token,
    })
}
