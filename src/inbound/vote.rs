//! Decrypting a poll vote given by a caller (`/misc/whatsapp/poll-update-vote`): the vote's
//! fields as WhatsApp carries them, opened with the secret of a poll this session sent, or
//! with the `pollEncKey` the caller gives.

use serde_json::{Value, json};
use whatsapp_rust::Jid;

use super::poll::{self, SentPoll};
use crate::media::decrypt::b64;
use crate::store::Db;
use crate::store::sessions::SessionRow;

/// Longest base64 vote field accepted (real ones are well under 1 KiB).
const MAX_VOTE_B64: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// A request field is malformed; `field` names it.
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    #[error("poll (this session did not send it; give pollEncKey) not found")]
    UnknownPoll,
    #[error("The vote did not decrypt with this poll's secret and addressing")]
    NotOpened,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> VoteError {
    VoteError::Invalid { field: field.into(), why: why.into() }
}

/// What the caller gives: the vote and, optionally, the poll's key and addressing.
pub struct VoteRequest<'a> {
    pub poll_update_vote: &'a Value,
    pub poll_enc_key: Option<&'a str>,
    pub poll_msg_id: Option<&'a str>,
    pub poll_creator_jid: Option<&'a str>,
    pub voter_jid: Option<&'a str>,
}

/// An opened vote.
pub struct Vote {
    /// The poll's message key (`pollCreationMessageKey` with its id).
    pub message_key: Value,
    pub creator: String,
    pub voter: String,
    /// The chosen options' SHA-256, hex.
    pub hashes: Vec<String>,
    /// (index, name) of the chosen options, when the poll is one this session sent.
    pub chosen: Vec<(usize, String)>,
    pub poll: Option<SentPoll>,
    pub timestamp_ms: Option<i64>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn jid_field(field: &str, raw: &str) -> Result<String, VoteError> {
    raw.parse::<Jid>().map(|j| j.to_non_ad_string()).map_err(|_| invalid(field, format!("{raw:?} is not a JID")))
}

/// Opens a vote on `session`'s poll.
pub async fn open(db: &Db, session: &SessionRow, req: VoteRequest<'_>) -> Result<Vote, VoteError> {
    let v = req.poll_update_vote;
    if !v.is_object() {
        return Err(invalid("pollUpdateVote", "must be an object"));
    }
    let poll_id = str_at(v, &["pollCreationMessageKey", "id"])
        .or(req.poll_msg_id.map(str::trim).filter(|s| !s.is_empty()))
        .ok_or_else(|| invalid("pollUpdateVote.pollCreationMessageKey.id", "is required (or pollMsgId)"))?
        .to_string();
    if poll_id.len() > 128 {
        return Err(invalid("pollUpdateVote.pollCreationMessageKey.id", "is too long"));
    }
    let b64_vote = |name: &'static str, field: &'static str| -> Result<Vec<u8>, VoteError> {
        let raw = str_at(v, &["vote", name]).ok_or_else(|| invalid(field, "is required"))?;
        if raw.len() > MAX_VOTE_B64 {
            return Err(invalid(field, "is too long"));
        }
        b64(field, raw).map_err(|_| invalid(field, "must be base64"))
    };
    let payload = b64_vote("encPayload", "pollUpdateVote.vote.encPayload")?;
    let iv = b64_vote("encIv", "pollUpdateVote.vote.encIv")?;
    let sent = poll::sent_poll(db, &session.id, &poll_id).await?;
    let secret = match (req.poll_enc_key, &sent) {
        (Some(k), _) => {
            let k = b64("pollEncKey", k).map_err(|_| invalid("pollEncKey", "must be base64"))?;
            if k.len() != 32 {
                return Err(invalid("pollEncKey", "must be 32 bytes"));
            }
            k
        }
        (None, Some(p)) => p.secret.clone(),
        (None, None) => return Err(VoteError::UnknownPoll),
    };
    let creator = match req.poll_creator_jid.or(str_at(v, &["pollCreationMessageKey", "participant"])) {
        Some(j) => jid_field("pollCreatorJid", j)?,
        None => {
            let own = session
                .me
                .jid
                .as_deref()
                .ok_or_else(|| invalid("pollCreatorJid", "is required: the session has no account yet"))?;
            jid_field("pollCreatorJid", own)?
        }
    };
    let voter_raw = req
        .voter_jid
        .or(str_at(v, &["key", "participant"]))
        .or(str_at(v, &["key", "remoteJid"]))
        .ok_or_else(|| invalid("voterJid", "is required (or pollUpdateVote.key.participant)"))?;
    let voter = jid_field("voterJid", voter_raw)?;
    let hashes =
        poll::open_vote(&secret, &poll_id, &creator, &voter, &payload, &iv).map_err(|_| VoteError::NotOpened)?;
    let options = sent.as_ref().map(|p| p.options.clone()).unwrap_or_default();
    let chosen = poll::selected(&options, &hashes);
    let mut message_key = v.get("pollCreationMessageKey").cloned().unwrap_or_else(|| json!({}));
    message_key["id"] = json!(poll_id);
    Ok(Vote {
        message_key,
        creator,
        voter,
        hashes: hashes.iter().map(hex::encode).collect(),
        chosen,
        poll: sent,
        timestamp_ms: v.get("senderTimestampMs").and_then(Value::as_i64),
    })
}
