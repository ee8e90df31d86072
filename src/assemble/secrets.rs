//! A secret, or a folder of them, → variables: keys, imports, defaults, optionality, the import
//! deny-list and name clashes.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{At, FetchError, data_hint, env_name};
use crate::plan::{Entry, Folder, FolderNames, OnMissing, Plan, Target, denied_import};
use crate::resolve::{Listing, Resolved};
use crate::secret::{Secret, Var};
use crate::vault::kv::{self, Data, Read};

/// The variables being assembled, one slot per entry so the output keeps manifest order.
pub(super) struct Vars {
    slots: Vec<Vec<Var>>,
    skipped: Vec<(String, String)>,
    /// The names entries give themselves (explicit variables and templates): an import or a
    /// folder never sets one of these.
    explicit: HashSet<String>,
    /// Which `path#key` each imported name came from, to name both sides of a clash.
    imported_from: HashMap<String, String>,
    /// Entries that were skipped (optional, and nothing found), by the names they would give.
    pub skipped_names: HashSet<String>,
    /// An import or folder was skipped: a name nobody gave may have been its.
    pub skipped_import: bool,
}

impl Vars {
    pub fn new(plan: &Plan) -> Vars {
        Vars {
            slots: vec![Vec::new(); plan.entries.len()],
            skipped: Vec::new(),
            explicit: plan
                .entries
                .iter()
                .filter_map(|e| e.own_name().map(str::to_owned))
                .collect(),
            imported_from: HashMap::new(),
            skipped_names: HashSet::new(),
            skipped_import: false,
        }
    }

    /// The value of the variable `name`, from any entry assembled so far.
    pub fn value(&self, name: &str) -> Option<String> {
        self.slots
            .iter()
            .flatten()
            .find(|v| v.name == name)
            .map(|v| v.value.expose().to_owned())
    }

