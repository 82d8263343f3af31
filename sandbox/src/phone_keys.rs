//! Device 0 of every account: the virtual primary phone as a Signal device.
//!
//! A real account's phone is device 0, with its own identity (the ADV account key, the
//! same key that signs companions' device identities), a signed prekey and one-time
//! prekeys. Clients encrypt to it like to any device: Baileys 6 always adds device 0
//! of the recipient and of itself to every 1:1 message. This module makes those keys,
//! keeps their private halves with the account (so a restarted sandbox still decrypts
//! what was encrypted to them) and lists device 0 among the account's devices with the
//! public halves, where `keys.rs` and `usync.rs` serve it like any companion. What
//! arrives for device 0 is decrypted in `phone_inbox.rs`.

use std::collections::{BTreeMap, VecDeque};

use wacore::libsignal::protocol::{KeyPair, PrivateKey};

use crate::accounts::{Account, Device, DeviceKeys, SignedPreKey};

/// The phone's device id.
pub const PHONE_DEVICE: u16 = 0;
/// Prekeys published at once, and the level below which more are made.
const BATCH: u32 = 50;
const LOW_WATER: usize = 10;

/// Private halves of the phone's prekeys.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PhoneKeys {
    pub signed_id: u32,
    pub signed_private: Vec<u8>,
    /// Unused one-time prekeys by id (a decrypted `pkmsg` consumes its one).
    pub one_time: BTreeMap<u32, Vec<u8>>,
    pub next_prekey_id: u32,
}

impl PhoneKeys {
    pub fn signed_pair(&self) -> Option<KeyPair> {
        pair(&self.signed_private)
    }

    pub fn one_time_pair(&self, id: u32) -> Option<KeyPair> {
        self.one_time.get(&id).and_then(|k| pair(k))
    }
}

fn pair(private: &[u8]) -> Option<KeyPair> {
    let private = PrivateKey::deserialize(private).ok()?;
    let public = private.public_key().ok()?;
    Some(KeyPair::new(public, private))
}

/// Gives `acct` its phone device if it has none yet (new accounts, and accounts saved
/// by a sandbox that predates device 0).
pub fn ensure(acct: &mut Account) {
    if acct.phone_keys.is_some() && acct.devices.contains_key(&PHONE_DEVICE) {
        return;
    }
    let mut rng = rand::rng();
    let signed = KeyPair::generate(&mut rng);
    let signature = acct
        .account_key
        .private_key
        .calculate_signature(&signed.public_key.serialize(), &mut rng)
        .expect("a Curve25519 key signs")
        .to_vec();
    let mut keys = PhoneKeys {
        signed_id: 1,
        signed_private: signed.private_key.serialize().to_vec(),
        one_time: BTreeMap::new(),
        next_prekey_id: 1,
    };
    let mut public = DeviceKeys {
        registration_id: acct.registration_id,
        identity: acct.account_key.public_key.public_key_bytes().to_vec(),
        signed_prekey: SignedPreKey { id: 1, public: signed.public_key.public_key_bytes().to_vec(), signature },
        one_time: VecDeque::new(),
    };
    add_batch(&mut keys, &mut public);
    acct.phone_keys = Some(keys);
    acct.devices.insert(
        PHONE_DEVICE,
        // Key index 0 is the phone's own; it has no ADV device identity to serve.
        Device { id: PHONE_DEVICE, keys: public, device_identity: None, key_index: 0, key_shared: true },
    );
}

/// Publishes more one-time prekeys when few are left (a real phone uploads more).
pub fn replenish(acct: &mut Account) {
    let Some(keys) = acct.phone_keys.as_mut() else { return };
    let Some(dev) = acct.devices.get_mut(&PHONE_DEVICE) else { return };
    if dev.keys.one_time.len() < LOW_WATER {
        add_batch(keys, &mut dev.keys);
    }
}

fn add_batch(keys: &mut PhoneKeys, public: &mut DeviceKeys) {
    let mut rng = rand::rng();
    for _ in 0..BATCH {
        let id = keys.next_prekey_id;
        keys.next_prekey_id = keys.next_prekey_id % 0x00FF_FFFF + 1;
        let kp = KeyPair::generate(&mut rng);
        keys.one_time.insert(id, kp.private_key.serialize().to_vec());
        public.one_time.push_back((id, kp.public_key.public_key_bytes().to_vec()));
    }
}
