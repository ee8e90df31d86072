//! Plan + client → variables: every secret read once, concurrently, all or nothing.
//!
//! The work is shaped so a run costs as few round trips as possible:
//! - **one mount lookup per mount**: paths are grouped by their first segment and one lookup
//!   per group runs concurrently; a path the answer does not cover (another multi-segment mount
//!   under the same first segment) gets its own lookup in a second round. Mounts declared in
//!   `kv_version` are never looked up.
//! - **one read per distinct path and version**, however many variables use it, issued with at
//!   most `concurrency` requests in flight.
//!
//! Nothing is returned until every read has answered, and the first failure in manifest order
//! fails the run, so the caller writes either everything or nothing. Turning the answers into
//! variables ([`assemble`]) is a pure function of the plan and the reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use futures_util::StreamExt;
use thiserror::Error;

use crate::error::code;
use crate::plan::{Entry, KvVersion, OnMissing, Plan, Target, denied_import, find_mount};
use crate::secret::{Secret, Var};
use crate::vault::kv::{self, Mount, Read};
use crate::vault::{Client, VaultError};

/// Which entry an error is about: `SECRET_KEY (secrets.toml:14)`.
#[derive(Debug, Clone)]
pub struct At {
    pub label: String,
    pub location: String,
    pub path: String,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.label, self.location, self.path)
    }
}

impl At {
    pub fn of(entry: &Entry) -> Box<At> {
        Box::new(At {
            label: entry.label(),
            location: entry.location.clone(),
            path: entry.path.clone(),
        })
    }
}

/// A secret, key or version that is not what the manifest expects.
#[derive(Debug, Error)]
pub enum FetchError {
    /// A failure of the server or the token, not of any one entry: it is reported once, without
    /// pinning it on whichever entry happened to be read first.
    #[error(transparent)]
    Server(VaultError),
    #[error("{at}: {source}")]
    Vault { at: Box<At>, source: VaultError },
    #[error("{at}: no secret there{hint}; create it, or mark the entry optional = true")]
    Missing { at: Box<At>, hint: String },
    #[error("{at}: version {version} does not exist{hint}; pin an existing version")]
    MissingVersion {
        at: Box<At>,
        version: u64,
        hint: String,
    },
    #[error(
        "{at}: version {version} was {}; {}",
        if *destroyed { "destroyed" } else { "deleted" },
        if *destroyed { "write the secret again or pin another version" } else { "undelete it (`bao kv undelete -versions=N`) or pin another version" }
    )]
    Deleted {
        at: Box<At>,
        version: u64,
        destroyed: bool,
    },
    #[error("{at}: no key {key:?} in the secret (its keys: {}); fix the key, or mark the entry optional = true", if keys.is_empty() { "none".to_string() } else { keys.join(", ") })]
    MissingKey {
        at: Box<At>,
        key: String,
        keys: Vec<String>,
    },
    #[error("{at}: key {key:?} is null; give it a value, or mark the entry optional = true")]
    Null { at: Box<At>, key: String },
    #[error("{at}: version pins need KV v2, and mount {mount} is KV v1; remove `version`")]
    VersionOnV1 { at: Box<At>, mount: String },
    #[error(
        "{at}: key {key:?} gives the variable name {name:?}, which is not valid; add a prefix (e.g. \"APP_*\") or map the key explicitly"
    )]
    BadImportName {
        at: Box<At>,
        key: String,
        name: String,
    },
    #[error(
        "{at}: key {key:?} would set {name}, which an import may not set (it changes how programs load code, run git or reach Vault); map the key explicitly if the app needs it"
    )]
    DeniedImport {
        at: Box<At>,
        key: String,
        name: String,
    },
    #[error(
        "{at}: the variable {name} comes from two keys ({first:?} and {second:?}); map one of them explicitly"
    )]
    NameClash {
        at: Box<At>,
        name: String,
        first: String,
        second: String,
    },
    #[error(transparent)]
    Timeout(VaultError),
}

impl FetchError {
    pub fn exit_code(&self) -> u8 {
        match self {
            FetchError::Server(source) | FetchError::Vault { source, .. } => source.exit_code(),
            FetchError::Timeout(e) => e.exit_code(),
            FetchError::VersionOnV1 { .. }
            | FetchError::BadImportName { .. }
            | FetchError::DeniedImport { .. }
            | FetchError::NameClash { .. } => code::USAGE,
            _ => code::MISSING,
        }
    }

