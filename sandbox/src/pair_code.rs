//! Phone-number linking: the server's and the virtual phone's side of pair codes.
//!
//! Stage 1: a waiting companion sends `<link_code_companion_reg stage="companion_hello">`
//! with its ephemeral key wrapped under the code (PBKDF2 → AES-CTR) and its
//! Noise key; the server remembers it and answers with a pairing ref.
//! `enter_code` plays the user typing the code on the phone: it unwraps the
//! companion's ephemeral key with the code, wraps its own ephemeral key the same
//! way and sends the `primary_hello` notification. Stage 2: the companion sends
//! `companion_finish` with a key bundle sealed under the ephemeral DH; the phone
//! opens it (a wrong code fails here, as on a real phone), derives the same ADV
//! secret the companion now holds, and links it exactly as after a QR scan.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use wacore::libsignal::protocol::{KeyPair, PublicKey};
use wacore::pair_code::PairCodeUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, SERVER_JID};

use crate::events::SandboxEvent;
use crate::hub::Hub;
use crate::nodes::{attr, child_bytes, random_id};
use crate::server::session::{ConnHandle, Session, Who};

/// How long `enter_code` waits for the companion's `companion_finish`.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// HKDF info strings of the protocol (`wacore::pair_code::prepare_key_bundle`).
const BUNDLE_KEY_INFO: &[u8] = b"link_code_pairing_key_bundle_encryption_key";
const ADV_SECRET_INFO: &[u8] = b"adv_secret";

/// One companion that asked for a code.
struct CodeRequest {
    phone: String,
    conn: ConnHandle,
    noise_pub: [u8; 32],
    /// `salt(32) ‖ iv(16) ‖ AES-CTR(ephemeral pub)`, keyed by PBKDF2 of the code.
    wrapped_ephemeral: Vec<u8>,
    /// Set once the phone sent `primary_hello`: its ephemeral key and who waits.
    entered: Option<Entered>,
}

struct Entered {
    primary_ephemeral: KeyPair,
    companion_ephemeral: [u8; 32],
    done: tokio::sync::oneshot::Sender<Result<Jid>>,
}

/// Outstanding code requests by pairing ref.
#[derive(Default)]
pub(crate) struct PairCodes {
    by_ref: HashMap<Vec<u8>, CodeRequest>,
}

impl PairCodes {
    /// A companion's socket closed: its requests die with it.
    pub fn connection_closed(&mut self, conn_id: u64) {
        self.by_ref.retain(|_, r| r.conn.id != conn_id);
    }
}

/// Handles an `md` IQ carrying `link_code_companion_reg`; false if it has none.
pub(crate) fn handle_iq(session: &mut Session, iq: &Node, id: &str) -> bool {
    let Some(reg) = iq.get_optional_child("link_code_companion_reg") else {
        return false;
    };
    let reply = match attr(reg, "stage").as_deref() {
        Some("companion_hello") => companion_hello(session, reg, id),
        Some("companion_finish") => companion_finish(session, reg, id),
        _ => Err(anyhow!("unknown link_code_companion_reg stage")),
    };
    session.conn.send(reply.unwrap_or_else(|e| {
        log::warn!("sandbox: pair-code request refused: {e:#}");
        crate::nodes::iq_error(id, 400, "bad-request")
    }));
    true
}

fn phone_of(reg: &Node) -> Result<String> {
    let jid = attr(reg, "jid").context("no jid")?;
    let phone = jid.strip_suffix("@s.whatsapp.net").context("jid is not a phone JID")?;
    if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
        bail!("bad phone number in jid");
    }
    Ok(phone.to_string())
}

