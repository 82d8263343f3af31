//! The per-target fan-out choice (issue 17, item 3; the original's
//! `WAREST_WEBHOOK_PARALLEL_TARGETS`): a `sequential` target gets an event only after the
//! targets listed before it are done with it, while a `parallel` one gets it at once.

use std::time::Duration;

use crate::common;
use crate::webhooks_support::{self, Receiver};

use common::{TestApp, kinds};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);
/// How long the primary target holds the event before answering.
const HOLD: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_sequential_target_waits_for_the_targets_before_it_and_a_parallel_one_does_not() {
    for kind in kinds() {
        let (primary, sequential, parallel) =
            (Receiver::start().await, Receiver::start().await, Receiver::start().await);
        let app = TestApp::spawn(kind).await;
        let (registry, key) = app.create_user("fanout").await;
        webhooks_support::stored_session(&app, "fan-1", &registry, &key, &primary.url("/p")).await;
        let put = json!({ "targets": [
            { "url": sequential.url("/s"), "fanout": "sequential" },
            { "url": parallel.url("/q") },
        ] });
        let req = app.req(reqwest::Method::PUT, "/api/v1/session/fan-1/webhooks", Some(&key)).json(&put);
        let (status, body) = common::call(req).await;
        assert_eq!(status, 200, "{body}");
        let fanouts: Vec<&str> =
            body["results"][0]["targets"].as_array().unwrap().iter().filter_map(|t| t["fanout"].as_str()).collect();
        assert_eq!(fanouts, ["parallel", "sequential", "parallel"], "{body}");
        let bad = json!({ "targets": [{ "url": parallel.url("/q"), "fanout": "sometimes" }] });
        let (status, body) =
            common::call(app.req(reqwest::Method::PUT, "/api/v1/session/fan-1/webhooks", Some(&key)).json(&bad)).await;
        assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("targets[0].fanout")), "{body}");
        primary.hang_containing("session_status", HOLD);

        webhooks_support::emit_status(&app, "fan-1", &registry);
        parallel.wait_until("the parallel target's delivery", WAIT, |h| !h.is_empty()).await;
        assert!(sequential.hits().is_empty(), "{kind:?}: the sequential target got it while the primary held it");
        sequential.wait_until("the sequential target's delivery", WAIT, |h| !h.is_empty()).await;
        assert_eq!(primary.delivered().len(), 1, "{kind:?}: only after the primary answered");
        app.stop().await;
    }
}
