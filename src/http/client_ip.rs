//! Who the client is, for the failed-credentials slow-down: the peer address, or, when the
//! peer is one of `WAREST_TRUSTED_PROXIES`, the rightmost `X-Forwarded-For` hop that is
//! not itself a trusted proxy.
//!
//! Rightmost, not leftmost: each proxy appends the address it saw, so everything left of
//! the last trusted hop was written by the client and proves nothing. Without trusted
//! proxies the header is ignored, so a client cannot pick a fresh bucket per request.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// One CIDR block (`10.0.0.0/8`, `::1/128`; a bare address is a host block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| format!("{raw:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?}: the prefix length must be 0-{max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => masked(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32),
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(u128::from(net), u128::from(ip), self.prefix, 128),
            _ => false,
        }
    }
}

fn masked(net: u128, ip: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix);
    (net >> shift) == (ip >> shift)
}

/// An IPv4 peer seen on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A comma-separated list of CIDR blocks (`WAREST_METRICS_ALLOW`, and the trusted proxies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpNets(Vec<IpNet>);

impl IpNets {
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',').map(str::trim).filter(|p| !p.is_empty()).map(IpNet::parse).collect::<Result<_, _>>().map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `WAREST_TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(IpNets);

impl TrustedProxies {
    /// A comma-separated CIDR list; empty trusts no one.
    pub fn parse(raw: &str) -> Result<Self, String> {
        IpNets::parse(raw).map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(ip)
    }

    /// The client behind `peer`, as [the module](self) explains.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
            // A hop that does not parse was written by someone untrusted: stop before it.
            let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }

    /// Whether the client reached us over HTTPS: only a trusted proxy can say so (the
    /// gateway itself serves plain HTTP), in the `X-Forwarded-Proto` it set last.
    pub fn https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.contains(canonical(peer))
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.rsplit(','))
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cidr_blocks_match_their_addresses() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.255.3")) && !net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "v4-mapped peers count as v4");
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(IpNet::parse("::1").unwrap().contains(ip("::1")));
        assert!(!IpNet::parse("::1").unwrap().contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "fd00::/129", "nope", "10.0.0.0/x", ""] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let proxy = ip("127.0.0.1");
        assert_eq!(t.client(proxy, &xff(&["6.6.6.6, 203.0.113.7"])), ip("203.0.113.7"));
        assert_eq!(t.client(proxy, &xff(&["6.6.6.6, 203.0.113.7, 10.0.0.2"])), ip("203.0.113.7"), "inner proxy");
        assert_eq!(t.client(proxy, &xff(&["6.6.6.6", "203.0.113.7"])), ip("203.0.113.7"), "repeated headers");
        assert_eq!(t.client(proxy, &xff(&["garbage, 10.0.0.2"])), ip("10.0.0.2"), "stops at what does not parse");
        assert_eq!(t.client(proxy, &HeaderMap::new()), proxy, "no header: the proxy itself");
        // An untrusted peer's header is its own word.
        assert_eq!(t.client(ip("203.0.113.9"), &xff(&["1.2.3.4"])), ip("203.0.113.9"));
        assert_eq!(TrustedProxies::default().client(proxy, &xff(&["1.2.3.4"])), proxy);
    }

    #[test]
    fn only_a_trusted_proxy_says_https() {
        let t = TrustedProxies::parse("127.0.0.1").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "http, https".parse().unwrap());
        assert!(t.https(ip("127.0.0.1"), &h), "the last value is the nearest proxy's");
        assert!(!t.https(ip("203.0.113.9"), &h));
        assert!(!t.https(ip("127.0.0.1"), &HeaderMap::new()));
    }
}