fn companion_hello(session: &Session, reg: &Node, id: &str) -> Result<Node> {
    if session.who != Who::Registering {
        bail!("companion_hello from a connection that is not waiting to pair");
    }
    let phone = phone_of(reg)?;
    let wrapped = child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
        .filter(|b| b.len() == 80)
        .context("wrapped companion ephemeral key must be 80 bytes")?;
    let noise_pub: [u8; 32] = child_bytes(reg, "companion_server_auth_key_pub")
        .and_then(|b| b.try_into().ok())
        .context("companion_server_auth_key_pub must be 32 bytes")?;
    let pairing_ref = format!("sandbox-code-ref-{}", random_id()).into_bytes();
    let mut st = session.hub.state();
    if !st.registrations.iter().any(|r| r.noise_pub == noise_pub && r.conn.id == session.conn.id) {
        bail!("companion_server_auth_key_pub is not this connection's Noise key");
    }
    // One code per companion: a new request replaces the previous one.
    st.pair_codes.by_ref.retain(|_, r| r.conn.id != session.conn.id);
    st.pair_codes.by_ref.insert(
        pairing_ref.clone(),
        CodeRequest {
            phone: phone.clone(),
            conn: session.conn.clone(),
            noise_pub,
            wrapped_ephemeral: wrapped.to_vec(),
            entered: None,
        },
    );
    drop(st);
    session.hub.emit(SandboxEvent::PairCodeRequested { phone });
    Ok(crate::nodes::iq_result(
        id,
        vec![
            NodeBuilder::new("link_code_companion_reg")
                .children([NodeBuilder::new("link_code_pairing_ref").bytes(pairing_ref).build()])
                .build(),
        ],
    ))
}

/// Plays the user of `phone` typing `code` into "Link with phone number":
/// sends `primary_hello` to the companion that asked for a code for this number,
/// then waits for its key bundle and links it. Returns the new device JID.
pub async fn enter_code(hub: &Hub, phone: &str, code: &str) -> Result<Jid> {
    let code = code.trim().replace('-', "").to_uppercase();
    if !PairCodeUtils::validate_code(&code) {
        bail!("a pairing code is 8 characters of 123456789ABCDEFGHJKLMNPQRSTVWXYZ");
    }
    let (pairing_ref, wrapped) = {
        let st = hub.state();
        let (r, req) = st
            .pair_codes
            .by_ref
            .iter()
            .find(|(_, r)| r.phone == phone && r.entered.is_none())
            .ok_or_else(|| anyhow!("no companion is waiting for a pairing code for {phone}"))?;
        (r.clone(), req.wrapped_ephemeral.clone())
    };

    // The PBKDF2 (131 072 rounds, twice) is CPU work: keep it off the runtime.
    let (code_for_keys, primary_ephemeral) = (code.clone(), KeyPair::generate(&mut rand::rng()));
    let primary_pub: [u8; 32] =
        primary_ephemeral.public_key.public_key_bytes().try_into().context("ephemeral key is 32 bytes")?;
    let (companion_ephemeral, wrapped_primary) = tokio::task::spawn_blocking(move || {
        let companion = PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped, &code_for_keys);
        (companion, PairCodeUtils::encrypt_ephemeral_pub(&primary_pub, &code_for_keys))
    })
    .await?;
    let companion_ephemeral = companion_ephemeral.map_err(|e| anyhow!("companion ephemeral key: {e}"))?;

    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let (conn, identity_pub) = {
        let mut st = hub.state();
        let identity_pub = st.accounts.ensure(phone).account_key.public_key.public_key_bytes().to_vec();
        let req = st.pair_codes.by_ref.get_mut(&pairing_ref).context("the companion went away")?;
        req.entered = Some(Entered { primary_ephemeral, companion_ephemeral, done: done_tx });
        (req.conn.clone(), identity_pub)
    };
    conn.send(
        NodeBuilder::new("notification")
            .attr("from", SERVER_JID)
            .attr("type", "link_code_companion_reg")
            .attr("id", random_id())
            .attr("t", crate::nodes::now().to_string())
            .children([NodeBuilder::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                        .bytes(wrapped_primary.to_vec())
                        .build(),
                    NodeBuilder::new("primary_identity_pub").bytes(identity_pub).build(),
                    NodeBuilder::new("link_code_pairing_ref").bytes(pairing_ref.clone()).build(),
                ])
                .build()])
            .build(),
    );
    let outcome = tokio::time::timeout(FINISH_TIMEOUT, done_rx).await;
    // Whatever happened, this attempt is over; a failed one can be entered again.
    if let Some(req) = hub.state().pair_codes.by_ref.get_mut(&pairing_ref) {
        req.entered = None;
    }
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => bail!("the companion went away before finishing"),
        Err(_) => bail!("the companion sent no companion_finish within {FINISH_TIMEOUT:?}"),
    }
}

