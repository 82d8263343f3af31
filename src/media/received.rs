//! Received media, downloaded off the event path. The normalizer asks [`ReceivedMedia::offer`]
//! whether an attachment is to be kept; if so it gets a media id and a signed link for
//! the webhook payload at once, and a bounded queue hands the download to a few workers.
//! A download streams through a size cap into a temp file, is retried once, and becomes
//! visible (a `media` row, the file renamed into place) only when complete, so the link
//! answers 404 until then and never serves half a file. What the sender wrote about where
//! the file lives is checked first (`received_source`): only the session's WhatsApp media
//! hosts are ever fetched from.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use whatsapp_rust::Client;
use whatsapp_rust::wacore::download::{DownloadWriter, Downloadable};
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{MediaConfig, received_source, stored_path};
use crate::store::{Db, RowText, StoreResult, now_ms};

/// Waiting downloads; more are skipped (the payload says so) rather than queued without bound.
const QUEUE: usize = 256;

/// One attachment to fetch.
pub struct Job {
    pub session_id: String,
    pub message_id: String,
    pub media_id: String,
    pub mimetype: String,
    pub client: Arc<Client>,
    pub source: Box<dyn Downloadable>,
}

pub struct ReceivedMedia {
    cfg: MediaConfig,
    tx: mpsc::Sender<Job>,
}

/// A received attachment: its type and the part to download.
pub fn attachment(msg: &wa::Message) -> Option<(Option<String>, Box<dyn Downloadable>)> {
    let m = msg.get_base_message();
    if let Some(x) = m.image_message.as_option() {
        return Some((x.mimetype.clone(), Box::new(x.clone())));
    }
    if let Some(x) = m.video_message.as_option() {
        return Some((x.mimetype.clone(), Box::new(x.clone())));
    }
    if let Some(x) = m.audio_message.as_option() {
        return Some((x.mimetype.clone(), Box::new(x.clone())));
    }
    if let Some(x) = m.document_message.as_option() {
        return Some((x.mimetype.clone(), Box::new(x.clone())));
    }
    if let Some(x) = m.sticker_message.as_option() {
        return Some((x.mimetype.clone(), Box::new(x.clone())));
    }
    None
}

/// Stable per message, so a redelivered message maps to the same file and link.
pub fn media_id(session: &str, chat: &str, message_id: &str) -> String {
    let h = Sha256::digest(format!("{session}\n{chat}\n{message_id}").as_bytes());
    hex::encode(&h[..16])
}

impl ReceivedMedia {
    /// Starts the download workers; they stop when the last handle is dropped.
    pub fn start(db: Db, data_dir: PathBuf, cfg: MediaConfig) -> Arc<Self> {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let slots = Arc::new(Semaphore::new(cfg.workers));
        let max = cfg.max_bytes;
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Ok(permit) = slots.clone().acquire_owned().await else { return };
                let (db, dir) = (db.clone(), data_dir.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    run(&db, &dir, max, job).await;
                });
            }
        });
        Arc::new(ReceivedMedia { cfg, tx })
    }

    /// Decides about one received message's attachment and, if it is kept, queues its
    /// download and returns what the payload's `media` gains (`id`, `url`, `download`).
    pub fn offer(&self, client: &Arc<Client>, session: &str, chat: &str, message_id: &str, msg: &wa::Message) -> Value {
        let Some((mimetype, source)) = attachment(msg) else { return Value::Null };
        let mimetype = mimetype.unwrap_or_default();
        if !self.cfg.download_received {
            return Value::Null;
        }
        if !self.cfg.allows(&mimetype) {
            return json!({ "download": "skipped", "reason": "mimetype not allowed" });
        }
        if source.file_length().is_some_and(|n| n > self.cfg.max_bytes) {
            return json!({ "download": "skipped", "reason": "too large" });
        }
        if let Err(why) = received_source::check_shape(source.as_ref()) {
            tracing::warn!(session, message_id, reason = %why, "received media not downloaded");
            return json!({ "download": "skipped", "reason": "not a WhatsApp media location" });
        }
        let id = media_id(session, chat, message_id);
        let job = Job {
            session_id: session.to_string(),
            message_id: message_id.to_string(),
            media_id: id.clone(),
            mimetype,
            client: client.clone(),
            source,
        };
        if self.tx.try_send(job).is_err() {
            tracing::warn!(session, "received-media queue full, download skipped");
            return json!({ "download": "skipped", "reason": "queue full" });
        }
        json!({ "id": id, "url": self.cfg.link(&id, now_ms() / 1000), "download": "queued" })
    }
}