    /// What is missing, without the entry and the advice: the reason an optional entry was
    /// skipped ("no secret there", "no key \"dsn\"").
    pub fn fact(&self) -> String {
        match self {
            FetchError::Missing { at, hint } => format!("{}: no secret there{hint}", at.path),
            FetchError::MissingVersion { at, version, hint } => {
                format!("{}: version {version} does not exist{hint}", at.path)
            }
            FetchError::Deleted {
                at,
                version,
                destroyed,
            } => format!(
                "{}: version {version} was {}",
                at.path,
                if *destroyed { "destroyed" } else { "deleted" }
            ),
            FetchError::MissingKey { at, key, .. } => format!("{}: no key {key:?}", at.path),
            FetchError::Null { at, key } => format!("{}: key {key:?} is null", at.path),
            other => other.to_string(),
        }
    }

    /// This entry's failure, or the server's when no one entry is to blame.
    fn at(at: Box<At>, source: VaultError) -> FetchError {
        if source.server_wide() {
            FetchError::Server(source)
        } else {
            FetchError::Vault { at, source }
        }
    }
}

/// What a run fetched.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The variables, in manifest order (imports sorted by name at their entry's place).
    pub vars: Vec<Var>,
    /// Optional entries that were not there: the label and why.
    pub skipped: Vec<(String, String)>,
    /// How many distinct secrets were read.
    pub reads: usize,
    /// Vault's warnings, prefixed with the path they came with.
    pub warnings: Vec<String>,
}

/// Requests in flight over HTTP/1.1, where each is a connection of its own. On loopback the
/// server's throughput flattens out above 4–8 (`shared/reference/vault-api.md` §6) and 2 to 256
/// in flight all took the same time for 1000 secrets (bench/RESULTS.md); across a network each
/// round of requests costs a round trip, and at RTT 20 ms 100 secrets took 371–379 ms at 8
/// connections and 167–177 ms at 32. 16 takes most of that gain for half the connections.
pub const HTTP1_CONCURRENCY: usize = 16;

/// Streams in flight over one HTTP/2 connection (TLS servers negotiate it by ALPN). Streams are
/// cheap, and across a network every round of requests costs a round trip: 100 secrets at 8 in
/// flight are 13 round trips, at 64 two, at 128 one (measured at RTT 20 ms: 154–163 ms at 64,
/// 136–159 ms at 128). Go's HTTP/2 server, which Vault and OpenBao use, allows 250 concurrent
/// streams, and hyper keeps to the limit the server announces.
pub const HTTP2_CONCURRENCY: usize = 128;

/// One distinct read: a path and an optional version pin.
type ReadKey = (String, Option<u64>);

/// Fetch every secret the plan names, with at most `concurrency` requests in flight (by default
/// chosen by the HTTP version the first answers came over).
pub async fn fetch(
    plan: &Plan,
    client: &Client,
    concurrency: Option<usize>,
) -> Result<Fetched, FetchError> {
    let mut paths: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for e in &plan.entries {
        if seen.insert(e.path.as_str()) {
            paths.push(&e.path);
        }
    }

    let mounts = resolve_mounts(plan, client, &paths, concurrency).await;

    let mut keys: Vec<ReadKey> = Vec::new();
    let mut seen = HashSet::new();
    for e in &plan.entries {
        if let Some(Ok(_)) = mounts.get(e.path.as_str())
            && seen.insert((e.path.clone(), e.version))
        {
            keys.push((e.path.clone(), e.version));
        }
    }
    // Once the server is down, reads not yet started fail at once with the same error instead
    // of each waiting through its own retries until the deadline.
    let down: OnceLock<VaultError> = OnceLock::new();
    let read_one = |key: ReadKey| {
        let mount = match mounts.get(key.0.as_str()) {
            Some(Ok(m)) => m.clone(),
            _ => unreachable_mount(),
        };
        let down = &down;
        async move {
            if let Some(e) = down.get() {
                return (key, Err(e.clone()));
            }
            let result = kv::read(client, &mount, &key.0, key.1).await;
            if let Err(e) = &result
                && e.server_down()
            {
                let _ = down.set(e.clone());
            }
            (key, result)
        }
    };
    let mut reads: HashMap<ReadKey, Result<Read, VaultError>> = HashMap::new();
    if client.cold() && !keys.is_empty() {
        // Nothing has been asked yet (every mount was declared): one read first, so the others
        // share the connection it opens (one HTTP/2 connection over TLS) instead of each opening
        // its own while none knows yet what the server speaks.
        let (key, result) = read_one(keys.remove(0)).await;
        reads.insert(key, result);
    }
    let in_flight = concurrency.unwrap_or_else(|| default_concurrency(client));
    reads.extend(
        futures_util::stream::iter(keys.into_iter().map(read_one))
            .buffer_unordered(in_flight)
            .collect::<Vec<_>>()
            .await,
    );

    // Report the first problem in manifest order, so the same manifest fails the same way.
    let mut ok_reads: HashMap<ReadKey, Read> = HashMap::new();
    for e in &plan.entries {
        match mounts.get(e.path.as_str()) {
            Some(Err(err)) => return Err(FetchError::at(At::of(e), err.clone())),
            Some(Ok(m)) if m.version == KvVersion::V1 && e.version.is_some() => {
                return Err(FetchError::VersionOnV1 {
                    at: At::of(e),
                    mount: m.path.trim_end_matches('/').to_owned(),
                });
            }
            _ => {}
        }
        let key = (e.path.clone(), e.version);
        if let Some(result) = reads.remove(&key) {
            match result {
                Ok(read) => {
                    ok_reads.insert(key, read);
                }
                Err(source) => return Err(FetchError::at(At::of(e), source)),
            }
        }
    }
    let versions: HashMap<&str, KvVersion> = mounts
        .iter()
        .filter_map(|(p, m)| m.as_ref().ok().map(|m| (*p, m.version)))
        .collect();
    assemble(plan, &ok_reads, &versions)
}

