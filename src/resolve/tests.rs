//! Resolving plans, offline and with answers given.

use super::*;
use crate::manifest::Source;
use crate::plan::Overrides;
use crate::vault::kv::Op;

fn plan(text: &str) -> Plan {
    let src = Source::new("secrets.toml", text);
    Plan::build(&src, src.parse().unwrap(), &Overrides::default()).unwrap()
}

#[test]
fn one_read_per_path_and_version_and_typed_references() {
    let p = plan(
        "[vault]\nkv_version = { kv = 2, old = 1 }\n[secrets]\nA = \"kv/app#a\"\nB = \"kv/app#b\"\nC = { path = \"kv/app\", key = \"c\", version = 2 }\nD = \"old/x\"\n",
    );
    let r = offline(&p).unwrap();
    let paths: Vec<(String, Option<u64>)> = r
        .reads
        .iter()
        .map(|k| (k.api_path(Op::Data), k.version))
        .collect();
    assert_eq!(
        paths,
        [
            ("kv/data/app".to_string(), None),
            ("kv/data/app".to_string(), Some(2)),
            ("old/x".to_string(), None),
        ]
    );
    use Resolution::Secret;
    assert!(matches!(
        r.entries[..],
        [Ok(Secret(0)), Ok(Secret(0)), Ok(Secret(1)), Ok(Secret(2))]
    ));
    assert_eq!(r.read_of(3).unwrap().path, "x");
}

#[test]
fn a_pin_on_a_detected_v1_mount_has_no_read() {
    let p = plan("[secrets]\nE = { path = \"old/x\", version = 1 }\n");
    let detected = Mount {
        path: "old/".into(),
        version: KvVersion::V1,
        declared: false,
    };
    let r = build(
        &p,
        &HashMap::from([("old/x", Ok(detected))]),
        HashMap::new(),
    );
    assert!(r.reads.is_empty());
    assert!(matches!(&r.entries[0], Err(Unresolved::PinOnV1 { mount }) if mount == "old"));
}

#[test]
fn offline_needs_every_mount_declared() {
    assert!(
        offline(&plan(
            "[vault]\nkv_version = { kv = 2 }\n[secrets]\nA = \"other/app\"\n"
        ))
        .is_none()
    );
}