    /// Whether the variable `name` comes from a dynamic read.
    pub fn dynamic(&self, name: &str) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|v| v.name == name && v.dynamic)
    }

    /// Put `var` in entry `i`'s place.
    pub fn push(&mut self, i: usize, var: Var) {
        self.slots[i].push(var);
    }

    /// Record that entry `i` gave nothing, and why (for `-v`).
    pub fn skip(&mut self, e: &Entry, reason: String) {
        match e.own_name() {
            Some(name) => {
                self.skipped_names.insert(name.to_owned());
            }
            None => self.skipped_import = true,
        }
        self.skipped.push((e.label(), reason));
    }

    /// Entry `i` found nothing: its default, a skip if optional, or the error.
    pub fn absent(&mut self, i: usize, e: &Entry, why: FetchError) -> Result<(), FetchError> {
        match (&e.missing, e.own_name()) {
            (OnMissing::Fail, _) => Err(why),
            (OnMissing::Skip, _) => {
                self.skip(e, why.fact());
                Ok(())
            }
            (OnMissing::Default(d), Some(name)) => {
                let var = Var {
                    name: name.to_owned(),
                    value: Secret::new(d.clone()),
                    path: e.path.clone(),
                    version: None,
                    default: true,
                    mask: e.mask,
                    internal: e.internal,
                    dynamic: false,
                };
                self.push(i, var);
                Ok(())
            }
            (OnMissing::Default(_), None) => Err(why),
        }
    }

    /// Every variable in manifest order, and what was skipped.
    pub fn finish(self) -> (Vec<Var>, Vec<(String, String)>) {
        (self.slots.into_iter().flatten().collect(), self.skipped)
    }

    /// Entry `i` reads one secret: one key of it, or every key.
    pub fn secret(
        &mut self,
        i: usize,
        e: &Entry,
        read: &Read,
        resolved: &Resolved,
    ) -> Result<(), FetchError> {
        let at = At::of(e);
        let (data, version) = match read {
            Read::Found { data, version, .. } => (data, *version),
            Read::Deleted { version, destroyed } => {
                let why = FetchError::Deleted {
                    at,
                    version: *version,
                    destroyed: *destroyed,
                };
                return self.absent(i, e, why);
            }
            Read::Missing => {
                let hint = data_hint(&e.path, resolved.read_of(i).map(|r| r.mount.version));
                let why = match e.version {
                    Some(version) => FetchError::MissingVersion { at, version, hint },
                    None => FetchError::Missing { at, hint },
                };
                return self.absent(i, e, why);
            }
        };
        match &e.target {
            Target::Var { name, key } => match value(&at, data, key) {
                Ok(v) => {
                    let var = Var {
                        name: name.clone(),
                        value: Secret::new(v),
                        path: e.path.clone(),
                        version,
                        default: false,
                        mask: e.mask,
                        internal: e.internal,
                        dynamic: e.dynamic,
                    };
                    self.push(i, var);
                    Ok(())
                }
                Err(why) => self.absent(i, e, why),
            },
            Target::Import { prefix } => {
                let batch = self.keys(e, &at, prefix, &e.path, data, version)?;
                self.check_clashes(&at, &batch)?;
                self.commit(i, batch);
                Ok(())
            }
            Target::Folder(_) | Target::Template { .. } => Ok(()),
        }
    }

    /// Entry `i` imports a folder: each secret it holds (the deleted ones skipped).
    pub fn folder(
        &mut self,
        i: usize,
        e: &Entry,
        listing: &Listing,
        reads: &[Read],
    ) -> Result<(), FetchError> {
        let Target::Folder(Folder { prefix, names, .. }) = &e.target else {
            return Ok(());
        };
        let at = At::of(e);
        let mut batch: BTreeMap<String, (String, Var)> = BTreeMap::new();
        let mut found = 0;
        for (rel, r) in &listing.members {
            let path = listing.folder.child(rel);
            let (data, version) = match &reads[*r] {
                Read::Found { data, version, .. } => (data, *version),
                // Deleted (or removed since the listing): not a variable, said with -v.
                Read::Deleted { version, destroyed } => {
                    let what = if *destroyed { "destroyed" } else { "deleted" };
                    self.skipped
                        .push((e.label(), format!("{path}: version {version} was {what}")));
                    continue;
                }
                Read::Missing => {
                    self.skipped
                        .push((e.label(), format!("{path}: removed since it was listed")));
                    continue;
                }
            };
            found += 1;
            let secret_at = at.at_path(path.clone());
            match names {
                FolderNames::Keys => {
                    for (name, entry) in self.keys(e, &secret_at, prefix, &path, data, version)? {
                        clash(&at, &mut batch, name, entry)?;
                    }
                }
                FolderNames::Secrets { key } => {
                    let name = format!("{prefix}{}", env_name(&rel.replace('/', "_")));
                    let key = match key {
                        Some(k) => k.clone(),
                        None => match data.keys().collect::<Vec<_>>()[..] {
                            [only] => only.to_owned(),
                            _ => {
                                return Err(FetchError::SecretNeedsKey {
                                    at: secret_at,
                                    keys: data.len(),
                                });
                            }
                        },
                    };
                    if !self.admit(&secret_at, &key, &name)? {
                        continue;
                    }
                    let v = value(&secret_at, data, &key)?;
                    let var = import_var(e, name.clone(), v, &path, version);
                    clash(&at, &mut batch, name, (format!("{path}#{key}"), var))?;
                }
            }
        }
        if found == 0 {
            return self.empty_folder(i, e);
        }
        self.check_clashes(&at, &batch)?;
        self.commit(i, batch);
        Ok(())
    }

    /// Entry `i`'s folder holds nothing (or is not there).
    pub fn empty_folder(&mut self, i: usize, e: &Entry) -> Result<(), FetchError> {
        self.absent(i, e, FetchError::EmptyFolder { at: At::of(e) })
    }

    /// Every key of `data` as a variable named `prefix` + the key (an import, or a folder's
    /// secret with `names = "keys"`), keyed by name, each with the `path#key` it came from.
    fn keys(
        &mut self,
        e: &Entry,
        at: &At,
        prefix: &str,
        path: &str,
        data: &Data,
        version: Option<u64>,
    ) -> Result<BTreeMap<String, (String, Var)>, FetchError> {
        let mut batch: BTreeMap<String, (String, Var)> = BTreeMap::new();
        for (key, raw) in data.iter() {
            let name = format!("{prefix}{}", env_name(key));
            if !self.admit(at, key, &name)? {
                continue;
            }
            let Some(value) = kv::text(raw) else {
                if e.missing == OnMissing::Skip {
                    self.skipped
                        .push((name, format!("{path}: key {key:?} is null")));
                    continue;
                }
                return Err(FetchError::Null {
                    at: Box::new(at.clone()),
                    key: key.to_owned(),
                });
            };
            // Within one secret the keys differ, so only their names can clash.
            if let Some((first, _)) = batch.get(&name) {
                return Err(FetchError::NameClash {
                    at: Box::new(at.clone()),
                    name,
                    first: first.clone(),
                    second: key.to_owned(),
                });
            }
            let var = import_var(e, name.clone(), value, path, version);
            batch.insert(name, (key.to_owned(), var));
        }
        Ok(batch
            .into_iter()
            .map(|(name, (key, var))| (name, (format!("{path}#{key}"), var)))
            .collect())
    }

    /// Whether an import may set `name` (from `key`): it must be a valid name, and not one on
    /// the deny-list (an error); one an entry gives itself is left out (the explicit entry
    /// wins: `Ok(false)`).
    fn admit(&self, at: &At, key: &str, name: &str) -> Result<bool, FetchError> {
        if !crate::plan::is_identifier(name) {
            return Err(FetchError::BadImportName {
                at: Box::new(at.clone()),
                key: key.to_owned(),
                name: name.to_owned(),
            });
        }
        if self.explicit.contains(name) {
            return Ok(false);
        }
        if denied_import(name) {
            return Err(FetchError::DeniedImport {
                at: Box::new(at.clone()),
                key: key.to_owned(),
                name: name.to_owned(),
            });
        }
        Ok(true)
    }

    /// Put an import's variables in entry `i`'s place, refusing a name another import gave.
    fn commit(&mut self, i: usize, batch: BTreeMap<String, (String, Var)>) {
        for (name, (from, var)) in batch {
            self.imported_from.insert(name, from);
            self.push(i, var);
        }
    }

    /// A name an earlier import already gave: an error naming both sources.
    pub fn check_clashes(
        &self,
        at: &At,
        batch: &BTreeMap<String, (String, Var)>,
    ) -> Result<(), FetchError> {
        for (name, (from, _)) in batch {
            if let Some(first) = self.imported_from.get(name) {
                return Err(FetchError::NameClash {
                    at: Box::new(at.clone()),
                    name: name.clone(),
                    first: first.clone(),
                    second: from.clone(),
                });
            }
        }
        Ok(())
    }
}

