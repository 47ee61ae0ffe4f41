//! Who is asking: the client's address behind trusted reverse proxies, and the key that
//! per-address limits count under.
//!
//! Behind the documented nginx proxy every TCP peer is 127.0.0.1, so per-address limits would
//! lump every client together. When (and only when) the TCP peer is one of the configured
//! [`TrustedProxies`], the relay believes the proxy's headers: `X-Real-IP` first, else the
//! right-most entry of `X-Forwarded-For` that is not itself a trusted proxy (entries to its
//! left were written by the client and can be forged). Headers from any other peer are
//! ignored, so a client connecting directly cannot pick its own address.
//!
//! Limits count IPv6 clients by their /64 ([`AddrKey`]): one subscriber usually holds a whole
//! /64, and counting single addresses would give them 2^64 buckets.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Networks whose connections are reverse proxies allowed to name the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trust these networks.
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    /// Whether `ip` belongs to a trusted proxy (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated CIDRs; a bare address means just that host.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not an address or CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

/// The client address a request is attributed to, given its TCP `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let real_ip = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = real_ip {
        return ip.to_canonical();
    }
    // Several headers count as one comma-separated list, in order.
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(ip) => continue,
            Ok(ip) => return ip.to_canonical(),
            // A garbled entry: nothing left of it can be trusted either.
            Err(_) => break,
        }
    }
    peer
}

/// The key per-address limits count under: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrKey {
    /// One IPv4 address.
    V4(Ipv4Addr),
    /// The upper 64 bits of an IPv6 address.
    V6Net(u64),
}

impl From<IpAddr> for AddrKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddrKey::V4(v4),
            IpAddr::V6(v6) => AddrKey::V6Net((u128::from(v6) >> 64) as u64),
        }
    }
}

impl fmt::Display for AddrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrKey::V4(ip) => write!(f, "{ip}"),
            AddrKey::V6Net(net) => {
                let ip = std::net::Ipv6Addr::from(u128::from(*net) << 64);
                write!(f, "{ip}/64")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> TrustedProxies {
        "127.0.0.1, 10.0.0.0/8, fd00::/8".parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_its_headers_say() {
        let h = headers(&[("x-real-ip", "1.2.3.4"), ("x-forwarded-for", "5.6.7.8")]);
        assert_eq!(
            resolve(ip("203.0.113.9"), &h, &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &h, &TrustedProxies::default()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_client_with_x_real_ip_first() {
        let h = headers(&[("x-real-ip", " 1.2.3.4 "), ("x-forwarded-for", "5.6.7.8")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &proxies()), ip("1.2.3.4"));
        // An IPv4-mapped peer address is the IPv4 address.
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h, &proxies()),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn x_forwarded_for_gives_the_right_most_untrusted_entry() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &proxies()), ip("1.2.3.4"));
        let garbled = headers(&[("x-forwarded-for", "1.2.3.4, nonsense, 10.1.1.1")]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &garbled, &proxies()),
            ip("10.0.0.2")
        );
        let unparsable_real_ip = headers(&[("x-real-ip", "x"), ("x-forwarded-for", "9.9.9.9")]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &unparsable_real_ip, &proxies()),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        assert_eq!(
            resolve(ip("127.0.0.1"), &HeaderMap::new(), &proxies()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_ipv4_clients_do_not() {
        let a = AddrKey::from(ip("2001:db8:1:2::1"));
        let b = AddrKey::from(ip("2001:db8:1:2:ffff::9"));
        let c = AddrKey::from(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_ne!(AddrKey::from(ip("1.2.3.4")), AddrKey::from(ip("1.2.3.5")));
        assert_eq!(
            AddrKey::from(ip("::ffff:1.2.3.4")),
            AddrKey::from(ip("1.2.3.4"))
        );
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_bare_addresses() {
        let p: TrustedProxies = "127.0.0.1,::1, 192.168.0.0/16".parse().unwrap();
        assert!(p.contains(ip("127.0.0.1")));
        assert!(!p.contains(ip("127.0.0.2")));
        assert!(p.contains(ip("::1")));
        assert!(p.contains(ip("192.168.44.1")));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }
}
