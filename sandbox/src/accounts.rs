//! The account registry: who exists, which devices they have, and their keys.
//!
//! An account is a phone number with a LID and a "virtual phone" signing key (the
//! ADV account key a real primary phone would hold). Device 0 is that phone
//! (`phone_keys.rs`); the others are companions linked through `pairing.rs`; each carries the Signal keys it uploaded and the
//! ADV identity it countersigned. This module only stores; the stanzas that
//! read or change it live in `pairing.rs`, `keys.rs`, `usync.rs` and `relay.rs`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use wacore::libsignal::protocol::KeyPair;
use wacore_binary::{Jid, Server};

/// `(phone, device id)`: how the server addresses one connected device.
pub type DeviceAddr = (String, u16);

/// A published signed prekey: id, public key, signature.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SignedPreKey {
    pub id: u32,
    pub public: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A device's Signal key material as the server sees it (public halves only).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeviceKeys {
    pub registration_id: u32,
    pub identity: Vec<u8>,
    pub signed_prekey: SignedPreKey,
    pub one_time: VecDeque<(u32, Vec<u8>)>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Device {
    pub id: u16,
    pub keys: DeviceKeys,
    /// The companion's `ADVSignedDeviceIdentity` (with its device signature), as
    /// returned in `pair-device-sign`; served in prekey bundles.
    pub device_identity: Option<Vec<u8>>,
    pub key_index: u32,
    /// Whether the virtual phone already sent this device the app-state key.
    pub key_shared: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub phone: String,
    pub lid: String,
    pub push_name: String,
    /// The virtual primary phone's ADV account key.
    #[serde(with = "crate::persist::keypair")]
    pub account_key: KeyPair,
    pub adv_raw_id: u32,
    pub next_device: u16,
    pub next_key_index: u32,
    pub devices: BTreeMap<u16, Device>,
    /// The phone's app-state sync key `(key id, key data)`, shared with every
    /// companion at its first login (`phone.rs`).
    pub app_state_key: (Vec<u8>, [u8; 32]),
    /// The phone's Signal registration id.
    pub registration_id: u32,
    /// About text, picture, privacy, blocklist, business profile (`profile.rs`).
    #[serde(default)]
    pub profile: crate::profile::ProfileData,
    /// When set, the phone never shares `app_state_key` with new companions
    /// (a phone that has not finished syncing): their app-state verbs fail.
    #[serde(default)]
    pub withhold_app_state_key: bool,
    /// The account's app-state collections (`appstate.rs`).
    #[serde(default)]
    pub app_state: crate::appstate::Collections,
    /// Private halves of the phone's (device 0's) prekeys (`phone_keys.rs`).
    #[serde(default)]
    pub phone_keys: Option<crate::phone_keys::PhoneKeys>,
}

impl Account {
    pub fn new(phone: &str, lid: String) -> Self {
        Self {
            phone: phone.to_string(),
            lid,
            push_name: String::new(),
            account_key: KeyPair::generate(&mut rand::rng()),
            adv_raw_id: rand::random(),
            next_device: 1,
            next_key_index: 1,
            devices: BTreeMap::new(),
            app_state_key: (rand::random::<[u8; 6]>().to_vec(), rand::random()),
            registration_id: rand::random::<u32>() & 0x3FFF,
            profile: Default::default(),
            withhold_app_state_key: false,
            app_state: Default::default(),
            phone_keys: None,
        }
    }

    pub fn pn_jid(&self) -> Jid {
        Jid::pn(self.phone.as_str())
    }

    pub fn lid_jid(&self) -> Jid {
        Jid::lid(self.lid.as_str())
    }
}

/// All accounts plus the LID index.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Accounts {
    by_phone: BTreeMap<String, Account>,
    lid_to_phone: HashMap<String, String>,
    next_lid: u64,
}

impl Accounts {
    /// Returns the account for `phone`, creating it (with a fresh LID) if needed.
    pub fn ensure(&mut self, phone: &str) -> &mut Account {
        if !self.by_phone.contains_key(phone) {
            self.next_lid += 1;
            // LIDs are opaque numbers unrelated to the phone; a fixed prefix keeps
            // them recognisable in test logs.
            let lid = format!("{}", 100_000_000_000_000u64 + self.next_lid);
            self.lid_to_phone.insert(lid.clone(), phone.to_string());
            let mut acct = Account::new(phone, lid);
            crate::phone_keys::ensure(&mut acct);
            self.by_phone.insert(phone.to_string(), acct);
        }
        self.by_phone.get_mut(phone).expect("inserted above")
    }

    pub fn get(&self, phone: &str) -> Option<&Account> {
        self.by_phone.get(phone)
    }

    pub fn get_mut(&mut self, phone: &str) -> Option<&mut Account> {
        self.by_phone.get_mut(phone)
    }

    /// Maps a user JID in either addressing family to its phone number.
    pub fn phone_of(&self, jid: &Jid) -> Option<String> {
        match jid.server {
            Server::Pn => self.by_phone.contains_key(jid.user.as_str()).then(|| jid.user.to_string()),
            Server::Lid => self.lid_to_phone.get(jid.user.as_str()).cloned(),
            _ => None,
        }
    }

    /// Resolves a device JID (PN or LID) to a registered device address.
    pub fn device_of(&self, jid: &Jid) -> Option<DeviceAddr> {
        let phone = self.phone_of(jid)?;
        let acct = self.by_phone.get(&phone)?;
        acct.devices.contains_key(&jid.device).then_some((phone, jid.device))
    }

    pub fn device(&self, addr: &DeviceAddr) -> Option<&Device> {
        self.by_phone.get(&addr.0)?.devices.get(&addr.1)
    }

    pub fn device_mut(&mut self, addr: &DeviceAddr) -> Option<&mut Device> {
        self.by_phone.get_mut(&addr.0)?.devices.get_mut(&addr.1)
    }

    /// Gives every account its phone device (after loading a saved state).
    pub fn ensure_phone_devices(&mut self) {
        for acct in self.by_phone.values_mut() {
            crate::phone_keys::ensure(acct);
        }
    }

    /// Every device address of one account.
    pub fn devices_of(&self, phone: &str) -> Vec<DeviceAddr> {
        self.by_phone
            .get(phone)
            .map(|a| a.devices.keys().map(|d| (phone.to_string(), *d)).collect())
            .unwrap_or_default()
    }

    /// Every device of every account.
    pub fn all_devices(&self) -> Vec<DeviceAddr> {
        self.by_phone.iter().flat_map(|(p, a)| a.devices.keys().map(move |d| (p.clone(), *d))).collect()
    }
}
