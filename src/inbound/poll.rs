//! Poll votes. A vote (`pollUpdateMessage`) is encrypted with a key derived from the poll's
//! 32-byte message secret, the poll's message id, the creator and the voter; it names
//! options by the SHA-256 of their text. The gateway can open votes on polls it sent: the
//! send queue keeps each poll's secret and options in its job row.

use base64::Engine;
use serde_json::{Value, json};
use whatsapp_rust::Client;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::poll;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::outbound::content::Content;
use crate::store::{Db, RowText, StoreResult};

/// A poll as the gateway sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentPoll {
    pub question: String,
    pub options: Vec<String>,
    pub selectable: u32,
    pub secret: Vec<u8>,
}

/// The poll `id` this session sent, with its secret; `None` if it sent no such poll.
pub async fn sent_poll(db: &Db, session: &str, id: &str) -> StoreResult<Option<SentPoll>> {
    let row = sqlx::query(
        db.sql("SELECT payload FROM outbound_messages WHERE session_id = $1 AND message_id = $2 AND kind = 'poll'"),
    )
    .bind(session)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let payload = row.text("payload")?;
    Ok(match serde_json::from_str::<Content>(&payload) {
        Ok(Content::Poll { question, options, selectable, secret, .. }) => {
            let secret = base64::engine::general_purpose::STANDARD.decode(secret.as_bytes()).unwrap_or_default();
            Some(SentPoll { question, options, selectable, secret })
        }
        _ => None,
    })
}

/// The selected options: (index, name) of each option whose hash the vote carries, in
/// the poll's order. Hashes matching no option are dropped (an option list edited since).
pub fn selected(options: &[String], hashes: &[Vec<u8>]) -> Vec<(usize, String)> {
    options
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            let h = poll::compute_option_hash(name);
            hashes.iter().any(|x| x.as_slice() == h)
        })
        .map(|(i, n)| (i, n.clone()))
        .collect()
}

/// Decrypts a vote with explicit addressing (creator and voter as non-AD JID strings).
pub fn open_vote(
    secret: &[u8],
    poll_id: &str,
    creator: &str,
    voter: &str,
    enc_payload: &[u8],
    enc_iv: &[u8],
) -> anyhow::Result<Vec<Vec<u8>>> {
    poll::decrypt_poll_vote_with_secret(
        poll::PollVoteCiphertext { enc_payload, enc_iv },
        secret,
        poll_id,
        creator,
        voter,
    )
}

/// The encrypted vote as `POST /misc/whatsapp/poll-update-vote` takes it, so a receiver
/// can decrypt it later (e.g. with the poll's secret from elsewhere).
pub fn raw_vote(v: &wa::message::PollUpdateMessage, voter: &Jid) -> Value {
    let b64 = |b: Option<&Vec<u8>>| b.map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    let key = v.poll_creation_message_key.as_option();
    let enc = v.vote.as_option();
    json!({
        "pollCreationMessageKey": key.map(|k| json!({ "id": k.id, "remoteJid": k.remote_jid, "fromMe": k.from_me, "participant": k.participant })),
        "key": { "participant": voter.to_non_ad_string() },
        "vote": { "encPayload": b64(enc.and_then(|e| e.enc_payload.as_ref())), "encIv": b64(enc.and_then(|e| e.enc_iv.as_ref())) },
        "senderTimestampMs": v.sender_timestamp_ms,
    })
}

/// The `vote` of a `message_received` poll_vote payload, decrypted when the poll is one
/// this session sent (else `{ "decrypted": false, "reason": … }`).
pub async fn vote_payload(
    db: &Db,
    client: &Client,
    session: &str,
    v: &wa::message::PollUpdateMessage,
    voter: &Jid,
) -> Value {
    let Some(key) = v.poll_creation_message_key.as_option() else {
        return json!({ "decrypted": false, "reason": "no poll key" });
    };
    let (Some(poll_id), Some(enc)) = (key.id.as_deref(), v.vote.as_option()) else {
        return json!({ "decrypted": false, "reason": "no vote" });
    };
    let sent = match sent_poll(db, session, poll_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return json!({ "decrypted": false, "reason": "poll not sent by this session" }),
        Err(e) => {
            tracing::warn!(error = %e, "poll lookup failed");
            return json!({ "decrypted": false, "reason": "poll lookup failed" });
        }
    };
    // The poll was ours, so we are its creator; whatsapp-rust retries under the LID/PN
    // counterpart when the vote was addressed in the other namespace.
    let Some(creator) = client.pn() else { return json!({ "decrypted": false, "reason": "not logged in" }) };
    let ciphertext = poll::PollVoteCiphertext {
        enc_payload: enc.enc_payload.as_deref().unwrap_or_default(),
        enc_iv: enc.enc_iv.as_deref().unwrap_or_default(),
    };
    match client.polls().decrypt_vote(ciphertext, &sent.secret, poll_id, &creator, voter).await {
        Ok(hashes) => {
            let chosen = selected(&sent.options, &hashes);
            json!({
                "decrypted": true,
                "pollMessageId": poll_id,
                "pollTitle": sent.question,
                "selectedOptions": chosen.iter().map(|(_, n)| n).collect::<Vec<_>>(),
                "selectedOptionIndexes": chosen.iter().map(|(i, _)| i).collect::<Vec<_>>(),
                "selectableOptionsCount": sent.selectable,
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, poll = poll_id, "poll vote did not decrypt");
            json!({ "decrypted": false, "reason": "decryption failed" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vote_opens_to_the_chosen_option_names() {
        let secret = [7u8; 32];
        let options = vec!["Red".to_string(), "Green".to_string(), "Blue".to_string()];
        let hashes = vec![poll::compute_option_hash("Green").to_vec(), poll::compute_option_hash("Blue").to_vec()];
        let (payload, iv) = poll::encrypt_poll_vote_with_secret(
            &hashes,
            &secret,
            "POLL1",
            "1555@s.whatsapp.net",
            "1666@s.whatsapp.net",
        )
        .unwrap();
        let got = open_vote(&secret, "POLL1", "1555@s.whatsapp.net", "1666@s.whatsapp.net", &payload, &iv).unwrap();
        assert_eq!(selected(&options, &got), vec![(1, "Green".to_string()), (2, "Blue".to_string())]);
        // Another voter's key does not open it.
        assert!(open_vote(&secret, "POLL1", "1555@s.whatsapp.net", "1777@s.whatsapp.net", &payload, &iv).is_err());
    }
}
