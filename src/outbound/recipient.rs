//! Recipient normalization: phone numbers (with a default country code), user JIDs, LIDs
//! and group JIDs become one canonical JID string, or an error saying what is wrong.

/// At most this many recipients per request: one call must not flood a queue.
pub const MAX_RECIPIENTS: usize = 50;

/// What [`normalize`] accepts, as JSON Schema patterns for the OpenAPI document (the test
/// below holds the two together). A phone number: 7-15 digits with `+ ( ) - .` and spaces
/// anywhere; a leading 0 takes WAREST_DEFAULT_COUNTRY_CODE, so it may have fewer digits.
/// (Upper-case JID servers, which are accepted too, are left out of the patterns.)
pub mod patterns {
    macro_rules! phone {
        () => {
            r"[+ ().-]*(?:[1-9](?:[+ ().-]*[0-9]){6,14}|0(?:[+ ().-]*[0-9]){6,12})[+ ().-]*"
        };
    }
    macro_rules! user_jid {
        () => {
            r"[0-9]{1,20}@(?:s\.whatsapp\.net|c\.us|lid)"
        };
    }
    macro_rules! group_jid {
        () => {
            r"[0-9]{1,20}(?:-[0-9]{1,20})?@g\.us"
        };
    }
    /// One phone number.
    pub const PHONE: &str = concat!(r"^\s*(?:", phone!(), r")\s*$");
    /// One chat: a phone number, a user JID or LID, or a group JID.
    pub const CHAT: &str = concat!(r"^\s*(?:", phone!(), "|", user_jid!(), "|", group_jid!(), r")\s*$");
    /// One person: a phone number or a user JID or LID (group members, blocklist entries).
    pub const USER: &str = concat!(r"^\s*(?:", phone!(), "|", user_jid!(), r")\s*$");
    /// People, comma-separated (`checkNumbers`). The count limit (50) is the handler's:
    /// a bounded repetition of this size makes schema-driven generators crawl.
    pub const USER_LIST: &str =
        concat!(r"^\s*(?:", phone!(), "|", user_jid!(), r")", r"(?:\s*,\s*(?:", phone!(), "|", user_jid!(), r"))*\s*$");
    /// Chats, comma-separated (at most [`MAX_RECIPIENTS`](super::MAX_RECIPIENTS), which
    /// the handler counts; see `USER_LIST`).
    pub const CHAT_LIST: &str = concat!(
        r"^\s*(?:",
        phone!(),
        "|",
        user_jid!(),
        "|",
        group_jid!(),
        r")",
        r"(?:\s*,\s*(?:",
        phone!(),
        "|",
        user_jid!(),
        "|",
        group_jid!(),
        r"))*\s*$"
    );
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The canonical JID, e.g. `6281234567890@s.whatsapp.net`.
    pub jid: String,
    /// The JID without its server, as the original's `to` field shows it.
    pub user: String,
}

impl Recipient {
    pub fn is_group(&self) -> bool {
        self.jid.ends_with("@g.us")
    }
}

/// Normalizes one recipient. `country` replaces a leading 0 of a phone number.
pub fn normalize(raw: &str, country: Option<&str>) -> Result<Recipient, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is empty".into());
    }
    if let Some((user, server)) = raw.split_once('@') {
        return jid(user, &server.to_ascii_lowercase());
    }
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '+' | '-' | '(' | ')' | '.')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{raw:?} is not a phone number or JID"));
    }
    let number = match (digits.strip_prefix('0'), country) {
        (Some(rest), Some(cc)) => format!("{cc}{rest}"),
        (Some(_), None) => {
            return Err(format!(
                "{raw:?} starts with 0 and no WAREST_DEFAULT_COUNTRY_CODE is set; use the international form"
            ));
        }
        (None, _) => digits,
    };
    if !(7..=15).contains(&number.len()) {
        return Err(format!("{raw:?} is not a phone number (7-15 digits with the country code)"));
    }
    Ok(Recipient { jid: format!("{number}@s.whatsapp.net"), user: number })
}

fn jid(user: &str, server: &str) -> Result<Recipient, String> {
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match server {
        "s.whatsapp.net" | "c.us" | "lid" => digits(user),
        // Group ids are `<digits>` or the legacy `<creator>-<timestamp>`.
        "g.us" => user.split('-').count() <= 2 && user.split('-').all(digits),
        _ => return Err(format!("unsupported JID server {server:?} (use s.whatsapp.net, lid or g.us)")),
    };
    if !ok {
        return Err(format!("{user}@{server} is not a valid JID"));
    }
    let server = if server == "c.us" { "s.whatsapp.net" } else { server };
    Ok(Recipient { jid: format!("{user}@{server}"), user: user.to_string() })
}

