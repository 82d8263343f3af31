//! Media through the sandbox's in-memory media host: an encrypted image is
//! uploaded by one client, sent by reference, and downloaded and decrypted by
//! the other.

use crate::common;

use common::{WAIT, init_logging};
use wacore::download::MediaType;
use wacore_binary::Jid;
use warest_sandbox::Sandbox;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::upload::UploadOptions;
use whatsapp_rust::waproto::whatsapp as wa;

const ALICE: &str = "15550011001";
const BOB: &str = "15550011002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_round_trips_through_the_media_host() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());

    // Not a real JPEG: the bytes only have to survive encryption both ways.
    let picture: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let up = alice.client.upload(picture.clone(), MediaType::Image, UploadOptions::default()).await.unwrap();
    let image = wa::message::ImageMessage {
        url: Some(up.url.clone()),
        direct_path: Some(up.direct_path.clone()),
        media_key: Some(up.media_key.to_vec()),
        file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
        file_sha256: Some(up.file_sha256.to_vec()),
        file_length: Some(up.file_length),
        mimetype: Some("image/jpeg".into()),
        caption: Some("a picture".into()),
        ..Default::default()
    };
    alice
        .client
        .send_message(
            Jid::pn(BOB),
            wa::Message { image_message: buffa::MessageField::some(image), ..Default::default() },
        )
        .await
        .unwrap();

    let ev = bob
        .wait_for(WAIT, |e| {
            matches!(e, Event::Messages(b) if b.messages.iter().any(|m| m.message.image_message.as_option().is_some()))
        })
        .await
        .unwrap();
    let Event::Messages(batch) = &*ev else { unreachable!() };
    let received = batch.messages.iter().find_map(|m| m.message.image_message.as_option().cloned()).unwrap();
    assert_eq!(received.caption.as_deref(), Some("a picture"));
    let downloaded = bob.client.download(&received).await.unwrap();
    assert_eq!(downloaded, picture);

    alice.shutdown().await;
    bob.shutdown().await;
}
