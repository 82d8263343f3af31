//! Moves `session_status` events from the in-process bus into the outbox.
//!
//! The bus is a broadcast channel: a subscriber that falls 4096 events behind loses the
//! oldest. To keep that from happening, the receiving loop does no I/O: it only moves each
//! event into an unbounded channel, and a separate writer stores them in batches (one
//! transaction per batch). The receiver can then only lag if the runtime starves it for
//! 4096 publishes; if it ever does, the loss is logged with its count. Events still
//! buffered when the process dies are lost — the state itself is in `sessions.status`.

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::{NewEvent, Webhooks};
use crate::sessions::events::SessionEvent;

const BATCH: usize = 256;

pub async fn run(hooks: Webhooks, mut rx: broadcast::Receiver<SessionEvent>, shutdown: CancellationToken) {
    let (tx, mut buffered) = mpsc::unbounded_channel::<SessionEvent>();
    let writer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while buffered.recv_many(&mut batch, BATCH).await > 0 {
            write(&hooks, &batch).await;
            batch.clear();
        }
    });
    loop {
        tokio::select! {
            // Drain first: statuses published during shutdown (the sessions stopping) count.
            biased;
            r = rx.recv() => match r {
                Ok(ev) if ev.event == "session_status" => { let _ = tx.send(ev); }
                // Other bus events (the outbound side's message_ack) are not ours to store:
                // receipts reach the outbox from raw events, once.
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(missed = n, "session_status events lost before reaching the outbox");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = shutdown.cancelled() => {
                // Whatever was published before the stop (the sessions' last statuses).
                while let Ok(ev) = rx.try_recv() {
                    if ev.event == "session_status" {
                        let _ = tx.send(ev);
                    }
                }
                break;
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

async fn write(hooks: &Webhooks, batch: &[SessionEvent]) {
    let result = async {
        let mut tx = super::begin_write(&hooks.db).await?;
        let mut stored = Vec::with_capacity(batch.len());
        for ev in batch {
            let new = NewEvent {
                session_id: &ev.session_id,
                registry: &ev.registry,
                event: ev.event,
                data: ev.data.clone(),
                ts: ev.ts,
            };
            stored.push(hooks.emit_in(&mut tx, new).await?);
        }
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(stored)
    }
    .await;
    match result {
        Ok(stored) => hooks.committed(&stored),
        Err(e) => tracing::error!(error = %e, count = batch.len(), "could not store session_status events"),
    }
}
