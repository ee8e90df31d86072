//! Crash safety: `kvenv sync` killed with SIGKILL at random points, hundreds of times.
//!
//! The secrets come through a slow relay (each request waits), so a run spends most of its time
//! fetching; and the file is about 1 MB, so the write takes a while too. Half the kills fall at a
//! random moment of the run, the other half a random few hundred microseconds after inotify shows
//! the run's temp file appearing, which puts them inside the write itself. Every run changes the
//! file (the server flips between two versions), and after every kill the output must be exactly
//! the complete old or the complete new content, mode 0600; at most one leftover temp file may
//! exist (each run that reaches its write removes the earlier ones), and every twelfth run is
//! left alone and must succeed and leave no temp file at all.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::kit::{Figures, HEADER, Watch, kvenv, mode, put, skipped_when_quick, tally, temps};
use crate::proxy::Proxy;
use crate::rng::Rng;
use crate::server::server;
use crate::test::Test;

const RUNS: usize = 240;
const BIG: usize = 4;
const BIG_LEN: usize = 256 * 1024;
const RELAY_DELAY: Duration = Duration::from_millis(25);

const ABOUT: &str = "\
The manifest reads five secrets (four of 256 KiB, so the file is about 1 MB and the write takes
a while) through a relay that delays every request by 25 ms. Each run changes the file (the
server flips between two versions). Half the kills fall at a random moment between 0 and the
median time at which an undisturbed run creates its temp file (+10 ms); the other half fall
0-1.5 ms after inotify shows the run's temp file appearing, so they land inside the write. Every
twelfth run is left alone and must succeed and leave no temp file. After every kill the output
must be byte for byte the old or the new content, mode 0600, with at most one temp file present;
each kill's leftover temp file must be removed by a later run; and at least 20 kills must land
inside the write. A kill that finds the run already finished still counts: that run had to exit
0.
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Landed {
    StartUp,
    Fetch,
    Write,
    AfterRename,
    FinishedFirst,
}

impl std::fmt::Display for Landed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Landed::StartUp => "start-up (no request through yet)",
            Landed::Fetch => "fetch or render (requests made, no temp file yet)",
            Landed::Write => "write (temp file made, not renamed)",
            Landed::AfterRename => "after the rename",
            Landed::FinishedFirst => "none: the run had finished",
        })
    }
}

