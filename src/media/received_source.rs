//! Where a received attachment may be downloaded from. The sender writes `direct_path` and
//! `static_url` into the message; whatsapp-rust fetches a `static_url` verbatim and puts
//! `direct_path` right after a media host's name (`https://<host><direct_path>`), so an
//! unchecked one reaches any address the sender likes (`@evil.example/x` turns the host
//! into a user name). Only WhatsApp's own media hosts, the session's `media_conn` hosts,
//! may be named: `direct_path` must be a plain path, and a `static_url` must be https on
//! one of those hosts. The connection itself is guarded too (`sessions::media_http`).

use whatsapp_rust::wacore::download::Downloadable;

/// Why an attachment is not downloaded (for the log and the payload; never the URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("its direct path is not a path on the media host")]
    DirectPath,
    #[error("its static URL is not an https URL")]
    StaticUrl,
    #[error("its static URL names a host that is not one of WhatsApp's media hosts")]
    StaticHost,
    #[error("it names nothing to download")]
    Nothing,
}

/// What can be told without the session: the shape of the fields.
pub fn check_shape(source: &dyn Downloadable) -> Result<(), Refused> {
    match (source.static_url(), source.direct_path()) {
        (Some(u), _) => https_authority(u).map(|_| ()),
        (None, Some(p)) => plain_path(p),
        (None, None) => Err(Refused::Nothing),
    }
}

/// The whole check, against the session's media hosts (`host` or `host:port`).
pub fn check(source: &dyn Downloadable, hosts: &[String]) -> Result<(), Refused> {
    check_shape(source)?;
    if let Some(u) = source.static_url() {
        let authority = https_authority(u)?;
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(&authority)) {
            return Err(Refused::StaticHost);
        }
    }
    Ok(())
}

/// `/…` of printable ASCII without `\` or `#`, not `//…`: after a host name it can only
/// be a path (and its query), never a user name, another host or a fragment.
fn plain_path(p: &str) -> Result<(), Refused> {
    let printable = p.bytes().all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'#');
    if !p.starts_with('/') || p.starts_with("//") || !printable || p.len() > 4096 {
        return Err(Refused::DirectPath);
    }
    Ok(())
}

/// The `host[:port]` of an https URL without credentials, as parsed (lower case).
fn https_authority(u: &str) -> Result<String, Refused> {
    let url = reqwest::Url::parse(u).map_err(|_| Refused::StaticUrl)?;
    if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::StaticUrl);
    }
    let host = url.host_str().ok_or(Refused::StaticUrl)?;
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_rust::waproto::whatsapp as wa;

    fn image(direct_path: Option<&str>, static_url: Option<&str>) -> wa::message::ImageMessage {
        wa::message::ImageMessage {
            direct_path: direct_path.map(str::to_string),
            static_url: static_url.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn only_plain_paths_and_media_host_urls_pass() {
        let hosts = vec!["mmg.whatsapp.net".to_string(), "127.0.0.1:4100".to_string()];
        let ok = |d: Option<&str>, s: Option<&str>| check(&image(d, s), &hosts);
        assert_eq!(ok(Some("/v/t62.7118-24/1_n.enc?ccb=11-4&oh=01_Q5&oe=68A0&_nc_sid=5e03e0"), None), Ok(()));
        assert_eq!(ok(None, Some("https://mmg.whatsapp.net/m1/v/x?ccb=9-4")), Ok(()));
        assert_eq!(ok(None, Some("https://127.0.0.1:4100/v/x")), Ok(()));
        for bad in ["@127.0.0.1:9/x", "//evil.example/x", "http://127.0.0.1:9/x", "v/x", "/v/x#frag", "/v/\\x", "/v /x"]
        {
            assert_eq!(ok(Some(bad), None), Err(Refused::DirectPath), "{bad}");
        }
        assert_eq!(ok(None, None), Err(Refused::Nothing));
        for (url, why) in [
            ("http://mmg.whatsapp.net/x", Refused::StaticUrl),
            ("https://user@mmg.whatsapp.net/x", Refused::StaticUrl),
            ("file:///etc/passwd", Refused::StaticUrl),
            ("https://127.0.0.1:9/x", Refused::StaticHost),
            ("https://mmg.whatsapp.net.evil.example/x", Refused::StaticHost),
            ("https://127.0.0.1/x", Refused::StaticHost),
        ] {
            // A good direct path does not excuse a bad static URL: the static URL is what is fetched.
            assert_eq!(ok(Some("/v/x"), Some(url)), Err(why), "{url}");
        }
    }
}
