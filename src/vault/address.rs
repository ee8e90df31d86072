//! The server's address: the API base it gives (or why it cannot be one), and where requests
//! may go: never through a proxy to this machine, never redirected to another origin, and never
//! a password shown from the address.

use reqwest::{Url, redirect};

use super::VaultError;

/// Whether the address names this machine: such requests never go through a proxy.
/// The base of every API URL (`<address>/v1/`), or why `address` cannot be one: a message that
/// says what to write instead, never showing a password the address holds.
pub(super) fn api_base(address: &str) -> Result<Url, VaultError> {
    let invalid = |reason: &str| VaultError::InvalidAddress {
        address: redact_address(address),
        reason: reason.to_owned(),
    };
    let trimmed = address.trim_end_matches('/');
    if !trimmed.contains("://") {
        return Err(invalid(&format!(
            "it has no scheme; write https://{} (or http:// for a server without TLS)",
            redact_address(trimmed)
        )));
    }
    let base = Url::parse(&format!("{trimmed}/v1/")).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return Err(invalid("it must be an http:// or https:// URL with a host"));
    }
    Ok(base)
}

pub(super) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// `address` with the password of its user info replaced by `***` (`https://u:***@host`), for
/// every message and log line. Works on text that does not parse as a URL too.
pub fn redact_address(address: &str) -> String {
    let Some(scheme_end) = address.find("://") else {
        return match address.rfind('@') {
            Some(at) => format!("***{}", &address[at..]),
            None => address.to_owned(),
        };
    };
    let rest = &address[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            format!(
                "{}{user}:***{}{}",
                &address[..scheme_end + 3],
                &authority[at..],
                &rest[authority_end..]
            )
        }
        None => address.to_owned(),
    }
}

pub(super) fn same_origin_only(attempt: redirect::Attempt) -> redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    let same = first.scheme() == attempt.url().scheme()
        && first.host_str() == attempt.url().host_str()
        && first.port_or_known_default() == attempt.url().port_or_known_default();
    if same && attempt.previous().len() < 5 {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_hosts_kept() {
        assert_eq!(
            redact_address("https://u:pw@host:8200/x"),
            "https://u:***@host:8200/x"
        );
        assert_eq!(redact_address("http://host:8200"), "http://host:8200");
        assert_eq!(redact_address("u:pw@host"), "***@host");
    }

    #[test]
    fn loopback_is_recognised() {
        for (url, yes) in [
            ("http://127.0.0.1:8200", true),
            ("http://127.8.9.1", true),
            ("http://[::1]:8200", true),
            ("http://localhost:1", true),
            ("http://vault.localhost", true),
            ("http://10.0.0.1", false),
            ("http://vault.example.com", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), yes, "{url}");
        }
    }
}
