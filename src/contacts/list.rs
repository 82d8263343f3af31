//! The contact list: accounts that wrote to the session (from the gateway's own contact
//! store), or the members of its groups (from WhatsApp), optionally enriched.

use serde_json::{Map, Value, json};
use whatsapp_rust::Jid;

use super::lookup::enrich;
use super::{ContactError, MAX_NUMBERS, phone_of, wa};
use crate::sessions::live::LiveSession;
use crate::store::Db;

/// At most this many entries are enriched (`deep`): each costs four WhatsApp requests.
pub const MAX_DEEP: usize = 50;

type Entry = Map<String, Value>;

/// A checked list request.
pub struct ListRequest {
    /// Members of these groups (all the session's groups when empty), else contacts.
    groups: Option<Vec<Jid>>,
    limit: i64,
    deep: bool,
}

impl ListRequest {
    /// `kind` is `contacts` (accounts that wrote to the session, newest first, the
    /// default) or `groups` (members of `group_ids`, comma separated, or of every group);
    /// `limit` is 1–1000 (at most [`MAX_DEEP`] with `deep`).
    pub fn parse(
        kind: Option<&str>,
        group_ids: Option<&str>,
        limit: Option<i64>,
        deep: bool,
    ) -> Result<ListRequest, ContactError> {
        let groups = match (kind.unwrap_or("contacts"), group_ids) {
            ("contacts", None) => None,
            ("contacts", Some(_)) => return Err(ContactError::invalid("groupIds", "only applies when type=groups")),
            ("groups", Some(csv)) => Some(group_jids(csv)?),
            ("groups", None) => Some(Vec::new()),
            (other, _) => return Err(ContactError::invalid("type", format!("{other:?} must be contacts or groups"))),
        };
        let limit = limit.unwrap_or(15);
        if !(1..=1000).contains(&limit) {
            return Err(ContactError::invalid("limit", "must be between 1 and 1000"));
        }
        if deep && limit as usize > MAX_DEEP {
            return Err(ContactError::invalid("limit", format!("at most {MAX_DEEP} with deep=true")));
        }
        Ok(ListRequest { groups, limit, deep })
    }
}

pub async fn list(live: &LiveSession, db: &Db, req: ListRequest) -> Result<Vec<Value>, ContactError> {
    let mut data = match req.groups {
        None => stored(db, live.id(), req.limit).await?,
        Some(ids) => group_members(live, Some(ids).filter(|i| !i.is_empty()), req.limit as usize).await?,
    };
    if req.deep {
        for entry in &mut data {
            let jid = entry.get("jid").and_then(Value::as_str).and_then(|j| j.parse::<Jid>().ok());
            if let Some(jid) = jid {
                enrich(live, &jid, entry).await?;
            }
        }
    }
    Ok(data.into_iter().map(Value::Object).collect())
}

async fn stored(db: &Db, session_id: &str, limit: i64) -> Result<Vec<Entry>, ContactError> {
    let rows = crate::messages::contacts::recent(db, session_id, limit).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let mut entry = Entry::new();
            entry.insert("phone".into(), json!(phone_of(&c.jid)));
            entry.insert("jid".into(), json!(c.jid));
            entry.insert("lid".into(), json!(c.lid));
            entry.insert("name".into(), json!(c.push_name));
            entry
        })
        .collect())
}

fn group_jids(csv: &str) -> Result<Vec<Jid>, ContactError> {
    let parts: Vec<&str> = csv.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() || parts.len() > MAX_NUMBERS {
        return Err(ContactError::invalid("groupIds", "give 1-50 group ids"));
    }
    parts
        .iter()
        .map(|p| {
            let full = if p.contains('@') { p.to_string() } else { format!("{p}@g.us") };
            let r = crate::outbound::recipient::normalize(&full, None)
                .map_err(|why| ContactError::invalid("groupIds", why))?;
            if !r.is_group() {
                return Err(ContactError::invalid("groupIds", format!("{p:?} is not a group id")));
            }
            r.jid.parse::<Jid>().map_err(|_| ContactError::invalid("groupIds", format!("{p:?} is not a group id")))
        })
        .collect()
}

/// Members of the groups, each once with the groups it is in (the session itself left out).
async fn group_members(live: &LiveSession, ids: Option<Vec<Jid>>, limit: usize) -> Result<Vec<Entry>, ContactError> {
    let client = &live.client;
    let groups = match ids {
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(client.groups().get_metadata(&id).await.map_err(wa("group metadata"))?);
            }
            out
        }
        None => {
            let mut all: Vec<_> =
                client.groups().get_participating().await.map_err(wa("groups"))?.into_values().collect();
            all.sort_by(|a, b| a.id.user.cmp(&b.id.user));
            all
        }
    };
    let me = client.pn().map(|j| j.user.to_string());
    let mut out: Vec<Entry> = Vec::new();
    for g in groups {
        for p in &g.participants {
            let pn = p.phone_number.clone().or_else(|| p.jid.is_pn().then(|| p.jid.clone()));
            let lid = p.lid.clone().or_else(|| p.jid.is_lid().then(|| p.jid.clone()));
            let jid = pn.clone().unwrap_or_else(|| p.jid.clone()).to_non_ad();
            if me.as_deref() == Some(jid.user.as_str()) {
                continue;
            }
            let key = jid.to_string();
            if let Some(e) = out.iter_mut().find(|e| e.get("jid").and_then(Value::as_str) == Some(key.as_str())) {
                if let Some(Value::Array(gs)) = e.get_mut("groups") {
                    gs.push(json!(g.id.to_string()));
                }
                continue;
            }
            if out.len() == limit {
                continue;
            }
            let mut entry = Entry::new();
            entry.insert("jid".into(), json!(key));
            entry.insert("phone".into(), json!(pn.map(|j| j.user.to_string())));
            entry.insert("lid".into(), json!(lid.map(|l| l.to_non_ad().to_string())));
            entry.insert("name".into(), json!(p.username.as_ref().map(|u| u.to_string())));
            entry.insert("groups".into(), json!([g.id.to_string()]));
            out.push(entry);
        }
    }
    Ok(out)
}
