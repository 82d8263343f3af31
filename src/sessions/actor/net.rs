//! The actor's side of proxies: which route a new client takes (the session's own proxy,
//! else one from the pool, else direct) and what the transport's notes change — the
//! session's `lastError` on a failed dial, a `session_status` event (`proxy_changed`)
//! when the pool moves it, the sticky assignment stored once a dial worked.

use super::{Actor, ProxyInUse};
use crate::sessions::events::StatusDetail;
use crate::sessions::proxy::{ProxyNote, ProxySpec, Route};
use crate::sessions::status::{Status, Tag};

impl Actor {
    /// The route for the next client, from the stored session config.
    pub(super) async fn route(&self) -> Result<Route, String> {
        let row = self.deps.db.session(&self.id).await.map_err(|e| format!("cannot read the session: {e}"))?;
        if let Some(url) = row.proxy.as_deref() {
            // Stored only after validation; failing here means the row was edited by hand.
            let spec = ProxySpec::parse_url(url).map_err(|e| format!("the stored proxy is invalid: {e}"))?;
            return Ok(Route::Fixed(spec));
        }
        let Some(pool) = &self.deps.proxies else { return Ok(Route::Direct) };
        pool.assign(&self.id, row.proxy_assigned.as_deref());
        Ok(Route::Pool { pool: pool.clone(), session: self.id.clone() })
    }

    pub(super) fn release_proxy(&mut self) {
        if std::mem::take(&mut self.pooled)
            && let Some(pool) = &self.deps.proxies
        {
            pool.release(&self.id);
        }
    }

    pub(super) async fn on_proxy_note(&mut self, note: ProxyNote) {
        match note {
            ProxyNote::Connected(url) => {
                let source = if self.pooled { "pool" } else { "session" };
                self.state.send_modify(|s| s.proxy = Some(ProxyInUse { url: url.clone(), source }));
                let sticky = self.deps.proxies.as_ref().is_some_and(|p| p.settings().sticky);
                if self.pooled
                    && sticky
                    && let Err(e) = self.deps.db.set_session_proxy_assigned(&self.id, Some(&url)).await
                {
                    tracing::warn!(session = %self.id, error = %e, "could not store the proxy assignment");
                }
            }
            ProxyNote::Failed(why) => {
                let snap = self.snapshot();
                // A working session reconnects on its own; the error shows while it cannot.
                if snap.status != Status::Working && snap.last_error.as_deref() != Some(&why) {
                    if let Err(e) = self.deps.db.set_session_status(&self.id, snap.status.as_str(), Some(&why)).await {
                        tracing::error!(session = %self.id, error = %e, "could not store the session status");
                    }
                    self.state.send_modify(|s| s.last_error = Some(why));
                }
            }
            ProxyNote::Switched(sw) => {
                let to = sw.to.clone();
                self.state.send_modify(|s| s.proxy = to.map(|url| ProxyInUse { url, source: "pool" }));
                let status = self.snapshot().status;
                let detail = StatusDetail {
                    reason: Some(&sw.reason),
                    proxy: Some(sw.to.as_deref().unwrap_or("")),
                    previous_proxy: Some(&sw.from),
                    ..Default::default()
                };
                tracing::info!(session = %self.id, from = %sw.from, to = ?sw.to, "session moved to another proxy");
                self.deps.bus.session_status(&self.id, &self.registry, Tag::ProxyChanged, status, detail);
            }
        }
    }
}
