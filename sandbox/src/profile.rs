//! Per-account profile data and the IQs that read and change it: profile
//! pictures (`w:profile:picture`), the about text (`status` set, usync `status`),
//! privacy settings (`privacy`) and business profiles (`w:biz`). The blocklist
//! lives in `blocklist.rs`; push names are kept by `relay.rs` from `<presence name>`.
//!
//! Pictures are stored as uploaded in the media store under
//! `/v/pps/<phone>/<id>` and served by the same fake host as message media, so
//! a client that fetches a picture URL gets the exact bytes that were set.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::accounts::Accounts;
use crate::harness::Sandbox;
use crate::media::MEDIA_HOST;
use crate::nodes::{attr, bytes, children, iq_error, iq_result, jid_attr, now};
use crate::server::session::Session;

/// Largest picture the server accepts (the real service resizes; we only cap).
const MAX_PICTURE_BYTES: usize = 5 * 1024 * 1024;
/// Longest about text, in characters, as WhatsApp's own limit.
const MAX_STATUS_CHARS: usize = 139;

/// The privacy categories an account starts with, as a new WhatsApp account has them.
const DEFAULT_PRIVACY: &[(&str, &str)] = &[
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("groupadd", "all"),
    ("readreceipts", "all"),
    ("calladd", "all"),
    ("messages", "all"),
];

/// Which values each category takes (wacore's `PrivacyCategory::is_valid_value`).
fn valid_privacy(name: &str, value: &str) -> bool {
    match name {
        "last" | "profile" | "status" | "groupadd" => {
            matches!(value, "all" | "contacts" | "contact_blacklist" | "none")
        }
        "readreceipts" => matches!(value, "all" | "none"),
        "online" => matches!(value, "all" | "match_last_seen"),
        "calladd" => matches!(value, "all" | "known" | "contacts"),
        "messages" => matches!(value, "all" | "contacts"),
        "defense" => matches!(value, "off" | "on_standard"),
        _ => false,
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Picture {
    pub id: String,
    pub direct_path: String,
}

/// A business profile, as `w:biz` serves it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BusinessProfile {
    pub description: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub websites: Vec<String>,
    /// `(id, name)` pairs.
    pub categories: Vec<(String, String)>,
    pub timezone: Option<String>,
    /// `(day: sun..sat, mode: open_24h|specific_hours|appointment_only, open min, close min)`.
    pub hours: Vec<(String, String, Option<u32>, Option<u32>)>,
}

/// What an account shows others about itself. Stored in the account, so it persists.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ProfileData {
    pub status: String,
    pub status_t: i64,
    pub picture: Option<Picture>,
    /// Only the categories changed from the defaults.
    pub privacy: BTreeMap<String, String>,
    /// Blocked accounts, by phone number.
    pub blocked: std::collections::BTreeSet<String>,
    pub business: Option<BusinessProfile>,
}

impl ProfileData {
    pub fn privacy_value(&self, name: &str) -> String {
        self.privacy
            .get(name)
            .cloned()
            .unwrap_or_else(|| DEFAULT_PRIVACY.iter().find(|(n, _)| *n == name).map_or("all", |(_, v)| v).to_string())
    }
}

/// Whether `viewer` may see `owner`'s item under privacy category `cat`. Contact
/// lists are not modelled, so `contacts` counts as everyone and `none` as nobody
/// but the owner.
fn visible(accounts: &Accounts, owner: &str, viewer: Option<&str>, cat: &str) -> bool {
    if viewer == Some(owner) {
        return true;
    }
    accounts.get(owner).is_none_or(|a| a.profile.privacy_value(cat) != "none")
}

fn requester(session: &Session) -> Option<String> {
    session.device().map(|(p, _)| p.clone())
}

/// `w:profile:picture`: get someone's picture, set or remove one's own.
pub(crate) fn picture(session: &Session, iq: &Node, id: &str, typ: &str) -> Node {
    let me = requester(session);
    if typ == "get" {
        let st = session.hub.state();
        let owner = jid_attr(iq, "target").and_then(|j| st.accounts.phone_of(&j.to_non_ad()));
        let pic = owner.as_deref().and_then(|o| {
            let acct = st.accounts.get(o)?;
            visible(&st.accounts, o, me.as_deref(), "profile").then(|| acct.profile.picture.clone())?
        });
        let node = match pic {
            Some(p) => NodeBuilder::new("picture")
                .attr("id", p.id)
                .attr("type", "image")
                .attr("url", format!("https://{MEDIA_HOST}{}", p.direct_path))
                .attr("direct_path", p.direct_path)
                .build(),
            None => NodeBuilder::new("picture")
                .children([NodeBuilder::new("error").attr("code", "404").attr("text", "item-not-found").build()])
                .build(),
        };
        return iq_result(id, vec![node]);
    }
    let Some(me) = me else {
        return iq_error(id, 401, "not-authorized");
    };
    if iq.attrs.get("target").is_some() {
        // Group pictures are not modelled.
        return iq_error(id, 501, "feature-not-implemented");
    }
    let data = iq.get_optional_child("picture").and_then(bytes).map(<[u8]>::to_vec);
    match data {
        Some(b) if b.len() > MAX_PICTURE_BYTES => iq_error(id, 406, "not-acceptable"),
        Some(b) if !b.is_empty() => {
            let pic_id = format!("{}", now() * 1000 + i64::from(rand::random::<u16>() % 1000));
            let direct_path = format!("/v/pps/{me}/{pic_id}");
            session.hub.media.put(direct_path.clone(), b);
            if let Some(acct) = session.hub.state().accounts.get_mut(&me) {
                acct.profile.picture = Some(Picture { id: pic_id.clone(), direct_path });
            }
            iq_result(id, vec![NodeBuilder::new("picture").attr("id", pic_id).build()])
        }
        _ => {
            if let Some(acct) = session.hub.state().accounts.get_mut(&me) {
                acct.profile.picture = None;
            }
            iq_result(id, vec![])
        }
    }
}

