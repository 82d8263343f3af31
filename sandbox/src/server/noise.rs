//! Noise XX responder: the server side of WhatsApp's connection handshake.
//!
//! Owns the server's static key, its self-made certificate chain, and the three
//! handshake messages (ClientHello, ServerHello, ClientFinish). It hands back the
//! transport ciphers and the decoded `ClientPayload`; it knows nothing about what
//! the payload means (login vs. registration is `login.rs`'s business).

use anyhow::{Context, Result, anyhow};
use buffa::Message as _;
use wacore::handshake::{NoiseCipher, NoiseHandshake};
use wacore::libsignal::protocol::KeyPair;
use wacore_binary::consts::NOISE_PATTERN_XX;
use waproto::whatsapp as wa;
use waproto::whatsapp::cert_chain::noise_certificate;

use super::ws::FrameIo;

/// The server's long-lived Noise identity.
pub(crate) struct ServerIdentity {
    static_kp: KeyPair,
    cert_chain: Vec<u8>,
    root_public: [u8; 32],
}

/// What a finished handshake yields.
pub(crate) struct Established {
    pub read: NoiseCipher,
    pub write: NoiseCipher,
    pub client_static: [u8; 32],
    pub payload: wa::ClientPayload,
}

impl ServerIdentity {
    /// A fresh static key with a chain signed by `root`: the sandbox's root key takes
    /// the place of WhatsApp's (`WA_CERT_PUB_KEY` in whatsapp-rust,
    /// `WA_CERT_DETAILS.PUBLIC_KEY` in Baileys), so a client that trusts it verifies
    /// the chain exactly as it verifies WhatsApp's.
    pub fn new(root: &KeyPair) -> Self {
        let static_kp = KeyPair::generate(&mut rand::rng());
        let cert_chain = build_cert_chain(root, &pub32(&static_kp));
        Self { static_kp, cert_chain, root_public: pub32(root) }
    }

    /// The public half of the root key the chain is signed with.
    pub fn root_public(&self) -> [u8; 32] {
        self.root_public
    }

    /// Runs the responder half of `Noise_XX_25519_AESGCM_SHA256` on one socket.
    pub async fn respond(&self, io: &mut FrameIo) -> Result<Established> {
        let hello = io.next_frame().await?.context("closed before ClientHello")?;
        let msg = wa::HandshakeMessage::decode_from_slice(&hello)?;
        let client_eph: [u8; 32] = msg
            .client_hello
            .into_option()
            .and_then(|h| h.ephemeral)
            .context("ClientHello without ephemeral")?
            .try_into()
            .map_err(|_| anyhow!("client ephemeral is not 32 bytes"))?;

        // The prologue is the header this client sent: its dictionary version differs
        // between clients (2 for Baileys 6, 3 for whatsapp-rust and Baileys 7).
        let prologue = io.header().context("ClientHello before the connection header")?;
        let mut noise = NoiseHandshake::new(NOISE_PATTERN_XX, &prologue)?;
        noise.authenticate(&client_eph);
        let server_eph = KeyPair::generate(&mut rand::rng());
        noise.authenticate(&pub32(&server_eph));
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_eph)?;
        let enc_static = noise.encrypt(&pub32(&self.static_kp))?;
        noise.mix_shared_secret(self.static_kp.private_key.serialize(), &client_eph)?;
        let enc_cert = noise.encrypt(&self.cert_chain)?;

        let server_hello = wa::HandshakeMessage {
            server_hello: buffa::MessageField::some(wa::handshake_message::ServerHello {
                ephemeral: Some(pub32(&server_eph).to_vec()),
                r#static: Some(enc_static),
                payload: Some(enc_cert),
                ..Default::default()
            }),
            ..Default::default()
        };
        io.send_frame(&server_hello.encode_to_vec()).await?;

