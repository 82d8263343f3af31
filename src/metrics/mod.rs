//! Prometheus metrics (`GET /metrics`): the recorder behind the `metrics` facade, the
//! families components record into ([`families`]), and the gauges read at scrape time
//! ([`sampled`]: sessions by status, queue and outbox depth and age, dead letters, open
//! breakers, the process).
//!
//! Counters and histograms go through one process-wide recorder, so a process that runs
//! several gateways (the test binary) sums them. The sampled gauges come from each
//! gateway's own database and handles, so they are always that gateway's. Depths and ages
//! are read from the database rather than tracked in memory: a crash or a second node
//! cannot make them drift. Owns no HTTP: the route (`http/routes/server/metrics.rs`) checks
//! the token and answers.

mod families;
mod sampled;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use families::{
    SseClient, action_run, http_request, inbound_committed, send, send_latency, session_failure, session_logout,
    session_reconnect, session_transition, webhook_attempt, webhook_delivery,
};

use crate::app::AppState;
use crate::config::MetricsConfig;

/// The exposition's content type (text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// A gateway's view of the recorder: `None` when `WAREST_METRICS=false`.
#[derive(Clone, Default)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the process-wide recorder on first use. With metrics off nothing is
    /// installed, and every call site's macro is a no-op.
    pub fn from_config(cfg: &MetricsConfig) -> Metrics {
        Metrics { handle: cfg.enabled.then(|| recorder().clone()) }
    }

    pub fn enabled(&self) -> bool {
        self.handle.is_some()
    }
}

fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(families::BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // An embedding program may have installed its own recorder first; then this one
        // records nothing and the scrape shows the sampled families only.
        if ::metrics::set_global_recorder(recorder).is_ok() {
            families::describe();
        } else {
            tracing::warn!("another metrics recorder is installed; /metrics shows sampled gauges only");
        }
        handle
    })
}

/// The whole exposition for this gateway; `None` when metrics are off.
pub async fn scrape(state: &AppState) -> Option<String> {
    let handle = state.metrics.handle.as_ref()?;
    let mut out = handle.render();
    sampled::render(state, &mut out).await;
    Some(out)
}
