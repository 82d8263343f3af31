//! Logging setup. Filters by target as well as level: whatsapp-rust's libsignal logs key
//! material at WARN, so its targets are silenced whatever `LOG_LEVEL` says.

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

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
pub fn init(config: &Config) {
    let filter = EnvFilter::new(filter_directives(&config.log_level));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if config.log_pretty {
        registry.with(fmt::layer().with_target(false).with_ansi(std::io::stdout().is_terminal())).try_init()
    } else {
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init()
    };
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
