//! The managed pool (`WAREST_PROXY_URLS`) end to end with two real SOCKS5 proxies: a
//! session without its own proxy gets the first (failover), the first is killed, and the
//! session reconnects through the second and is `WORKING` again; `session_status` says it
//! changed proxy and why, `/server/proxies` shows the dead one cooling off and the session
//! on the second; after a restart the sticky assignment keeps it there. Prints the
//! reconnect time.

use crate::common;
use crate::proxy_support::ProxyProc;

use std::time::{Duration, Instant};

use common::{ADMIN_KEY, envelope_code};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{Behaviour, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551360001";
const CONTACT: &str = "15559360001";

async fn next_tag(events: &mut broadcast::Receiver<SessionEvent>, tag: &str) -> SessionEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.session_id == "main" && ev.tag() == Some(tag) => return ev,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {tag} event within {WAIT:?}"))
}

fn proxies(body: &Value) -> Vec<Value> {
    body["results"][0]["proxies"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn when_the_first_pool_proxy_dies_the_session_reconnects_through_the_second() {
    let Some(mut first) = ProxyProc::microsocks(None).await else { return };
    let Some(second) = ProxyProc::microsocks(Some(("pool-user", "pool-pass-3e9a"))).await else { return };
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let net_port: u16 = sandbox.ws_url().rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
    let urls = format!("{},{}", first.url(), second.url());
    let env = [
        ("WAREST_PROXY_URLS", urls.as_str()),
        ("WAREST_PROXY_STRATEGY", "failover"),
        ("WAREST_PROXY_ROTATE_AFTER_FAILURES", "1"),
        ("WAREST_PROXY_FAILURE_COOLOFF_MS", "60000"),
    ];
    let app = common::wa::sandbox_gateway(common::Kind::Sqlite, &sandbox, &env).await;
    let (_, key) = app.create_user("pooled").await;
    common::wa::link_session(&app, &sandbox, &key, "main", PHONE).await;

    let (_, body) = app.get("/api/v1/session/main", Some(&key)).await;
    let s = &body["results"][0];
    assert_eq!(
        (s["proxy"]["url"].as_str(), s["proxy"]["source"].as_str()),
        (Some(first.masked().as_str()), Some("pool")),
        "{s}"
    );
    assert!(first.hits_to(net_port) >= 1, "{}", first.log_text());
    let (status, _) = app.get("/api/v1/server/proxies", Some(&key)).await;
    assert_eq!(status, 403, "admin only");
    let (status, body) = app.get("/api/v1/server/proxies", Some(ADMIN_KEY)).await;
    assert_eq!(status, 200, "{body}");
    let list = proxies(&body);
    assert_eq!((list[0]["state"].as_str(), list[0]["sessions"].clone()), (Some("healthy"), json!(["main"])), "{body}");
    assert_eq!(list[1]["url"], second.masked());
    assert!(!body.to_string().contains("pool-pass-3e9a"), "{body}");

    let mut events = app.state.events.subscribe();
    let died = Instant::now();
    first.kill();
    let changed = next_tag(&mut events, "proxy_changed").await;
    assert_eq!(changed.data["previousProxy"], first.masked(), "{:?}", changed.data);
    assert_eq!(changed.data["proxy"], second.masked(), "{:?}", changed.data);
    assert!(changed.data["reason"].as_str().unwrap().contains("unreachable"), "{:?}", changed.data);
    next_tag(&mut events, "open").await;
    let reconnect = died.elapsed();
    eprintln!("proxy failover: WORKING through the second proxy {} ms after the first died", reconnect.as_millis());

    let (_, body) = app.get("/api/v1/session/main", Some(&key)).await;
    let s = &body["results"][0];
    assert_eq!(s["status"], "WORKING", "{s}");
    assert_eq!(s["proxy"]["url"], second.masked(), "{s}");
    assert!(second.hits_to(net_port) >= 1, "{}", second.log_text());
    let (_, body) = app.get("/api/v1/server/proxies", Some(ADMIN_KEY)).await;
    let list = proxies(&body);
    assert_eq!(list[0]["state"], "cooling_off", "{body}");
    assert!(list[0]["coolingOffUntil"].as_i64().unwrap() > warest::store::now_ms(), "{body}");
    assert!(!list[0]["recentFailures"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!((list[1]["state"].as_str(), list[1]["sessions"].clone()), (Some("healthy"), json!(["main"])), "{body}");

    // Sticky: the proxy that worked is stored for the next start.
    let sticky: Option<String> = sqlx::query_scalar("SELECT proxy_assigned FROM sessions WHERE id = 'main'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(sticky, Some(second.masked()));

    // And it works through the second proxy.
    let (status, body) = app
        .post(
            "/api/v1/messages/send/text",
            Some(&key),
            json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": "after failover" }),
        )
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("after failover")).await.unwrap();

    // After a restart (a fresh pool that knows nothing of the dead proxy), the sticky
    // assignment takes it straight to the second proxy: the first is never even tried.
    let app = app.restart().await;
    common::eventually("main WORKING again after the restart", WAIT, async || {
        let (_, body) = app.get("/api/v1/session/main", Some(&key)).await;
        let s = body["results"][0].clone();
        if s["status"] == "WORKING" { Ok(s) } else { Err(s) }
    })
    .await;
    let (_, body) = app.get("/api/v1/server/proxies", Some(ADMIN_KEY)).await;
    let list = proxies(&body);
    assert_eq!(list[0]["recentFailures"], json!([]), "{body}");
    assert_eq!(list[1]["sessions"], json!(["main"]), "{body}");
    app.stop().await;
}
