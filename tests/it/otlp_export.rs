//! Span export over OTLP/HTTP with the real binary: `OTEL_EXPORTER_OTLP_ENDPOINT` points
//! at a collector endpoint in this test, which decodes each export with the protocol's own
//! message definitions (`opentelemetry-proto`). Requests made just before a SIGTERM
//! arrive — the batch still buffered is flushed at shutdown — as `http` spans carrying the
//! route pattern and request id, under the configured service name, with the configured
//! header; that header's secret value never reaches the log.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use common::process::{Proc, temp_dir, warest};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use prost::Message;

const COLLECTOR_TOKEN: &str = "Bearer otlp-token-6b1e93";

#[derive(Debug, Clone)]
struct Span {
    name: String,
    service: String,
    attrs: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Collected {
    spans: Arc<Mutex<Vec<Span>>>,
    auth: Arc<Mutex<Vec<String>>>,
}

fn strings(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some((kv.key.clone(), s.clone())),
            any_value::Value::IntValue(i) => Some((kv.key.clone(), i.to_string())),
            _ => None,
        })
        .collect()
}

async fn export(State(c): State<Collected>, headers: HeaderMap, body: Bytes) -> &'static str {
    let req = ExportTraceServiceRequest::decode(body).expect("a valid OTLP trace export");
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    c.auth.lock().unwrap().push(auth);
    for rs in req.resource_spans {
        let service = rs.resource.map(|r| strings(&r.attributes)).unwrap_or_default();
        let service = service.get("service.name").cloned().unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                let span = Span { name: s.name, service: service.clone(), attrs: strings(&s.attributes) };
                c.spans.lock().unwrap().push(span);
            }
        }
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    ""
}

#[tokio::test]
async fn spans_reach_an_otlp_collector_and_the_last_batch_is_flushed_at_shutdown() {
    let collected = Collected::default();
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(export)).with_state(collected.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let data = temp_dir("otlp");
    let log = data.join("warest.log");
    let mut cmd = warest(&[]);
    cmd.env("WAREST_DATA_DIR", &data)
        .env("LOG_LEVEL", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_HEADERS", format!("authorization={COLLECTOR_TOKEN}"))
        .env("OTEL_SERVICE_NAME", "warest-otlp-test")
        // The SDK's default: a batch every 5 s, so what the test sends waits in the buffer.
        .env("OTEL_BSP_SCHEDULE_DELAY", "5000");
    let gw = Proc::start(cmd, Some(&log)).await;
    let http = reqwest::Client::new();
    common::eventually("the gateway to be ready", std::time::Duration::from_secs(60), async || {
        http.get(format!("{}/api/v1/server/ready", gw.base())).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    for id in ["otlp-req-1", "otlp-req-2"] {
        let res = http.get(format!("{}/api/v1/server/ready", gw.base())).header("x-request-id", id).send().await;
        assert_eq!(res.unwrap().status(), 200);
    }
    gw.terminate().await;

    let spans = collected.spans.lock().unwrap().clone();
    for id in ["otlp-req-1", "otlp-req-2"] {
        let span = spans
            .iter()
            .find(|s| s.name == "http" && s.attrs.get("request_id").map(String::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no http span for {id} among {spans:?}"));
        assert_eq!(span.attrs.get("route").map(String::as_str), Some("/api/v1/server/ready"), "{span:?}");
        assert_eq!(span.attrs.get("method").map(String::as_str), Some("GET"), "{span:?}");
        assert_eq!(span.service, "warest-otlp-test");
    }
    let auth = collected.auth.lock().unwrap().clone();
    assert!(!auth.is_empty() && auth.iter().all(|a| a == COLLECTOR_TOKEN), "{auth:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("exporting spans over OTLP"), "{text}");
    assert!(!text.contains("otlp-token-6b1e93"), "the collector's token was logged");
}
