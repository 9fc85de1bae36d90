//! Outbound requests that cannot be turned against the server's own network.
//!
//! A channel URL is chosen by a user; without a guard, "publish" would let anyone with a
//! token make the server call its cloud metadata endpoint, a database admin page or
//! anything else only it can reach (SSRF). Every outbound request therefore goes through
//! [`Http`]: public addresses only — checked on the address actually connected to (a
//! resolver that refuses private answers, so a DNS name cannot be re-pointed after the
//! check), no redirects, no proxies, https only — unless the operator allows private
//! targets (`COVALYNCE_ALLOW_PRIVATE_TARGETS`, for a LAN n8n or for tests).

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The HTTP client every channel uses.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    allow_private: bool,
}

/// A target the guard refused; found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Http {
    /// `timeout` bounds a whole request (connect, send, answer).
    pub fn new(allow_private: bool, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!("Covalynce/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        Self {
            client,
            allow_private,
        }
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// The guarded client itself, for callers that build their own requests (AI
    /// providers). Names are checked where they resolve; check literal addresses in the
    /// URL with [`check_url`] first.
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// A GET of `url`, once the URL itself passes the guard.
    pub(crate) fn get(&self, url: &Url) -> Result<reqwest::RequestBuilder, Refused> {
        check_url(url, self.allow_private)?;
        Ok(self.client.get(url.clone()))
    }

    /// A POST to `url`, once the URL itself passes the guard.
    pub(crate) fn post(&self, url: &Url) -> Result<reqwest::RequestBuilder, Refused> {
        check_url(url, self.allow_private)?;
        Ok(self.client.post(url.clone()))
    }

    /// A PUT to `url`, once the URL itself passes the guard.
    pub(crate) fn put(&self, url: &Url) -> Result<reqwest::RequestBuilder, Refused> {
        check_url(url, self.allow_private)?;
        Ok(self.client.put(url.clone()))
    }

    /// A PATCH of `url`, once the URL itself passes the guard.
    pub(crate) fn patch(&self, url: &Url) -> Result<reqwest::RequestBuilder, Refused> {
        check_url(url, self.allow_private)?;
        Ok(self.client.patch(url.clone()))
    }
}

/// Checks what can be known from the URL alone: scheme, credentials, literal addresses.
/// Names are checked again where they are resolved.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), Refused> {
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(Refused(
                "the URL must use https (plain http is accepted only when the operator allows private targets)".into(),
            ));
        }
        other => {
            return Err(Refused(format!(
                "the URL scheme {other:?} is not supported; use https"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused(
            "the URL must not carry a user name or password".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Refused("the URL has no host".into()))?;
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        && !allow_private
        && is_private(ip)
    {
        return Err(refusal(&ip.to_string()));
    }
    Ok(())
}

/// Resolves `url`'s host now and refuses a private answer: an early, clear error when a
/// channel is created. (The resolver checks again on every request.) A name that does not
/// resolve here is let through: it may resolve where and when the request is sent.
pub async fn check_resolved(url: &Url, allow_private: bool) -> Result<(), Refused> {
    check_url(url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    if let Some(name) = url.host_str()
        && let Ok(addrs) = tokio::net::lookup_host((name, 443)).await
    {
        for addr in addrs {
            if is_private(addr.ip()) {
                return Err(refusal(name));
            }
        }
    }
    Ok(())
}

fn refusal(what: &str) -> Refused {
    Refused(format!(
        "{what} is a loopback, private or link-local address; channels publish to public addresses only unless the operator allows private targets (COVALYNCE_ALLOW_PRIVATE_TARGETS=true)"
    ))
}

/// Addresses only this machine or its network can reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Carrier-grade NAT and the benchmarking range.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
        }
    }
}

struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
                return Err(Box::new(refusal(&host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// How a request that got no answer failed, in terms of what a retry would risk.
pub(crate) enum SendError {
    /// The guard refused the target.
    Refused(String),
    /// Nothing reached the platform (no connection was made).
    NotSent(String),
    /// The request may have reached the platform (a timeout or a broken connection after
    /// sending).
    MaybeSent(String),
}

impl SendError {
    pub(crate) fn from_reqwest(e: reqwest::Error, platform: &str) -> Self {
        // Channel URLs can be credentials (Slack, Discord): never let one into a message.
        let e = e.without_url();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if let Some(r) = err.downcast_ref::<Refused>() {
                return SendError::Refused(r.0.clone());
            }
            source = err.source();
        }
        if e.is_connect() {
            SendError::NotSent(format!("could not connect to {platform}: {}", chain(&e)))
        } else if e.is_timeout() {
            SendError::MaybeSent(format!("{platform} did not answer in time"))
        } else {
            SendError::MaybeSent(format!(
                "the connection to {platform} failed: {}",
                chain(&e)
            ))
        }
    }
}

/// An error with its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} is private");
        }
        for ip in ["8.8.8.8", "140.82.112.3", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_refused_for_what_they_say_alone() {
        let check = |u: &str, allow| check_url(&Url::parse(u).unwrap(), allow).map_err(|e| e.0);
        assert!(check("https://hooks.slack.com/services/x", false).is_ok());
        assert!(
            check("http://hooks.slack.com/services/x", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(
            check("http://127.0.0.1:9/x", false)
                .unwrap_err()
                .contains("private")
        );
        assert!(
            check("https://[::1]/x", false)
                .unwrap_err()
                .contains("private")
        );
        assert!(
            check("https://u:p@example.com/x", false)
                .unwrap_err()
                .contains("password")
        );
        assert!(check("ftp://example.com/x", false).is_err());
        assert!(check("http://127.0.0.1:9/x", true).is_ok());
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused_when_sending() {
        let http = Http::new(false, Duration::from_secs(2));
        let url = Url::parse("https://localhost:9/x").unwrap();
        assert!(
            check_resolved(&url, false)
                .await
                .unwrap_err()
                .0
                .contains("localhost")
        );
        let err = http.post(&url).unwrap().send().await.unwrap_err();
        match SendError::from_reqwest(err, "the test") {
            SendError::Refused(msg) => assert!(msg.contains("private")),
            _ => panic!("the resolver must refuse localhost"),
        }
    }
}
