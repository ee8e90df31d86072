//! Plan + client → [`Resolved`]: which mount every path is under, what each folder holds, and
//! the distinct reads.
//!
//! A logical path (`team/apps/kv/svc/db`) says nothing about where its mount ends or which KV
//! version it is, and both decide the URL. This stage answers that once, for everything the
//! plan names, and hands the later stages typed [`KvRef`]s: `fetch` reads them, `policy` grants
//! them, `push` writes them, and none of them knows the `data/` rule (that is
//! [`KvRef::api_path`]'s alone).
//!
//! It costs as few round trips as it can: mounts declared in `kv_version` are never looked up;
//! the others get **one lookup per mount**, grouped by their first segment and run concurrently,
//! with a second round only for paths an answer did not cover (another multi-segment mount under
//! the same first segment). A folder import is listed once (see [`folders`]: one `SCAN` for a
//! whole tree where the server has it, else `LIST` level by level). Each distinct path and
//! version becomes **one read**, however many variables (and folders) use it.
//!
//! A failure does not stop the stage: an entry whose mount or folder cannot be found gets the
//! reason, so the caller reports the first problem in manifest order and the same manifest
//! always fails the same way.

mod folders;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::fetch::concurrently;
use crate::plan::{Plan, Target, declared_mount};
use crate::vault::kv::{self, KvRef, KvVersion, Mount};
use crate::vault::{Client, VaultError};

/// Everything the plan reads, with its mounts known and its folders listed.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The distinct reads: the manifest's own secrets in the order it names them, then the
    /// secrets its folders hold.
    pub reads: Vec<KvRef>,
    /// For each entry of the plan (same index): what it reads, or why it reads nothing.
    pub entries: Vec<Result<Resolution, Unresolved>>,
    /// The folders of folder imports, by the index a [`Resolution::Folder`] gives.
    pub folders: Vec<Listing>,
    /// The distinct dynamic reads (`read =`), by the index a [`Resolution::Dynamic`] gives:
    /// one request, and so one lease, however many entries use it.
    pub dynamic: Vec<String>,
}

/// What one entry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// One secret: an index into [`Resolved::reads`].
    Secret(usize),
    /// A folder: an index into [`Resolved::folders`].
    Folder(usize),
    /// A dynamic read: an index into [`Resolved::dynamic`].
    Dynamic(usize),
    /// Nothing: a template is made of other variables.
    Template,
}

/// A folder, and what it held when listed.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The folder itself: its mount, and its path inside it (empty for a whole mount).
    pub folder: KvRef,
    /// Its secrets, as paths relative to the folder in sorted order, each with its read.
    pub members: Vec<(String, usize)>,
    /// How it was listed (`SCAN` or `LIST`); `None` when it was not (offline).
    pub how: Option<&'static str>,
    /// Folders the listing took (one for a SCAN), for `-v`.
    pub requests: usize,
}

/// Why an entry has no read.
#[derive(Debug, Clone)]
pub enum Unresolved {
    /// Its mount could not be found or looked up.
    Mount(VaultError),
    /// It pins a version, and its mount is KV v1 (which has none).
    PinOnV1 { mount: String },
    /// Its folder could not be listed.
    Listing(VaultError),
    /// Its folder does not exist, or holds nothing.
    EmptyFolder,
    /// Its folder holds more secrets than the entry's `max`.
    TooMany { found: usize, max: usize },
}