#[test]
fn sigkill_at_random_points_never_tears_the_file() {
    if skipped_when_quick("crash", "240 runs, 220 of them killed") {
        return;
    }
    let t = Test::new().kv1("kv");
    let (dir, prefix) = (t.dir, t.prefix);
    let root = dir.path();
    let mut manifest = format!("[vault]\nkv_version = {{ \"{prefix}/kv\" = 1 }}\n[secrets]\n");
    for i in 0..BIG {
        // Distinct, printable, single-quote-safe values: 'a'..'z' and digits.
        let value: String = (0..BIG_LEN)
            .map(|j| (b'a' + ((i * 7 + j * 13) % 26) as u8) as char)
            .collect();
        put(&format!("{prefix}/kv/big{i}"), json!({ "v": value }));
        manifest.push_str(&format!("BIG{i} = \"{prefix}/kv/big{i}#v\"\n"));
    }
    manifest.push_str(&format!("VERSION = \"{prefix}/kv/version#v\"\n"));
    std::fs::write(root.join("secrets.toml"), manifest).unwrap();

    let relay = Proxy::relay(&server().addr).delay(RELAY_DELAY).start();
    let sync = || kvenv(root, &relay.addr, &["sync", "-q"]);
    let env_path = root.join(".env");
    let set_version = |v: &str| put(&format!("{prefix}/kv/version"), json!({ "v": v }));

    // The two complete contents, and how long an undisturbed run takes to reach its write
    // (the median of six runs).
    let watch = Watch::new(root);
    let is_temp = |n: &str| n.starts_with("..env.kvenv-") && n.ends_with(".tmp");
    let mut contents = Vec::new();
    let mut to_write = Vec::new();
    let (mut calibration, mut looped) = (0, 0);
    for round in 0..6 {
        calibration += 1;
        let v = ["one", "two"][round % 2];
        set_version(v);
        let started = Instant::now();
        let child = sync().spawn().unwrap();
        assert!(watch.wait_for(Duration::from_secs(10), is_temp).is_some());
        to_write.push(started.elapsed());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read(&env_path).unwrap();
        assert!(text.starts_with(HEADER.as_bytes()));
        assert!(text.ends_with(format!("VERSION='{v}'\n").as_bytes()));
        if round < 2 {
            contents.push(text);
        } else {
            assert_eq!(text, contents[round % 2]);
        }
    }
    to_write.sort();
    let to_write = to_write[3];

    let mut rng = Rng::new("crash");
    let seed = rng.seed();
    let mut landed = Vec::new();
    let (mut torn, mut missing, mut bad_mode, mut left_temp, mut max_temps) = (0, 0, 0, 0, 0);
    let (mut undisturbed, mut undisturbed_clean, mut kills, mut swept) = (0, 0, 0, 0);
    let mut crowded = 0;
    let started = Instant::now();
    for i in 0..RUNS {
        looped += 1;
        let old = std::fs::read(&env_path).unwrap();
        let new_index = usize::from(old == contents[0]);
        set_version(["one", "two"][new_index]);
        let new = &contents[new_index];

        let temps_before = temps(root, ".env");
        if i % 12 == 11 {
            let out = sync().output().unwrap();
            undisturbed += 1;
            undisturbed_clean += usize::from(
                out.status.success()
                    && std::fs::read(&env_path).ok().as_ref() == Some(new)
                    && temps(root, ".env").is_empty(),
            );
            assert!(
                out.status.success(),
                "run {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(&std::fs::read(&env_path).unwrap(), new, "run {i}");
            assert_eq!(
                temps(root, ".env"),
                Vec::<std::path::PathBuf>::new(),
                "run {i}"
            );
            swept += temps_before.len();
            continue;
        }

        watch.drain();
        let chunks_before = relay.chunks();
        let mut saw_temp = false;
        let mut child = sync().spawn().unwrap();
        if i % 2 == 0 {
            let delay = Duration::from_micros(rng.below(to_write.as_micros() as u64 + 10_000));
            watch.wait_for(delay, |n| {
                saw_temp |= is_temp(n);
                false
            });
        } else {
            saw_temp = watch
                .wait_for(Duration::from_secs(10), |n| is_temp(n))
                .is_some();
            assert!(saw_temp, "run {i}: no temp file appeared");
            let spin = Duration::from_micros(rng.below(1500));
            let t0 = Instant::now();
            while t0.elapsed() < spin {
                std::hint::spin_loop();
            }
        }
        let reached_network = relay.chunks() > chunks_before;
        let _ = child.kill();
        let status = child.wait().unwrap();
        kills += 1;

        let now = std::fs::read(&env_path);
        let leftovers = temps(root, ".env");
        for tmp in &leftovers {
            assert_eq!(mode(tmp), Some(0o600), "run {i}: temp file mode");
        }
        max_temps = max_temps.max(leftovers.len());
        crowded += usize::from(leftovers.len() > 1);
        left_temp += usize::from(leftovers.iter().any(|t| !temps_before.contains(t)));
        swept += temps_before
            .iter()
            .filter(|t| !leftovers.contains(t))
            .count();
        match &now {
            Err(_) => missing += 1,
            Ok(c) if c != &old && c != new => torn += 1,
            Ok(_) => {}
        }
        if mode(&env_path) != Some(0o600) {
            bad_mode += 1;
        }
        assert!(now.is_ok(), "run {i}: the output file is missing");
        let now = now.unwrap();
        assert!(
            now == old || &now == new,
            "run {i}: torn file ({} bytes)",
            now.len()
        );
        assert_eq!(mode(&env_path), Some(0o600), "run {i}");
        assert!(leftovers.len() <= 1, "run {i}: {leftovers:?}");
        landed.push(if status.code().is_some() {
            assert!(status.success(), "run {i} failed on its own: {status}");
            Landed::FinishedFirst
        } else if &now == new && now != old {
            Landed::AfterRename
        } else if saw_temp || leftovers.iter().any(|t| !temps_before.contains(t)) {
            Landed::Write
        } else if reached_network {
            Landed::Fetch
        } else {
            Landed::StartUp
        });
    }

    // The next run after all that succeeds and cleans up.
    let leftover = temps(root, ".env").len();
    let out = sync().output().unwrap();
    undisturbed += 1;
    undisturbed_clean += usize::from(out.status.success() && temps(root, ".env").is_empty());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(temps(root, ".env"), Vec::<std::path::PathBuf>::new());
    swept += leftover;
    assert_eq!(mode(&env_path), Some(0o600));
    assert!(contents.contains(&std::fs::read(&env_path).unwrap()));
    assert_eq!(
        std::fs::read_to_string(root.join(".gitignore")).unwrap(),
        "/.env\n"
    );
    let in_write = landed.iter().filter(|l| **l == Landed::Write).count();

    let mut f = Figures::new("crash", "Crash safety (`crash.rs`)", ABOUT);
    f.add(
        "runs",
        format!(
            "{} ({calibration} to calibrate, {looped} in the loop, 1 final)",
            calibration + looped + 1
        ),
    );
    f.add("runs killed with SIGKILL", kills);
    f.varies("where the kills landed", tally(landed.iter()));
    f.varies("kills inside the write (at least 20 required)", in_write);
    f.add("files torn (neither complete old nor complete new)", torn);
    f.add("files missing after a kill", missing);
    f.add("files not mode 0600 after a kill", bad_mode);
    f.varies("kills that left their own temp file behind", left_temp);
    f.varies("those temp files removed by a later run", swept);
    f.add(
        "kills' temp files no later run removed",
        left_temp as i64 - swept as i64,
    );
    f.varies("most temp files present at once", max_temps);
    f.add(
        "kills after which more than one temp file was present",
        crowded,
    );
    f.add(
        "undisturbed runs after kills: succeeded, no temp file left",
        format!("{undisturbed_clean} of {undisturbed}"),
    );
    f.add("file size", format!("{} bytes", contents[0].len()));
    f.add(
        "relay delay per request",
        format!("{} ms", RELAY_DELAY.as_millis()),
    );
    f.varies("seed (KVENV_TEST_SEED)", seed);
    f.varies(
        "duration",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    f.save();
    assert!(
        in_write >= 20,
        "too few kills landed in the write: {in_write}"
    );
    assert_eq!((torn, missing, bad_mode), (0, 0, 0));
    assert_eq!(swept, left_temp, "every leftover is removed by a later run");
}
