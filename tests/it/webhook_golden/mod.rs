//! Golden payloads (issue 17, item 2): the `data` of every event of the catalog, as the
//! gateway builds it from fixed whatsapp-rust input, equals `tests/golden/webhooks/<name>.json`,
//! and `docs/webhooks.md` shows each of those files verbatim as the event's example, so the
//! document cannot drift from what receivers get. `WAREST_BLESS=1` rewrites the files
//! after an intended change (then review the diff).

mod events;
mod messages;

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

/// The parties every case uses: a contact (by phone and by LID), a group, and this
/// session's own account.
const CONTACT: &str = "6281234567890@s.whatsapp.net";
const CONTACT_LID: &str = "16501234567890123@lid";
const GROUP: &str = "120363025246125888@g.us";
const ME: &str = "6285550001111@s.whatsapp.net";
const ME_LID: &str = "16509876543210987@lid";

/// When every fixed event happened.
fn at() -> DateTime<Utc> {
    Utc.timestamp_opt(1_732_364_392, 0).unwrap()
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_events_payload_equals_its_golden_file_and_its_example_in_the_docs() {
    let bless = std::env::var("WAREST_BLESS").is_ok_and(|v| v == "1");
    let dir = manifest().join("tests/golden/webhooks");
    let docs = std::fs::read_to_string(manifest().join("docs/webhooks.md")).unwrap();
    let cases: Vec<(&str, Value)> = messages::cases().into_iter().chain(events::cases()).collect();
    // A file is named after its event, then `.` and the variant when an event has several.
    let mut failures: Vec<String> = warest::http::routes::webhooks::EVENTS
        .iter()
        .filter(|ev| !cases.iter().any(|(name, _)| name.split('.').next() == Some(**ev)))
        .map(|ev| format!("{ev}: the catalog has it, and no golden case"))
        .collect();
    for (name, got) in cases {
        let rendered = serde_json::to_string_pretty(&got).unwrap() + "\n";
        let path = dir.join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if want != rendered {
            failures.push(format!("{name}: payload differs from {}:\n{rendered}", path.display()));
        }
        if !docs.contains(want.trim_end()) {
            failures.push(format!("{name}: docs/webhooks.md does not show {} verbatim", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The payload of `event` among what one input produced.
fn data_of(name: &str, event: &str, out: Vec<(&'static str, Value)>) -> Value {
    out.into_iter().find(|(e, _)| *e == event).unwrap_or_else(|| panic!("{name}: no {event}")).1
}