/// `status` set: the about text.
pub(crate) fn set_status(session: &Session, iq: &Node, id: &str) -> Node {
    let Some(me) = requester(session) else {
        return iq_error(id, 401, "not-authorized");
    };
    let text = iq.get_optional_child("status").and_then(|s| s.content_as_string()).unwrap_or_default().to_string();
    if text.chars().count() > MAX_STATUS_CHARS {
        return iq_error(id, 406, "not-acceptable");
    }
    if let Some(acct) = session.hub.state().accounts.get_mut(&me) {
        acct.profile.status = text;
        acct.profile.status_t = now();
    }
    iq_result(id, vec![])
}

/// usync sub-protocols answered from profile data: `status`, `picture`, `business`.
pub(crate) fn usync_part(accounts: &Accounts, owner: Option<&str>, viewer: Option<&str>, what: &str) -> Option<Node> {
    let acct = owner.and_then(|o| accounts.get(o));
    match what {
        "status" => Some(match acct {
            Some(a) if visible(accounts, &a.phone, viewer, "status") && !a.profile.status.is_empty() => {
                NodeBuilder::new("status")
                    .attr("t", a.profile.status_t.to_string())
                    .bytes(a.profile.status.as_bytes())
                    .build()
            }
            Some(a) if !visible(accounts, &a.phone, viewer, "status") => {
                NodeBuilder::new("status").attr("code", "401").build()
            }
            _ => NodeBuilder::new("status").build(),
        }),
        "picture" => acct
            .filter(|a| visible(accounts, &a.phone, viewer, "profile"))
            .and_then(|a| a.profile.picture.as_ref())
            .map(|p| NodeBuilder::new("picture").attr("id", p.id.as_str()).build()),
        "business" => acct.and_then(|a| a.profile.business.as_ref()).map(|_| NodeBuilder::new("business").build()),
        _ => None,
    }
}

/// `privacy` get/set.
pub(crate) fn privacy(session: &Session, iq: &Node, id: &str, typ: &str) -> Node {
    let Some(me) = requester(session) else {
        return iq_error(id, 401, "not-authorized");
    };
    let mut st = session.hub.state();
    let Some(acct) = st.accounts.get_mut(&me) else {
        return iq_error(id, 404, "item-not-found");
    };
    if typ == "set" {
        let asked: Vec<(String, String)> = iq
            .get_optional_child("privacy")
            .map(children)
            .unwrap_or_default()
            .iter()
            .filter(|c| c.tag == "category")
            .filter_map(|c| Some((attr(c, "name")?, attr(c, "value")?)))
            .collect();
        if asked.is_empty() || asked.iter().any(|(n, v)| !valid_privacy(n, v)) {
            return iq_error(id, 400, "bad-request");
        }
        let mut echoed = Vec::new();
        for (n, v) in asked {
            echoed.push(NodeBuilder::new("category").attr("name", n.as_str()).attr("value", v.as_str()).build());
            acct.profile.privacy.insert(n, v);
        }
        return iq_result(id, vec![NodeBuilder::new("privacy").children(echoed).build()]);
    }
    let cats = DEFAULT_PRIVACY.iter().map(|(n, _)| {
        NodeBuilder::new("category").attr("name", *n).attr("value", acct.profile.privacy_value(n)).build()
    });
    iq_result(id, vec![NodeBuilder::new("privacy").children(cats).build()])
}