fn companion_finish(session: &Session, reg: &Node, id: &str) -> Result<Node> {
    let pairing_ref = child_bytes(reg, "link_code_pairing_ref").context("no link_code_pairing_ref")?.to_vec();
    let bundle = child_bytes(reg, "link_code_pairing_wrapped_key_bundle").context("no key bundle")?.to_vec();
    let companion_identity: [u8; 32] = child_bytes(reg, "companion_identity_public")
        .and_then(|b| b.try_into().ok())
        .context("companion_identity_public must be 32 bytes")?;

    let (req_phone, noise_pub, entered, account_key) = {
        let mut st = session.hub.state();
        let req = st.pair_codes.by_ref.get_mut(&pairing_ref).context("unknown pairing ref")?;
        if req.conn.id != session.conn.id {
            bail!("companion_finish for another connection's pairing ref");
        }
        let entered = req.entered.take().context("nobody entered the code yet")?;
        let (phone, noise_pub) = (req.phone.clone(), req.noise_pub);
        let key = st.accounts.ensure(&phone).account_key.clone();
        (phone, noise_pub, entered, key)
    };
    let result = open_bundle(&entered, &account_key, &bundle, &companion_identity).and_then(|adv_secret| {
        crate::pairing::link_companion(&session.hub, noise_pub, &companion_identity, &adv_secret, &req_phone)
    });
    match &result {
        Ok(_) => {
            session.hub.state().pair_codes.by_ref.remove(&pairing_ref);
        }
        Err(e) => log::warn!("sandbox: the phone of {req_phone} could not link by code: {e:#}"),
    }
    // The phone's verdict goes to whoever entered the code; the IQ itself is
    // answered either way, as the server only relays.
    let _ = entered.done.send(result);
    Ok(crate::nodes::iq_result(id, vec![]))
}

/// The phone's side of `prepare_key_bundle`: derive the bundle key from the
/// ephemeral DH, open `salt(32) ‖ iv(12) ‖ AES-GCM(companion id ‖ primary id ‖
/// random)`, check both identities, and derive the ADV secret the companion
/// switched to.
fn open_bundle(
    entered: &Entered,
    account_key: &KeyPair,
    wrapped: &[u8],
    companion_identity: &[u8; 32],
) -> Result<Vec<u8>> {
    if wrapped.len() != 32 + 12 + 96 + 16 {
        bail!("key bundle has {} bytes, expected 156", wrapped.len());
    }
    let companion_eph = PublicKey::from_djb_public_key_bytes(&entered.companion_ephemeral)
        .map_err(|e| anyhow!("companion ephemeral key: {e}"))?;
    let ephemeral_shared = entered
        .primary_ephemeral
        .private_key
        .calculate_agreement(&companion_eph)
        .map_err(|e| anyhow!("ephemeral agreement: {e}"))?;
    let mut bundle_key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&ephemeral_shared, Some(&wrapped[..32]), BUNDLE_KEY_INFO, &mut bundle_key)
        .map_err(|e| anyhow!("bundle key: {e:?}"))?;
    let iv: [u8; 12] = wrapped[32..44].try_into()?;
    let mut bundle = Vec::with_capacity(96);
    wacore::libsignal::crypto::aes_256_gcm_decrypt(&bundle_key, &iv, b"", &wrapped[44..], &mut bundle)
        .map_err(|_| anyhow!("the key bundle does not open: the code entered is not the companion's"))?;
    let primary_identity = account_key.public_key.public_key_bytes();
    if bundle.len() != 96 || bundle[..32] != companion_identity[..] || bundle[32..64] != primary_identity[..] {
        bail!("the key bundle names other identity keys");
    }
    let companion_id =
        PublicKey::from_djb_public_key_bytes(companion_identity).map_err(|e| anyhow!("companion identity key: {e}"))?;
    let identity_shared =
        account_key.private_key.calculate_agreement(&companion_id).map_err(|e| anyhow!("identity agreement: {e}"))?;
    let mut secret = Vec::with_capacity(96);
    secret.extend_from_slice(&ephemeral_shared);
    secret.extend_from_slice(&identity_shared);
    secret.extend_from_slice(&bundle[64..96]);
    let mut adv_secret = vec![0u8; 32];
    wacore::crypto::hkdf_sha256_into(&secret, None, ADV_SECRET_INFO, &mut adv_secret)
        .map_err(|e| anyhow!("ADV secret: {e:?}"))?;
    Ok(adv_secret)
}
