//! Dynamic database credentials, end to end: OpenBao's PostgreSQL engine against a real
//! PostgreSQL server; leases taken once, renewed, replaced at their max TTL, and revoked.

use std::time::Duration;

use serde_json::json;

use crate::postgres::{ADMIN, ADMIN_PASSWORD, postgres};
use crate::server::server;
use crate::test::Test;

const LONG: Duration = Duration::from_secs(30);

/// The README's example, its path moved under the test's prefix.
fn manifest() -> String {
    crate::readme::snippet("dynamic").replace("\"database/", "\"@/database/")
}

/// A database engine at `@/database` whose role `app` makes PostgreSQL users named
/// `<returned prefix>…`, living `ttl` (renewable up to `max_ttl`).
fn database(ttl: &str, max_ttl: &str) -> (Test, String) {
    let pg = postgres();
    let t = Test::new();
    let mount = t.expand("@/database");
    let users = format!("kv_{}_", t.prefix.replace('-', "_"));
    server().ok(
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "database"})),
    );
    server().ok(
        "POST",
        &format!("{mount}/config/pg"),
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": pg.connection_url(),
            "username": ADMIN,
            "password": ADMIN_PASSWORD,
            "allowed_roles": ["app"],
            "username_template": format!("{users}{{{{random 8 | lowercase}}}}"),
        })),
    );
    server().ok(
        "POST",
        &format!("{mount}/roles/app"),
        Some(json!({
            "db_name": "pg",
            "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"],
            "default_ttl": ttl,
            "max_ttl": max_ttl,
        })),
    );
    let t = t
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", &pg.port.to_string())
        .env("PGDATABASE", "postgres")
        .env("PGCONNECT_TIMEOUT", "5");
    (t, users)
}

