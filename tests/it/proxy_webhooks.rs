//! `WAREST_WEBHOOK_VIA_SESSION_PROXY=true`: a session's webhooks leave through the proxy
//! that session uses — its own, or the one the pool lends it — proven by the receiver
//! seeing each proxy's outgoing address as the peer and by each proxy's log showing the
//! tunnel to the receiver. (Without the flag they go directly: `proxy_e2e` checks that.)

use crate::common;
use crate::proxy_support::{OUTGOING, ProxyProc};
use crate::webhooks_support::{Hit, Receiver};

use std::time::Duration;

use common::envelope_code;
use warest_sandbox::{Behaviour, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const OWN_PHONE: &str = "15551370001";
const POOLED_PHONE: &str = "15551370002";
const CONTACT: &str = "15559370001";

fn of_session<'a>(hits: &'a [Hit], id: &str) -> Vec<&'a Hit> {
    hits.iter().filter(|h| h.json()["session"]["id"] == id).collect()
}

fn has_text(hits: &[Hit], id: &str, text: &str) -> bool {
    of_session(hits, id).iter().any(|h| h.json().to_string().contains(text))
}

#[tokio::test]
async fn with_the_flag_each_sessions_webhooks_go_through_its_own_or_its_pool_proxy() {
    let Some(own) = ProxyProc::microsocks(Some(("hook-user", "hook-pass-71c4"))).await else { return };
    let Some(pooled) = ProxyProc::tinyproxy(None).await else { return };
    let receiver = Receiver::start().await;
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let hook = receiver.url("/hook");
    let pool = pooled.url();
    let env = [
        ("WAREST_WEBHOOK_VIA_SESSION_PROXY", "true"),
        ("WEBHOOK_DEFAULT_URL", hook.as_str()),
        ("WAREST_PROXY_URLS", pool.as_str()),
    ];
    let app = common::wa::sandbox_gateway(common::Kind::Sqlite, &sandbox, &env).await;
    let (_, key) = app.create_user("hooked").await;

    // "own" has its own proxy; "pooled" borrows the pool's.
    let mut events = app.state.events.subscribe();
    let req = app
        .req(reqwest::Method::GET, "/api/v1/session/create", Some(&key))
        .query(&[("sessionId", "own"), ("proxy", own.url().as_str())]);
    let (status, body) = common::call(req).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), OWN_PHONE).unwrap();
    common::wa::wait_open(&mut events, "own").await;
    common::wa::link_session(&app, &sandbox, &key, "pooled", POOLED_PHONE).await;

    sandbox.contact_send(CONTACT, OWN_PHONE, "hello own").await.unwrap();
    sandbox.contact_send(CONTACT, POOLED_PHONE, "hello pooled").await.unwrap();
    let hits = receiver
        .wait_until("both sessions' messages", WAIT, |h| {
            has_text(h, "own", "hello own") && has_text(h, "pooled", "hello pooled")
        })
        .await;

    for id in ["own", "pooled"] {
        let peers: Vec<_> = of_session(&hits, id).iter().map(|h| h.peer).collect();
        assert!(peers.iter().all(|p| p.ip() == OUTGOING), "{id}'s webhooks came from {peers:?}, not the proxy");
    }
    let port = receiver.addr.port();
    assert!(own.hits_to(port) >= 1, "the own proxy tunnelled to the receiver:\n{}", own.log_text());
    assert!(pooled.hits_to(port) >= 1, "the pool's proxy carried the pooled session's hooks:\n{}", pooled.log_text());
    app.stop().await;
}
