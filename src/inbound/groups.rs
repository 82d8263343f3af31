//! Group notifications → catalog events (seed 000): `group_join` / `group_leave` when this
//! session's own account is added or removed (or leaves), `group_participants` for other
//! members' add / remove / promote / demote, `group_update` for everything else (subject,
//! description, settings…). Pure, like `normalize`.

use serde_json::{Value, json};
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction as A, GroupParticipantInfo};
use whatsapp_rust::wacore::types::events::GroupUpdate;

/// This session's own account, by phone JID and LID (either may be unknown).
#[derive(Debug, Clone, Default)]
pub struct Me {
    pub pn: Option<Jid>,
    pub lid: Option<Jid>,
}

impl Me {
    fn is(&self, p: &GroupParticipantInfo) -> bool {
        let same = |a: &Jid, b: &Option<Jid>| b.as_ref().is_some_and(|b| a.user == b.user && a.server == b.server);
        [Some(&p.jid), p.phone_number.as_ref(), p.lid.as_ref()]
            .into_iter()
            .flatten()
            .any(|j| same(j, &self.pn) || same(j, &self.lid))
    }
}

fn jids(ps: &[&GroupParticipantInfo]) -> Value {
    json!(ps.iter().map(|p| p.jid.to_non_ad_string()).collect::<Vec<_>>())
}

fn detail(ps: &[&GroupParticipantInfo]) -> Value {
    json!(ps
        .iter()
        .map(|p| json!({ "jid": p.jid.to_non_ad_string(), "phoneNumber": p.phone_number.as_ref().map(|j| j.to_non_ad_string()) }))
        .collect::<Vec<_>>())
}

/// The catalog events of one group notification.
pub fn events(g: &GroupUpdate, me: &Me) -> Vec<(&'static str, Value)> {
    let mut base = json!({
        "chatId": g.group_jid.to_non_ad_string(),
        "groupId": g.group_jid.to_non_ad_string(),
        "actor": g.participant.as_ref().map(|j| j.to_non_ad_string()),
        "actorPn": g.participant_pn.as_ref().map(|j| j.to_non_ad_string()),
        "timestamp": g.timestamp.timestamp_millis(),
        "fromOffline": g.offline.is_some(),
    });
    let (action, list, reason): (&str, &[GroupParticipantInfo], Option<&String>) = match &g.action {
        A::Add { participants, reason } => ("add", participants, reason.as_ref()),
        A::Remove { participants, reason } => ("remove", participants, reason.as_ref()),
        A::Promote { participants } => ("promote", participants, None),
        A::Demote { participants } => ("demote", participants, None),
        // A create notification reaches the members the creator named: this account was
        // added as the group came to be.
        A::Create { .. } => {
            let mut d = base;
            d["action"] = json!("create");
            d["participants"] = json!([me.pn.as_ref().or(me.lid.as_ref()).map(|j| j.to_non_ad_string())]);
            d["self"] = json!(true);
            d["byMe"] = json!(false);
            return vec![("group_join", d)];
        }
        _ => {
            let mut d = super::wire::normalized(serde_json::to_value(g).unwrap_or(Value::Null));
            if let Some(o) = d.as_object_mut()
                && let Some(b) = base.as_object()
            {
                o.extend(b.clone());
            }
            return vec![("group_update", d)];
        }
    };
    base["action"] = json!(action);
    base["reason"] = json!(reason);
    let (mine, others): (Vec<&GroupParticipantInfo>, Vec<&GroupParticipantInfo>) = list.iter().partition(|p| me.is(p));
    let mut out = Vec::new();
    let self_event = match action {
        "add" => Some("group_join"),
        "remove" => Some("group_leave"),
        _ => None,
    };
    if let (Some(ev), false) = (self_event, mine.is_empty()) {
        let mut d = base.clone();
        d["participants"] = jids(&mine);
        d["participantsDetail"] = detail(&mine);
        // Leaving is a remove of oneself by oneself.
        let by_self = g.participant.as_ref().is_some_and(|a| mine.iter().any(|p| p.jid.user == a.user));
        d["self"] = json!(true);
        d["byMe"] = json!(by_self);
        out.push((ev, d));
    }
    // Promote/demote of this account is still about participants: its admin rights.
    let rest: Vec<&GroupParticipantInfo> = if self_event.is_some() { others } else { list.iter().collect() };
    if !rest.is_empty() {
        let mut d = base;
        d["participants"] = jids(&rest);
        d["participantsDetail"] = detail(&rest);
        out.push(("group_participants", d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(phone: &str) -> GroupParticipantInfo {
        GroupParticipantInfo {
            jid: Jid::pn(phone),
            phone_number: None,
            display_name: None,
            r#type: None,
            lid: None,
            username: None,
            join_time: None,
            group_history_sent_state: None,
        }
    }

    fn update(action: A) -> GroupUpdate {
        GroupUpdate::builder()
            .group_jid("120363000000000001@g.us".parse().unwrap())
            .participant(Jid::pn("15550000001"))
            .timestamp(chrono::Utc::now())
            .is_lid_addressing_mode(false)
            .action(action)
            .build()
    }

    #[test]
    fn own_add_and_remove_are_join_and_leave_others_are_participants() {
        let me = Me { pn: Some(Jid::pn("15550000009")), lid: None };
        let add = update(A::Add { participants: vec![member("15550000009"), member("15550000002")], reason: None });
        let evs = events(&add, &me);
        let names: Vec<&str> = evs.iter().map(|(e, _)| *e).collect();
        assert_eq!(names, ["group_join", "group_participants"]);
        assert_eq!(evs[0].1["participants"], json!(["15550000009@s.whatsapp.net"]));
        assert_eq!(evs[1].1["participants"], json!(["15550000002@s.whatsapp.net"]));
        let leave = update(A::Remove { participants: vec![member("15550000009")], reason: None });
        assert_eq!(events(&leave, &me).iter().map(|(e, _)| *e).collect::<Vec<_>>(), ["group_leave"]);
        let promote = update(A::Promote { participants: vec![member("15550000009")] });
        assert_eq!(events(&promote, &me)[0].0, "group_participants");
        let subject = update(A::Subject { subject: "x".into(), subject_owner: None, subject_time: None });
        assert_eq!(events(&subject, &me)[0].0, "group_update");
    }
}
