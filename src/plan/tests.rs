//! The plan's rules, one manifest at a time.

use super::*;

fn plan(text: &str) -> Result<Plan, String> {
    plan_with(text, &Overrides::default())
}

fn plan_with(text: &str, o: &Overrides) -> Result<Plan, String> {
    let src = Source::new("secrets.toml", text);
    let m = src.parse().map_err(|e| e.to_string())?;
    Plan::build(&src, m, o).map_err(|e| e.to_string())
}

#[test]
fn the_three_forms_and_imports() {
    let p = plan(
        r#"
[vars]
project = "app"
env = "dev"
[secrets]
FLASK_APP = "kv/{project}/{env}/flask_app"
FLASK_ENV = "kv/{project}/{env}/flask_environment#FLASK_ENV"
SECRET_KEY = { path = "kv/{project}/{env}/secret_key", key = "SECRET_KEY", version = 3 }
SENTRY_DSN = { path = "kv/{project}/{env}/sentry", key = "dsn", optional = true }
LOG = { path = "kv/x", default = "info" }
"POSTGRES_*" = "kv/{project}/{env}/postgres"
"#,
    )
    .unwrap();
    let e = &p.entries;
    assert_eq!(
        e[0].target,
        Target::Var {
            name: "FLASK_APP".into(),
            key: "FLASK_APP".into()
        }
    );
    assert_eq!(e[0].path, "kv/app/dev/flask_app");
    assert_eq!(e[0].location, "secrets.toml:6");
    assert_eq!(
        e[1].target,
        Target::Var {
            name: "FLASK_ENV".into(),
            key: "FLASK_ENV".into()
        }
    );
    assert_eq!(e[2].version, Some(3));
    assert_eq!(e[3].missing, OnMissing::Skip);
    assert_eq!(e[4].missing, OnMissing::Default("info".into()));
    assert_eq!(
        e[5].target,
        Target::Import {
            prefix: "POSTGRES_".into()
        }
    );
    assert_eq!(p.output.path, PathBuf::from(".env"));
    assert_eq!(p.output.mode, 0o600);
    assert!(p.output.gitignore);
}

#[test]
fn rule_violations_name_line_and_entry() {
    let cases = [
        (
            "[secrets]\n\"1BAD\" = \"kv/a\"\n",
            "secrets.toml:2: 1BAD: not a valid environment variable name",
        ),
        (
            "[secrets]\n\"A-B\" = \"kv/a\"\n",
            "secrets.toml:2: A-B: not a valid",
        ),
        (
            "[secrets]\nA = \"kv/{nope}/a\"\n",
            "secrets.toml:2: A: {nope} is not defined; add it to [vars] or pass --var nope=VALUE",
        ),
        (
            "[secrets]\nA = \"kv/{a/b\"\n",
            "secrets.toml:2: A: unclosed '{'",
        ),
        (
            "[secrets]\nA = \"kv/../b\"\n",
            "secrets.toml:2: A: path \"kv/../b\": the segment \"..\" is not allowed",
        ),
        (
            "[secrets]\nA = \"kv\"\n",
            "secrets.toml:2: A: path \"kv\" names only a mount",
        ),
        (
            "[secrets]\nA = { path = \"kv/a\", version = 0 }\n",
            "secrets.toml:2: A: version must be an integer of 1 or more",
        ),
        (
            "[secrets]\nA = { path = \"kv/a\", versoin = 2 }\n",
            "secrets.toml:2: A: unknown field `versoin`",
        ),
        (
            "[secrets]\nA = { key = \"x\" }\n",
            "secrets.toml:2: A: the table form needs `path`",
        ),
        (
            "[secrets]\nA = { path = \"kv/a\", optional = true, default = \"x\" }\n",
            "secrets.toml:2: A: use either",
        ),
        (
            "[secrets]\n\"P_*\" = \"kv/a#k\"\n",
            "secrets.toml:2: P_*: an import (NAME_*) takes every key",
        ),
        (
            "[secrets]\n\"9_*\" = \"kv/a\"\n",
            "secrets.toml:2: 9_*: an import prefix",
        ),
        (
            "[secrets]\nA = 3\n",
            "secrets.toml:2: A: must be a path string",
        ),
        (
            "[secrets]\nA = \"kv/a#\"\n",
            "secrets.toml:2: A: the key after '#' is empty",
        ),
        (
            "[vault]\nkv_version = { kv = 3 }\n",
            "secrets.toml:2: kv_version for mount \"kv\" is 3",
        ),
        (
            "[vault]\nkv_version = { kv = 1 }\n[secrets]\nA = { path = \"kv/a\", version = 2 }\n",
            "secrets.toml:4: A: version pins need a KV v2 mount",
        ),
        (
            "[output]\npath = \"/etc/passwd\"\n",
            "secrets.toml:2: output path \"/etc/passwd\" must be a file path inside",
        ),
        (
            "[output]\npath = \"../.env\"\n",
            "secrets.toml:2: output path \"../.env\"",
        ),
        (
            "[output]\nmode = \"0999\"\n",
            "secrets.toml:2: mode \"0999\" is not",
        ),
        (
            "[output]\nmode = \"0400\"\n",
            "secrets.toml:2: mode \"0400\" is not",
        ),
        (
            "[output]\nformat = \"yaml\"\n",
            "secrets.toml:2: format \"yaml\" is not one of",
        ),
        (
            "[output]\nreaders = [\"perl\"]\n",
            "secrets.toml:2: unknown reader \"perl\"",
        ),
        (
            "[vault.auth]\nmethod = \"approle\"\n",
            "secrets.toml:1: [vault.auth] method \"approle\" needs `role_id`",
        ),
        (
            "[vault.auth]\nmethod = \"token\"\nrole = \"x\"\n",
            "secrets.toml:1: [vault.auth] field `role` does not apply",
        ),
        (
            "[vars]\n\"a-b\" = \"x\"\n",
            "secrets.toml:2: [vars] name \"a-b\"",
        ),
    ];
    for (text, want) in cases {
        let got = plan(text).unwrap_err();
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
        assert!(!got.contains('\n'), "{got}");
    }
}