        let finish = io.next_frame().await?.context("closed before ClientFinish")?;
        let msg = wa::HandshakeMessage::decode_from_slice(&finish)?;
        let cf = msg.client_finish.into_option().context("expected ClientFinish")?;
        let client_static: [u8; 32] = noise
            .decrypt(cf.r#static.as_deref().context("ClientFinish without static")?)?
            .try_into()
            .map_err(|_| anyhow!("client static is not 32 bytes"))?;
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_static)?;
        let payload_bytes = noise.decrypt(cf.payload.as_deref().context("ClientFinish without payload")?)?;
        let payload = wa::ClientPayload::decode_from_slice(&payload_bytes)?;

        // `split` names the keys from the initiator's point of view: its write
        // key is our read key.
        let (initiator_write, initiator_read) = noise.finish()?;
        Ok(Established { read: initiator_write, write: initiator_read, client_static, payload })
    }
}

fn pub32(kp: &KeyPair) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(kp.public_key.public_key_bytes());
    out
}

/// WhatsApp's chain shape: an intermediate (serial 1, issued by the root, serial 0)
/// signed with the root key, and a leaf naming this server's static key, signed with
/// the intermediate's key; both signatures XEdDSA, as clients verify them. No validity
/// window: a missing `not_after` decodes as 0, which makes whatsapp-rust treat the
/// cached chain as expired and stay on XX for every reconnect, so this responder never
/// has to speak IK.
fn build_cert_chain(root: &KeyPair, static_pub: &[u8; 32]) -> Vec<u8> {
    let mut rng = rand::rng();
    let intermediate_kp = KeyPair::generate(&mut rng);
    let intermediate = noise_certificate::Details {
        serial: Some(1),
        issuer_serial: Some(0),
        key: Some(pub32(&intermediate_kp).to_vec()),
        not_before: None,
        not_after: None,
    }
    .encode_to_vec();
    let leaf = noise_certificate::Details {
        serial: Some(2),
        issuer_serial: Some(1),
        key: Some(static_pub.to_vec()),
        not_before: None,
        not_after: None,
    }
    .encode_to_vec();
    let sign = |kp: &KeyPair, details: &[u8]| {
        kp.private_key.calculate_signature(details, &mut rand::rng()).expect("a Curve25519 key signs").to_vec()
    };
    wa::CertChain {
        leaf: buffa::MessageField::some(wa::cert_chain::NoiseCertificate {
            signature: Some(sign(&intermediate_kp, &leaf)),
            details: Some(leaf),
        }),
        intermediate: buffa::MessageField::some(wa::cert_chain::NoiseCertificate {
            signature: Some(sign(root, &intermediate)),
            details: Some(intermediate),
        }),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore::libsignal::protocol::PublicKey;

    #[test]
    fn the_chain_verifies_against_the_root_key() {
        let root = KeyPair::generate(&mut rand::rng());
        let id = ServerIdentity::new(&root);
        let chain = wa::CertChain::decode_from_slice(&id.cert_chain).unwrap();
        let inter = chain.intermediate.into_option().unwrap();
        let leaf = chain.leaf.into_option().unwrap();
        let root_pub = PublicKey::from_djb_public_key_bytes(&id.root_public()).unwrap();
        assert!(root_pub.verify_signature(inter.details.as_deref().unwrap(), inter.signature.as_deref().unwrap()));
        let details = noise_certificate::Details::decode_from_slice(inter.details.as_deref().unwrap()).unwrap();
        let inter_pub = PublicKey::from_djb_public_key_bytes(details.key.as_deref().unwrap()).unwrap();
        assert!(inter_pub.verify_signature(leaf.details.as_deref().unwrap(), leaf.signature.as_deref().unwrap()));
        // Another root does not vouch for it.
        let other = KeyPair::generate(&mut rand::rng());
        assert!(
            !other.public_key.verify_signature(inter.details.as_deref().unwrap(), inter.signature.as_deref().unwrap())
        );
    }
}
