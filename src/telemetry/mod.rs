//! Logging setup, and span export when configured (`otlp`). Filters by target as well as
//! level: whatsapp-rust's libsignal logs key material at WARN, so its targets are silenced
//! whatever `LOG_LEVEL` says — in the logs and in exported spans alike.

mod otlp;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

use crate::config::Config;

/// Targets that never log, whatever the level: they can print secrets.
pub const SILENCED_TARGETS: &[&str] = &["wacore_libsignal"];

pub fn filter_directives(level: &str) -> String {
    let mut d = format!("{level},sqlx=warn,hyper=warn,tower_http=warn");
    // The WhatsApp client narrates every connection step at info; keep that for debugging.
    if !matches!(level, "debug" | "trace") {
        d.push_str(",whatsapp_rust=warn,wacore=warn,whatsapp_rust_tokio_transport=warn");
    }
    for t in SILENCED_TARGETS {
        d.push_str(&format!(",{t}=off"));
    }
    d
}

/// The span exporter, if any: [`Telemetry::flush`] it before the process exits, or the
/// last batch of spans is lost.
#[derive(Default)]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter. The SDK's shutdown blocks while our
    /// export runs on the runtime, so it waits on a blocking thread, not a runtime worker.
    pub async fn flush(self) {
        let Some(p) = self.provider else { return };
        match tokio::task::spawn_blocking(move || p.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warest: flushing spans to the OTLP collector failed: {e}"),
            Err(e) => eprintln!("warest: flushing spans to the OTLP collector failed: {e}"),
        }
    }
}

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
/// With `OTEL_EXPORTER_OTLP_ENDPOINT` it must run inside the tokio runtime.
pub fn init(config: &Config) -> Telemetry {
    let filter = EnvFilter::new(filter_directives(&config.log_level));
    let (provider, otel) = match config.otlp.as_ref().map(otlp::provider) {
        Some(Ok((provider, tracer))) => {
            (Some(provider), Some(tracing_opentelemetry::layer().with_tracer(tracer).with_tracked_inactivity(false)))
        }
        Some(Err(e)) => {
            eprintln!("warest: span export is off: {e:#}");
            (None, None)
        }
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let installed = if config.log_pretty {
        registry.with(fmt::layer().with_target(false).with_ansi(std::io::stdout().is_terminal())).try_init()
    } else {
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init()
    };
    if installed.is_ok()
        && let Some(otlp) = &config.otlp
    {
        // The URL only: the headers are secrets.
        tracing::info!(endpoint = %otlp.traces_url, "exporting spans over OTLP");
    }
    Telemetry { provider: if installed.is_ok() { provider } else { None } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libsignal_is_silenced_even_at_trace() {
        let d = filter_directives("trace");
        assert!(d.contains("wacore_libsignal=off"));
        // The directive must parse, or EnvFilter would silently drop it.
        assert!(EnvFilter::try_new(&d).is_ok());
    }
}