/// An imported variable of entry `e`.
fn import_var(e: &Entry, name: String, value: String, path: &str, version: Option<u64>) -> Var {
    Var {
        name,
        value: Secret::new(value),
        path: path.to_owned(),
        version,
        default: false,
        mask: e.mask,
        internal: e.internal,
        dynamic: e.dynamic,
    }
}

/// Add `entry` to a folder's batch, or fail naming both secrets that give `name`.
fn clash(
    at: &At,
    batch: &mut BTreeMap<String, (String, Var)>,
    name: String,
    entry: (String, Var),
) -> Result<(), FetchError> {
    if let Some((first, _)) = batch.get(&name) {
        return Err(FetchError::NameClash {
            at: Box::new(at.clone()),
            name,
            first: first.clone(),
            second: entry.0,
        });
    }
    batch.insert(name, entry);
    Ok(())
}

/// The text of `key` in `data`: the key must be there and not null.
fn value(at: &At, data: &Data, key: &str) -> Result<String, FetchError> {
    match data.get(key) {
        Some(raw) => kv::text(raw).ok_or_else(|| FetchError::Null {
            at: Box::new(at.clone()),
            key: key.to_owned(),
        }),
        None => Err(FetchError::MissingKey {
            at: Box::new(at.clone()),
            key: key.to_owned(),
            keys: data.keys().take(20).map(str::to_owned).collect(),
        }),
    }
}
