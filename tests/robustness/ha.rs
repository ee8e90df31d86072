//! HA failover: a real three-node OpenBao raft cluster on loopback (non-dev servers, raft storage
//! in temp dirs), initialised, unsealed and joined by the test. kvenv reads 500 secrets through a
//! standby (behind a relay that slows each request a little, so the run lasts long enough); the
//! active node is killed with SIGKILL when the run is a third of the way through. The run must
//! either complete with every value correct or fail cleanly (exit 5) with the old file intact;
//! runs keep going while the cluster elects a new leader, under the same rule; and a run after
//! the election must succeed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::kit::{Figures, HEADER, kvenv, skipped_when_quick, tally};
use crate::proxy::Proxy;
use crate::server::RaftNode;

const SECRETS: usize = 500;
const OLD: &str = "OLD='the file before the failover'\n";

const ABOUT: &str = "\
The test builds a real three-node OpenBao raft cluster on loopback: non-dev servers, raft
storage in temp folders, `performance_multiplier = 1`; initialised and unsealed by the test,
with two nodes joined through `sys/storage/raft/join`, and autopilot's stabilisation time set to
1 s so the joiners become voters quickly. (A raft node's addresses are in its config, so its
ports are taken free and proven its own once its process listens on them; a cluster that lost a
port to another process is started again.)

