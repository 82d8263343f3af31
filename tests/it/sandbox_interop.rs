//! The sandbox as a WhatsApp server for an independent client: Baileys 6 and 7 (pinned in
//! `sandbox/interop/package.json`, installed with `npm ci`), unmodified except that they
//! trust the sandbox's root key, against `warest sandbox --network-only`. Each pairs by
//! QR (the network's virtual phone scans it), sends text and an image to a virtual
//! contact (which decrypts them: checked through the sandbox API), receives the contact's
//! text and image (decrypted by Baileys: checked from the JSON lines the driver prints),
//! exchanges a group message, and gets what the phones (device 0) of the contact and of its
//! own account send. Skips (one line) without node or the npm install,
//! except under `WAREST_TEST_REQUIRE_ALL=1`. Every wait is bounded; the network and the
//! node child are killed on drop.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::process::{Proc, temp_dir, warest};
use serde_json::{Value, json};

const KEY: &str = "sandbox-interop-test-admin-key";
const WAIT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550007002";

/// A 1x1 JPEG.
const JPEG_B64: &str = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/interop")
}

/// The Baileys driver (`baileys.mjs`): JSON lines out (read on a thread), commands in.
struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(node: &Path, major: &str, ws: &str, root_key: &str, ca: &Path, log: &Path) -> Self {
        let mut child = Command::new(node)
            .arg(interop_dir().join("baileys.mjs"))
            .args([major, ws, root_key])
            .current_dir(interop_dir())
            .env("NODE_EXTRA_CA_CERTS", ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
            .spawn()
            .expect("spawn node");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Driver { child, stdin, lines, seen: Vec::new() }
    }

    /// The first line (from now on, or already seen and not taken) that `pred` accepts.
    fn wait(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.seen.iter().position(&pred) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(v) => {
                    assert_ne!(v["event"], "error", "the driver failed while waiting for {what}: {v}");
                    self.seen.push(v)
                }
                Err(_) => panic!("no {what} from Baileys within {WAIT:?}; lines seen: {:#?}", self.seen),
            }
        }
    }

    fn command(&mut self, cmd: Value) -> Value {
        let name = cmd["cmd"].as_str().unwrap().to_string();
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.wait(&format!("an answer to {name}"), |v| {
            v["cmd"] == name.as_str() && (v["event"] == "done" || v["event"] == "error")
        })
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("X-WAREST-API-Key", KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Polls the contact's inbox until an item matches.
    async fn wait_inbox(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let (status, body) =
                self.call(reqwest::Method::GET, &format!("/api/v1/sandbox/contacts/{CONTACT}/inbox"), None).await;
            if status == 200 {
                if let Some(hit) =
                    body["results"][0]["items"].as_array().and_then(|items| items.iter().find(|i| pred(i)).cloned())
                {
                    return hit;
                }
                last = body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the contact never decrypted {what}; inbox: {last}");
    }
}

async fn run_version(api: &Api, node: &Path, major: &str, ws: &str, root_key: &str, ca: &Path, dir: &Path) {
    let phone = format!("1555000710{major}");
    let mut baileys = Driver::start(node, major, ws, root_key, ca, &dir.join(format!("baileys{major}.log")));

    // Pairing: Baileys shows a QR, the network's virtual phone of `phone` scans it.
    let qr = baileys.wait("a QR", |v| v["event"] == "qr");
    let (status, body) =
        api.call(reqwest::Method::POST, "/api/v1/sandbox/link", Some(json!({ "qr": qr["qr"], "phone": phone }))).await;
    assert_eq!(status, 200, "{body}");
    let open = baileys.wait("the open connection", |v| v["event"] == "open");
    assert!(open["me"]["id"].as_str().unwrap().starts_with(&format!("{phone}:")), "{open}");

    // Baileys -> contact: text and an image, decrypted by the contact.
    let contact_jid = format!("{CONTACT}@s.whatsapp.net");
    let text = format!("hello from Baileys {major}");
    let sent = baileys.command(json!({ "cmd": "send_text", "to": contact_jid, "text": text }));
    assert_eq!(sent["event"], "done", "{sent}");
    api.wait_inbox("Baileys' text", |i| i["text"] == text.as_str() && i["from"] == phone.as_str()).await;
    let jpeg = base64::engine::general_purpose::STANDARD.decode(JPEG_B64).unwrap();
    let sent = baileys.command(
        json!({ "cmd": "send_image", "to": contact_jid, "base64": JPEG_B64, "caption": format!("pic {major}") }),
    );
    assert_eq!(sent["event"], "done", "{sent}");
    let got = api.wait_inbox("Baileys' image", |i| i["media"]["caption"] == format!("pic {major}").as_str()).await;
    assert_eq!(got["media"]["size"], jpeg.len(), "{got}");
    assert_eq!(got["media"]["sha256"], sent["sha256"], "{got}");

    // Contact -> Baileys: text and an image, decrypted by Baileys.
    let reply = format!("hi Baileys {major}");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/sandbox/contacts/{CONTACT}/send"),
            Some(json!({ "to": phone, "text": reply })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = baileys.wait("the contact's text", |v| v["event"] == "message" && v["text"] == reply.as_str());
    assert_eq!(got["chat"], contact_jid.as_str(), "{got}");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/sandbox/contacts/{CONTACT}/send"),
            Some(json!({ "to": phone, "image": { "base64": JPEG_B64, "caption": "from the contact" } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = baileys.wait("the contact's image", |v| v["event"] == "message" && v["image"].is_object());
    assert_eq!(got["image"]["caption"], "from the contact", "{got}");
    assert_eq!(got["image"]["size"], jpeg.len(), "{got}");

    // Device 0 sends: the contact's phone writes to Baileys, and Baileys' own phone writes
    // to the contact (Baileys gets the deviceSentMessage copy as its own message).
    let from_phone = format!("from the contact's phone {major}");
    let send = |from: &str, to: &str, text: &str| {
        (format!("/api/v1/sandbox/contacts/{from}/send"), json!({ "to": to, "text": text, "device": 0 }))
    };
    let (path, body) = send(CONTACT, &phone, &from_phone);
    let (status, body) = api.call(reqwest::Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200, "{body}");
    let got =
        baileys.wait("the contact's phone's text", |v| v["event"] == "message" && v["text"] == from_phone.as_str());
    assert_eq!(got["chat"], contact_jid.as_str(), "{got}");
    let typed = format!("typed on the phone of Baileys {major}");
    let (path, body) = send(&phone, CONTACT, &typed);
    let (status, body) = api.call(reqwest::Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200, "{body}");
    api.wait_inbox("the text from Baileys' phone", |i| i["text"] == typed.as_str() && i["from"] == phone.as_str())
        .await;
    let own = baileys.wait("its phone's message", |v| v["event"] == "own_message" && v["text"] == typed.as_str());
    assert_eq!(own["chat"], contact_jid.as_str(), "{own}");

    // A group: Baileys creates it with the contact and writes; the contact answers.
    let group = baileys.command(
        json!({ "cmd": "create_group", "subject": format!("interop {major}"), "participants": [contact_jid] }),
    );
    let gid = group["jid"].as_str().unwrap_or_else(|| panic!("no group: {group}")).to_string();
    let hello = format!("hello group {major}");
    let sent = baileys.command(json!({ "cmd": "send_text", "to": gid, "text": hello }));
    assert_eq!(sent["event"], "done", "{sent}");
    let got = api.wait_inbox("Baileys' group message", |i| i["text"] == hello.as_str()).await;
    assert_eq!(got["chat"], gid.as_str(), "{got}");
    let answer = format!("group answer {major}");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/sandbox/contacts/{CONTACT}/send"),
            Some(json!({ "to": gid, "text": answer })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = baileys.wait("the contact's group message", |v| v["event"] == "message" && v["text"] == answer.as_str());
    assert_eq!(got["chat"], gid.as_str(), "{got}");
    assert_eq!(got["from"], contact_jid.as_str(), "{got}");
    // The contact's phone in the group: its own sender key, distributed to Baileys.
    let (path, body) = send(CONTACT, &gid, &format!("phone in the group {major}"));
    let (status, body) = api.call(reqwest::Method::POST, &path, Some(body)).await;
    assert_eq!(status, 200, "{body}");
    let got = baileys.wait("the contact's phone's group message", |v| {
        v["event"] == "message" && v["text"] == format!("phone in the group {major}").as_str()
    });
    assert_eq!((got["chat"].as_str(), got["from"].as_str()), (Some(gid.as_str()), Some(contact_jid.as_str())), "{got}");
    let undecryptable: Vec<&Value> = baileys.seen.iter().filter(|v| v["undecryptable"] == true).collect();
    assert!(undecryptable.is_empty(), "Baileys {major} could not decrypt: {undecryptable:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baileys_6_and_7_pair_chat_and_share_media_and_groups_with_the_sandbox() {
    let Some(node) = common::require::tool("node") else { return };
    if !interop_dir().join("node_modules/baileys6").is_dir() || !interop_dir().join("node_modules/baileys7").is_dir() {
        let _: Option<()> =
            common::require::missing("Baileys (sandbox/interop/node_modules)", "run `npm ci` in sandbox/interop");
        return;
    }
    let dir = temp_dir("interop");
    let mut cmd = warest(&["sandbox", "--network-only", "--listen", "127.0.0.1:0"]);
    cmd.env("WAREST_DATA_DIR", &dir).env("WAREST_ADMIN_APIKEY", KEY).env("LOG_LEVEL", "info");
    let network = Proc::start(cmd, Some(&dir.join("network.log"))).await;
    let listen = network.addr().to_string();
    let api = Api { http: reqwest::Client::builder().timeout(WAIT).build().unwrap(), base: network.base() };
    common::eventually("the network's API to come up", WAIT, async || {
        let url = format!("{}/api/v1/sandbox/contacts", api.base);
        api.http.get(url).header("X-WAREST-API-Key", KEY).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/sandbox/contacts",
            Some(json!({ "phone": CONTACT, "behaviour": "silent" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let root_key = std::fs::read_to_string(dir.join("sandbox/root-key.pub")).unwrap().trim().to_string();
    assert_eq!(root_key.len(), 64, "{root_key}");
    let ca = dir.join("sandbox/media-ca.pem");
    assert!(ca.is_file());
    let ws = format!("ws://{listen}/ws/chat");
    for major in ["6", "7"] {
        run_version(&api, &node, major, &ws, &root_key, &ca, &dir).await;
    }
    drop(network);
    let _ = std::fs::remove_dir_all(&dir);
}
