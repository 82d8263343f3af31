//! Tests that need a system tool or service skip with one visible line when it is absent,
//! so the README's test command passes on a machine with only Rust. `.ci/run` installs
//! everything and sets `WAREST_TEST_REQUIRE_ALL=1`, which turns every such skip into a
//! failure: CI always runs them all.

use std::path::PathBuf;

/// Set by `.ci/run`: a missing tool or service fails the test instead of skipping it.
pub const REQUIRE_ALL: &str = "WAREST_TEST_REQUIRE_ALL";

fn required() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports a missing prerequisite: `None` (after one `SKIP` line on stderr) so the test can
/// return early, or a panic when CI demands everything.
pub fn missing<T>(what: &str, how: &str) -> Option<T> {
    if required() {
        panic!("{what} is required here ({REQUIRE_ALL} is set) but missing: {how}");
    }
    eprintln!("SKIP: {what} is not available ({how}); this test did not run");
    None
}

/// The path of a program on PATH (or at `env_override` when that variable is set).
pub fn tool(name: &str) -> Option<PathBuf> {
    find_on_path(name).or_else(|| missing(name, &format!("`{name}` is not on PATH")))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// ffmpeg, which the media tests (and the gateway's conversions) need.
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
