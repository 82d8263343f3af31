//! Span export over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the
//! request, send-job and webhook-delivery spans, with their session and message/event ids,
//! reach a collector (Jaeger, Tempo, the OpenTelemetry Collector…).
//!
//! The SDK's batch processor exports from a thread of its own, outside tokio, while our
//! reqwest needs tokio: [`TokioHttp`] runs each export on the runtime it was created in.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::config::OtlpConfig;

/// How long one export may take; a slow collector must not hold spans forever.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The collector's answer is small (a partial-success note at most); more is not read.
const MAX_ANSWER: usize = 64 * 1024;

/// The provider (flush it at shutdown) and the tracer for the `tracing` layer.
pub fn provider(cfg: &OtlpConfig) -> anyhow::Result<(SdkTracerProvider, opentelemetry_sdk::trace::Tracer)> {
    let headers: HashMap<String, String> =
        cfg.headers.iter().map(|(k, v)| (k.clone(), v.expose().to_string())).collect();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_http_client(TokioHttp::new()?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(cfg.traces_url.clone())
        .with_headers(headers)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        // The error names the endpoint at most, never the headers.
        .map_err(|e| anyhow::anyhow!("OTLP exporter: {e}"))?;
    let resource = Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new("service.version", crate::VERSION))
        .build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("warest");
    Ok((provider, tracer))
}

/// reqwest on the tokio runtime that built it, callable from any thread.
#[derive(Debug)]
struct TokioHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl TokioHttp {
    fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("the OTLP exporter must start inside the tokio runtime"))?;
        // No redirects and no environment proxy: the collector is where the operator said.
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(TokioHttp { client, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for TokioHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let task = self.runtime.spawn(async move {
            let res =
                client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let mut out = Response::builder().status(res.status().as_u16());
            for (k, v) in res.headers() {
                out = out.header(k, v);
            }
            let mut res = res;
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, HttpError>(out.body(Bytes::from(body))?)
        });
        task.await?
    }
}
