//! Unit tests of `vault::client`.
use super::*;

#[test]
fn addresses_are_checked() {
    let tls = Tls::default();
    assert!(Client::new("ftp://x", None, &tls).is_err());
    assert!(Client::new("not a url", None, &tls).is_err());
    let c = Client::new("http://127.0.0.1:8200/", None, &tls).unwrap();
    let err = c.set_token("bad\ntoken").unwrap_err();
    assert!(!err.to_string().contains("bad"));
}

#[test]
fn backoff_is_bounded() {
    use crate::vault::retry::BACKOFF_CAP;
    let c = Client::new("http://127.0.0.1:1", None, &Tls::default()).unwrap();
    for attempt in 1..10 {
        assert!(c.backoff(attempt, None) <= BACKOFF_CAP);
    }
    assert_eq!(
        c.backoff(1, Some(Duration::from_secs(3))),
        Duration::from_secs(3)
    );
}
