//! Shared test setup: an opt-in stderr logger (`SANDBOX_LOG=debug`) that never
//! prints whatsapp-rust's libsignal target, which logs key material.

#![allow(dead_code)]

use std::time::Duration;

/// The gateway tests' one bounded poll, shared rather than copied.
#[path = "../../../../tests/it/common/eventually.rs"]
pub mod eventually;
pub use eventually::eventually;

/// Upper bound for any single wait in these tests.
/// Generous: a loaded CI machine runs these next to other suites (a step took >30 s once).
pub const WAIT: Duration = Duration::from_secs(60);

struct StderrLog(log::LevelFilter);

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.0 && !m.target().starts_with("wacore_libsignal")
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            eprintln!("[{} {}] {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}

pub fn init_logging() {
    let level = match std::env::var("SANDBOX_LOG").as_deref() {
        Ok("trace") => log::LevelFilter::Trace,
        Ok("debug") => log::LevelFilter::Debug,
        Ok("info") => log::LevelFilter::Info,
        Ok("warn") => log::LevelFilter::Warn,
        _ => return,
    };
    if log::set_logger(Box::leak(Box::new(StderrLog(level)))).is_ok() {
        log::set_max_level(level);
    }
}
