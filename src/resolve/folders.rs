//! Listing a folder import: what secrets it holds.
//!
//! Non-recursive: one `LIST` of the folder; its names that do not end in `/` are its secrets.
//! Recursive: OpenBao answers `SCAN` with every secret below the folder in one request; where
//! the server has no `SCAN` (HashiCorp Vault answers 405) or the token may not use it (403), the
//! folder is listed level by level, each level's sub-folders concurrently. Once a server has
//! shown it cannot scan, the run does not ask again.
//!
//! Names come from the server, so each is checked before it becomes a path to read: a name with
//! an empty, `.` or `..` segment (which would read a secret outside the folder) is an error.
//! Listing stops as soon as the folder holds more than the entry's `max`: a mount-root import by
//! mistake costs a few listings, not a read of every secret of the company.

use crate::fetch::concurrently;
use crate::plan::Folder;
use crate::vault::kv::{self, KvRef};
use crate::vault::{Client, VaultError};

use super::Unresolved;

/// What a listing found.
#[derive(Debug, Default)]
pub(super) struct Listed {
    /// Paths relative to the folder, sorted.
    pub members: Vec<String>,
    pub how: Option<&'static str>,
    pub requests: usize,
}

/// Whether the server has shown it cannot `SCAN` (then every recursive import lists).
#[derive(Debug, Default)]
pub(super) struct Scan {
    unavailable: bool,
}

pub(super) async fn list(
    client: &Client,
    folder: &KvRef,
    import: &Folder,
    scan: &mut Scan,
    concurrency: Option<usize>,
) -> Result<Listed, Unresolved> {
    let mut listed = Listed::default();
    if import.recursive && !scan.unavailable {
        listed.requests += 1;
        match kv::scan(client, folder)
            .await
            .map_err(Unresolved::Listing)?
        {
            Some(names) => {
                listed.how = Some("SCAN");
                listed.members = names;
                return finish(listed, import.max);
            }
            None => scan.unavailable = true,
        }
    }
    listed.how = Some("LIST");
    // Level by level: the sub-folders (relative paths ending in `/`) still to list.
    let mut level: Vec<String> = vec![String::new()];
    let mut first = true;
    while !level.is_empty() {
        let refs: Vec<KvRef> = level
            .iter()
            .map(|sub| KvRef {
                path: join(&folder.path, sub.trim_end_matches('/')),
                ..folder.clone()
            })
            .collect();
        listed.requests += refs.len();
        let answers = concurrently(client, concurrency, &refs, |f| kv::list(client, f)).await;
        let mut next = Vec::new();
        for (sub, answer) in level.iter().zip(answers) {
            let names = match answer.map_err(Unresolved::Listing)? {
                Some(names) => names,
                // The folder itself is missing: nothing to import. A sub-folder that went away
                // since its parent was listed: nothing under it.
                None if first => return Err(Unresolved::EmptyFolder),
                None => continue,
            };
            for name in names {
                let rel = format!("{sub}{name}");
                if name.ends_with('/') {
                    if import.recursive {
                        next.push(rel);
                    }
                } else {
                    listed.members.push(rel);
                }
            }
        }
        if listed.members.len() > import.max {
            return Err(Unresolved::TooMany {
                found: listed.members.len(),
                max: import.max,
            });
        }
        level = next;
        first = false;
    }
    finish(listed, import.max)
}

fn finish(mut listed: Listed, max: usize) -> Result<Listed, Unresolved> {
    for rel in &listed.members {
        check_name(rel).map_err(Unresolved::Listing)?;
    }
    listed.members.sort();
    listed.members.dedup();
    if listed.members.is_empty() {
        return Err(Unresolved::EmptyFolder);
    }
    if listed.members.len() > max {
        return Err(Unresolved::TooMany {
            found: listed.members.len(),
            max,
        });
    }
    Ok(listed)
}

/// A name from the server must stay inside the folder.
fn check_name(rel: &str) -> Result<(), VaultError> {
    if rel
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(VaultError::BadResponse {
            reason: format!(
                "the folder listing holds the name {rel:?}, which would leave the folder"
            ),
        });
    }
    Ok(())
}

fn join(folder: &str, sub: &str) -> String {
    match (folder.is_empty(), sub.is_empty()) {
        (_, true) => folder.to_owned(),
        (true, false) => sub.to_owned(),
        (false, false) => format!("{folder}/{sub}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_stay_inside_the_folder() {
        assert!(check_name("a").is_ok());
        assert!(check_name("sub/deep/c").is_ok());
        for bad in ["../x", "a/../b", "./a", "a//b", "/a", ""] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn empty_and_oversized_folders() {
        let listed = |members: &[&str]| Listed {
            members: members.iter().map(|m| m.to_string()).collect(),
            how: Some("LIST"),
            requests: 1,
        };
        assert!(matches!(
            finish(listed(&[]), 5),
            Err(Unresolved::EmptyFolder)
        ));
        assert!(matches!(
            finish(listed(&["a", "b", "c"]), 2),
            Err(Unresolved::TooMany { found: 3, max: 2 })
        ));
        assert_eq!(
            finish(listed(&["b", "a", "b"]), 5).unwrap().members,
            ["a", "b"]
        );
    }
}