/// Splits the spec's `to` (a comma-separated string or an array) and normalizes each,
/// dropping duplicates. Errors name the entry's position.
pub fn normalize_all(items: &[String], country: Option<&str>) -> Result<Vec<Recipient>, (String, String)> {
    let parts: Vec<&str> = items.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return Err(("to".into(), "at least one recipient is required".into()));
    }
    if parts.len() > MAX_RECIPIENTS {
        return Err(("to".into(), format!("at most {MAX_RECIPIENTS} recipients per request")));
    }
    let mut out: Vec<Recipient> = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let r = normalize(p, country)
            .map_err(|why| (if parts.len() == 1 { "to".into() } else { format!("to[{i}]") }, why))?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid_of(raw: &str) -> Result<String, String> {
        normalize(raw, Some("62")).map(|r| r.jid)
    }

    /// The documented patterns accept exactly what the validator accepts, over every
    /// string of a small alphabet that covers the edges (digits, separators, `@`, servers).
    #[test]
    fn patterns_match_the_validator() {
        let chat = regex::Regex::new(patterns::CHAT).unwrap();
        let user = regex::Regex::new(patterns::USER).unwrap();
        let list = regex::Regex::new(patterns::CHAT_LIST).unwrap();
        let samples = [
            "",
            " ",
            "0",
            "1",
            "123456",
            "1234567",
            "+1 (555) 000-0001",
            "0812345",
            "081234567890123",
            "0812345678901",
            "1234567890123456",
            "123456789012345",
            "62812abc",
            "1.2.3.4.5.6.7",
            "+ + +",
            "1@s.whatsapp.net",
            "1@c.us",
            "1@lid",
            "1@g.us",
            "1-2@g.us",
            "1-2-3@g.us",
            "a@g.us",
            "1@newsletter",
            "123456789012345678901@lid",
            " 15550000001 ",
            "1555\t0000001",
            "@g.us",
            "1@",
            "15550000001@g.us",
        ];
        for s in samples {
            let ok = normalize(s, Some("62"));
            assert_eq!(chat.is_match(s), ok.is_ok(), "CHAT vs normalize on {s:?}: {ok:?}");
            let is_user = ok.as_ref().is_ok_and(|r| !r.is_group());
            assert_eq!(user.is_match(s), is_user, "USER vs normalize on {s:?}");
        }
        for s in ["15550000001,15550000002", "15550000001 , 1@g.us", "15550000001,", ",15550000001", "1,2"] {
            let ok = normalize_all(&[s.to_string()], Some("62")).is_ok();
            let clean = !s.trim().starts_with(',') && !s.trim().ends_with(',');
            assert_eq!(list.is_match(s), ok && clean, "CHAT_LIST vs normalize_all on {s:?}");
        }
        // The count is not the pattern's: the list fits it, normalize_all refuses it.
        let many = vec!["15550000001"; MAX_RECIPIENTS + 1].join(",");
        assert!(list.is_match(&many) && normalize_all(&[many], Some("62")).is_err());
    }

    #[test]
    fn phone_numbers_are_normalized() {
        assert_eq!(jid_of("+62 812-3456-7890").unwrap(), "6281234567890@s.whatsapp.net");
        assert_eq!(jid_of("081234567890").unwrap(), "6281234567890@s.whatsapp.net");
        assert_eq!(jid_of("(1) 555.000.0001").unwrap(), "15550000001@s.whatsapp.net");
        assert!(normalize("081234567890", None).unwrap_err().contains("international"));
        assert!(jid_of("12345").is_err(), "too short");
        assert!(jid_of("1234567890123456").is_err(), "too long");
        assert!(jid_of("62812abc").is_err());
    }

    #[test]
    fn jids_lids_and_groups_are_accepted() {
        assert_eq!(jid_of("15550000001@c.us").unwrap(), "15550000001@s.whatsapp.net");
        assert_eq!(jid_of("123456789012345@lid").unwrap(), "123456789012345@lid");
        assert_eq!(jid_of("120363025246125486@g.us").unwrap(), "120363025246125486@g.us");
        assert_eq!(jid_of("6281234-1600000000@g.us").unwrap(), "6281234-1600000000@g.us");
        assert!(jid_of("abc@s.whatsapp.net").is_err());
        assert!(jid_of("1@newsletter").unwrap_err().contains("unsupported"));
        assert!(jid_of("1-2-3@g.us").is_err());
    }

    #[test]
    fn lists_are_split_deduplicated_and_bounded() {
        let got = normalize_all(&["15550000001, +1 555 000 0001,15550000002".into()], None).unwrap();
        assert_eq!(got.len(), 2);
        let err = normalize_all(&["15550000001".into(), "nope".into()], None).unwrap_err();
        assert_eq!(err.0, "to[1]");
        assert_eq!(normalize_all(&[" , ".into()], None).unwrap_err().0, "to");
        let many = vec!["15550000001".to_string(); MAX_RECIPIENTS + 1];
        assert!(normalize_all(&many, None).unwrap_err().1.contains("at most"));
    }
}
