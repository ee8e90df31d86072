//! Concurrent runs: twenty `kvenv sync` at once on one output, five times over, in a fresh git
//! checkout each time (so each round races to add the `.gitignore` rule). In the last two rounds
//! the server's value changes while the runs are starting, so they write different contents. A
//! gate in the relay holds every request until all twenty runs have sent theirs, so they all
//! reach the write and the `.gitignore` check at the same moment.
//! Every run must succeed; the file must be one complete version that parses; `.gitignore` must
//! gain exactly one rule, added by exactly one run; no temp file may be left.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::kit::{Figures, HEADER, kvenv, mode, put, tally, temps};
use crate::proxy::Proxy;
use crate::server::server;
use crate::test::Test;

const ROUNDS: usize = 5;
const AT_ONCE: usize = 20;

const ABOUT: &str = "\
Each round starts 20 `kvenv sync` on one output in a fresh git checkout whose `.gitignore` has
400 rules and no rule for `.env`. A gate in the relay holds every request until all twenty runs
have sent theirs, so the runs get their answers, and reach the write and the `.gitignore` check,
at the same moment. In the last two rounds the server's value changes after the tenth run has
started. Every run must succeed; the final file must be one complete version that parses;
`.gitignore` must gain exactly one rule, reported by exactly one run; no temp file may be left.

The `.gitignore` race lies between reading the file to check it and reading it again to append,
a matter of microseconds; threads in one process hit it far more often than processes do, so the
unit test `gitignore::tests::runs_at_once_add_one_rule` (16 threads behind a barrier) checks it
too.
";

#[test]
fn twenty_runs_at_once_write_one_file_and_one_gitignore_rule() {
    let t = Test::new().kv1("kv");
    let (dir, prefix) = (t.dir, t.prefix);
    let values: Vec<(String, String)> = (0..8)
        .map(|i| {
            (
                format!("V{i}"),
                format!("value {i} with \"quotes\" and $dollars"),
            )
        })
        .collect();
    for (name, value) in &values {
        put(&format!("{prefix}/kv/{name}"), json!({ "v": value }));
    }
    let mut manifest = format!("[vault]\nkv_version = {{ \"{prefix}/kv\" = 1 }}\n[secrets]\n");
    for (name, _) in &values {
        manifest.push_str(&format!("{name} = \"{prefix}/kv/{name}#v\"\n"));
    }
    manifest.push_str(&format!("VERSION = \"{prefix}/kv/version#v\"\n"));
    // A long .gitignore (a few hundred rules, as big projects have): the check takes a while.
    let gitignore: String = (0..400).map(|i| format!("/build-{i}/\n")).collect();
    let relay = Proxy::relay(&server().addr)
        .delay(Duration::from_millis(20))
        .start();
    let started = Instant::now();

    let (mut runs, mut codes, mut finals) = (0, Vec::new(), Vec::new());
    let (mut rules_added, mut torn, mut leftover_temps) = (Vec::new(), 0, 0);
    let mut held_at_gate = Vec::new();
    for round in 0..ROUNDS {
        let flip = round >= ROUNDS - 2;
        let root = dir.path().join(format!("round{round}"));
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), &gitignore).unwrap();
        std::fs::write(root.join("secrets.toml"), &manifest).unwrap();
        put(&format!("{prefix}/kv/version"), json!({ "v": "one" }));

        // Every run's requests wait at the gate until all twenty have sent theirs, so the runs
        // get their answers, and reach their writes, at the same moment.
        relay.close();
        let mut children = Vec::new();
        for i in 0..AT_ONCE {
            if flip && i == AT_ONCE / 2 {
                put(&format!("{prefix}/kv/version"), json!({ "v": "two" }));
            }
            children.push(kvenv(&root, &relay.addr, &["sync"]).spawn().unwrap());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while relay.held() < AT_ONCE * 8 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        held_at_gate.push(relay.held());
        relay.open();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        runs += outputs.len();
        for out in &outputs {
            codes.push(out.status.code().unwrap_or(-1));
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let added = outputs
            .iter()
            .filter(|o| String::from_utf8_lossy(&o.stderr).contains("added /.env to .gitignore"))
            .count();
        rules_added.push(added);

        let text = std::fs::read_to_string(root.join(".env")).unwrap();
        let parsed = kvenv::render::dotenv::decode(&text);
        let version = parsed
            .as_ref()
            .ok()
            .and_then(|vars| vars.last())
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut want: Vec<(String, String)> = values.clone();
        want.push(("VERSION".into(), version.clone()));
        let complete = text.starts_with(HEADER)
            && parsed.as_ref().is_ok_and(|vars| *vars == want)
            && (version == "one" || (flip && version == "two"));
        torn += usize::from(!complete);
        finals.push(version);
        assert!(
            complete,
            "round {round}: the final file is not complete:\n{text}"
        );
        assert_eq!(mode(&root.join(".env")), Some(0o600));
        assert_eq!(
            std::fs::read_to_string(root.join(".gitignore")).unwrap(),
            format!("{gitignore}/.env\n"),
            "round {round}"
        );
        assert_eq!(
            added, 1,
            "round {round}: runs that reported adding the rule"
        );
        let left = temps(&root, ".env").len() + temps(&root, ".gitignore").len();
        leftover_temps += left;
        assert_eq!(left, 0, "round {round}: temp files left");
    }

    let mut f = Figures::new("concurrent", "Concurrent runs (`concurrent.rs`)", ABOUT);
    f.add("rounds × runs at once", format!("{ROUNDS} × {AT_ONCE}"));
    f.add("runs", runs);
    f.add("exit codes", tally(codes));
    f.varies(
        "requests held at the gate, then answered at once, per round",
        tally(held_at_gate),
    );
    f.add("final files incomplete or unparsable", torn);
    f.add(
        "final version, rounds without a change mid-start",
        tally(&finals[..ROUNDS - 2]),
    );
    f.varies(
        "final versions, rounds that changed the value mid-start",
        tally(&finals[ROUNDS - 2..]),
    );
    f.add(".gitignore rules added per round", tally(rules_added));
    f.add("temp files left", leftover_temps);
    f.varies(
        "duration",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    f.save();
}
