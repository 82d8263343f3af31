//! Receivers written for the original WAREST keep working (issue 17, item 2): two written
//! from its documented behaviour, in Python and in Node (`tests/receivers/`, standard
//! libraries only), verify the signature (key = secret + username), answer a contact's
//! `test` with `pong` to `data.sender.chatId` and its `react` with a reaction on
//! `data.message.key`; through the sandbox, the pong reaches the contact and the reaction
//! lands on the right message.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;
use crate::common::eventually;

use common::Kind;
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const SECRET: &str = "receiver-secret-1";
const WAIT: Duration = Duration::from_secs(60);

/// A receiver script as a child process, killed when dropped; its stdout lines are kept.
struct Script {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Script {
    async fn start(interpreter: &std::path::Path, file: &str) -> Script {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers").join(file);
        let mut child = Command::new(interpreter)
            .arg(path)
            .env("WAREST_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the receiver");
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let port = eventually(format!("{file} to listen"), Duration::from_secs(30), async || {
            let lines = lines.lock().unwrap();
            lines.iter().find_map(|l| l.strip_prefix("listening on ")?.trim().parse::<u16>().ok())
        })
        .await;
        Script { child, port, lines }
    }

    fn seen(&self, line: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.as_str() == line).count()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn receivers_written_for_the_original_answer_pong_and_react_through_the_gateway() {
    let (Some(python), Some(node)) = (common::require::tool("python3"), common::require::tool("node")) else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let app = common::wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[]).await;
    let (_, key) = app.create_user("receivers").await;
    for (i, (interpreter, file)) in [(python, "receiver.py"), (node, "receiver.js")].iter().enumerate() {
        let (phone, contact) = (format!("1555000770{i}"), format!("1555000771{i}"));
        let session = format!("recv{i}");
        sandbox.create_contact(&contact, Behaviour::Silent).await.unwrap();
        common::wa::link_session(&app, &sandbox, &key, &session, &phone).await;
        let script = Script::start(interpreter, file).await;
        let hook = format!("http://127.0.0.1:{}/webhook", script.port);
        let config = json!({ "webhookUrl": hook, "webhookSecret": SECRET });
        let (status, body) = app.post(&format!("/api/v1/session/{session}/config"), Some(&key), config).await;
        assert_eq!(status, 200, "{body}");

        sandbox.contact_send(&contact, &phone, "test").await.unwrap();
        let pong = sandbox.wait_inbox(&contact, WAIT, |e| e.text.as_deref() == Some("pong")).await.unwrap();
        assert_eq!(pong.from, phone, "{file}");
        let target = sandbox.contact_send(&contact, &phone, "react").await.unwrap();
        let reaction = sandbox.wait_inbox(&contact, WAIT, |e| e.reaction.is_some()).await.unwrap();
        assert_eq!(reaction.reaction, Some((target, "👍".to_string())), "{file}: on the message that asked");

        assert!(script.seen("verified message_received") >= 2, "{file}: {:?}", script.lines.lock().unwrap());
        assert_eq!(script.seen("bad signature message_received"), 0, "{file}: {:?}", script.lines.lock().unwrap());
    }
    app.stop().await;
}