impl Resolved {
    /// The distinct mounts the reads and folders are in.
    pub fn mounts(&self) -> Vec<Mount> {
        let mut out: Vec<Mount> = Vec::new();
        for m in self
            .reads
            .iter()
            .map(|r| &r.mount)
            .chain(self.folders.iter().map(|f| &f.folder.mount))
        {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }

    /// The read behind entry `i`, if it reads one secret.
    pub fn read_of(&self, i: usize) -> Option<&KvRef> {
        match self.entries.get(i) {
            Some(Ok(Resolution::Secret(r))) => Some(&self.reads[*r]),
            _ => None,
        }
    }

    /// The folder behind entry `i`, if it imports one.
    pub fn folder_of(&self, i: usize) -> Option<&Listing> {
        match self.entries.get(i) {
            Some(Ok(Resolution::Folder(f))) => Some(&self.folders[*f]),
            _ => None,
        }
    }
}

/// Resolve every entry of `plan`, asking the server only about undeclared mounts, and listing
/// its folders.
pub async fn resolve(plan: &Plan, client: &Client, concurrency: Option<usize>) -> Resolved {
    resolve_known(plan, client, concurrency, &[]).await
}

/// [`resolve`], taking the mounts in `known` (what an earlier resolve found: a watch's first
/// read, for its polls) as given instead of looking them up again. Folders are listed anew:
/// a secret added to one must show up.
pub async fn resolve_known(
    plan: &Plan,
    client: &Client,
    concurrency: Option<usize>,
    known: &[Mount],
) -> Resolved {
    let mut known = known.to_vec();
    // Longest first, so that the first prefix match is the right mount.
    known.sort_by_key(|m| std::cmp::Reverse(m.path.len()));
    let mounts = mounts(plan, client, concurrency, &known).await;
    let mut listings: HashMap<usize, Result<folders::Listed, Unresolved>> = HashMap::new();
    let mut scan = folders::Scan::default();
    for (i, e) in plan.entries.iter().enumerate() {
        let (Target::Folder(f), Some(Ok(mount))) = (&e.target, mounts.get(e.path.as_str())) else {
            continue;
        };
        let folder = KvRef::new(mount.clone(), &e.path, None);
        let listed = folders::list(client, &folder, f, &mut scan, concurrency).await;
        listings.insert(i, listed);
    }
    build(plan, &mounts, listings)
}

/// Resolve the mounts only, without listing the folders: all `kvenv policy` needs.
pub async fn mounts_only(plan: &Plan, client: &Client, concurrency: Option<usize>) -> Resolved {
    let mounts = mounts(plan, client, concurrency, &[]).await;
    build(plan, &mounts, HashMap::new())
}

/// Resolve without a server, if every path lies in a declared mount (`kvenv policy` then works
/// offline). Folders are not listed.
pub fn offline(plan: &Plan) -> Option<Resolved> {
    let mut mounts = HashMap::new();
    for e in plan.entries.iter().filter(|e| e.reads_kv()) {
        let m = declared_mount(&plan.vault.mounts, &e.path)?;
        mounts.insert(e.path.as_str(), Ok(m.clone()));
    }
    Some(build(plan, &mounts, HashMap::new()))
}

/// The distinct reads, and each entry's place among them.
fn build(
    plan: &Plan,
    mounts: &HashMap<&str, Result<Mount, VaultError>>,
    mut listings: HashMap<usize, Result<folders::Listed, Unresolved>>,
) -> Resolved {
    let mut out = Resolved::default();
    let mut index: HashMap<(String, Option<u64>), usize> = HashMap::new();
    let mut read = |out: &mut Resolved, secret: KvRef| -> usize {
        *index
            .entry((secret.logical(), secret.version))
            .or_insert_with(|| {
                out.reads.push(secret);
                out.reads.len() - 1
            })
    };
    // The manifest's own secrets first, so they keep their reads' order; folders after.
    let mut entries: Vec<Option<Result<Resolution, Unresolved>>> = vec![None; plan.entries.len()];
    for (i, e) in plan.entries.iter().enumerate() {
        let mount = match mounts.get(e.path.as_str()) {
            _ if !e.reads() => {
                entries[i] = Some(Ok(Resolution::Template));
                continue;
            }
            _ if e.dynamic => {
                let d = match out.dynamic.iter().position(|p| *p == e.path) {
                    Some(d) => d,
                    None => {
                        out.dynamic.push(e.path.clone());
                        out.dynamic.len() - 1
                    }
                };
                entries[i] = Some(Ok(Resolution::Dynamic(d)));
                continue;
            }
            Some(Ok(m)) => m,
            Some(Err(err)) => {
                entries[i] = Some(Err(Unresolved::Mount(err.clone())));
                continue;
            }
            None => {
                entries[i] = Some(Err(Unresolved::Mount(VaultError::BadResponse {
                    reason: "the path's mount was not looked up".into(),
                })));
                continue;
            }
        };
        if matches!(e.target, Target::Folder(_)) {
            continue;
        }
        entries[i] = Some(if mount.version == KvVersion::V1 && e.version.is_some() {
            Err(Unresolved::PinOnV1 {
                mount: mount.path.trim_end_matches('/').to_owned(),
            })
        } else {
            Ok(Resolution::Secret(read(
                &mut out,
                KvRef::new(mount.clone(), &e.path, e.version),
            )))
        });
    }
    for (i, e) in plan.entries.iter().enumerate() {
        if entries[i].is_some() {
            continue;
        }
        let Some(Ok(mount)) = mounts.get(e.path.as_str()) else {
            continue;
        };
        let folder = KvRef::new(mount.clone(), &e.path, None);
        let listed = match listings.remove(&i) {
            Some(Ok(listed)) => listed,
            Some(Err(why)) => {
                entries[i] = Some(Err(why));
                continue;
            }
            // Not listed (offline): the folder alone, for the policy.
            None => folders::Listed::default(),
        };
        let members = listed
            .members
            .into_iter()
            .map(|rel| {
                let secret = KvRef::new(mount.clone(), &folder.child(&rel), None);
                (rel, read(&mut out, secret))
            })
            .collect();
        out.folders.push(Listing {
            folder,
            members,
            how: listed.how,
            requests: listed.requests,
        });
        entries[i] = Some(Ok(Resolution::Folder(out.folders.len() - 1)));
    }
    out.entries = entries
        .into_iter()
        .map(|e| {
            e.unwrap_or(Err(Unresolved::Mount(VaultError::BadResponse {
                reason: "the entry was not resolved".into(),
            })))
        })
        .collect();
    out
}

/// Every path's mount: declared ones first, then `known` ones, then one lookup per first
/// segment, and more rounds only for paths the answers did not cover.
async fn mounts<'p>(
    plan: &'p Plan,
    client: &Client,
    concurrency: Option<usize>,
    known: &[Mount],
) -> HashMap<&'p str, Result<Mount, VaultError>> {
    let mut resolved: HashMap<&str, Result<Mount, VaultError>> = HashMap::new();
    let mut pending: Vec<&str> = Vec::new();
    for e in plan.entries.iter().filter(|e| e.reads_kv()) {
        let p = e.path.as_str();
        if resolved.contains_key(p) || pending.contains(&p) {
            continue;
        }
        match declared_mount(&plan.vault.mounts, p).or_else(|| declared_mount(known, p)) {
            Some(m) => {
                resolved.insert(p, Ok(m.clone()));
            }
            None => pending.push(p),
        }
    }
    while !pending.is_empty() {
        let mut firsts = HashSet::new();
        let probes: Vec<&str> = pending
            .iter()
            .copied()
            .filter(|p| firsts.insert(first_segment(p)))
            .collect();
        let answers = concurrently(client, concurrency, &probes, |p| kv::detect(client, p)).await;
        for (probe, answer) in probes.into_iter().zip(answers) {
            match answer {
                Ok(mount) => {
                    let covers = |p: &str| mount.contains(p);
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
