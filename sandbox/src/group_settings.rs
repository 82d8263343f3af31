//! Group subject, description and settings (locked, announcement, ephemeral
//! timer), each announced to the members with a `w:gp2` notification in the
//! shape whatsapp-rust parses (`<subject subject s_o s_t/>`,
//! `<description id><body/></description>` or `<description id><delete/>`,
//! `<locked/>`, `<unlocked/>`, `<announcement/>`, `<not_announcement/>`,
//! `<ephemeral expiration/>`, `<not_ephemeral/>`).
//!
//! Who may: any member changes subject, description and timer unless the
//! group is locked (then admins only); only admins toggle locked and
//! announcement. Otherwise the IQ answers 403. A description update must name
//! the current description's id as `prev`, or it answers 409 (conflict).

use wacore::iq::groups::{GROUP_DESCRIPTION_MAX_LENGTH, GROUP_EPHEMERAL_EXPIRATION_MAX, GROUP_SUBJECT_MAX_LENGTH};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::groups::{Actor, Description, Group, member_group, notify, text_of};
use crate::hub::State;
use crate::nodes::{attr, iq_error, iq_result, now};

/// Handles one setting child of a `set` IQ to group `gid`; `None` when the
/// child is not a setting this module knows.
pub(crate) fn handle(st: &mut State, actor: &Actor, gid: &str, setting: &Node, id: &str) -> Option<Node> {
    // Static names for the builder, and the filter for what is a setting.
    const SETTINGS: &[&str] = &["subject", "description", "ephemeral", "not_ephemeral"];
    const ADMIN_ONLY: &[&str] = &["locked", "unlocked", "announcement", "not_announcement"];
    let tag: &'static str = SETTINGS.iter().chain(ADMIN_ONLY).find(|t| **t == setting.tag.as_ref())?;
    let admin_only = ADMIN_ONLY.contains(&tag);
    let group = match member_group(&mut st.groups, gid, &actor.phone) {
        Ok(g) => g,
        Err((code, text)) => return Some(iq_error(id, code, text)),
    };
    if (admin_only || group.locked) && !group.is_admin(&actor.phone) {
        return Some(iq_error(id, 403, "forbidden"));
    }
    let action = match apply(group, actor, tag, setting) {
        Ok(action) => action,
        Err((code, text)) => return Some(iq_error(id, code, text)),
    };
    let members = group.members.clone();
    notify(st, gid, actor, &members, action);
    Some(iq_result(id, vec![]))
}

/// Changes the group and returns the notification's action node.
fn apply(group: &mut Group, actor: &Actor, tag: &'static str, setting: &Node) -> Result<Node, (u16, &'static str)> {
    let bad = (400, "bad-request");
    let node = match tag {
        "subject" => {
            let subject = text_of(setting).unwrap_or_default();
            if subject.trim().is_empty() || subject.chars().count() > GROUP_SUBJECT_MAX_LENGTH {
                return Err(bad);
            }
            group.subject = subject;
            group.subject_owner = actor.phone.clone();
            group.subject_time = now();
            NodeBuilder::new("subject")
                .attr("subject", group.subject.as_str())
                .attr("s_o", Jid::pn(actor.phone.as_str()))
                .attr("s_t", group.subject_time.to_string())
                .build()
        }
        "description" => description(group, actor, setting)?,
        "ephemeral" => {
            let expiration = attr(setting, "expiration").and_then(|e| e.parse::<u32>().ok()).ok_or(bad)?;
            if expiration == 0 || expiration > GROUP_EPHEMERAL_EXPIRATION_MAX {
                return Err(bad);
            }
            group.ephemeral = expiration;
            NodeBuilder::new("ephemeral").attr("expiration", expiration.to_string()).build()
        }
        "not_ephemeral" => {
            group.ephemeral = 0;
            NodeBuilder::new("not_ephemeral").build()
        }
        toggle => {
            match toggle {
                "locked" => group.locked = true,
                "unlocked" => group.locked = false,
                "announcement" => group.announcement = true,
                _ => group.announcement = false,
            }
            NodeBuilder::new(toggle).build()
        }
    };
    Ok(node)
}

fn description(group: &mut Group, actor: &Actor, setting: &Node) -> Result<Node, (u16, &'static str)> {
    let bad = (400, "bad-request");
    let new_id = attr(setting, "id").filter(|i| !i.is_empty() && i.len() <= 64).ok_or(bad)?;
    if let Some(current) = &group.description
        && attr(setting, "prev").as_deref() != Some(current.id.as_str())
    {
        return Err((409, "conflict"));
    }
    if attr(setting, "delete").as_deref() == Some("true") {
        group.description = None;
        return Ok(NodeBuilder::new("description")
            .attr("id", new_id)
            .children([NodeBuilder::new("delete").build()])
            .build());
    }
    let body = setting.get_optional_child("body").and_then(text_of).ok_or(bad)?;
    if body.chars().count() > GROUP_DESCRIPTION_MAX_LENGTH {
        return Err(bad);
    }
    let node = NodeBuilder::new("description")
        .attr("id", new_id.as_str())
        .children([NodeBuilder::new("body").string_content(body.as_str()).build()])
        .build();
    group.description = Some(Description { id: new_id, body, owner: actor.phone.clone(), time: now() });
    Ok(node)
}