/// `w:biz` get of `<business_profile><profile jid/></business_profile>`.
pub(crate) fn business(session: &Session, iq: &Node, id: &str) -> Node {
    let st = session.hub.state();
    let asked = iq
        .get_optional_child("business_profile")
        .and_then(|b| b.get_optional_child("profile"))
        .and_then(|p| jid_attr(p, "jid"));
    let Some(asked) = asked else {
        return iq_error(id, 400, "bad-request");
    };
    let acct = st.accounts.phone_of(&asked.to_non_ad()).and_then(|p| st.accounts.get(&p));
    let Some((acct, biz)) = acct.and_then(|a| Some((a, a.profile.business.as_ref()?))) else {
        return iq_result(id, vec![NodeBuilder::new("business_profile").build()]);
    };
    // Free text goes as bytes: the binary encoder would pack "a@b.c" as a JID pair.
    let text = |tag: &'static str, s: &str| NodeBuilder::new(tag).bytes(s.as_bytes()).build();
    let mut kids = vec![text("description", &biz.description)];
    kids.extend(biz.email.as_deref().map(|e| text("email", e)));
    kids.extend(biz.address.as_deref().map(|a| text("address", a)));
    kids.extend(biz.websites.iter().map(|w| text("website", w)));
    let cats = biz
        .categories
        .iter()
        .map(|(i, n)| NodeBuilder::new("category").attr("id", i.as_str()).bytes(n.as_bytes()).build());
    kids.push(NodeBuilder::new("categories").children(cats).build());
    let hours = biz.hours.iter().map(|(day, mode, open, close)| {
        let mut b =
            NodeBuilder::new("business_hours_config").attr("day_of_week", day.as_str()).attr("mode", mode.as_str());
        if let Some(o) = open {
            b = b.attr("open_time", o.to_string());
        }
        if let Some(c) = close {
            b = b.attr("close_time", c.to_string());
        }
        b.build()
    });
    let mut bh = NodeBuilder::new("business_hours");
    if let Some(tz) = &biz.timezone {
        bh = bh.attr("timezone", tz.as_str());
    }
    kids.push(bh.children(hours).build());
    let profile = NodeBuilder::new("profile").attr("jid", acct.pn_jid()).children(kids).build();
    iq_result(id, vec![NodeBuilder::new("business_profile").children([profile]).build()])
}

/// What the server holds about one account's profile, for tests.
#[derive(Clone, Debug, Default)]
pub struct ProfileView {
    pub push_name: String,
    pub status: String,
    /// The picture's id and bytes.
    pub picture: Option<(String, Vec<u8>)>,
    /// Every privacy category with its current value.
    pub privacy: BTreeMap<String, String>,
    pub blocked: Vec<String>,
    pub business: Option<BusinessProfile>,
}

impl Sandbox {
    /// What the server stores about `phone`'s profile (`None` for an unknown account).
    pub fn profile_of(&self, phone: &str) -> Option<ProfileView> {
        let st = self.hub.state();
        let a = st.accounts.get(phone)?;
        let p = &a.profile;
        let picture =
            p.picture.as_ref().map(|pic| (pic.id.clone(), self.hub.media.get(&pic.direct_path).unwrap_or_default()));
        Some(ProfileView {
            push_name: a.push_name.clone(),
            status: p.status.clone(),
            picture,
            privacy: DEFAULT_PRIVACY.iter().map(|(n, _)| (n.to_string(), p.privacy_value(n))).collect(),
            blocked: p.blocked.iter().cloned().collect(),
            business: p.business.clone(),
        })
    }

    /// Gives account `phone` (created if needed) an about text, as if set on its phone.
    pub fn set_account_status(&self, phone: &str, text: &str) {
        let mut st = self.hub.state();
        let p = &mut st.accounts.ensure(phone).profile;
        p.status = text.to_string();
        p.status_t = now();
    }

    /// Gives account `phone` (created if needed) a profile picture; returns its id.
    pub fn set_account_picture(&self, phone: &str, bytes: Vec<u8>) -> String {
        let id = format!("{}", now() * 1000 + i64::from(rand::random::<u16>() % 1000));
        let direct_path = format!("/v/pps/{phone}/{id}");
        self.hub.media.put(direct_path.clone(), bytes);
        self.hub.state().accounts.ensure(phone).profile.picture = Some(Picture { id: id.clone(), direct_path });
        id
    }

    /// Marks account `phone` (created if needed) as a business with this profile.
    pub fn set_business_profile(&self, phone: &str, profile: BusinessProfile) {
        self.hub.state().accounts.ensure(phone).profile.business = Some(profile);
    }

    /// Virtual contact `phone` fetches `of`'s profile picture through its own client
    /// (the `w:profile:picture` IQ, then a download of the URL it got); `None` when
    /// the server says there is none.
    pub async fn contact_fetch_picture(&self, phone: &str, of: &str) -> anyhow::Result<Option<Vec<u8>>> {
        use wacore::net::HttpClient;
        let c = self.contact(phone)?;
        let Some(pic) = c.client.client.contacts().get_profile_picture(&Jid::pn(of), false).await? else {
            return Ok(None);
        };
        let req = wacore::net::HttpRequest::get(pic.url.as_str());
        let res = self.http_client().execute(req).await?;
        anyhow::ensure!(res.status_code == 200, "picture download answered {}", res.status_code);
        Ok(Some(res.body))
    }

    /// Virtual contact `phone` asks the server (usync) for `of`'s about text.
    pub async fn contact_fetch_status(&self, phone: &str, of: &str) -> anyhow::Result<Option<String>> {
        let c = self.contact(phone)?;
        let jid = Jid::pn(of);
        let info = c.client.client.contacts().get_user_info(std::slice::from_ref(&jid)).await?;
        Ok(info.into_values().next().and_then(|u| u.status))
    }
}
