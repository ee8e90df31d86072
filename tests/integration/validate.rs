//! `kvenv validate`: the manifest checked offline, the plan on stdout, no server contacted.

use crate::server::ClosedPort;
use crate::test::Test;

#[test]
fn prints_the_plan_without_a_server() {
    let nothing_there = ClosedPort::new();
    Test::new()
        .manifest(
            r#"
[vars]
project = "shop"
env = "dev"
[secrets]
FLASK_APP = "kv/{project}/{env}/flask_app"
FLASK_ENV = "kv/{project}/{env}/flask#FLASK_ENV"
SECRET_KEY = { path = "kv/{project}/{env}/secret_key", version = 3 }
SENTRY_DSN = { path = "kv/{project}/{env}/sentry", key = "dsn", optional = true }
LOG = { path = "kv/{project}/{env}/log", default = "info" }
"POSTGRES_*" = "kv/{project}/{env}/postgres"
"#,
        )
        .env("VAULT_ADDR", &nothing_there.addr())
        .env_remove("VAULT_TOKEN")
        .args(["validate", "--var", "env=prod"])
        .stdout(
            "FLASK_APP   kv/shop/prod/flask_app#FLASK_APP
FLASK_ENV   kv/shop/prod/flask#FLASK_ENV
SECRET_KEY  kv/shop/prod/secret_key#SECRET_KEY  (version 3)
SENTRY_DSN  kv/shop/prod/sentry#dsn  (optional)
LOG         kv/shop/prod/log#LOG  (has default)
POSTGRES_*  kv/shop/prod/postgres (every key)
",
        )
        .stderr("kvenv: secrets.toml is valid: 6 entries, 6 secrets, output .env\n")
        .run();
}

#[test]
fn reports_the_first_broken_rule() {
    Test::new()
        .manifest("[secrets]\nOK = \"kv/a\"\n\"BAD NAME\" = \"kv/b\"\n")
        .args(["validate"])
        .status(2)
        .stdout("")
        .stderr("kvenv: error: secrets.toml:3: BAD NAME: not a valid environment variable name (letters, digits and _, not starting with a digit)\n")
        .run();
}

/// `--json`: one object on stdout, nothing else, offline; `output` is where the file goes, as
/// the pre-commit hook needs it (relative to the working directory, `--output` applied).
#[test]
fn json_is_one_object_with_the_output_path() {
    Test::new()
        .write(
            "app/secrets.toml",
            "[vars]\nenv = \"dev\"\n[output]\npath = \"conf/app.env\"\n[secrets]\nA = \"kv/{env}/a#k\"\n\"P_*\" = { path = \"kv/p\", optional = true }\nD = { path = \"kv/d\", default = \"x\", version = 4 }\n",
        )
        .env("VAULT_ADDR", &ClosedPort::new().addr())
        .env_remove("VAULT_TOKEN")
        .args(["validate", "--json", "-m", "app/secrets.toml", "--var", "env=prod"])
        .stdout(concat!(
            r#"{"manifest":"app/secrets.toml","output":"app/conf/app.env","format":"dotenv","entries":["#,
            r#"{"name":"A","kind":"secret","path":"kv/prod/a","key":"k","version":null,"optional":false,"has_default":false,"internal":false},"#,
            r#"{"name":"P_*","kind":"import","path":"kv/p","key":null,"version":null,"optional":true,"has_default":false,"internal":false},"#,
            r#"{"name":"D","kind":"secret","path":"kv/d","key":"D","version":4,"optional":false,"has_default":true,"internal":false}]}"#,
            "\n"
        ))
        .stderr("")
        .run();
    Test::new()
        .manifest("[secrets]\nA = \"kv/a\"\n")
        .args(["validate", "--json", "--output", "/tmp/elsewhere.env", "--format", "json"])
        .stdout(concat!(
            r#"{"manifest":"secrets.toml","output":"/tmp/elsewhere.env","format":"json","entries":["#,
            r#"{"name":"A","kind":"secret","path":"kv/a","key":"A","version":null,"optional":false,"has_default":false,"internal":false}]}"#,
            "\n"
        ))
        .stderr("")
        .run();
}
