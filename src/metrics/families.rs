//! The families recorded as things happen, by name, with their bounded labels, and the
//! one-line functions components call. Labels are always from a closed set (a status, a
//! route template, an outcome): never a phone number, a message id or a session id, which
//! would make one series per user.

use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub const HTTP_REQUESTS: &str = "warest_http_requests_total";
pub const HTTP_DURATION: &str = "warest_http_request_duration_seconds";
pub const SESSION_TRANSITIONS: &str = "warest_session_transitions_total";
pub const SESSION_RECONNECTS: &str = "warest_session_reconnects_total";
pub const SESSION_LOGOUTS: &str = "warest_session_logouts_total";
pub const SESSION_FAILURES: &str = "warest_session_failures_total";
pub const SENDS: &str = "warest_sends_total";
pub const SEND_LATENCY: &str = "warest_send_latency_seconds";
pub const INBOUND_MESSAGES: &str = "warest_inbound_messages_total";
pub const INBOUND_COMMIT: &str = "warest_inbound_commit_seconds";
pub const WEBHOOK_DELIVERIES: &str = "warest_webhook_deliveries_total";
pub const WEBHOOK_ATTEMPT: &str = "warest_webhook_attempt_duration_seconds";
pub const ACTION_RUNS: &str = "warest_action_runs_total";
pub const SSE_CLIENTS: &str = "warest_sse_clients";

/// Histogram buckets, in seconds: from a fast local answer to a send that waited for a
/// slow reconnect.
pub const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

pub(super) fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status class");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by route template");
    describe_counter!(SESSION_TRANSITIONS, "Session status changes, by new status and reason tag");
    describe_counter!(SESSION_RECONNECTS, "Connections lost by a working session (it reconnects)");
    describe_counter!(SESSION_LOGOUTS, "Sessions logged out, by who did it (api or phone)");
    describe_counter!(SESSION_FAILURES, "Sessions stopped by WhatsApp, by kind (ban, outdated, replaced, ...)");
    describe_counter!(SENDS, "Messages by send stage: accepted, sent (server ack), delivered, read, played, failed");
    describe_histogram!(SEND_LATENCY, Unit::Seconds, "From a send's acceptance to WhatsApp's server ack");
    describe_counter!(INBOUND_MESSAGES, "Inbound messages stored (committed before the ack to WhatsApp)");
    describe_histogram!(INBOUND_COMMIT, Unit::Seconds, "Time to store one inbound batch and its outbox events");
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook attempts by outcome: delivered, retry, dead, gone, deferred");
    describe_histogram!(WEBHOOK_ATTEMPT, Unit::Seconds, "Duration of one webhook POST");
    describe_counter!(ACTION_RUNS, "Webhook answer actions by outcome: ok, error, skipped");
    describe_gauge!(SSE_CLIENTS, "Open live event streams (SSE)");
}

/// `2xx`, `4xx`…: the class keeps the series few; the code is in the logs.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// `route` is the matched template (`/api/v1/sessions/{sessionId}`), never the raw path.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    // A client may send any token as a method; only the ones the API has are kept apart.
    let method = match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let route = route.to_string();
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status_class(status))
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route).record(took.as_secs_f64());
}

/// `status` is a `sessions::status::Status` name, `tag` a `session_status` tag: both closed sets.
pub fn session_transition(status: &'static str, tag: &'static str) {
    counter!(SESSION_TRANSITIONS, "status" => status, "reason" => tag).increment(1);
}

pub fn session_reconnect() {
    counter!(SESSION_RECONNECTS).increment(1);
}

/// `by`: `api` (asked through the API) or `phone` (the device was removed).
pub fn session_logout(by: &'static str) {
    counter!(SESSION_LOGOUTS, "by" => by).increment(1);
}

/// `kind`: `temporary_ban`, `outdated`, `replaced`, `qr_timeout`, `refused`.
pub fn session_failure(kind: &'static str) {
    counter!(SESSION_FAILURES, "kind" => kind).increment(1);
}

/// `stage`: accepted, sent, delivered, read, played or failed.
pub fn send(stage: &'static str, n: u64) {
    counter!(SENDS, "stage" => stage).increment(n);
}

pub fn send_latency(took: Duration) {
    histogram!(SEND_LATENCY).record(took.as_secs_f64());
}

pub fn inbound_committed(messages: u64, took: Duration) {
    counter!(INBOUND_MESSAGES).increment(messages);
    histogram!(INBOUND_COMMIT).record(took.as_secs_f64());
}

/// `outcome`: delivered, retry, dead, gone or deferred (breaker open, no attempt spent).
pub fn webhook_delivery(outcome: &'static str) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}

pub fn webhook_attempt(took: Duration) {
    histogram!(WEBHOOK_ATTEMPT).record(took.as_secs_f64());
}

/// `outcome`: ok, error, or skipped (an earlier run of the event did it).
pub fn action_run(outcome: &'static str) {
    counter!(ACTION_RUNS, "outcome" => outcome).increment(1);
}

/// Counts one open live stream while it lives.
pub struct SseClient(());

impl SseClient {
    pub fn open() -> SseClient {
        gauge!(SSE_CLIENTS).increment(1.0);
        SseClient(())
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        gauge!(SSE_CLIENTS).decrement(1.0);
    }
}
