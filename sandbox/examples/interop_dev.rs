// Scratch driver for developing the Baileys interop (not committed).
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use warest_sandbox::{Behaviour, Sandbox};

struct Log;
impl log::Log for Log {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target().starts_with("warest_sandbox") || m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            eprintln!("[{} {}] {}", r.level(), r.target(), r.args());
        }
    }
    fn flush(&self) {}
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    log::set_logger(&Log).unwrap();
    log::set_max_level(if std::env::var("SBLOG").is_ok() { log::LevelFilter::Debug } else { log::LevelFilter::Info });
    let major = std::env::args().nth(1).unwrap_or("7".into());
    let sb = Sandbox::start_persistent(format!("/tmp/sbdev-{major}")).await?;
    sb.create_contact("15550000002", Behaviour::Silent).await?;
    let mut child = tokio::process::Command::new("node")
        .arg("sandbox/interop/baileys.mjs")
        .arg(&major)
        .arg(sb.ws_url())
        .arg(sb.root_key())
        .env("NODE_EXTRA_CA_CERTS", format!("/tmp/sbdev-{major}/media-ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let img = std::fs::read("/tmp/test.jpg").unwrap_or_else(|_| vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 0xFF, 0xD9]);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&img);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut step = 0;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(l))) => l,
            other => {
                println!("END {other:?}");
                break;
            }
        };
        println!("NODE> {line}");
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let mut send = |s: String| {
            let s = s + "\n";
            s
        };
        let cmd = match (v["event"].as_str(), step) {
            (Some("qr"), 0) => {
                step = 1;
                println!("link: {:?}", sb.link(v["qr"].as_str().unwrap(), "15550000001"));
                None
            }
            (Some("open"), 1) => {
                step = 2;
                Some(send(
                    r#"{"cmd":"send_text","to":"15550000002@s.whatsapp.net","text":"hello from baileys"}"#.into(),
                ))
            }
            (Some("done"), 2) => {
                step = 3;
                let r = sb
                    .wait_inbox("15550000002", Duration::from_secs(10), |m| {
                        m.text.as_deref() == Some("hello from baileys")
                    })
                    .await;
                println!("INBOX text: {:?}", r.map(|m| m.text));
                Some(send(format!(
                    r#"{{"cmd":"send_image","to":"15550000002@s.whatsapp.net","base64":"{b64}","caption":"pic"}}"#
                )))
            }
            (Some("done"), 3) => {
                step = 4;
                let r = sb.wait_inbox("15550000002", Duration::from_secs(10), |m| m.media.is_some()).await;
                println!(
                    "INBOX image: {:?}",
                    r.map(|m| (m.media.as_ref().map(|x| x.bytes.len()), m.media.map(|x| x.caption)))
                );
                println!("contact send: {:?}", sb.contact_send("15550000002", "15550000001", "hi from contact").await);
                println!(
                    "contact image: {:?}",
                    sb.contact_send_image("15550000002", "15550000001", img.clone(), "image/jpeg", Some("cpic")).await
                );
                None
            }
            (Some("message"), 4) if v["image"].is_object() => {
                step = 5;
                Some(send(
                    r#"{"cmd":"create_group","subject":"interop","participants":["15550000002@s.whatsapp.net"]}"#
                        .into(),
                ))
            }
            (Some("done"), 5) => {
                step = 6;
                let g = v["jid"].as_str().unwrap().to_string();
                Some(send(format!(r#"{{"cmd":"send_text","to":"{g}","text":"hello group"}}"#)))
            }
            (Some("done"), 6) => {
                step = 7;
                let r = sb
                    .wait_inbox("15550000002", Duration::from_secs(10), |m| m.text.as_deref() == Some("hello group"))
                    .await;
                println!("INBOX group: {:?}", r.map(|m| (m.chat.to_string(), m.text)));
                let groups = sb.contact_groups("15550000002").await;
                println!("groups {groups:?}");
                if let Ok(gs) = groups {
                    if let Some(g) = gs.first() {
                        let c = sb.contact_client("15550000002")?;
                        println!(
                            "contact group send: {:?}",
                            c.send_text(g.clone(), "hi group from contact").await.map(|r| r.message_id)
                        );
                    }
                }
                None
            }
            (Some("message"), 7) => {
                step = 8;
                Some(send(r#"{"cmd":"exit"}"#.into()))
            }
            _ => None,
        };
        if let Some(c) = cmd {
            stdin.write_all(c.as_bytes()).await?;
        }
    }
    Ok(())
}