/// Requests in flight when `--concurrency` is not given: by what the server answered over.
fn default_concurrency(client: &Client) -> usize {
    if client.http2() {
        HTTP2_CONCURRENCY
    } else {
        HTTP1_CONCURRENCY
    }
}

fn unreachable_mount() -> Mount {
    // Keys are only built for paths whose mount resolved; this is never used.
    Mount {
        path: String::new(),
        version: KvVersion::V1,
        declared: false,
    }
}

/// Map every path to its mount: declared ones first, then one lookup per first segment, and
/// more rounds only for paths the answers did not cover.
pub async fn resolve_mounts<'p>(
    plan: &Plan,
    client: &Client,
    paths: &[&'p str],
    concurrency: Option<usize>,
) -> HashMap<&'p str, Result<Mount, VaultError>> {
    let mut resolved: HashMap<&str, Result<Mount, VaultError>> = HashMap::new();
    let mut pending: Vec<&str> = Vec::new();
    for &p in paths {
        match find_mount(&plan.vault.mounts, p) {
            Some(d) => {
                resolved.insert(
                    p,
                    Ok(Mount {
                        path: d.path.clone(),
                        version: d.version,
                        declared: true,
                    }),
                );
            }
            None => pending.push(p),
        }
    }
    while !pending.is_empty() {
        let mut firsts = HashSet::new();
        let mut probes: Vec<&str> = pending
            .iter()
            .copied()
            .filter(|p| firsts.insert(first_segment(p)))
            .collect();
        if client.cold() {
            // The first request goes alone; see the same case in `fetch`.
            probes.truncate(1);
        }
        let answers: Vec<(&str, Result<Mount, VaultError>)> = futures_util::stream::iter(
            probes
                .iter()
                .map(|&p| async move { (p, kv::detect(client, p).await) }),
        )
        .buffer_unordered(concurrency.unwrap_or_else(|| default_concurrency(client)))
        .collect()
        .await;
        for (probe, answer) in answers {
            match answer {
                Ok(mount) => {
                    let covers = |p: &str| p.starts_with(&mount.path);
                    if !covers(probe) {
                        // The server named a mount that does not contain the path: never
                        // guess, report it.
                        resolved.insert(
                            probe,
                            Err(VaultError::BadResponse {
                                reason: format!(
                                    "the mount lookup answered {}, which does not contain the path (a path that names only a mount?)",
                                    mount.path
                                ),
                            }),
                        );
                        pending.retain(|p| *p != probe);
                        continue;
                    }
                    for p in pending.iter().filter(|p| covers(p)) {
                        resolved.insert(p, Ok(mount.clone()));
                    }
                    pending.retain(|p| !covers(p));
                }
                Err(e) => {
                    // The same lookup for the rest of the group would fail the same way
                    // (unreachable, sealed, bad token), so it fails them all.
                    let group = first_segment(probe);
                    for p in pending.iter().filter(|p| first_segment(p) == group) {
                        resolved.insert(p, Err(e.clone()));
                    }
                    pending.retain(|p| first_segment(p) != group);
                }
            }
        }
    }
    resolved
}

