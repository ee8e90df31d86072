//! How many requests kvenv keeps in flight over HTTP/1.1, counted as connections at a TCP relay
//! in front of the shared server: each request in flight needs a connection of its own.

use std::time::Duration;

use serde_json::json;

use crate::proxy::Proxy;
use crate::server::server;
use crate::test::Test;

/// Secrets to read: twice the far level and more, so every level is filled and a missing
/// limit would show as a connection per secret.
const SECRETS: usize = 100;

/// `SECRETS` one-key secrets on a new KV v2 mount, reached through a relay that delays each
/// chunk by `delay` both ways; the mount declared (no lookup before the reads) or not.
fn app(relay: &Proxy, declared: bool) -> Test {
    let mut t = Test::new().kv2("kv");
    let mut manifest = String::new();
    if declared {
        manifest.push_str("[vault]\nkv_version = { \"@/kv\" = 2 }\n");
    }
    manifest.push_str("[secrets]\n");
    for i in 0..SECRETS {
        t = t.secret(&format!("kv/s{i}"), json!({"v": format!("value-{i}")}));
        manifest.push_str(&format!("V{i} = \"@/kv/s{i}#v\"\n"));
    }
    t.manifest(&manifest).env("VAULT_ADDR", &relay.addr)
}

fn far() -> Proxy {
    let delay = Duration::from_millis(10);
    Proxy::relay(&server().addr)
        .delay(delay)
        .delay_back(delay)
        .start()
}

#[test]
fn a_far_server_gets_more_requests_in_flight() {
    // The mount lookup goes alone and takes a round trip of 20 ms or more: the reads start at
    // the far level at once.
    let relay = far();
    app(&relay, false).args(["sync", "-q"]).stderr("").run();
    let connections = relay.connections();
    assert!(
        (17..=48).contains(&connections),
        "{connections} connections; want more than 16, at most 48"
    );
}

#[test]
fn the_first_slow_answer_raises_the_level_mid_run() {
    // No lookup: the reads start at the near level, and the first answer shows the distance.
    // The 32 requests added then each start a connection before the first 16 are back in the
    // pool (the pool hands a waiting request whichever comes first, and keeps the other), so
    // up to 16 + 32 + 16 connections are opened for at most 48 requests in flight.
    let relay = far();
    app(&relay, true).args(["sync", "-q"]).stderr("").run();
    let connections = relay.connections();
    assert!(
        (17..=64).contains(&connections),
        "{connections} connections; want more than 16, at most 64"
    );
}

#[test]
fn a_given_concurrency_is_kept_however_far_the_server() {
    let relay = far();
    app(&relay, false)
        .args(["sync", "-q", "--concurrency", "8"])
        .stderr("")
        .run();
    let connections = relay.connections();
    assert!(
        (1..=8).contains(&connections),
        "{connections} connections; want at most 8"
    );
}
