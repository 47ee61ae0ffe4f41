//! The relay's address as the user typed it, parsed once into a [`RelayAddress`].
//!
//! Design decisions, in one place:
//! - An address without a scheme (`relay.example:7878`, `127.0.0.1:7878`) means `https://`:
//!   a bare host name must never silently fall back to clear text.
//! - `http://` is clear text: the sign-in password and the session token would cross the
//!   network readable by anyone on the path. It is accepted for loopback hosts
//!   (`127.0.0.0/8`, `::1`, `localhost`), where nothing leaves the machine, and elsewhere only
//!   when the user explicitly opts in ([`ClearText::Allow`]; the CLI's
//!   `--allow-insecure-relay`, the desktop's checkbox).
//! - The WebSocket URL is derived from the same address: `https` gives `wss`, `http` gives `ws`.
//! - The canonical text ([`RelayAddress::as_str`]) has no trailing slash; it names the relay in
//!   the keychain and in the cache folder, so it must stay stable across versions.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::{Host, Url};

use crate::error::{Error, Result};

/// Whether `http://` to a host other than this machine is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClearText {
    /// Refuse clear text to anything but loopback (the default).
    #[default]
    LoopbackOnly,
    /// The user accepted that the password, token and messages cross the network unencrypted.
    Allow,
}

/// A parsed, policy-checked relay base URL (`http(s)://host[:port][/path]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayAddress {
    url: Url,
    /// `url` without the trailing slash the `url` crate adds to an empty path.
    text: String,
}

impl RelayAddress {
    /// Parse what the user typed and apply the clear-text rule.
    pub fn parse(input: &str, clear_text: ClearText) -> Result<RelayAddress> {
        let input = input.trim();
        let invalid = |reason: &str| Error::InvalidRelay {
            address: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(invalid("the address is empty"));
        }
        // Without "://", `host:port` would parse as scheme `host`; treat it as a bare address.
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("https://{input}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the address must start with https:// or http://"));
        }
        if url.host().is_none() {
            return Err(invalid("the address has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "the address must not contain a user name or password",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("the address must not contain '?' or '#'"));
        }
        let text = url.as_str().trim_end_matches('/').to_owned();
        let address = RelayAddress { url, text };
        if !address.is_encrypted() && !address.is_loopback() && clear_text != ClearText::Allow {
            return Err(Error::InsecureRelay {
                address: address.text,
            });
        }
        Ok(address)
    }

    /// The canonical address, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the link is TLS (`https`/`wss`).
    pub fn is_encrypted(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether the host is this machine (`127.0.0.0/8`, `::1`, `localhost`).
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            // Only the exact name: not every resolver maps `*.localhost` to loopback.
            Some(Host::Domain(d)) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(Host::Ipv6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            None => false,
        }
    }

    /// Clear text to another machine: the UI shows a persistent "not encrypted" warning.
    pub fn is_clear_text_remote(&self) -> bool {
        !self.is_encrypted() && !self.is_loopback()
    }

    /// The HTTP URL of an endpoint path (`/v1/login`).
    pub fn http_url(&self, path: &str) -> String {
        format!("{}{path}", self.text)
    }

    /// The WebSocket URL of an endpoint path: `wss://` for `https://`, `ws://` for `http://`.
    pub fn ws_url(&self, path: &str) -> String {
        let rest = self
            .text
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.text);
        let scheme = if self.is_encrypted() { "wss" } else { "ws" };
        format!("{scheme}://{rest}{path}")
    }
}

/// Reads as its canonical text, so it can name the relay wherever a `&str` is expected
/// (keychain service, cache folder).
impl std::ops::Deref for RelayAddress {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// Parses with the default policy ([`ClearText::LoopbackOnly`]).
impl FromStr for RelayAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        RelayAddress::parse(s, ClearText::LoopbackOnly)
    }
}

impl fmt::Display for RelayAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(s: &str) -> Result<RelayAddress> {
        RelayAddress::parse(s, ClearText::LoopbackOnly)
    }

    #[test]
    fn an_address_without_a_scheme_means_https_and_wss() {
        let a = strict("127.0.0.1:7878").unwrap();
        assert_eq!(a.as_str(), "https://127.0.0.1:7878");
        assert_eq!(a.ws_url("/v1/ws"), "wss://127.0.0.1:7878/v1/ws");
        let a = strict("relay.example").unwrap();
        assert_eq!(a.as_str(), "https://relay.example");
        assert!(a.is_encrypted());
        let a = strict("localhost:7878").unwrap();
        assert_eq!(a.as_str(), "https://localhost:7878");
    }

    #[test]
    fn http_and_https_are_kept_and_give_ws_and_wss() {
        let a = strict("http://127.0.0.1:7878/").unwrap();
        assert_eq!(a.as_str(), "http://127.0.0.1:7878");
        assert_eq!(a.http_url("/v1/login"), "http://127.0.0.1:7878/v1/login");
        assert_eq!(a.ws_url("/v1/ws"), "ws://127.0.0.1:7878/v1/ws");
        let a = strict("HTTPS://Relay.Example:8443/tern/").unwrap();
        assert_eq!(a.as_str(), "https://relay.example:8443/tern");
        assert_eq!(a.ws_url("/v1/ws"), "wss://relay.example:8443/tern/v1/ws");
    }

    #[test]
    fn clear_text_is_allowed_to_this_machine_only() {
        for ok in [
            "http://127.0.0.1:7878",
            "http://127.9.8.7",
            "http://[::1]:7878",
            "http://localhost:7878",
            "http://LOCALHOST",
        ] {
            let a = strict(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!a.is_clear_text_remote(), "{ok}");
        }
        for refused in [
            "http://relay.example:7878",
            "http://192.168.1.10:7878",
            "http://10.0.0.1",
            "http://[2001:db8::1]",
            "http://localhost.evil.example",
            "http://relay.localhost",
            "http://128.0.0.1",
        ] {
            match strict(refused) {
                Err(Error::InsecureRelay { address }) => assert!(refused.starts_with(&address)),
                other => panic!("{refused}: expected InsecureRelay, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_refusal_explains_why_and_how_to_override() {
        let e = strict("http://relay.example").unwrap_err().to_string();
        assert!(e.contains("not encrypted"), "{e}");
        assert!(e.contains("https://"), "{e}");
        assert!(e.contains("--allow-insecure-relay"), "{e}");
    }

    #[test]
    fn an_explicit_opt_in_allows_clear_text_and_is_flagged() {
        let a = RelayAddress::parse("http://relay.example:7878", ClearText::Allow).unwrap();
        assert!(a.is_clear_text_remote());
        assert_eq!(a.ws_url("/v1/ws"), "ws://relay.example:7878/v1/ws");
    }

    #[test]
    fn malformed_addresses_are_refused_with_a_reason() {
        for bad in [
            "",
            "   ",
            "ftp://relay.example",
            "ws://relay.example",
            "https://user:pw@relay.example",
            "https://relay.example/?x=1",
            "https://relay.example/#frag",
            "https://",
            "https://relay example",
        ] {
            assert!(
                matches!(strict(bad), Err(Error::InvalidRelay { .. })),
                "{bad:?} was accepted"
            );
        }
    }
}
