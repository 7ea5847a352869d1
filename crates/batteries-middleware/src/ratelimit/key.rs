//! Key functions: whose bucket a request takes from.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use http::request::Parts;

/// `X-Forwarded-For`, which `http` has no constant for.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

type PeerFn = dyn Fn(&Parts) -> Option<IpAddr> + Send + Sync;

/// Warned once per process: a limiter keyed by IP that never finds the peer limits
/// nothing.
static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

/// A trusted proxy given to [`ClientIp::with_trusted_proxy`] is neither an IP address
/// nor a network (`10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid trusted proxy `{given}`: expected an IP address or a network such as 10.0.0.0/8 or fd00::/8"
)]
pub struct InvalidProxy {
    given: String,
}

/// An address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    bits: u8,
}

impl Network {
    fn parse(s: &str) -> Option<Self> {
        let (addr, bits) = match s.trim().split_once('/') {
            Some((addr, bits)) => (addr.parse::<IpAddr>().ok()?, Some(bits.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Self { addr, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Keys requests by the client's IP address: `ip:<address>`, or `ip:<network>/<bits>`
/// for IPv6 (per /64 by default).
///
/// The client is the peer of the connection, found as a [`SocketAddr`] in the request's
/// extensions (where hyper-based servers put it; see [`with_peer`](Self::with_peer) for
/// axum's `ConnectInfo`). When the peer is a trusted proxy, the client is the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy, reading from the
/// right: each proxy appends the address it got the request from, and only the entries
/// the trusted proxies appended are facts; whatever is further left the client may have
/// written. From a peer that is not trusted the header is ignored.
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use batteries_middleware::ratelimit::ClientIp;
///
/// let client_ip = ClientIp::new().with_trusted_proxy("10.0.0.0/8")?;
/// let request = |peer: &str, forwarded: &str| {
///     let mut request = http::Request::new(());
///     request.extensions_mut().insert(peer.parse::<SocketAddr>().unwrap());
///     request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
///     request.into_parts().0
/// };
/// // Through the load balancer: the address it saw.
/// let parts = request("10.0.0.2:443", "198.51.100.1, 203.0.113.7");
/// assert_eq!(client_ip.key(&parts).as_deref(), Some("ip:203.0.113.7"));
/// // Straight from the client: the header is the client's own claim, ignored.
/// let parts = request("203.0.113.7:50000", "198.51.100.1");
/// assert_eq!(client_ip.key(&parts).as_deref(), Some("ip:203.0.113.7"));
/// # Ok::<_, batteries_middleware::ratelimit::InvalidProxy>(())
/// ```
#[derive(Clone)]
pub struct ClientIp {
    trusted: Vec<Network>,
    ipv6_prefix: u8,
    peer: Option<Arc<PeerFn>>,
}

impl fmt::Debug for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trusted: Vec<String> = self
            .trusted
            .iter()
            .map(|n| format!("{}/{}", n.addr, n.bits))
            .collect();
        f.debug_struct("ClientIp")
            .field("trusted", &trusted)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("custom_peer", &self.peer.is_some())
            .finish()
    }
}

impl Default for ClientIp {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientIp {
    /// The connection's peer, no proxy trusted, IPv6 clients keyed per /64.
    #[must_use]
    pub fn new() -> Self {
        Self {
            trusted: Vec::new(),
            ipv6_prefix: 64,
            peer: None,
        }
    }

    /// Trusts the proxy at `network`: an address (`10.0.0.2`, `::1`) or a network
    /// (`10.0.0.0/8`, `fd00::/8`). Trust only proxies that append the address they got
    /// the request from to `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`,
    /// cloud load balancers).
    ///
    /// # Errors
    /// [`InvalidProxy`] when `network` is neither an address nor a network.
    pub fn with_trusted_proxy(mut self, network: &str) -> Result<Self, InvalidProxy> {
        let network = Network::parse(network).ok_or_else(|| InvalidProxy {
            given: network.to_owned(),
        })?;
        self.trusted.push(network);
        Ok(self)
    }

    /// Trusts each of `networks`, as [`with_trusted_proxy`](Self::with_trusted_proxy).
    ///
    /// # Errors
    /// [`InvalidProxy`] for the first one that is neither an address nor a network.
    pub fn with_trusted_proxies<I>(self, networks: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        networks.into_iter().try_fold(self, |this, network| {
            this.with_trusted_proxy(network.as_ref())
        })
    }

    /// Keys IPv6 clients per network of this prefix length (default 64, at most 128).
    #[must_use]
    pub fn with_ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// Finds the connection's peer with `peer` instead of a [`SocketAddr`] extension.
    /// With axum's `into_make_service_with_connect_info::<SocketAddr>()`:
    /// `.with_peer(|parts| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))`.
    #[must_use]
    pub fn with_peer<F>(mut self, peer: F) -> Self
    where
        F: Fn(&Parts) -> Option<IpAddr> + Send + Sync + 'static,
    {
        self.peer = Some(Arc::new(peer));
        self
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|network| network.contains(ip))
    }

    /// The connection's peer: from the function given to
    /// [`with_peer`](Self::with_peer), else the [`SocketAddr`] extension.
    pub fn peer(&self, parts: &Parts) -> Option<IpAddr> {
        match &self.peer {
            Some(peer) => peer(parts),
            None => parts.extensions.get::<SocketAddr>().map(SocketAddr::ip),
        }
    }

    /// The client's address for a request from `peer` with `headers`: `peer` itself
    /// unless it is a trusted proxy, else the rightmost address of `X-Forwarded-For`
    /// that is not a trusted proxy (the leftmost one when all are). An entry that is
    /// not an address stops the walk at the last address read.
    pub fn client_ip_from(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.is_trusted(client) {
            return client;
        }
        // Several header lines are one list, in order.
        let entries: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in entries.into_iter().rev() {
            let Some(ip) = parse_forwarded(entry) else {
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }

    /// The client's address for the request; `None` when the peer is unknown.
    pub fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = self.peer(parts);
        if peer.is_none() && !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "rate limiting by client IP found no peer address in the request's \
                 extensions; such requests are not limited (serve with connect info, \
                 or see ClientIp::with_peer)"
            );
        }
        Some(self.client_ip_from(peer?, &parts.headers))
    }

    /// The key for a client at `ip`: `ip:203.0.113.7`, or `ip:2001:db8:1:2::/64` for
    /// IPv6 (an IPv4-mapped IPv6 address counts as the IPv4 one).
    pub fn key_for(&self, ip: IpAddr) -> String {
        match ip.to_canonical() {
            IpAddr::V4(v4) => format!("ip:{v4}"),
            IpAddr::V6(v6) if self.ipv6_prefix >= 128 => format!("ip:{v6}"),
            IpAddr::V6(v6) => {
                let bits = u32::from(self.ipv6_prefix);
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let network = Ipv6Addr::from(u128::from(v6) & mask);
                format!("ip:{network}/{bits}")
            }
        }
    }

    /// The request's key; `None` when the peer is unknown (logged once, at `warn`).
    pub fn key(&self, parts: &Parts) -> Option<String> {
        self.client_ip(parts).map(|ip| self.key_for(ip))
    }

    /// This as a key function for [`RateLimitLayer::with_key`](super::RateLimitLayer::with_key).
    pub fn into_key_fn(self) -> impl Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static {
        move |parts: &Parts| self.key(parts)
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Keys requests by the user found as a `T` in the request's extensions (put there by an
/// authentication layer): `user:<id>`, with the id that `id` reads from it; `None`, and
/// so no limit, when there is no `T` or `id` returns `None` (an anonymous user).
///
/// ```
/// use batteries_middleware::ratelimit::per_user;
///
/// #[derive(Clone)]
/// struct CurrentUser { id: Option<i64> }
///
/// let key = per_user(|user: &CurrentUser| user.id);
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(CurrentUser { id: Some(42) });
/// assert_eq!(key(&request.into_parts().0).as_deref(), Some("user:42"));
/// let anonymous = http::Request::new(()).into_parts().0;
/// assert_eq!(key(&anonymous), None);
/// ```
pub fn per_user<T, F, I>(id: F) -> impl Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Option<I> + Clone + Send + Sync + 'static,
    I: fmt::Display,
{
    move |parts: &Parts| {
        let user = parts.extensions.get::<T>()?;
        id(user).map(|id| format!("user:{id}"))
    }
}

/// Keys requests by user as [`per_user`] does, and anonymous ones by client IP: one
/// bucket per signed-in user wherever they connect from, one per address for the rest.
pub fn per_user_or_client_ip<T, F, I>(
    id: F,
    client_ip: ClientIp,
) -> impl Fn(&Parts) -> Option<String> + Clone + Send + Sync + 'static
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Option<I> + Clone + Send + Sync + 'static,
    I: fmt::Display,
{
    let user = per_user(id);
    move |parts: &Parts| user(parts).or_else(|| client_ip.key(parts))
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Request};

    use super::*;

    fn parts(peer: Option<&str>, forwarded: &[&str]) -> Parts {
        let mut request = Request::new(());
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(peer.parse::<SocketAddr>().unwrap());
        }
        for value in forwarded {
            request
                .headers_mut()
                .append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        request.into_parts().0
    }

    fn key(client_ip: &ClientIp, peer: &str, forwarded: &[&str]) -> String {
        client_ip.key(&parts(Some(peer), forwarded)).unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let trusting_lb = ClientIp::new().with_trusted_proxy("10.0.0.0/8").unwrap();
        for client_ip in [ClientIp::new(), trusting_lb] {
            assert_eq!(
                key(&client_ip, "203.0.113.7:5000", &["198.51.100.1"]),
                "ip:203.0.113.7"
            );
            // Claiming to be a trusted proxy does not help either.
            assert_eq!(
                key(&client_ip, "203.0.113.7:5000", &["198.51.100.1, 10.0.0.9"]),
                "ip:203.0.113.7"
            );
        }
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_names_the_rightmost_untrusted_address() {
        let client_ip = ClientIp::new()
            .with_trusted_proxies(["10.0.0.0/8", "192.0.2.1", "fd00::/8"])
            .unwrap();
        // The client wrote 198.51.100.1 itself; the edge proxy saw 203.0.113.7.
        assert_eq!(
            key(
                &client_ip,
                "10.1.2.3:443",
                &["198.51.100.1, 203.0.113.7, 192.0.2.1"]
            ),
            "ip:203.0.113.7"
        );
        // Several header lines are one list.
        assert_eq!(
            key(
                &client_ip,
                "[fd00::1]:443",
                &["198.51.100.1", "203.0.113.7:1234", "10.0.0.1"]
            ),
            "ip:203.0.113.7"
        );
        // All trusted: the leftmost.
        assert_eq!(
            key(&client_ip, "10.1.2.3:443", &["10.0.0.5, 10.0.0.6"]),
            "ip:10.0.0.5"
        );
        // No header: the proxy itself.
        assert_eq!(key(&client_ip, "10.1.2.3:443", &[]), "ip:10.1.2.3");
        // Garbage stops the walk at the last address read.
        assert_eq!(
            key(
                &client_ip,
                "10.1.2.3:443",
                &["198.51.100.1, unknown, 10.0.0.7"]
            ),
            "ip:10.0.0.7"
        );
        assert_eq!(
            key(&client_ip, "10.1.2.3:443", &["[2001:db8::1]:80"]),
            "ip:2001:db8::/64"
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_per_network() {
        let client_ip = ClientIp::new();
        let key = |s: &str| client_ip.key_for(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.7"), "ip:203.0.113.7");
        let exact = ClientIp::new().with_ipv6_prefix(200);
        assert_eq!(
            exact.key_for("2001:db8::1".parse().unwrap()),
            "ip:2001:db8::1"
        );
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_networks() {
        let client_ip = ClientIp::new()
            .with_trusted_proxies(["10.0.0.0/8", "::1", "0.0.0.0/0"])
            .unwrap();
        assert!(client_ip.is_trusted("10.255.0.1".parse().unwrap()));
        assert!(client_ip.is_trusted("::1".parse().unwrap()));
        assert!(client_ip.is_trusted("::ffff:198.51.100.1".parse().unwrap()));
        assert!(!client_ip.is_trusted("::2".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "localhost",
            "10.0.0.0/",
            "",
            "1.2.3.4/8x",
        ] {
            let err = ClientIp::new().with_trusted_proxy(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
        let none = ClientIp::new()
            .with_trusted_proxy("192.168.0.0/16")
            .unwrap();
        assert!(!none.is_trusted("192.169.0.1".parse().unwrap()));
        assert!(none.is_trusted("192.168.255.255".parse().unwrap()));
    }

    #[test]
    fn without_a_peer_there_is_no_key() {
        assert_eq!(ClientIp::new().key(&parts(None, &["198.51.100.1"])), None);
        let custom = ClientIp::new().with_peer(|_| Some(IpAddr::from([192, 0, 2, 9])));
        assert_eq!(
            custom.key(&parts(None, &[])).as_deref(),
            Some("ip:192.0.2.9")
        );
    }

    #[derive(Clone)]
    struct User(Option<u64>);

    #[test]
    fn users_are_keyed_by_id_and_anonymous_ones_by_ip() {
        let key = per_user_or_client_ip(|user: &User| user.0, ClientIp::new());
        let mut signed_in = parts(Some("203.0.113.7:1"), &[]);
        signed_in.extensions.insert(User(Some(7)));
        assert_eq!(key(&signed_in).as_deref(), Some("user:7"));
        let mut anonymous = parts(Some("203.0.113.7:1"), &[]);
        anonymous.extensions.insert(User(None));
        assert_eq!(key(&anonymous).as_deref(), Some("ip:203.0.113.7"));
        assert_eq!(per_user(|user: &User| user.0)(&anonymous), None);
    }
}