fn first_segment(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

/// Turn the reads into variables, applying keys, imports, defaults and optionality.
pub fn assemble(
    plan: &Plan,
    reads: &HashMap<ReadKey, Read>,
    versions: &HashMap<&str, KvVersion>,
) -> Result<Fetched, FetchError> {
    let explicit: HashSet<&str> = plan
        .entries
        .iter()
        .filter_map(|e| match &e.target {
            Target::Var { name, .. } => Some(name.as_str()),
            Target::Import { .. } => None,
        })
        .collect();
    let mut imported_from: HashMap<String, String> = HashMap::new();
    let mut out = Fetched {
        reads: reads.len(),
        ..Fetched::default()
    };
    for (key, read) in reads {
        if let Read::Found { warnings, .. } = read {
            for w in warnings {
                out.warnings.push(format!("{}: {w}", key.0));
            }
        }
    }
    out.warnings.sort();

    for e in &plan.entries {
        let at = At::of(e);
        let read = reads
            .get(&(e.path.clone(), e.version))
            .unwrap_or(&Read::Missing);
        let absent = |why: FetchError| -> Result<Option<Var>, FetchError> {
            match (&e.missing, &e.target) {
                (OnMissing::Fail, _) => Err(why),
                (OnMissing::Skip, _) => Ok(None),
                (OnMissing::Default(d), Target::Var { name, .. }) => Ok(Some(Var {
                    name: name.clone(),
                    value: Secret::new(d.clone()),
                    path: e.path.clone(),
                    version: None,
                    default: true,
                    mask: e.mask,
                })),
                (OnMissing::Default(_), Target::Import { .. }) => Err(why),
            }
        };
        let hint = || data_hint(&e.path, versions.get(e.path.as_str()).copied());
        let not_found = || match read {
            Read::Deleted { version, destroyed } => FetchError::Deleted {
                at: at.clone(),
                version: *version,
                destroyed: *destroyed,
            },
            _ => match e.version {
                Some(version) => FetchError::MissingVersion {
                    at: at.clone(),
                    version,
                    hint: hint(),
                },
                None => FetchError::Missing {
                    at: at.clone(),
                    hint: hint(),
                },
            },
        };
        let (data, version) = match read {
            Read::Found { data, version, .. } => (data, *version),
            _ => {
                let why = not_found();
                let reason = why.fact();
                match absent(why)? {
                    Some(var) => out.vars.push(var),
                    None => out.skipped.push((e.label(), reason)),
                }
                continue;
            }
        };
        match &e.target {
            Target::Var { name, key } => {
                let value = match data.get(key) {
                    Some(raw) => kv::text(raw).ok_or_else(|| FetchError::Null {
                        at: at.clone(),
                        key: key.clone(),
                    }),
                    None => Err(FetchError::MissingKey {
                        at: at.clone(),
                        key: key.clone(),
                        keys: data.keys().take(20).map(str::to_owned).collect(),
                    }),
                };
                match value {
                    Ok(v) => out.vars.push(Var {
                        name: name.clone(),
                        value: Secret::new(v),
                        path: e.path.clone(),
                        version,
                        default: false,
                        mask: e.mask,
                    }),
                    Err(why) => {
                        let reason = why.fact();
                        match absent(why)? {
                            Some(var) => out.vars.push(var),
                            None => out.skipped.push((e.label(), reason)),
                        }
                    }
                }
            }
            Target::Import { prefix } => {
                let mut batch: BTreeMap<String, (String, Var)> = BTreeMap::new();
                for (key, raw) in data.iter() {
                    let name = format!("{prefix}{}", env_name(key));
                    if !crate::plan::is_identifier(&name) {
                        return Err(FetchError::BadImportName {
                            at: at.clone(),
                            key: key.to_owned(),
                            name,
                        });
                    }
                    if explicit.contains(name.as_str()) {
                        continue;
                    }
                    if denied_import(&name) {
                        return Err(FetchError::DeniedImport {
                            at: at.clone(),
                            key: key.to_owned(),
                            name,
                        });
                    }
                    let Some(value) = kv::text(raw) else {
                        if e.missing == OnMissing::Skip {
                            out.skipped
                                .push((name, format!("{}: key {key:?} is null", e.path)));
                            continue;
                        }
                        return Err(FetchError::Null {
                            at: at.clone(),
                            key: key.to_owned(),
                        });
                    };
                    if let Some((first, _)) = batch.get(&name) {
                        return Err(FetchError::NameClash {
                            at: at.clone(),
                            name,
                            first: first.clone(),
                            second: key.to_owned(),
                        });
                    }
                    if let Some(first) = imported_from.get(&name) {
                        return Err(FetchError::NameClash {
                            at: at.clone(),
                            name,
                            first: first.clone(),
                            second: key.to_owned(),
                        });
                    }
                    let var = Var {
                        name: name.clone(),
                        value: Secret::new(value),
                        path: e.path.clone(),
                        version,
                        default: false,
                        mask: e.mask,
                    };
                    batch.insert(name, (key.to_owned(), var));
                }
                for (name, (key, var)) in batch {
                    imported_from.insert(name, format!("{}#{key}", e.path));
                    out.vars.push(var);
                }
            }
        }
    }
    Ok(out)
}

/// "write kv/app, not kv/data/app" when a v2 path repeats the API's `data/` segment.
fn data_hint(path: &str, version: Option<KvVersion>) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    if version != Some(KvVersion::V2) {
        return String::new();
    }
    match segments.iter().position(|s| *s == "data") {
        Some(i) if i > 0 && i + 1 < segments.len() => {
            let mut fixed = segments.clone();
            fixed.remove(i);
            format!(
                " (did you mean {}? kvenv adds data/ itself: write {}, not {})",
                fixed.join("/"),
                fixed.join("/"),
                path
            )
        }
        _ => String::new(),
    }
}

