//! What answers mean for each entry, without a server.

use std::collections::HashMap;

use super::*;
use crate::manifest::Source;
use crate::plan::Overrides;
use serde_json::{Value, json};

fn plan(text: &str) -> Plan {
    let src = Source::new("secrets.toml", text);
    Plan::build(&src, src.parse().unwrap(), &Overrides::default()).unwrap()
}

/// Assemble `plan` (its mount `kv` declared KV v1) from the reads given by logical path.
fn run(plan: &Plan, reads: Vec<(&str, Read)>) -> Result<Fetched, FetchError> {
    let resolved = crate::resolve::offline(plan).unwrap();
    let mut reads: HashMap<&str, Read> = reads.into_iter().collect();
    let answers = resolved
        .reads
        .iter()
        .map(|r| Ok(reads.remove(r.logical().as_str()).unwrap_or(Read::Missing)))
        .collect();
    let answers = crate::fetch::Answers {
        kv: answers,
        dynamic: Vec::new(),
    };
    assemble(plan, &resolved, answers)
}

fn found(v: Value) -> Read {
    Read::Found {
        data: serde_json::from_str(&v.to_string()).unwrap(),
        version: None,
        warnings: vec![],
    }
}

fn names_values(f: &Fetched) -> Vec<(String, String)> {
    f.vars
        .iter()
        .map(|v| (v.name.clone(), v.value.expose().to_owned()))
        .collect()
}

#[test]
fn imports_explicit_wins_and_clashes() {
    let p = plan(
        "[vault]\nkv_version = { kv = 1 }\n[secrets]\n\"PG_*\" = \"kv/pg\"\nPG_HOST = \"kv/other#h\"\n",
    );
    let reads = vec![
        (
            "kv/pg",
            found(json!({"host": "a", "port": 5432, "user-name": "u"})),
        ),
        ("kv/other", found(json!({"h": "explicit"}))),
    ];
    let f = run(&p, reads).unwrap();
    assert_eq!(
        names_values(&f),
        [
            ("PG_PORT".into(), "5432".into()),
            ("PG_USER_NAME".into(), "u".into()),
            ("PG_HOST".into(), "explicit".into())
        ]
    );

    let reads = vec![
        ("kv/pg", found(json!({"a-b": "1", "a_b": "2"}))),
        ("kv/other", found(json!({"h": "x"}))),
    ];
    let err = run(&p, reads).unwrap_err().to_string();
    assert_eq!(
        err,
        "PG_* (secrets.toml:4): kv/pg: the variable PG_A_B comes from two keys (\"a-b\" and \"a_b\"); map one of them explicitly"
    );
}

#[test]
fn missing_optional_default() {
    let p = plan(
        "[vault]\nkv_version = { kv = 1 }\n[secrets]\nA = \"kv/a\"\nB = { path = \"kv/b\", optional = true }\nC = { path = \"kv/c\", key = \"k\", default = \"d\" }\n",
    );
    let reads = vec![
        ("kv/a", found(json!({"A": "1", "other": "x"}))),
        ("kv/b", Read::Missing),
        ("kv/c", found(json!({"z": null}))),
    ];
    let f = run(&p, reads).unwrap();
    assert_eq!(
        names_values(&f),
        [("A".into(), "1".into()), ("C".into(), "d".into())]
    );
    assert_eq!(f.skipped.len(), 1);

    let reads = vec![
        ("kv/a", found(json!({"a": "1", "other": "x"}))),
        ("kv/b", Read::Missing),
        ("kv/c", Read::Missing),
    ];
    let err = run(&p, reads).unwrap_err().to_string();
    assert_eq!(
        err,
        "A (secrets.toml:4): kv/a: no key \"A\" in the secret (its keys: a, other); fix the key, or mark the entry optional = true"
    );
}

#[test]
fn data_hint_for_v2() {
    assert_eq!(
        data_hint("kv/data/app", Some(KvVersion::V2)),
        " (did you mean kv/app? kvenv adds data/ itself: write kv/app, not kv/data/app)"
    );
    assert_eq!(data_hint("kv/data/app", Some(KvVersion::V1)), "");
}

#[test]
fn env_names() {
    assert_eq!(env_name("db.pass-word é"), "DB_PASS_WORD__");
}
