//! Every way a run can fail: the exit code, one clear line naming the entry, and the previous
//! file left byte-for-byte. The values written to the server contain "CANARY", and the builder
//! checks on every run that no value and no token reaches stdout or stderr.

use serde_json::json;

use crate::proxy::{Fault, Proxy};
use crate::server::{ClosedPort, OwnServer, ROOT_TOKEN, RaftNode, server};
use crate::test::Test;

const OLD: &str = "OLD='previous file, must survive'\n";

/// A test with a KV v1 mount `kv`, a canary secret and an existing .env.
fn with_old_file() -> Test {
    Test::new()
        .kv1("kv")
        .secret(
            "kv/app",
            json!({"A": "CANARY-value-a", "B": "CANARY-value-b"}),
        )
        .write(".env", OLD)
}

#[test]
fn malformed_manifest() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\nB = \n")
        .args(["sync"])
        .status(2)
        .stderr(
            "kvenv: error: secrets.toml:3: string values must be quoted, expected literal string\n",
        )
        .file(".env", OLD)
        .run();
}

#[test]
fn missing_manifest() {
    with_old_file()
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: cannot read manifest secrets.toml: no such file; write one with `kvenv init` (or `kvenv init --from .env`), or name another with -m PATH\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn unknown_field() {
    with_old_file()
        .manifest("[output]\npath = \".env\"\nmod = \"0600\"\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: secrets.toml:3: unknown field `mod`, expected one of `path`, `format`, `readers`, `gitignore`, `mode`, `export`\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn undefined_placeholder() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/{env}/app\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: secrets.toml:2: A: {env} is not defined; add it to [vars] or pass --var env=VALUE\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn no_token() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env_remove("VAULT_TOKEN")
        .args(["sync"])
        .status(3)
        .stderr("kvenv: error: no Vault token: set VAULT_TOKEN (or BAO_TOKEN), or run `bao login` / `vault login` to write ~/.vault-token\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn token_from_the_token_file() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env_remove("VAULT_TOKEN")
        .write(".vault-token", &format!("{ROOT_TOKEN}\n"))
        .args(["sync", "-q"])
        .stderr("")
        .run();
}

#[test]
fn wrong_token() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_TOKEN", "s.CANARYnotavalidtoken000")
        .args(["sync"])
        .status(3)
        .stderr("kvenv: error: Vault refused the token (permission denied, also on auth/token/lookup-self): it is invalid, expired or revoked; get a new one\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn missing_secret() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\nC = \"@/kv/nope\"\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: C (secrets.toml:3): @/kv/nope: no secret there; create it, or mark the entry optional = true\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn missing_key_lists_the_keys_never_the_values() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app#a\"\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/app: no key \"a\" in the secret (its keys: A, B); fix the key, or mark the entry optional = true\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn forbidden_path() {
    let t = with_old_file().secret("kv/other", json!({"X": "CANARY-forbidden"}));
    let prefix = t.prefix.clone();
    let policy = format!("path \"{prefix}/kv/app\" {{ capabilities = [\"read\"] }}");
    server().ok(
        "PUT",
        &format!("sys/policies/acl/{prefix}"),
        Some(json!({"policy": policy})),
    );
    let token = server().ok(
        "POST",
        "auth/token/create",
        Some(json!({"policies": [prefix]})),
    );
    let token = token["auth"]["client_token"].as_str().unwrap().to_owned();
    t.manifest("[secrets]\nA = \"@/kv/app\"\nX = \"@/kv/other\"\n")
        .env("VAULT_TOKEN", &token)
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: X (secrets.toml:3): @/kv/other: permission denied: the token's policies do not allow `read` on @/kv/other; `kvenv policy` prints the policy this manifest needs\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn no_such_mount() {
    with_old_file()
        .manifest("[secrets]\nA = \"@/nomount/app\"\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/nomount/app: permission denied looking up its mount: no such mount, or the token's policies grant nothing under it (if only detection is refused, declare the mount: [vault] kv_version = { \"<mount>\" = 2 })\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn unreachable_server() {
    let closed = ClosedPort::new();
    let addr = closed.addr();
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", &addr)
        .args(["sync"])
        .status(5)
        .stderr(&format!(
            "kvenv: error: cannot reach Vault at {addr}: connection refused\n"
        ))
        .file(".env", OLD)
        .run();
}

#[test]
fn sealed_server() {
    let own = OwnServer::start();
    assert_eq!(own.api("PUT", "sys/seal", json!({})), 204);
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", &own.addr)
        .args(["sync"])
        .status(5)
        .stderr(&format!("kvenv: error: Vault at {} is sealed; unseal it (`bao operator unseal`) and run again\n", own.addr))
        .file(".env", OLD)
        .run();
}

#[test]
fn a_server_that_never_answers_hits_the_deadline() {
    // It reads the request and never answers, holding the connection until kvenv leaves.
    let silent = Proxy::answering(Fault::Silent).start();
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", &silent.addr)
        .args(["sync", "--timeout", "1s"])
        .status(5)
        .stderr(
            "kvenv: error: no answer from Vault within 1s; raise --timeout or check the server\n",
        )
        .file(".env", OLD)
        .run();
    assert!(silent.connections() >= 1, "kvenv never reached the server");
}

#[test]
fn a_value_no_reader_can_carry_is_refused() {
    with_old_file()
        .secret("kv/tpl", json!({"T": "CANARY ${HOME} template"}))
        .manifest("[secrets]\nA = \"@/kv/app\"\nT = \"@/kv/tpl\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: T (from @/kv/tpl): python-dotenv would not read the value back exactly (python-dotenv: it expands ${...} in every value, even in single quotes); if the app loads the file with interpolate=False, declare the reader python-dotenv-raw instead\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn a_value_sh_would_execute_is_refused() {
    with_old_file()
        .secret("kv/cmd", json!({"C": "it's $(CANARY-cmd)"}))
        .manifest("[secrets]\nC = \"@/kv/cmd\"\n")
        .args(["sync"])
        .status(2)
        .stderr_contains("sh: it would run ` and $( as commands")
        .file(".env", OLD)
        .run();
}

#[test]
fn the_output_is_a_directory() {
    with_old_file()
        .manifest("[output]\npath = \"out\"\n[secrets]\nA = \"@/kv/app\"\n")
        .write("out/.keep", "")
        .args(["sync"])
        .status(6)
        .stderr("kvenv: error: cannot write out: is a directory\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn the_output_folder_is_missing() {
    with_old_file()
        .manifest("[output]\npath = \"missing/.env\"\n[secrets]\nA = \"@/kv/app\"\n")
        .args(["sync"])
        .status(6)
        .stderr("kvenv: error: cannot write missing/.env: no such file or directory\n")
        .file(".env", OLD)
        .run();
}

#[test]
fn bad_flags_are_usage_errors() {
    with_old_file()
        .args(["sync", "--concurrency", "0"])
        .status(2)
        .stderr_contains("invalid value '0' for '--concurrency <N>'")
        .file(".env", OLD)
        .run();
    // --format github is export's alone: clap refuses it before anything runs.
    with_old_file()
        .args(["sync", "--format", "github"])
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .status(2)
        .stderr("error: invalid value 'github' for '--format <FORMAT>'\n  [possible values: dotenv, shell, json]\n\nFor more information, try '--help'.\n")
        .file(".env", OLD)
        .run();
}

/// Each command takes only the flags it uses: a flag it would ignore is a usage error.
#[test]
fn a_flag_a_command_would_ignore_is_a_usage_error() {
    for args in [
        &[
            "validate",
            "--address",
            "ftp://x",
            "--timeout",
            "1ms",
            "-o",
            "/etc/passwd",
        ][..],
        &["validate", "--address", "x"],
        &["run", "-o", "x", "--", "true"],
        &["export", "-o", "x"],
        &["policy", "--reader", "sh"],
        &["push", "--format", "json"],
    ] {
        let ran = with_old_file()
            .manifest("[secrets]\nA = \"@/kv/app\"\n")
            .args(args.iter().copied())
            .status(2)
            .stderr_contains("error: unexpected argument")
            .file(".env", OLD)
            .run();
        assert!(!ran.stderr.contains("is valid"), "{}", ran.stderr);
    }
    // `kvenv run env`: the command without `--` gets a tip.
    with_old_file()
        .args(["run", "env"])
        .status(2)
        .stderr_contains(
            "kvenv: tip: give the command after `--`: kvenv run [OPTIONS] -- CMD [ARGS...]\n",
        )
        .run();
}

#[test]
fn help_names_the_token_sources_and_an_example() {
    for args in [&["--help"][..], &["sync", "--help"], &["run", "--help"]] {
        let ran = Test::new()
            .args(args.iter().copied())
            .any_stdout()
            .stderr("")
            .run();
        assert!(
            ran.stdout
                .contains("The token: BAO_TOKEN, then VAULT_TOKEN, then [vault.auth] token")
                && ran.stdout.contains("~/.vault-token"),
            "{}",
            ran.stdout
        );
    }
    let ran = Test::new().args(["--help"]).any_stdout().stderr("").run();
    assert!(
        ran.stdout
            .contains("Example:\n  VAULT_ADDR=https://vault.example.com:8200 kvenv sync")
    );
}

/// A real (non-dev) server with raft storage: uninitialised, then initialised and left sealed.
#[test]
fn a_raft_server_uninitialised_then_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let node = RaftNode::start(dir.path(), "n1");
    let addr = node.addr.clone();
    let http = reqwest::blocking::Client::new();
    let up = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        http.get(format!("{addr}/v1/sys/seal-status"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let sealed_line = format!(
        "kvenv: error: Vault at {addr} is sealed; unseal it (`bao operator unseal`) and run again\n"
    );
    assert!(up, "the raft server did not start");
    let sealed_run = || {
        with_old_file()
            .manifest("[secrets]\nA = \"@/kv/app\"\n")
            .env("VAULT_ADDR", &addr)
            .args(["sync"])
            .status(5)
            .stderr(&sealed_line)
            .file(".env", OLD)
            .run();
    };
    sealed_run();
    let init = http
        .put(format!("{addr}/v1/sys/init"))
        .json(&json!({"secret_shares": 1, "secret_threshold": 1}))
        .send()
        .unwrap();
    assert_eq!(init.status(), 200);
    sealed_run();
}

#[test]
fn a_password_in_the_address_is_never_shown() {
    let addr = server()
        .addr
        .replace("http://", "http://deploy:CANARY-addr-pw@");
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", &addr)
        .canary("CANARY-addr-pw")
        .args(["sync", "-v"])
        .stderr_contains(&format!(
            "HTTP requests to {}",
            server().addr.replace("http://", "http://deploy:***@")
        ))
        .run();
    let closed = ClosedPort::new();
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env(
            "VAULT_ADDR",
            &format!("http://deploy:CANARY-addr-pw@127.0.0.1:{}", closed.port),
        )
        .canary("CANARY-addr-pw")
        .args(["sync"])
        .status(5)
        .stderr(&format!(
            "kvenv: error: cannot reach Vault at http://deploy:***@127.0.0.1:{}: connection refused\n",
            closed.port
        ))
        .file(".env", OLD)
        .run();
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\n")
        .env("VAULT_ADDR", "ftp://deploy:CANARY-addr-pw@127.0.0.1:9")
        .canary("CANARY-addr-pw")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: invalid Vault address \"ftp://deploy:***@127.0.0.1:9\": it must be an http:// or https:// URL with a host\n")
        .run();
}

#[test]
fn messages_say_what_is_wrong_and_what_to_do() {
    let app = || with_old_file().manifest("[secrets]\nA = \"@/kv/app\"\n");
    // An address without a scheme.
    app()
        .env("VAULT_ADDR", "127.0.0.1:8200")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: invalid Vault address \"127.0.0.1:8200\": it has no scheme; write https://127.0.0.1:8200 (or http:// for a server without TLS)\n")
        .file(".env", OLD)
        .run();
    // https:// to a server that speaks plain HTTP.
    app()
        .env("VAULT_ADDR", &server().addr.replace("http://", "https://"))
        .args(["sync"])
        .status(5)
        .stderr_contains("(does the server speak plain HTTP? then write http:// in the address)")
        .file(".env", OLD)
        .run();
    // A namespace no HTTP header can carry.
    app()
        .env("VAULT_NAMESPACE", "team\u{1}a")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: invalid namespace: it has characters an HTTP header cannot carry; check [vault] namespace, [vault.auth] namespace, --namespace or VAULT_NAMESPACE\n")
        .run();
    // A duplicate key is named.
    with_old_file()
        .manifest("[secrets]\nA = \"@/kv/app\"\nB = \"@/kv/app\"\nA = \"@/kv/app#B\"\n")
        .args(["sync"])
        .status(2)
        .stderr("kvenv: error: secrets.toml:4: duplicate key A: each name may appear only once in a table\n")
        .run();
}

#[test]
fn a_pinned_version_keeps_the_data_hint() {
    Test::new()
        .kv2("kv")
        .secret("kv/app", json!({"A": "CANARY-v1"}))
        .manifest("[secrets]\nA = { path = \"@/kv/data/app\", version = 1 }\n")
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: A (secrets.toml:2): @/kv/data/app: version 1 does not exist (did you mean @/kv/app? kvenv adds data/ itself: write @/kv/app, not @/kv/data/app); pin an existing version\n")
        .run();
}

/// A least-privilege CI token, made without the `default` policy, may not look itself up: a
/// 403 on a path it lacks is "forbidden" (exit 4), not "your token is bad" (exit 3).
#[test]
fn a_token_without_the_default_policy_is_forbidden_not_rejected() {
    let t = with_old_file();
    let policy = t.expand("path \"@/kv/app\" { capabilities = [\"read\"] }");
    server().ok(
        "PUT",
        &format!("sys/policies/acl/{}-nodefault", t.prefix),
        Some(json!({ "policy": policy })),
    );
    let token = server().ok(
        "POST",
        "auth/token/create",
        Some(json!({"policies": [format!("{}-nodefault", t.prefix)], "no_default_policy": true, "ttl": "10m"})),
    )["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.manifest("[vault]\nkv_version = { \"@/kv\" = 1 }\n[secrets]\nA = \"@/kv/app\"\nX = \"@/kv/other\"\n")
        .env("VAULT_TOKEN", &token)
        .canary(&token)
        .args(["sync"])
        .status(4)
        .stderr("kvenv: error: X (secrets.toml:5): @/kv/other: permission denied: the token's policies do not allow `read` on @/kv/other; `kvenv policy` prints the policy this manifest needs\n")
        .file(".env", OLD)
        .run();
}