/// The live leases under `@/database/creds/app` (their ids: credentials of the test's own).
fn leases(prefix: &str) -> Vec<String> {
    let (status, body) = server().api(
        "LIST",
        &format!("sys/leases/lookup/{prefix}/database/creds/app/"),
        None,
    );
    if status == 404 {
        return Vec::new();
    }
    body["data"]["keys"]
        .as_array()
        .map(|k| k.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn run_logs_in_with_one_lease_and_revokes_it_when_the_command_ends() {
    let (t, users) = database("1m", "10m");
    let psql = postgres().psql_path();
    let ran = t
        .manifest(&manifest())
        .args([
            "run",
            "-v",
            "--",
            psql.to_str().unwrap(),
            "-Atc",
            "select current_user",
        ])
        .any_stdout()
        .values_on_stdout()
        // Two variables, one request: the user and the password come from one lease.
        .reads(&["@/database/creds/app"])
        .stderr_contains("kvenv: revoked the lease of @/database/creds/app\n")
        .run();
    assert!(ran.stdout.starts_with(&users), "{}", ran.stdout);
    // The command ended: the lease is revoked, and PostgreSQL dropped the user.
    assert_eq!(postgres().roles(&users), Vec::<String>::new());
    assert_eq!(leases(&ran.prefix), Vec::<String>::new());
}

#[test]
fn the_printed_policy_is_enough_to_read_renew_and_revoke() {
    let (t, users) = database("1m", "10m");
    let ran = t.manifest(&manifest()).args(["policy"]).any_stdout().run();
    let policy = ran.stdout.clone();
    for rule in [
        "database/creds/app\" {\n  capabilities = [\"read\"]",
        "path \"sys/leases/renew\" {\n  capabilities = [\"update\"]",
        "path \"sys/leases/revoke\" {\n  capabilities = [\"update\"]",
    ] {
        assert!(policy.contains(rule), "{policy}");
    }
    let name = format!("{}-db", ran.prefix);
    server().policy(&name, &policy);
    let token =
        server().token(json!({"policies": [name], "no_default_policy": true, "ttl": "10m"}));
    let psql = postgres().psql_path();
    let ran = ran
        .again()
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", &postgres().port.to_string())
        .env("PGDATABASE", "postgres")
        .env("VAULT_TOKEN", &token)
        .canary(&token)
        .args(["run", "--", psql.to_str().unwrap(), "-Atc", "select 1"])
        .stdout("1\n")
        .run();
    assert_eq!(postgres().roles(&users), Vec::<String>::new());
    assert_eq!(leases(&ran.prefix), Vec::<String>::new());
}

#[test]
fn with_watch_the_lease_is_renewed_then_replaced_at_its_max_ttl() {
    let (t, users) = database("2s", "7s");
    let psql = postgres().psql_path();
    // Every 0.3 s: the time and who PostgreSQL says we are (or the error).
    let script = format!(
        "while :; do echo \"$(date +%s.%N) $({} -Atc 'select current_user' 2>&1)\" >> seen; sleep 0.3; done",
        psql.display()
    );
    let mut running = t
        .manifest(&manifest())
        .args([
            "run",
            "-v",
            "--watch",
            "--interval",
            "30s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .spawn();
    running.wait_for("PGUSER, PGPASSWORD changed: restarting sh", 1, LONG);
    running.wait_until("the new user at work", LONG, || {
        logins(&running.read("seen"), &users).len() >= 2
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 143, "{stderr}");
    let seen = running.read("seen");
    let users_seen = logins(&seen, &users);
    let (first, second) = (&users_seen[0], &users_seen[1]);
    assert_ne!(first.0, second.0, "{seen}");
    // The first user kept working well past its 2 s TTL: the lease was renewed.
    assert!(first.2 - first.1 > 3.0, "{seen}");
    // Every login worked: no line is an error.
    assert!(seen.lines().all(|l| l.contains(&users)), "{seen}");
    // Both leases are gone: the replaced one at the restart, the other when the command ended.
    assert_eq!(postgres().roles(&users), Vec::<String>::new());
    assert_eq!(leases(&running.prefix), Vec::<String>::new());
    assert!(stderr.contains("revoked the lease of"), "{stderr}");
}

/// Each user seen in `seen`, in order, with the times of its first and last login.
fn logins(seen: &str, users: &str) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for line in seen.lines() {
        let Some((time, who)) = line.split_once(' ') else {
            continue;
        };
        let (Ok(time), true) = (time.parse::<f64>(), who.starts_with(users)) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.0 == who => last.2 = time,
            _ => out.push((who.to_owned(), time, time)),
        }
    }
    out
}

#[test]
fn sync_keeps_the_credentials_and_the_login_that_holds_them() {
    let (t, users) = database("1m", "10m");
    let prefix = t.prefix.clone();
    // An AppRole login whose token the run would revoke, were the leases not hanging on it.
    let approle = format!("{prefix}-approle");
    server().policy(
        &approle,
        &format!(
            "path \"{prefix}/database/creds/app\" {{ capabilities = [\"read\"] }}\npath \"sys/leases/*\" {{ capabilities = [\"update\"] }}\n"
        ),
    );
    let (role_id, secret_id) = server().approle(
        &approle,
        json!({"token_policies": [approle], "token_ttl": "10m"}),
    );
    let manifest = format!(
        "[vault.auth]\nmethod = \"approle\"\nmount = \"{approle}\"\nrole_id = {{ env = \"ROLE_ID\" }}\nsecret_id = {{ env = \"SECRET_ID\" }}\n{}",
        manifest()
    );
    let ran = t
        .manifest(&manifest)
        .env_remove("VAULT_TOKEN")
        .env("ROLE_ID", &role_id)
        .env("SECRET_ID", &secret_id)
        .canary(&secret_id)
        .args(["sync", "-v"])
        .stderr_contains("kvenv: the credentials from @/database/creds/app expire in 1m unless renewed")
        .stderr_contains("kvenv: kept the login token: revoking it would end the leases of the credentials written\n")
        .run();
    let live = leases(&prefix);
    assert_eq!(live.len(), 1, "{live:?}");
    // A lease id is a credential: not even -v shows it.
    assert!(!ran.stderr.contains(&live[0]), "{}", ran.stderr);
    // The file's credentials work after kvenv has gone.
    let file = crate::seed::python_dotenv(&ran.path(".env"));
    let out = postgres()
        .psql()
        .env("PGUSER", file["PGUSER"].as_str().unwrap())
        .env("PGPASSWORD", file["PGPASSWORD"].as_str().unwrap())
        .args(["-Atc", "select current_user"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        file["PGUSER"].as_str().unwrap(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `check` reads new credentials to learn the names, does not compare their values, and
    // revokes its lease: the file is up to date, and one lease stays live.
    let ran = ran
        .again()
        .env_remove("VAULT_TOKEN")
        .env("ROLE_ID", &role_id)
        .env("SECRET_ID", &secret_id)
        .args(["check"])
        .stderr("kvenv: .env is up to date\n")
        .run();
    assert_eq!(leases(&ran.prefix), live);
    assert_eq!(postgres().roles(&users).len(), 1);
}

#[test]
fn sync_watch_rewrites_the_file_with_new_credentials_at_max_ttl() {
    let (t, users) = database("2s", "5s");
    let mut running = t
        .manifest(&manifest())
        .args([
            "sync",
            "-v",
            "--watch",
            "--interval",
            "30s",
            "--exec",
            "echo ran >> exec.log",
        ])
        .spawn();
    running.wait_until("the first write", LONG, || {
        running.read(".env").contains(&users)
    });
    let first = running.read(".env");
    running.wait_until("the rewrite", LONG, || {
        let now = running.read(".env");
        now.contains(&users) && now != first
    });
    running.wait_until("the second exec", LONG, || {
        running.read("exec.log") == "ran\nran\n"
    });
    // The replaced credentials are revoked; the ones in the file stay when kvenv stops.
    running.wait_until("the old user dropped", LONG, || {
        postgres().roles(&users).len() == 1
    });
    running.signal(libc::SIGTERM);
    let (code, stderr) = running.finish(LONG);
    assert_eq!(code, 0, "{stderr}");
    let file = crate::seed::python_dotenv(&running.path(".env"));
    assert_eq!(
        postgres().roles(&users),
        [file["PGUSER"].as_str().unwrap().to_owned()]
    );
    assert_eq!(leases(&running.prefix).len(), 1);
}

/// A server that quotes the lease id back in an error: the id is a credential, and kvenv shows
/// the message without it.
#[test]
fn a_lease_id_quoted_by_the_server_is_not_shown() {
    use crate::proxy::{Fault, Proxy};
    let lease = "database/creds/app/CANARYleaseid0123456789";
    let creds = json!({"lease_id": lease, "renewable": true, "lease_duration": 3600,
        "data": {"username": "CANARY-user", "password": "CANARY-password"}})
    .to_string();
    let refused = json!({"errors": [format!("lease {lease} could not be revoked")]}).to_string();
    let proxy = Proxy::answering(Fault::answer(500, "", "{}"))
        .faults(vec![
            Fault::answer(200, "", &creds),
            Fault::answer(200, "", r#"{"data":{"ttl":0,"renewable":false}}"#),
            Fault::answer(400, "", &refused),
        ])
        .start();
    let ran = Test::new()
        .env("VAULT_ADDR", &proxy.addr)
        .manifest("[secrets]\nPGUSER = { read = \"database/creds/app\", key = \"username\" }\n")
        .canary(lease)
        .canary("CANARYleaseid0123456789")
        .canary("CANARY-user")
        .args(["run", "-v", "--", "true"])
        .stderr_contains("kvenv: warning: could not revoke the lease of database/creds/app: Vault answered HTTP 400: lease <lease id> could not be revoked\n")
        .run();
    assert!(!ran.stderr.contains("CANARYlease"), "{}", ran.stderr);
}
