//! Unit tests of `vault::kv`.
use super::*;

#[test]
fn one_rule_for_where_kv_v2_puts_data_and_metadata() {
    let v2 = KvRef::new(
        Mount::declared("team/kv", KvVersion::V2),
        "team/kv/my app/db",
        Some(3),
    );
    assert_eq!(v2.path, "my app/db");
    assert_eq!(v2.logical(), "team/kv/my app/db");
    assert_eq!(v2.api_path(Op::Data), "team/kv/data/my app/db");
    assert_eq!(v2.api_path(Op::Metadata), "team/kv/metadata/my app/db");
    assert_eq!(v2.url(Op::Data), "team/kv/data/my%20app/db?version=3");
    assert_eq!(v2.url(Op::Metadata), "team/kv/metadata/my%20app/db");
    let v1 = KvRef::new(Mount::declared("kv", KvVersion::V1), "kv/app", None);
    assert_eq!(v1.api_path(Op::Data), "kv/app");
    assert_eq!(v1.api_path(Op::Metadata), "kv/app");
    let m = Mount::declared("/team/kv/", KvVersion::V1);
    assert!(m.contains("team/kv/x") && m.contains("team/kv") && !m.contains("team/kvx"));
}

#[test]
fn paths_are_encoded_by_segment() {
    assert_eq!(encode_path("kv/my app/db%pass"), "kv/my%20app/db%25pass");
    assert_eq!(encode_path("kv/a?b#c"), "kv/a%3Fb%23c");
    assert_eq!(encode_path("team/apps/kv/"), "team/apps/kv/");
    assert_eq!(encode_path("kv/é"), "kv/%C3%A9");
}
