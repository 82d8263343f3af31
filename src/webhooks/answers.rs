//! A receiver's 2xx answer, handed to whoever acts on it (the action runner, which
//! `app` installs). Webhooks only read the body — capped, since receivers are not trusted
//! — and never execute anything, so delivery does not depend on the runner.

use std::sync::{Arc, OnceLock};

/// What the receiver answered to one successful attempt.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The `webhook_attempts` row the results are recorded on.
    pub attempt_id: i64,
    /// The delivery (event × target) the attempt belongs to.
    pub delivery_id: i64,
    /// The target the delivery went to (`kind:id`), stable across redeliveries and
    /// replays of the event, unlike `delivery_id` (a replay makes a new delivery).
    pub target: String,
    /// The session the event came from, and its owner (the target's tenant).
    pub session_id: String,
    pub registry: String,
    pub event_id: String,
    pub event: String,
    /// The event's data (`data` of the delivered body), for actions that refer to it.
    pub data: serde_json::Value,
    pub content_type: Option<String>,
    pub body: AnswerBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerBody {
    Text(String),
    /// Longer than the handler's limit: not read further.
    TooLarge {
        limit: usize,
    },
    /// The connection failed while the body was read.
    Unreadable,
}

/// Acts on answers. `handle` must return quickly: it runs on the dispatcher's path.
pub trait AnswerHandler: Send + Sync {
    /// Largest body worth reading, in bytes.
    fn max_body(&self) -> usize;
    fn handle(&self, answer: Answer);
}

/// Set once by the app after the state is built; empty in tests that need no runner.
pub type AnswerSlot = Arc<OnceLock<Arc<dyn AnswerHandler>>>;

/// Reads at most `limit` bytes of the body.
pub async fn read_capped(mut res: reqwest::Response, limit: usize) -> AnswerBody {
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return AnswerBody::TooLarge { limit };
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    return AnswerBody::TooLarge { limit };
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return AnswerBody::Text(String::from_utf8_lossy(&buf).into_owned()),
            Err(_) => return AnswerBody::Unreadable,
        }
    }
}
