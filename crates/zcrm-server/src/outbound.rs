//! Requests zcrm makes to URLs its clients gave (notification and bulk
//! callbacks): special-purpose addresses refused unless the operator allows
//! them, host names checked again when resolved, no redirects, short timeouts.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// IANA's IPv4 Special-Purpose Address Registry (RFC 6890 and later), less
/// the entries it marks globally reachable, plus multicast: (network,
/// prefix length, what it is).
const V4: &[(u32, u8, &str)] = &[
    (0x0000_0000, 8, "this network"),
    (0x0a00_0000, 8, "private-use"),
    (0x6440_0000, 10, "shared address space"),
    (0x7f00_0000, 8, "loopback"),
    (0xa9fe_0000, 16, "link-local"),
    (0xac10_0000, 12, "private-use"),
    (0xc000_0000, 24, "IETF protocol assignments"),
    (0xc000_0200, 24, "documentation (TEST-NET-1)"),
    (0xc058_6300, 24, "6to4 relay anycast"),
    (0xc0a8_0000, 16, "private-use"),
    (0xc612_0000, 15, "benchmarking"),
    (0xc633_6400, 24, "documentation (TEST-NET-2)"),
    (0xcb00_7100, 24, "documentation (TEST-NET-3)"),
    (0xe000_0000, 4, "multicast"),
    (0xf000_0000, 4, "reserved"),
    (0xffff_ffff, 32, "limited broadcast"),
];

/// IANA's IPv6 Special-Purpose Address Registry, less the globally
/// reachable entries, plus multicast and the deprecated site-local block.
/// IPv4-mapped and NAT64 addresses are judged by the IPv4 address inside.
const V6: &[(u128, u8, &str)] = &[
    (0, 96, "IPv4-compatible, loopback or unspecified"),
    (
        0x0064_ff9b_0001 << 80,
        48,
        "IPv4/IPv6 translation (local use)",
    ),
    (0x0100 << 112, 64, "discard-only"),
    (0x2001 << 112, 23, "IETF protocol assignments"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0x2002 << 112, 16, "6to4"),
    (0x3fff << 112, 20, "documentation"),
    (0x5f00 << 112, 16, "segment routing (SRv6) SIDs"),
    (0xfc00 << 112, 7, "unique-local"),
    (0xfe80 << 112, 10, "link-local"),
    (0xfec0 << 112, 10, "site-local (deprecated)"),
    (0xff00 << 112, 8, "multicast"),
];

const NAT64: u128 = 0x0064_ff9b << 96;

fn within<T: Into<u128>>(addr: T, net: T, len: u8, bits: u8) -> bool {
    let (addr, net) = (addr.into(), net.into());
    let shift = bits - len;
    len == 0 || (addr >> shift) == (net >> shift)
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let a = u32::from(ip);
    V4.iter()
        .find(|(net, len, _)| within(a, *net, *len, 32))
        .map(|(_, _, what)| *what)
}

/// The special-purpose range `ip` falls in, if any: what a callback may not
/// reach unless the operator allows private targets.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            let a = u128::from(v6);
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            if within(a, NAT64, 96, 128) {
                return special_v4(Ipv4Addr::from(a as u32));
            }
            V6.iter()
                .find(|(net, len, _)| within(a, *net, *len, 128))
                .map(|(_, _, what)| *what)
        }
    }
}

pub fn is_private(ip: IpAddr) -> bool {
    special_purpose(ip).is_some()
}

/// Checks a callback URL: http(s), a host, and (unless allowed) no literal
/// special-purpose address or `localhost`. Host names are checked again
/// when resolved.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|_| "notify_url is not a valid URL".to_string())?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err("notify_url must be an http or https URL".into());
    }
    let host = match u.host() {
        Some(h) => h,
        None => return Err("notify_url has no host".into()),
    };
    if allow_private {
        return Ok(());
    }
    let private = match host {
        url::Host::Ipv4(ip) => is_private(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_private(IpAddr::V6(ip)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    };
    if private {
        return Err("notify_url points to a private, loopback or link-local address".into());
    }
    Ok(())
}

/// Resolves receiver host names, dropping special-purpose addresses unless
/// allowed, so a name cannot smuggle a request to an internal service.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow || !is_private(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("refused: the host resolves only to private addresses".into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for callbacks, logging instead of failing when it cannot
/// be built.
pub fn guarded_client(allow_private: bool, agent: &str) -> Option<reqwest::Client> {
    receiver_client(allow_private, agent)
        .map_err(|e| tracing::error!("cannot build the HTTP client: {e}"))
        .ok()
}

/// https receivers are checked against the Mozilla roots built in
/// (webpki-root-certs) only, not the host's certificate store, so a server
/// verifies the same receivers wherever it runs, a bare container included.
pub fn receiver_client(allow_private: bool, agent: &str) -> reqwest::Result<reqwest::Client> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| reqwest::Certificate::from_der(der))
        .collect::<reqwest::Result<Vec<_>>>()?;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(agent)
        .tls_certs_only(roots)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<&'static str> {
        special_purpose(s.parse().unwrap())
    }

    #[test]
    fn every_ipv4_special_purpose_range_is_refused() {
        // One address inside each range, and one just outside it.
        let cases = [
            ("0.1.2.3", "1.0.0.1"),
            ("10.200.0.1", "11.0.0.1"),
            ("100.64.0.1", "100.128.0.1"),
            ("100.127.255.254", "100.63.255.255"),
            ("127.0.0.1", "128.0.0.1"),
            ("169.254.169.254", "169.255.0.1"),
            ("172.16.0.1", "172.32.0.1"),
            ("172.31.255.254", "172.15.255.255"),
            ("192.0.0.8", "192.0.1.1"),
            ("192.0.2.10", "192.0.3.1"),
            ("192.88.99.1", "192.88.100.1"),
            ("192.168.1.1", "192.169.0.1"),
            ("198.18.0.1", "198.20.0.1"),
            ("198.19.255.254", "198.17.255.255"),
            ("198.51.100.7", "198.51.101.1"),
            ("203.0.113.9", "203.0.114.1"),
            ("224.0.0.251", "223.255.255.254"),
            ("239.255.255.250", "8.8.8.8"),
            ("240.0.0.1", "93.184.216.34"),
            ("255.255.255.255", "1.1.1.1"),
        ];
        for (inside, outside) in cases {
            assert!(v4(inside).is_some(), "{inside} must be refused");
            assert_eq!(v4(outside), None, "{outside} is public");
        }
    }

    #[test]
    fn every_ipv6_special_purpose_range_is_refused() {
        let cases = [
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:1ff::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in cases {
            assert!(v4(ip).is_some(), "{ip} must be refused");
        }
        for public in [
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2620:4f:8000::1",
        ] {
            assert_eq!(v4(public), None, "{public} is public");
        }
    }

    #[test]
    fn private_targets() {
        for bad in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest",
            "http://[::1]:80/",
            "http://localhost:9/",
            "http://192.168.0.1/",
            "http://[fe80::1]/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
            assert!(check_url(bad, true).is_ok(), "{bad}");
        }
        assert!(check_url("https://hooks.example.com/zoho?a=1", false).is_ok());
        assert!(check_url("ftp://hooks.example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[test]
    fn receiver_client_builds_with_the_webpki_roots() {
        assert!(!webpki_root_certs::TLS_SERVER_ROOT_CERTS.is_empty());
        receiver_client(false, "zcrm-test").expect("the roots parse and the client builds");
    }
}