kvenv then reads 500 secrets through standby n2, behind a relay that adds 4 ms per request; the
active node is killed with SIGKILL when a third of the requests have gone through. Runs go on
through the survivors during the election, a run through the remaining standby follows it, then
the node kvenv reads from (the new leader, taking quorum with it) is killed a third of the way
into a run, and a last run goes through the last node. Every run must keep one rule: exit 0 with
every value correct, or exit 5 with the old file intact. Which of the two a run gives depends on
timing (OpenBao's standbys serve KV reads themselves, so a run through a standby usually does
not notice the leader's death), so only the rule is kept here.
";

/// The rule every run keeps: exit 0 with every value correct, or exit 5 with the old file
/// intact; counted before each run's own assertion.
#[derive(Default)]
struct Rule {
    runs: usize,
    broken: usize,
}

impl Rule {
    fn count(&mut self, code: i32, file: &str, expected: &str) {
        self.runs += 1;
        let kept = match code {
            0 => file == expected,
            5 => file == OLD,
            _ => false,
        };
        self.broken += usize::from(!kept);
    }
}

/// How many of the secrets `file` holds with their right value.
fn correct_values(file: &str) -> usize {
    (0..SECRETS)
        .filter(|i| file.contains(&format!("\nV{i}='value-{i}'\n")))
        .count()
}

struct Api {
    http: reqwest::blocking::Client,
    token: String,
}

impl Api {
    fn call(&self, node: &RaftNode, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/{path}", node.addr),
            )
            .header("X-Vault-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send() {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    fn ok(&self, node: &RaftNode, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(node, method, path, body);
        assert!(
            (200..300).contains(&status),
            "{} {method} {path}: HTTP {status} {value}",
            node.name
        );
        value
    }
}

/// Poll `check` every 100 ms until it holds or `limit` passes.
fn until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Three nodes, initialised, unsealed and joined, with three voters and serving standbys. `Err`
/// when a node's cluster port turned out to be another process's (a raft node's ports are in its
/// config, so they are taken free and checked once the node opens them): start again.
fn cluster(dir: &Path) -> Result<(Vec<RaftNode>, Api), String> {
    let mut nodes: Vec<RaftNode> = (1..=3)
        .map(|n| RaftNode::start(dir, &format!("n{n}")))
        .collect();
    let mut api = Api {
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        token: String::new(),
    };
    for node in &nodes {
        until(Duration::from_secs(30), "the nodes to listen", || {
            api.call(node, "GET", "sys/seal-status", None).0 == 200
        });
    }

    // Initialise and unseal the first node; let autopilot promote joiners quickly.
    let init = api.ok(
        &nodes[0],
        "PUT",
        "sys/init",
        Some(json!({"secret_shares": 1, "secret_threshold": 1})),
    );
    let key = init["keys_base64"][0].as_str().unwrap().to_owned();
    api.token = init["root_token"].as_str().unwrap().to_owned();
    api.ok(&nodes[0], "PUT", "sys/unseal", Some(json!({ "key": key })));
    nodes[0].check_cluster_port()?;
    until(Duration::from_secs(30), "n1 to become active", || {
        api.call(&nodes[0], "GET", "sys/health", None).0 == 200
    });
    api.ok(
        &nodes[0],
        "POST",
        "sys/storage/raft/autopilot/configuration",
        Some(json!({"server_stabilization_time": "1s", "cleanup_dead_servers": false})),
    );
    let leader_addr = nodes[0].addr.clone();
    for node in &mut nodes[1..] {
        api.ok(
            node,
            "POST",
            "sys/storage/raft/join",
            Some(json!({ "leader_api_addr": leader_addr })),
        );
        api.ok(node, "PUT", "sys/unseal", Some(json!({ "key": key })));
        node.check_cluster_port()?;
    }
    until(Duration::from_secs(60), "three voters", || {
        let (_, c) = api.call(&nodes[0], "GET", "sys/storage/raft/configuration", None);
        c["data"]["config"]["servers"]
            .as_array()
            .is_some_and(|s| s.len() == 3 && s.iter().all(|v| v["voter"] == true))
    });
    for node in &nodes[1..] {
        until(Duration::from_secs(30), "the standbys to serve", || {
            api.call(node, "GET", "sys/health?standbyok=true", None).0 == 200
        });
    }
    Ok((nodes, api))
}

#[test]
fn a_run_through_a_standby_survives_or_fails_cleanly_when_the_leader_dies() {
    if skipped_when_quick("ha", "a three-node raft cluster") {
        return;
    }
    let started = Instant::now();
    let mut rule = Rule::default();
    let dir = tempfile::tempdir().unwrap();
    let mut collisions = Vec::new();
    let (mut nodes, api) = loop {
        match cluster(&dir.path().join(format!("try{}", collisions.len()))) {
            Ok(c) => break c,
            Err(e) if collisions.len() < 2 => collisions.push(e),
            Err(e) => panic!("three clusters lost a port to another process: {collisions:?}, {e}"),
        }
    };
    let cluster_ready = started.elapsed();

    // 500 secrets, written through the active node from a few threads.
    api.ok(
        &nodes[0],
        "POST",
        "sys/mounts/kv",
        Some(json!({"type": "kv", "options": {"version": "1"}})),
    );
    std::thread::scope(|s| {
        for t in 0..8 {
            let (api, node) = (&api, &nodes[0]);
            s.spawn(move || {
                for i in (t..SECRETS).step_by(8) {
                    api.ok(
                        node,
                        "POST",
                        &format!("kv/s{i}"),
                        Some(json!({"v": format!("value-{i}")})),
                    );
                }
            });
        }
    });
    let work = tempfile::tempdir().unwrap();
    let mut manifest = "[vault]\nkv_version = { kv = 1 }\n[secrets]\n".to_owned();
    let mut expected = HEADER.to_owned();
    for i in 0..SECRETS {
        manifest.push_str(&format!("V{i} = \"kv/s{i}#v\"\n"));
        expected.push_str(&format!("V{i}='value-{i}'\n"));
    }
    std::fs::write(work.path().join("secrets.toml"), manifest).unwrap();
    let env_path = work.path().join(".env");
    let root_token = api.token.clone();
    let run = |addr: &str| {
        let mut cmd = kvenv(work.path(), addr, &["sync", "--timeout", "10s"]);
        cmd.env("VAULT_TOKEN", &root_token);
        cmd
    };

    // The run that loses its leader: through standby n2, killing n1 a third of the way in.
    std::fs::write(&env_path, OLD).unwrap();
    // A run through a slow relay to `node`, returned once a third of its requests went through.
    let third_through = |node: &str| {
        let relay = Proxy::relay(node).delay(Duration::from_millis(4)).start();
        let child = run(&relay.addr).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while relay.chunks() < SECRETS / 3 {
            assert!(
                Instant::now() < deadline,
                "the run did not get a third through"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let at = relay.chunks();
        (relay, child, at)
    };
    let (_relay, child, killed_at) = third_through(&nodes[1].addr);
    nodes[0].kill();
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let file = std::fs::read_to_string(&env_path).unwrap();
    rule.count(code, &file, &expected);
    match code {
        0 => assert_eq!(file, expected, "exit 0 with wrong values"),
        5 => assert_eq!(file, OLD, "exit 5 but the old file changed"),
        other => panic!("exit {other}: {stderr}"),
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first = (code, stderr.trim_end().to_owned());

    // Runs during the election (through each survivor), then a retry once there is a leader.
    let mut during = Vec::new();
    let election = Instant::now();
    let mut leader = None;
    while leader.is_none() && election.elapsed() < Duration::from_secs(60) {
        for node in &nodes[1..] {
            std::fs::write(&env_path, OLD).unwrap();
            let out = run(&node.addr).output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            let file = std::fs::read_to_string(&env_path).unwrap();
            rule.count(code, &file, &expected);
            match code {
                0 => assert_eq!(file, expected),
                5 => assert_eq!(file, OLD),
                other => panic!("exit {other}: {}", String::from_utf8_lossy(&out.stderr)),
            }
            during.push(code);
        }
        leader = nodes[1..]
            .iter()
            .find(|n| api.call(n, "GET", "sys/health", None).0 == 200)
            .map(|n| n.name.clone());
        std::thread::sleep(Duration::from_millis(300));
    }
    let elected_after = election.elapsed();
    let leader = leader.expect("no new leader within 60 s");
    let standby = nodes[1..].iter().find(|n| n.name != leader).unwrap();
    std::fs::write(&env_path, OLD).unwrap();
    let retry = run(&standby.addr).output().unwrap();
    let retry_code = retry.status.code().unwrap_or(-1);
    let retry_file = std::fs::read_to_string(&env_path).unwrap();
    rule.count(retry_code, &retry_file, &expected);
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    assert_eq!(std::fs::read_to_string(&env_path).unwrap(), expected);

    // The node kvenv talks to dies mid-run: the new leader, which also takes quorum with it.
    std::fs::write(&env_path, OLD).unwrap();
    let leader_addr = nodes
        .iter()
        .find(|n| n.name == leader)
        .unwrap()
        .addr
        .clone();
    let (_relay2, child, second_killed_at) = third_through(&leader_addr);
    nodes.iter_mut().find(|n| n.name == leader).unwrap().kill();
    let out = child.wait_with_output().unwrap();
    let lost = (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
    );
    rule.count(
        lost.0,
        &std::fs::read_to_string(&env_path).unwrap(),
        &expected,
    );
    match lost.0 {
        0 => assert_eq!(std::fs::read_to_string(&env_path).unwrap(), expected),
        5 => assert_eq!(std::fs::read_to_string(&env_path).unwrap(), OLD),
        other => panic!("exit {other}: {}", lost.1),
    }
    // The last node has no quorum and no leader, yet still serves reads.
    let last = nodes.iter().find(|n| n.alive()).unwrap();
    let (health, _) = api.call(last, "GET", "sys/health", None);
    std::fs::write(&env_path, OLD).unwrap();
    let alone = run(&last.addr).output().unwrap();
    let alone_code = alone.status.code().unwrap_or(-1);
    rule.count(
        alone_code,
        &std::fs::read_to_string(&env_path).unwrap(),
        &expected,
    );
    match alone_code {
        0 => assert_eq!(std::fs::read_to_string(&env_path).unwrap(), expected),
        5 => assert_eq!(std::fs::read_to_string(&env_path).unwrap(), OLD),
        other => panic!("exit {other}: {}", String::from_utf8_lossy(&alone.stderr)),
    }

    let outcome = |code: i32, stderr: &str| {
        if code == 0 {
            format!("exit 0, all {SECRETS} values correct")
        } else {
            format!("exit {code}, old file intact: `{stderr}`")
        }
    };
    let mut f = Figures::new("ha", "HA failover (`ha.rs`)", ABOUT);
    f.add(
        "cluster",
        format!(
            "{} OpenBao raft nodes on loopback, initialised, unsealed and joined",
            nodes.len()
        ),
    );
    f.varies(
        "cluster ready after",
        format!("{:.1} s", cluster_ready.as_secs_f64()),
    );
    f.varies(
        "clusters started again (a port lost to another process)",
        collisions.len(),
    );
    f.add("secrets per run", SECRETS);
    f.varies(
        "active node killed (SIGKILL) after",
        format!("{killed_at} of {SECRETS} requests through standby n2"),
    );
    f.varies("that run", outcome(first.0, &first.1));
    f.varies(
        "runs through the survivors during the election",
        tally(during),
    );
    f.varies(
        "new leader",
        format!(
            "{leader}, {:.1} s after the kill",
            elected_after.as_secs_f64()
        ),
    );
    f.add(
        "retry through the remaining standby once there is a leader",
        format!(
            "exit {retry_code}, {} of {SECRETS} values correct",
            correct_values(&retry_file)
        ),
    );
    f.varies(
        "then the node kvenv reads from (the new leader) killed after",
        format!("{second_killed_at} of {SECRETS} requests"),
    );
    f.varies("that second run", outcome(lost.0, &lost.1));
    f.varies(
        "a run through the last node (no quorum)",
        format!(
            "sys/health answers {health}; {}",
            if alone_code == 0 {
                format!("exit 0, all {SECRETS} values correct (stale reads possible)")
            } else {
                format!("exit {alone_code}, old file intact")
            }
        ),
    );
    f.varies("runs checked against the rule", rule.runs);
    f.add(
        "runs that broke the rule (neither exit 0 with every value correct nor exit 5 with the old file intact)",
        rule.broken,
    );
    f.varies(
        "duration",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    f.save();
}