/// A key as an environment variable name: upper-cased, anything outside `[A-Z0-9_]` as `_`.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Source;
    use crate::plan::Overrides;
    use serde_json::{Value, json};

    fn plan(text: &str) -> Plan {
        let src = Source::new("secrets.toml", text);
        Plan::build(&src, src.parse().unwrap(), &Overrides::default()).unwrap()
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
        let p = plan("[secrets]\n\"PG_*\" = \"kv/pg\"\nPG_HOST = \"kv/other#h\"\n");
        let reads = HashMap::from([
            (
                ("kv/pg".into(), None),
                found(json!({"host": "a", "port": 5432, "user-name": "u"})),
            ),
            (("kv/other".into(), None), found(json!({"h": "explicit"}))),
        ]);
        let f = assemble(&p, &reads, &HashMap::new()).unwrap();
        assert_eq!(
            names_values(&f),
            [
                ("PG_PORT".into(), "5432".into()),
                ("PG_USER_NAME".into(), "u".into()),
                ("PG_HOST".into(), "explicit".into())
            ]
        );

        let reads = HashMap::from([
            (
                ("kv/pg".into(), None),
                found(json!({"a-b": "1", "a_b": "2"})),
            ),
            (("kv/other".into(), None), found(json!({"h": "x"}))),
        ]);
        let err = assemble(&p, &reads, &HashMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "PG_* (secrets.toml:2): kv/pg: the variable PG_A_B comes from two keys (\"a-b\" and \"a_b\"); map one of them explicitly"
        );
    }

    #[test]
    fn missing_optional_default() {
        let p = plan(
            "[secrets]\nA = \"kv/a\"\nB = { path = \"kv/b\", optional = true }\nC = { path = \"kv/c\", key = \"k\", default = \"d\" }\n",
        );
        let reads = HashMap::from([
            (
                ("kv/a".into(), None),
                found(json!({"A": "1", "other": "x"})),
            ),
            (("kv/b".into(), None), Read::Missing),
            (("kv/c".into(), None), found(json!({"z": null}))),
        ]);
        let f = assemble(&p, &reads, &HashMap::new()).unwrap();
        assert_eq!(
            names_values(&f),
            [("A".into(), "1".into()), ("C".into(), "d".into())]
        );
        assert_eq!(f.skipped.len(), 1);

        let reads = HashMap::from([
            (
                ("kv/a".into(), None),
                found(json!({"a": "1", "other": "x"})),
            ),
            (("kv/b".into(), None), Read::Missing),
            (("kv/c".into(), None), Read::Missing),
        ]);
        let err = assemble(&p, &reads, &HashMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "A (secrets.toml:2): kv/a: no key \"A\" in the secret (its keys: a, other); fix the key, or mark the entry optional = true"
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
}