#[test]
fn vars_from_the_command_line() {
    let text = "[vars]\nenv = \"dev\"\n[secrets]\nA = \"kv/{env}/{region}/a\"\n";
    let o = Overrides {
        vars: vec![
            ("env".into(), "prod".into()),
            ("region".into(), "eu".into()),
        ],
        ..Default::default()
    };
    assert_eq!(plan_with(text, &o).unwrap().entries[0].path, "kv/prod/eu/a");
    let o = Overrides {
        vars: vec![
            ("evn".into(), "prod".into()),
            ("region".into(), "eu".into()),
        ],
        ..Default::default()
    };
    let err = plan_with(text, &o).unwrap_err();
    assert!(
        err.contains("--var evn: the manifest has no {evn} placeholder"),
        "{err}"
    );
}

#[test]
fn substitution_does_not_recurse() {
    let vars = BTreeMap::from([
        ("a".to_string(), "{b}".to_string()),
        ("b".into(), "x".into()),
    ]);
    assert_eq!(substitute("kv/{a}", &vars, &mut vec![]).unwrap(), "kv/{b}");
}

#[test]
fn paths_are_normalised() {
    assert_eq!(normalize_path("/kv//app/db/").unwrap(), "kv/app/db");
    assert!(normalize_path("kv/./a").is_err());
    assert!(normalize_path("kv/a\nb").is_err());
    assert!(normalize_path("///").is_err());
}

#[test]
fn declared_mounts_match_by_longest_prefix() {
    let p = plan("[vault]\nkv_version = { \"team\" = 1, \"team/apps/kv\" = 2 }\n").unwrap();
    let m = declared_mount(&p.vault.mounts, "team/apps/kv/svc/db").unwrap();
    assert_eq!(m.path, "team/apps/kv/");
    assert_eq!(m.version, KvVersion::V2);
    assert_eq!(
        declared_mount(&p.vault.mounts, "team/other").unwrap().path,
        "team/"
    );
    assert!(declared_mount(&p.vault.mounts, "teams/x").is_none());
}

#[test]
fn identifiers() {
    assert!(is_identifier("_A1"));
    assert!(!is_identifier("1A"));
    assert!(!is_identifier(""));
    assert!(!is_identifier("A=B"));
    assert!(!is_identifier("É"));
}

