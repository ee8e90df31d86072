//! KV v2 specifics: deleted and destroyed versions, the `data/` mistake, a wrong declared version.

use serde_json::json;

use crate::server::server;
use crate::test::Test;

fn three_versions() -> Test {
    Test::new()
        .kv2("kv")
        .secret("kv/app", json!({"A": "CANARY-one"}))
        .secret("kv/app", json!({"A": "CANARY-two"}))
        .secret("kv/app", json!({"A": "CANARY-three"}))
        .write(".env", "OLD='x'\n")
}

#[test]
fn a_deleted_version() {
    let t = three_versions();
    let mount = t.expand("@/kv");
    server().ok(
        "POST",
        &format!("{mount}/delete/app"),
        Some(json!({"versions": [2]})),
    );
    t.manifest("[secrets]\nA = { path = \"@/kv/app\", version = 2 }\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: version 2 was deleted; undelete it (`bao kv undelete -versions=N`) or pin another version\n")
        .file(".env", "OLD='x'\n")
        .run();
}

#[test]
fn a_destroyed_version() {
    let t = three_versions();
    let mount = t.expand("@/kv");
    server().ok(
        "PUT",
        &format!("{mount}/destroy/app"),
        Some(json!({"versions": [1]})),
    );
    t.manifest("[secrets]\nA = { path = \"@/kv/app\", version = 1 }\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: version 1 was destroyed; write the secret again or pin another version\n")
        .run();
}

#[test]
fn the_latest_version_deleted() {
    let t = three_versions();
    let mount = t.expand("@/kv");
    server().ok("DELETE", &format!("{mount}/data/app"), None);
    t.manifest("[secrets]\nA = \"@/kv/app\"\nB = { path = \"@/kv/app\", key = \"A\", optional = true }\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: version 3 was deleted; undelete it (`bao kv undelete -versions=N`) or pin another version\n")
        .run();
}

#[test]
fn a_version_that_never_existed() {
    three_versions()
        .manifest("[secrets]\nA = { path = \"@/kv/app\", version = 9 }\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: version 9 does not exist; pin an existing version\n")
        .run();
}

#[test]
fn the_data_segment_mistake_gets_a_hint() {
    three_versions()
        .manifest("[secrets]\nA = \"@/kv/data/app\"\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/data/app: no secret there (did you mean @/kv/app? kvenv adds data/ itself: write @/kv/app, not @/kv/data/app); create it, or mark the entry optional = true\n")
        .run();
}

#[test]
fn a_v2_mount_declared_as_v1() {
    three_versions()
        .manifest("[vault]\nkv_version = { \"@/kv\" = 1 }\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: A (secrets.toml:4): @/kv/app: mount @/kv is KV v2 but the manifest declares kv_version = 1 for it; set it to 2 or remove it\n")
        .run();
}

#[test]
fn a_version_pin_on_a_detected_v1_mount() {
    Test::new()
        .kv1("kv")
        .secret("kv/app", json!({"A": "CANARY-v1"}))
        .manifest("[secrets]\nA = { path = \"@/kv/app\", version = 2 }\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: version pins need KV v2, and mount @/kv is KV v1; remove `version`\n")
        .run();
}

#[test]
fn a_mount_of_another_engine() {
    let t = Test::new();
    let path = t.expand("@/transit");
    server().ok(
        "POST",
        &format!("sys/mounts/{path}"),
        Some(json!({"type": "transit"})),
    );
    t.manifest("[secrets]\nA = \"@/transit/app\"\n")
        .args(["sync"])
        .status(4)
        .stderr_contains("is a \"transit\" secrets engine, not KV")
        .run();
}
