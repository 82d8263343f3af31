//! `/api/v1/profile/*` end to end against the sandbox: what the gateway sets is what the
//! server stores and what another account's real client then sees (picture bytes, about
//! text, push name); privacy settings round-trip through the server; lookups, contact
//! lists and business profiles come from the network; a block stops delivery and an
//! unblock restores it.

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::{Kind, TestApp, envelope_code, eventually};
use serde_json::json;
use warest_sandbox::{Behaviour, BusinessProfile, Sandbox, SandboxEvent};

const TIMEOUT: Duration = Duration::from_secs(60);
const PHONE: &str = "15550007001";
const FRIEND: &str = "15550007002";
const SHOP: &str = "15550007003";
const NOBODY: &str = "15550007999";

async fn gateway(sandbox: &Sandbox) -> TestApp {
    common::wa::sandbox_gateway(Kind::Sqlite, sandbox, &[]).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

/// A small valid PNG (the gateway only sniffs the type; the server keeps bytes as given).
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 4, 4);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&[7u8; 16]).unwrap();
    out
}

fn data_url(bytes: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn profile_picture_about_and_push_name_reach_other_accounts() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(FRIEND, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("alice").await;
    link(&app, &sandbox, &key).await;

    // Picture: set → stored → a contact's own client fetches the same bytes.
    let pic = png();
    let (status, body) = app
        .post("/api/v1/profile/picture", Some(&key), json!({ "sessionId": "main", "picture": data_url(&pic) }))
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let id = body["results"][0]["id"].as_str().unwrap().to_string();
    let stored = sandbox.profile_of(PHONE).unwrap().picture.expect("server stored a picture");
    assert_eq!((stored.0.as_str(), &stored.1), (id.as_str(), &pic));
    assert_eq!(sandbox.contact_fetch_picture(FRIEND, PHONE).await.unwrap().as_deref(), Some(&pic[..]));
    let (status, body) = app.get("/api/v1/profile/picture?sessionId=main", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["id"], id.as_str(), "{body}");

    // Delete: gone for everyone.
    let (status, body) = common::call(
        app.req(reqwest::Method::DELETE, "/api/v1/profile/picture", Some(&key)).json(&json!({ "sessionId": "main" })),
    )
    .await;
    assert_eq!((status, body["results"].clone()), (200, json!([])), "{body}");
    assert!(sandbox.profile_of(PHONE).unwrap().picture.is_none());
    assert_eq!(sandbox.contact_fetch_picture(FRIEND, PHONE).await.unwrap(), None);
    let (_, body) = app.get("/api/v1/profile/picture?sessionId=main", Some(&key)).await;
    assert_eq!(body["results"], json!([]), "{body}");

    // About and push name.
    let (status, body) = app
        .post(
            "/api/v1/profile/info",
            Some(&key),
            json!({ "sessionId": "main", "about": "Out fishing", "pushName": "Alice A" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sandbox.profile_of(PHONE).unwrap().status, "Out fishing");
    assert_eq!(sandbox.contact_fetch_status(FRIEND, PHONE).await.unwrap().as_deref(), Some("Out fishing"));
    let (status, body) = app.get("/api/v1/profile/info?sessionId=main", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let info = &body["results"][0];
    assert_eq!((info["about"].as_str(), info["pushName"].as_str()), (Some("Out fishing"), Some("Alice A")), "{body}");
    assert_eq!(info["phone"], PHONE);
    let (status, body) = app
        .post(
            "/api/v1/messages/send/text",
            Some(&key),
            json!({ "sessionId": "main", "to": FRIEND, "message": "hi there" }),
        )
        .await;
    assert!(status == 200 || status == 202, "{status} {body}");
    let got = sandbox.wait_inbox(FRIEND, TIMEOUT, |m| m.text.as_deref() == Some("hi there")).await.unwrap();
    assert_eq!(got.push_name, "Alice A", "the contact sees the new push name");

    // Bad input names the field.
    for (body, field) in [
        (json!({ "sessionId": "main", "picture": "not base64 !" }), "picture"),
        (json!({ "sessionId": "main", "picture": data_url(b"plain text, not an image") }), "picture"),
        (json!({ "sessionId": "main" }), "picture"),
    ] {
        let (status, res) = app.post("/api/v1/profile/picture", Some(&key), body).await;
        assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some(field)), "{res}");
    }
    let (status, res) =
        app.post("/api/v1/profile/info", Some(&key), json!({ "sessionId": "main", "about": "x".repeat(140) })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("about")), "{res}");
    let (status, res) =
        app.post("/api/v1/profile/info", Some(&key), json!({ "sessionId": "main", "pushName": "" })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("pushName")), "{res}");
    // Another tenant cannot reach this session.
    let (_, other) = app.create_user("bob").await;
    let (status, res) = app.get("/api/v1/profile/info?sessionId=main", Some(&other)).await;
    assert_eq!((status, envelope_code(&res)), (404, 1101), "{res}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn privacy_lookups_contacts_business_and_blocking() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(FRIEND, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(SHOP, Behaviour::Silent).await.unwrap();
    let shop = BusinessProfile {
        description: "Retail shop".into(),
        email: Some("hi@example.com".into()),
        address: Some("Main St 1".into()),
        websites: vec!["https://shop.example".into()],
        categories: vec![("1".into(), "Retail".into())],
        timezone: Some("Asia/Jakarta".into()),
        hours: vec![("mon".into(), "specific_hours".into(), Some(480), Some(1020))],
    };
    sandbox.set_business_profile(SHOP, shop);
    sandbox.set_account_status(SHOP, "Open 8-17");
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("carol").await;
    link(&app, &sandbox, &key).await;

    // Privacy: read, change, read back; the server holds the change.
    let (status, body) = app.get("/api/v1/profile/privacy?sessionId=main", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["lastSeen"], "all", "{body}");
    let (status, body) = app
        .post(
            "/api/v1/profile/privacy",
            Some(&key),
            json!({ "sessionId": "main", "lastSeen": "contacts", "readReceipts": "none" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["results"][0]["lastSeen"].as_str(), body["results"][0]["readReceipts"].as_str()),
        (Some("contacts"), Some("none"))
    );
    let held = sandbox.profile_of(PHONE).unwrap().privacy;
    assert_eq!((held["last"].as_str(), held["readreceipts"].as_str()), ("contacts", "none"));
    let (_, body) = app.get("/api/v1/profile/privacy?sessionId=main", Some(&key)).await;
    assert_eq!(body["results"][0]["lastSeen"], "contacts", "{body}");
    let (status, res) =
        app.post("/api/v1/profile/privacy", Some(&key), json!({ "sessionId": "main", "online": "contacts" })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("online")), "{res}");

    // On WhatsApp: two registered, one not; phone JID and LID for the registered ones.
    let path = format!("/api/v1/profile/on-whatsapp?sessionId=main&checkNumbers={FRIEND},{SHOP},{NOBODY}");
    let (status, body) = app.get(&path, Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let data = body["results"][0]["data"].as_array().expect("an array for several numbers").clone();
    assert_eq!(data.len(), 3, "{body}");
    for (entry, phone, on) in [(&data[0], FRIEND, true), (&data[1], SHOP, true), (&data[2], NOBODY, false)] {
        assert_eq!(entry["phone"], phone, "{entry}");
        assert_eq!(entry["isOnWhatsApp"], on, "{entry}");
        assert_eq!(entry["jid"], format!("{phone}@s.whatsapp.net"));
        let lid = sandbox.lid_of(phone).map(|l| format!("{l}@lid"));
        assert_eq!(entry["lid"].as_str().map(str::to_string), lid, "{entry}");
    }
    let (_, body) =
        app.get(&format!("/api/v1/profile/on-whatsapp?sessionId=main&checkNumbers={SHOP}&deep=true"), Some(&key)).await;
    assert_eq!(body["results"][0]["data"]["about"], "Open 8-17", "{body}");
    assert_eq!(body["results"][0]["data"]["businessProfile"]["description"], "Retail shop", "{body}");
    let many: Vec<String> = (0..51).map(|i| format!("1555000{:04}", 8000 + i)).collect();
    let (status, res) = app
        .get(&format!("/api/v1/profile/on-whatsapp?sessionId=main&checkNumbers={}", many.join(",")), Some(&key))
        .await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("checkNumbers")), "{res}");
    let (status, res) = app.get("/api/v1/profile/on-whatsapp?sessionId=main", Some(&key)).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("checkNumbers")), "{res}");

    // The misc checks with a session ask the network too.
    let (_, body) = app
        .post("/api/v1/misc/whatsapp/validate/phone", Some(&key), json!({ "sessionId": "main", "phone": FRIEND }))
        .await;
    let lid = format!("{}@lid", sandbox.lid_of(FRIEND).unwrap());
    assert_eq!(
        (body["results"][0]["data"]["exists"].as_bool(), body["results"][0]["data"]["lid"].as_str()),
        (Some(true), Some(lid.as_str())),
        "{body}"
    );
    let (_, body) = app
        .post("/api/v1/misc/whatsapp/validate/phone", Some(&key), json!({ "sessionId": "main", "phone": NOBODY }))
        .await;
    assert_eq!(body["results"][0]["data"]["exists"], false, "{body}");
    let (_, body) = app
        .post("/api/v1/misc/whatsapp/resolve/jid-or-lid", Some(&key), json!({ "sessionId": "main", "input": lid }))
        .await;
    assert_eq!(body["results"][0]["data"]["jid"], format!("{FRIEND}@s.whatsapp.net"), "{body}");
    let (_, body) = app
        .post(
            "/api/v1/misc/whatsapp/validate/jid",
            Some(&key),
            json!({ "sessionId": "main", "jid": format!("{NOBODY}@s.whatsapp.net") }),
        )
        .await;
    assert_eq!(body["results"][0]["data"]["exists"], false, "{body}");

    // Business profile of the business contact; null for a personal account.
    let (status, body) =
        app.get(&format!("/api/v1/profile/business-profile?sessionId=main&checkNumbers={SHOP}"), Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let b = &body["results"][0]["data"];
    assert_eq!(
        (b["description"].as_str(), b["email"].as_str(), b["address"].as_str()),
        (Some("Retail shop"), Some("hi@example.com"), Some("Main St 1"))
    );
    assert_eq!(b["categories"], json!(["Retail"]));
    assert_eq!(b["websites"], json!(["https://shop.example"]));
    assert_eq!(
        b["businessHours"][0],
        json!({ "day_of_week": "mon", "mode": "specific_hours", "open_time": "08:00", "close_time": "17:00" })
    );
    let (_, body) =
        app.get(&format!("/api/v1/profile/business-profile?sessionId=main&checkNumbers={FRIEND}"), Some(&key)).await;
    assert_eq!(body["results"][0]["data"], json!(null), "{body}");

    // List contacts: whoever wrote to the session.
    let mut events = sandbox.subscribe();
    let first = sandbox.contact_send(FRIEND, PHONE, "hello gateway").await.unwrap();
    Sandbox::wait_for_event(
        &mut events,
        TIMEOUT,
        |e| matches!(e, SandboxEvent::MessageRelayed { id, to_phone, .. } if *id == first && to_phone == PHONE),
    )
    .await
    .unwrap();
    let listed = eventually("a listed contact", Duration::from_secs(10), async || {
        let (status, body) = app.get("/api/v1/profile/list-contacts?sessionId=main", Some(&key)).await;
        assert_eq!(status, 200, "{body}");
        if body["results"][0]["data"].as_array().is_some_and(|d| !d.is_empty()) { Ok(body) } else { Err(body) }
    })
    .await;
    assert_eq!(listed["results"][0]["data"][0]["jid"], format!("{FRIEND}@s.whatsapp.net"), "{listed}");
    assert_eq!(listed["results"][0]["phone"], PHONE);
    // type=groups: members of the session's groups, each once, without the session itself.
    let group = sandbox.contact_create_group(SHOP, "Shop friends", &[PHONE, FRIEND]).await.unwrap();
    let (status, body) = app.get("/api/v1/profile/list-contacts?sessionId=main&type=groups", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let mut phones: Vec<&str> =
        body["results"][0]["data"].as_array().unwrap().iter().map(|e| e["phone"].as_str().unwrap()).collect();
    phones.sort();
    assert_eq!(phones, vec![FRIEND, SHOP], "{body}");
    assert_eq!(body["results"][0]["data"][0]["groups"], json!([group.to_string()]), "{body}");
    let path = format!("/api/v1/profile/list-contacts?sessionId=main&type=groups&groupIds={}&limit=1", group.user);
    let (_, body) = app.get(&path, Some(&key)).await;
    assert_eq!(body["results"][0]["data"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, res) = app.get("/api/v1/profile/list-contacts?sessionId=main&groupIds=123", Some(&key)).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("groupIds")), "{res}");
    let (status, res) =
        app.get("/api/v1/profile/list-contacts?sessionId=main&type=groups&groupIds=abc", Some(&key)).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("groupIds")), "{res}");
    let (status, res) = app.get("/api/v1/profile/list-contacts?sessionId=main&limit=0", Some(&key)).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("limit")), "{res}");

    // Block: the friend's next message is dropped by the server; unblock: delivered again.
    let (status, body) =
        app.post("/api/v1/profile/block", Some(&key), json!({ "sessionId": "main", "jid": FRIEND })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sandbox.profile_of(PHONE).unwrap().blocked, vec![FRIEND.to_string()]);
    let (_, body) = app.get("/api/v1/profile/blocklist?sessionId=main", Some(&key)).await;
    let lid = format!("{}@lid", sandbox.lid_of(FRIEND).unwrap());
    assert_eq!(body["results"][0]["jids"], json!([lid]), "{body}");
    let mut events = sandbox.subscribe();
    let blocked = sandbox.contact_send(FRIEND, PHONE, "while blocked").await.unwrap();
    Sandbox::wait_for_event(
        &mut events,
        TIMEOUT,
        |e| matches!(e, SandboxEvent::MessageBlocked { id, to_phone, .. } if *id == blocked && to_phone == PHONE),
    )
    .await
    .unwrap();
    let (status, body) =
        app.post("/api/v1/profile/unblock", Some(&key), json!({ "sessionId": "main", "jid": FRIEND })).await;
    assert_eq!(status, 200, "{body}");
    assert!(sandbox.profile_of(PHONE).unwrap().blocked.is_empty());
    let after = sandbox.contact_send(FRIEND, PHONE, "after unblock").await.unwrap();
    let relayed = Sandbox::wait_for_event(&mut events, TIMEOUT, |e| match e {
        SandboxEvent::MessageRelayed { id, to_phone, .. } => to_phone == PHONE && (*id == after || *id == blocked),
        _ => false,
    })
    .await
    .unwrap();
    assert!(matches!(relayed, SandboxEvent::MessageRelayed { ref id, .. } if *id == after), "{relayed:?}");
    let (status, res) =
        app.post("/api/v1/profile/block", Some(&key), json!({ "sessionId": "main", "jid": "not a number" })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("jid")), "{res}");
    app.stop().await;
}

#[tokio::test]
async fn profile_routes_need_a_linked_session() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let (_, key) = app.create_user("dave").await;
    let (status, body) = app.get("/api/v1/session/create?sessionId=idle", Some(&key)).await;
    assert!(status < 300, "{body}");
    for path in ["/api/v1/profile/info?sessionId=idle", "/api/v1/profile/privacy?sessionId=idle"] {
        let (status, res) = app.get(path, Some(&key)).await;
        assert_eq!((status, envelope_code(&res)), (409, 3002), "{path}: {res}");
    }
    let (status, res) = app.get("/api/v1/profile/info", Some(&key)).await;
    assert_eq!((status, envelope_code(&res)), (400, 1100), "{res}");
    app.stop().await;
}
