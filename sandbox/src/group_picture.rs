//! Group pictures (`w:profile:picture` with `target=<group>@g.us`): get, set and
//! delete, with the `picture` notification WhatsApp sends the members.
//!
//! Wire shapes (whatsapp-rust's `ProfilePictureSpec` and `SetProfilePictureSpec`):
//! get is `<picture type="image|preview" query="url"/>`, answered
//! `<picture id url direct_path type/>` or, with no picture, an IQ error 404;
//! set carries
//! `<picture type="image">jpeg bytes</picture>` and is answered `<picture id/>`;
//! a set with no child deletes. Only members may read; setting or deleting
//! follows the group's edit rule (anyone unless locked, then admins; others
//! 403). The bytes are stored on the sandbox's media host, so the returned URL
//! serves exactly what was uploaded (no resizing, no preview variant: both
//! types return the same picture). Members' other devices get
//! `<notification type="picture" from=group><set jid=group id author/>` or
//! `<delete jid=group author/>`. Profile pictures of users stay unmodelled.

use serde::{Deserialize, Serialize};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, Server};

use crate::groups::{Actor, member_group};
use crate::media::MEDIA_HOST;
use crate::nodes::{attr, bytes, iq_error, iq_result, jid_attr, now, random_id};
use crate::server::session::Session;

/// Largest picture accepted (WhatsApp's are 640x640 JPEGs, well under this).
pub(crate) const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;

/// A group's current picture: its id and where the media host serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct GroupPicture {
    pub id: String,
    pub direct_path: String,
}

/// `<iq xmlns="w:profile:picture">`; `None` when the target is not a group
/// (user pictures are not modelled).
pub(crate) fn handle(session: &Session, iq: &Node, id: &str) -> Option<Node> {
    let target = jid_attr(iq, "target").filter(|j| j.server == Server::Group)?;
    let Some((phone, dev)) = session.device().cloned() else {
        return Some(iq_error(id, 401, "not-authorized"));
    };
    let actor = Actor { phone, dev };
    let gid = target.user.to_string();
    let typ = attr(iq, "type").unwrap_or_default();
    Some(if typ == "get" { get(session, &actor, &gid, iq, id) } else { set(session, &actor, &gid, iq, id) })
}

fn get(session: &Session, actor: &Actor, gid: &str, iq: &Node, id: &str) -> Node {
    let mut st = session.hub.state();
    let group = match member_group(&mut st.groups, gid, &actor.phone) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    let typ = iq.get_optional_child("picture").and_then(|p| attr(p, "type")).unwrap_or_else(|| "image".into());
    // No picture is an IQ error 404, as the service answers (the client reads it as "none").
    let Some(p) = &group.picture else {
        return iq_error(id, 404, "item-not-found");
    };
    let node = NodeBuilder::new("picture")
        .attr("id", p.id.as_str())
        .attr("type", typ)
        .attr("url", format!("https://{MEDIA_HOST}{}", p.direct_path))
        .attr("direct_path", p.direct_path.as_str())
        .build();
    iq_result(id, vec![node])
}

fn set(session: &Session, actor: &Actor, gid: &str, iq: &Node, id: &str) -> Node {
    let upload = iq.get_optional_child("picture").map(|p| bytes(p).unwrap_or_default().to_vec());
    if let Some(b) = &upload
        && (b.is_empty() || b.len() > MAX_PICTURE_BYTES)
    {
        return iq_error(id, 400, "bad-request");
    }
    let mut st = session.hub.state();
    let group = match member_group(&mut st.groups, gid, &actor.phone) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    if group.locked && !group.is_admin(&actor.phone) {
        return iq_error(id, 403, "forbidden");
    }
    let author = Jid::pn(actor.phone.as_str());
    let (answer, change) = match upload {
        Some(body) => {
            let pic_id = now().to_string() + &random_id()[..6];
            let direct_path = format!("/v/t61.sandbox-pp/{gid}/{}", random_id());
            session.hub.media.put(direct_path.clone(), body);
            group.picture = Some(GroupPicture { id: pic_id.clone(), direct_path });
            let change = NodeBuilder::new("set")
                .attr("jid", group.jid())
                .attr("id", pic_id.as_str())
                .attr("author", author)
                .build();
            (vec![NodeBuilder::new("picture").attr("id", pic_id).build()], change)
        }
        None => {
            group.picture = None;
            (vec![], NodeBuilder::new("delete").attr("jid", group.jid()).attr("author", author).build())
        }
    };
    let note = NodeBuilder::new("notification")
        .attr("from", Jid::group(gid))
        .attr("type", "picture")
        .attr("id", random_id())
        .attr("t", now().to_string())
        .children([change])
        .build();
    let members = group.members.clone();
    let targets: Vec<_> = members
        .iter()
        .flat_map(|m| st.accounts.devices_of(m))
        .filter(|a| !(a.0 == actor.phone && a.1 == actor.dev))
        .collect();
    for addr in targets {
        st.deliver(&addr, note.clone());
    }
    iq_result(id, answer)
}
