//! M5: virtual contacts are real clients run by the sandbox; an `echo` contact
//! answers, a `silent` one only records, and both can be driven by the test.

use crate::common;

use common::{WAIT, init_logging};
use wacore::types::presence::ReceiptType;
use wacore_binary::Jid;
use warest_sandbox::{Behaviour, Sandbox};
use whatsapp_rust::types::events::Event;

const USER: &str = "15550005555";
const ECHO: &str = "15550006666";
const SILENT: &str = "15550007777";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m5_echo_contact_replies_and_records_inbox() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (user, echo) = tokio::join!(sandbox.paired_client(USER, WAIT), sandbox.create_contact(ECHO, Behaviour::Echo));
    let (user, echo) = (user.unwrap(), echo.unwrap());
    assert_eq!(echo, Jid::pn(ECHO));

    let sent = user.client.send_text(Jid::pn(ECHO), "ping?").await.unwrap();
    let got = sandbox.wait_inbox(ECHO, WAIT, |e| e.text.as_deref() == Some("ping?")).await.unwrap();
    assert_eq!(got.from, USER);
    assert_eq!(got.id, sent.message_id);

    let reply = user.wait_for_text("ping?", WAIT).await.unwrap();
    assert_eq!(reply.source.sender.user, ECHO);
    user.wait_for_receipt(&sent.message_id, ReceiptType::Delivered, WAIT).await.unwrap();
    assert_eq!(sandbox.inbox(ECHO).unwrap().len(), 1);
    user.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m5_silent_contact_records_and_is_driven_by_the_test() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (user, silent) =
        tokio::join!(sandbox.paired_client(USER, WAIT), sandbox.create_contact(SILENT, Behaviour::Silent));
    let (user, _) = (user.unwrap(), silent.unwrap());

    // The contact writes first, types, reacts and reads.
    let id = sandbox.contact_send(SILENT, USER, "hello from a contact").await.unwrap();
    let info = user.wait_for_text("hello from a contact", WAIT).await.unwrap();
    assert_eq!(info.source.sender.user, SILENT);
    assert_eq!(info.id, id);

    let sent = user.client.send_text(Jid::pn(SILENT), "hi there").await.unwrap();
    sandbox.wait_inbox(SILENT, WAIT, |e| e.text.as_deref() == Some("hi there")).await.unwrap();
    sandbox.contact_typing(SILENT, USER).await.unwrap();
    user.wait_for(WAIT, |e| matches!(e, Event::ChatPresence(_))).await.unwrap();
    sandbox.contact_react(SILENT, USER, &sent.message_id, "👍").await.unwrap();
    user.wait_for(WAIT, |e| {
        warest_sandbox::texts_of(e).is_empty()
            && matches!(e, Event::Messages(b) if b.messages.iter().any(|m| m.message.reaction_message.as_option().is_some()))
    })
    .await
    .unwrap();
    sandbox.contact_read(SILENT, USER, &[sent.message_id.as_str()]).await.unwrap();
    user.wait_for_receipt(&sent.message_id, ReceiptType::Read, WAIT).await.unwrap();

    // Silent: nothing but the contact's own first message reached the user.
    let texts: Vec<String> =
        user.events.snapshot().iter().flat_map(|e| warest_sandbox::texts_of(e)).map(|(_, t)| t).collect();
    assert_eq!(texts, vec!["hello from a contact".to_string()]);
    user.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m5_contact_edits_and_revokes_its_message() {
    use wacore::types::message::EditAttribute;
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (user, contact) =
        tokio::join!(sandbox.paired_client(USER, WAIT), sandbox.create_contact(SILENT, Behaviour::Silent));
    let (user, _) = (user.unwrap(), contact.unwrap());

    let id = sandbox.contact_send(SILENT, USER, "typo").await.unwrap();
    user.wait_for_text("typo", WAIT).await.unwrap();

    sandbox.contact_edit(SILENT, USER, &id, "fixed").await.unwrap();
    user.wait_for(
        WAIT,
        |e| matches!(e, Event::Messages(b) if b.messages.iter().any(|m| m.info.edit == EditAttribute::MessageEdit)),
    )
    .await
    .unwrap();

    sandbox.contact_revoke(SILENT, USER, &id).await.unwrap();
    user.wait_for(
        WAIT,
        |e| matches!(e, Event::Messages(b) if b.messages.iter().any(|m| m.info.edit == EditAttribute::SenderRevoke)),
    )
    .await
    .unwrap();
    user.shutdown().await;
}
