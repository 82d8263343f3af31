//! HTTPS for the media host on the sandbox's own port.
//!
//! WhatsApp names its media hosts in `media_conn`, and clients such as Baileys always
//! reach them over `https://`. So the listener answers TLS (a connection whose first
//! byte is a TLS handshake record) with a certificate for `127.0.0.1`, `localhost` and
//! `mmg.sandbox.invalid`, issued by the sandbox's own media CA. A client trusts that CA
//! the way it would trust any private CA (Node: `NODE_EXTRA_CA_CERTS=<file>`). With a
//! data directory the CA key is kept there (`media-ca.key`) and its certificate written
//! as `media-ca.pem`, so a restart keeps the trust; without one both are new each start
//! (`Sandbox::media_ca_pem`). This module only makes the certificates and the acceptor.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

pub(crate) const CA_KEY_FILE: &str = "media-ca.key";
pub(crate) const CA_CERT_FILE: &str = "media-ca.pem";

pub(crate) struct MediaTls {
    pub acceptor: TlsAcceptor,
    pub ca_pem: String,
}

impl MediaTls {
    /// A CA (kept in `dir` when given) and a fresh server certificate signed by it.
    pub fn new(dir: Option<&Path>) -> Result<Self> {
        let ca_key = match dir {
            Some(dir) => {
                let path = dir.join(CA_KEY_FILE);
                if path.exists() {
                    let pem =
                        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    KeyPair::from_pem(&pem).with_context(|| format!("{} is no key", path.display()))?
                } else {
                    let key = KeyPair::generate()?;
                    crate::root_key::write_private(&path, &key.serialize_pem())?;
                    key
                }
            }
            None => KeyPair::generate()?,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name.push(DnType::CommonName, "WAREST sandbox media CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // The same key gives the same subject and key id: one CA across restarts.
        let ca_cert = ca.self_signed(&ca_key)?;
        let ca_pem = ca_cert.pem();
        if let Some(dir) = dir {
            std::fs::write(dir.join(CA_CERT_FILE), &ca_pem)?;
        }

        let names = vec!["127.0.0.1".to_string(), "localhost".to_string(), crate::media::MEDIA_HOST.to_string()];
        let mut leaf = CertificateParams::new(names)?;
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;

        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone(), ca_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )?;
        let _: &CertificateDer = ca_cert.der();
        Ok(Self { acceptor: TlsAcceptor::from(Arc::new(config)), ca_pem })
    }
}
