//! Tests that need a system tool or service skip with one visible line when it is absent,
//! so the README's test command passes on a machine with only Rust. `.ci/run` installs
//! everything and sets `WAREST_TEST_REQUIRE_ALL=1`, which turns every such skip into a
//! failure: CI always runs them all.
//!
//! The line goes straight to the process's stderr, past the test harness's output
//! capture, so `cargo test` shows it next to the test's `ok`. It names the test (libtest
//! runs each test on a thread named after it).

use std::io::Write;
use std::path::PathBuf;

/// Set by `.ci/run`: a missing tool or service fails the test instead of skipping it.
pub const REQUIRE_ALL: &str = "WAREST_TEST_REQUIRE_ALL";

/// The Postgres server the tests may use (each test creates its own database there).
pub const POSTGRES_URL: &str = "WAREST_TEST_POSTGRES_URL";
pub const MYSQL_URL: &str = "WAREST_TEST_MYSQL_URL";

fn required() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The running test's name, as libtest names its thread.
fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => "this test".to_string(),
    }
}

/// One `SKIP` line for `skipped` (or a panic when CI demands everything).
fn skip<T>(skipped: &str, what: &str, how: &str) -> Option<T> {
    if required() {
        panic!(
            "{skipped} needs {what}, which is missing ({how}); {REQUIRE_ALL} is set, so this fails instead of skipping"
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIP: {skipped} (needs {what}: {how})");
    None
}

/// Reports a missing prerequisite of the whole test: `None` (after one `SKIP` line) so the
/// test can return early, or a panic when CI demands everything.
pub fn missing<T>(what: &str, how: &str) -> Option<T> {
    skip(&current_test(), what, how)
}

/// The path of a program on PATH.
pub fn tool(name: &str) -> Option<PathBuf> {
    find_on_path(name).or_else(|| missing(name, &format!("`{name}` is not on PATH")))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// ffmpeg, which the media tests (their fixtures, and the gateway's conversions) need.
pub fn ffmpeg() -> Option<PathBuf> {
    tool("ffmpeg")
}

/// A service URL from an environment variable (e.g. `WAREST_TEST_POSTGRES_URL`).
pub fn service_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => missing(what, &format!("{var} is not set")),
    }
}

/// The Postgres URL for a test that runs on every database kind: without one, a `SKIP`
/// line says its Postgres run did not happen (its SQLite run still does).
pub fn postgres_run() -> Option<String> {
    run_on(POSTGRES_URL, "Postgres")
}

/// As [`postgres_run`], for MySQL/MariaDB (`WAREST_TEST_MYSQL_URL`).
pub fn mysql_run() -> Option<String> {
    run_on(MYSQL_URL, "MySQL")
}

fn run_on(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => skip(&format!("{} on {what}", current_test()), what, &format!("{var} is not set")),
    }
}
