//! The client's address, for rate limits and the audit log: the connection's peer, or —
//! when that peer is a trusted reverse proxy (`NEXUS_TRUSTED_PROXIES`) — the address the
//! proxy reports in `X-Forwarded-For` (the rightmost one not itself a trusted proxy, since
//! a client can write anything to the left).

use std::net::IpAddr;

use poem::{FromRequest, Request, RequestBody};

/// The client's address as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpAddr>);

/// An entry of the trusted proxies' setting is not an IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address")]
pub struct NotAnAddress {
    /// The entry.
    pub entry: String,
}

impl TrustedProxies {
    /// Parses a comma-separated list of IP addresses.
    ///
    /// # Errors
    /// [`NotAnAddress`], naming the entry that is not one.
    pub fn parse(text: &str) -> Result<Self, NotAnAddress> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse().map_err(|_| NotAnAddress {
                    entry: t.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// The client of a request whose peer is `peer`.
    #[must_use]
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.0.contains(&peer) {
            return Some(peer);
        }
        // No header: the proxy named no client, so the proxy itself is the peer.
        let hops = forwarded_for
            .unwrap_or_default()
            .split(',')
            .filter_map(|h| h.trim().parse::<IpAddr>().ok());
        hops.rev().find(|ip| !self.0.contains(ip)).or(Some(peer))
    }
}

impl<'a> FromRequest<'a> for ClientIp {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map(std::net::SocketAddr::ip);
        // Without the state no proxy is trusted: the peer is the client.
        let trusted = req
            .data::<std::sync::Arc<super::ApiState>>()
            .map(|s| s.trusted_proxies.clone())
            .unwrap_or_default();
        let ip = trusted
            .client(peer, req.header("x-forwarded-for"))
            .map_or_else(|| req.remote_addr().to_string(), |ip| ip.to_string());
        Ok(Self(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.1, 10.0.0.2").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        // A direct client cannot pretend.
        assert_eq!(
            proxies.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // Through the proxies: the rightmost hop that is not one of them.
        assert_eq!(
            proxies.client(ip("10.0.0.1"), Some("1.2.3.4, 198.51.100.7, 10.0.0.2")),
            ip("198.51.100.7")
        );
        assert_eq!(proxies.client(ip("10.0.0.1"), None), ip("10.0.0.1"));
        assert_eq!(
            TrustedProxies::parse("10.0.0.1,nope")
                .unwrap_err()
                .to_string(),
            r#""nope" is not an IP address"#
        );
    }
}
