//! Skips for absent tools and services (`require::ffmpeg()`, `require::tool("name")`,
//! `require::service_url(..)`): one visible `SKIP` line and `None`, or a failure under
//! `WAREST_TEST_REQUIRE_ALL=1` (CI). The logic lives in `warest::testing::require` so the
//! crate's unit tests and `TestDb::postgres()` skip the same way.

pub use warest::testing::require::*;