async fn run(db: &Db, data_dir: &std::path::Path, max: u64, job: Job) {
    let path = stored_path(data_dir, &job.session_id, &job.media_id);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return; // a redelivery of a message already downloaded
    }
    // Against the hosts WhatsApp named for this session; a refusal is final.
    let hosts = match job.client.refresh_media_conn(false).await {
        Ok(conn) => conn.hosts.into_iter().map(|h| h.hostname).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, media = %job.media_id, "no media hosts for a received download");
            return;
        }
    };
    if let Err(why) = received_source::check(job.source.as_ref(), &hosts) {
        tracing::warn!(reason = %why, media = %job.media_id, session = %job.session_id, "received media not downloaded");
        return;
    }
    let mut last = String::new();
    // One retry: a CDN hiccup is common, a second failure is not worth more traffic.
    for _ in 0..2 {
        match download(&job, &path, max).await {
            Ok(size) => {
                if let Err(e) = record(db, &job, size, &path).await {
                    tracing::error!(error = %e, media = %job.media_id, "could not record downloaded media");
                }
                return;
            }
            Err(e) => last = e,
        }
    }
    tracing::warn!(error = %last, media = %job.media_id, session = %job.session_id, "received media download failed");
}

async fn download(job: &Job, path: &std::path::Path, max: u64) -> Result<u64, String> {
    let dir = path.parent().ok_or("no parent directory")?;
    tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
    let tmp = path.with_extension("part");
    let file = tokio::fs::File::create(&tmp).await.map_err(|e| e.to_string())?.into_std().await;
    let res = job.client.download_to_writer(job.source.as_ref(), Capped { file, max, pos: 0, len: 0 }).await;
    match res {
        Ok(w) => {
            let len = w.len;
            // Durable before it becomes visible: the row must never point at a torn file.
            tokio::task::spawn_blocking(move || w.file.sync_all())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            tokio::fs::rename(&tmp, path).await.map_err(|e| e.to_string())?;
            Ok(len)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(format!("{e:#}"))
        }
    }
}

async fn record(db: &Db, job: &Job, size: u64, path: &std::path::Path) -> StoreResult<()> {
    sqlx::query(db.sql(
        "INSERT INTO media (id, session_id, message_id, mimetype, size, path, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    ))
    .bind(&job.media_id)
    .bind(&job.session_id)
    .bind(&job.message_id)
    .bind(&job.mimetype)
    .bind(size as i64)
    .bind(path.to_string_lossy().to_string())
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A file that refuses to grow beyond `max`: the sender declares the length, so the
/// declared length alone cannot be trusted to bound what the CDN sends.
struct Capped {
    file: std::fs::File,
    max: u64,
    pos: u64,
    len: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.pos + buf.len() as u64 > self.max {
            return Err(std::io::Error::other("media exceeds the download size limit"));
        }
        let n = self.file.write(buf)?;
        self.pos += n as u64;
        self.len = self.len.max(self.pos);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for Capped {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl DownloadWriter for Capped {
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }
}

/// A stored media row.
#[derive(Debug, Clone)]
pub struct StoredMedia {
    pub id: String,
    pub session_id: String,
    pub mimetype: String,
    pub size: i64,
    pub path: String,
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<StoredMedia>> {
    use sqlx::Row;
    let row = sqlx::query(db.sql("SELECT id, session_id, mimetype, size, path FROM media WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(StoredMedia {
            id: r.text("id")?,
            session_id: r.text("session_id")?,
            mimetype: r.text("mimetype")?,
            size: r.try_get("size")?,
            path: r.text("path")?,
        }),
        None => None,
    })
}
