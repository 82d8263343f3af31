//! usync lookups: "is on WhatsApp" by phone number and by LID, with the
//! LID ↔ phone mapping the sandbox assigned.

use crate::common;

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::{Behaviour, Sandbox};

const USER: &str = "15550010001";
const FRIEND: &str = "15550010002";
const STRANGER: &str = "15550010003";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_on_whatsapp_by_phone_and_by_lid() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (user, friend) =
        tokio::join!(sandbox.paired_client(USER, WAIT), sandbox.create_contact(FRIEND, Behaviour::Silent));
    let (user, _) = (user.unwrap(), friend.unwrap());
    let friend_lid = sandbox.lid_of(FRIEND).unwrap();

    let by_phone = user.client.contacts().is_on_whatsapp(&[Jid::pn(FRIEND), Jid::pn(STRANGER)]).await.unwrap();
    let friend = by_phone.iter().find(|r| r.jid.user == FRIEND).unwrap();
    assert!(friend.is_registered);
    assert!(!friend.is_business);
    assert_eq!(friend.lid.as_ref().map(|l| l.user.to_string()), Some(friend_lid.clone()));
    let stranger = by_phone.iter().find(|r| r.jid.user == STRANGER).unwrap();
    assert!(!stranger.is_registered);

    let by_lid = user.client.contacts().is_on_whatsapp(&[Jid::lid(friend_lid.as_str())]).await.unwrap();
    assert_eq!(by_lid.len(), 1);
    assert_eq!(by_lid[0].pn_jid.as_ref().map(|j| j.user.to_string()), Some(FRIEND.to_string()));
    user.shutdown().await;
}