#[test]
fn folder_and_template_forms() {
    let p = plan(
        "[secrets]\n\"*\" = \"kv/{env}/\"\n\"CFG_*\" = { path = \"kv/cfg/\", recursive = true, names = \"secrets\", key = \"v\", max = 9, optional = true }\n\"ALL_*\" = \"kv/\"\nURL = { template = \"${A}\", internal = true, mask = false }\nA = \"kv/a\"\n[vars]\nenv = \"dev\"\n",
    )
    .unwrap();
    let e = &p.entries;
    assert_eq!(
        e[0].target,
        Target::Folder(Folder {
            prefix: String::new(),
            recursive: false,
            names: FolderNames::Keys,
            max: DEFAULT_MAX
        })
    );
    assert_eq!(e[0].path, "kv/dev");
    assert_eq!(
        e[1].target,
        Target::Folder(Folder {
            prefix: "CFG_".into(),
            recursive: true,
            names: FolderNames::Secrets {
                key: Some("v".into())
            },
            max: 9
        })
    );
    assert_eq!(e[1].missing, OnMissing::Skip);
    // A whole mount is a folder too.
    assert_eq!(e[2].path, "kv");
    assert!(matches!(&e[3].target, Target::Template { name, .. } if name == "URL"));
    assert!(e[3].internal && !e[3].mask && e[3].path.is_empty() && !e[3].reads());

    for (text, want) in [
        (
            "[secrets]\nA = \"kv/app/\"\n",
            "secrets.toml:2: A: path \"kv/app/\" ends in /, so it names a folder",
        ),
        (
            "[secrets]\n\"P_*\" = { path = \"kv/app/\", version = 2 }\n",
            "secrets.toml:2: P_*: a folder import takes the latest version",
        ),
        (
            "[secrets]\n\"P_*\" = { path = \"kv/app/\", names = \"vars\" }\n",
            "secrets.toml:2: P_*: names = \"vars\" is not",
        ),
        (
            "[secrets]\n\"P_*\" = { path = \"kv/app/\", key = \"k\" }\n",
            "secrets.toml:2: P_*: names = \"keys\" takes every key",
        ),
        (
            "[secrets]\nA = { path = \"kv/app\", recursive = true }\n",
            "secrets.toml:2: A: `recursive` is for a folder import",
        ),
        (
            "[secrets]\n\"P_*\" = { path = \"kv/app/\", max = 0 }\n",
            "secrets.toml:2: P_*: max must be an integer of 1 or more",
        ),
        (
            "[secrets]\n\"GIT_*\" = \"kv/app/\"\n",
            "secrets.toml:2: GIT_*: an import may not set GIT_* variables",
        ),
        (
            "[secrets]\nA = { template = \"x\", path = \"kv/a\" }\n",
            "secrets.toml:2: A: a template takes no path",
        ),
        (
            "[secrets]\n\"A_*\" = { template = \"x\" }\n",
            "secrets.toml:2: A_*: a template makes one variable",
        ),
        (
            "[secrets]\nA = { template = \"${B|b64}\" }\nB = \"kv/b\"\n",
            "secrets.toml:2: A: ${B|b64}: the only filter is url",
        ),
    ] {
        let got = plan(text).unwrap_err();
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
}

#[test]
fn dynamic_read_forms() {
    let p = plan(
        "[secrets]\nPGUSER = { read = \"database/creds/{role}\", key = \"username\" }\nPASS = { read = \"database/creds/{role}\", optional = true }\n\"PG_*\" = { read = \"database/creds/{role}\" }\nA = \"kv/a\"\n[vars]\nrole = \"app\"\n",
    )
    .unwrap();
    let e = &p.entries;
    assert!(e[0].dynamic && e[1].dynamic && e[2].dynamic && !e[3].dynamic);
    assert_eq!(e[0].path, "database/creds/app");
    assert_eq!(
        e[0].target,
        Target::Var {
            name: "PGUSER".into(),
            key: "username".into()
        }
    );
    // The key defaults to the variable's name, as for KV.
    assert_eq!(
        e[1].target,
        Target::Var {
            name: "PASS".into(),
            key: "PASS".into()
        }
    );
    assert_eq!(
        e[2].target,
        Target::Import {
            prefix: "PG_".into()
        }
    );
    assert!(e[0].reads() && !e[0].reads_kv() && e[3].reads_kv());

    for (text, want) in [
        (
            "[secrets]\nA = { read = \"database/creds/app\", path = \"kv/a\" }\n",
            "secrets.toml:2: A: `read` names a path of any secrets engine",
        ),
        (
            "[secrets]\nA = { read = \"database/creds/app\", version = 2 }\n",
            "secrets.toml:2: A: `read` names a path of any secrets engine",
        ),
        (
            "[secrets]\nA = { read = \"database/creds/\" }\n",
            "secrets.toml:2: A: read \"database/creds/\" ends in /",
        ),
        (
            "[secrets]\nA = { read = \"database/../sys/x\" }\n",
            "secrets.toml:2: A: read \"database/../sys/x\":",
        ),
        (
            "[secrets]\nA = { read = \"db/creds/app\", recursive = true }\n",
            "secrets.toml:2: A: `recursive` is for a folder import",
        ),
        (
            "[secrets]\nA = { template = \"x\", read = \"db/creds/app\" }\n",
            "secrets.toml:2: A: a template takes no path, read",
        ),
        (
            "[secrets]\nA = { read = 3 }\n",
            "secrets.toml:2: A: `read` must be a string",
        ),
    ] {
        let got = plan(text).unwrap_err();
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
}
