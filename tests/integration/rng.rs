//! The one random source of the tests: every test that randomises (the robustness tests, the
//! fuzzers, the conformance suite's generated values) draws from an [`Rng`], so one number
//! replays it.
//!
//! The seed is `KVENV_TEST_SEED` if set, else taken from the clock. A test that fails while its
//! `Rng` is alive prints the seed and the command that replays it (proptest runners are seeded
//! from it too, through [`Rng::proptest`]). Timing still varies between runs: a replay draws the
//! same numbers, not necessarily the same interleavings.

use std::io::Write;

/// xorshift64*, seeded as above.
pub struct Rng {
    test: &'static str,
    seed: u64,
    state: u64,
}

impl Rng {
    /// The random source of `test` (its name in the seed message).
    pub fn new(test: &'static str) -> Rng {
        let seed = match std::env::var("KVENV_TEST_SEED") {
            Ok(s) => s
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("KVENV_TEST_SEED={s:?} is not a number")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        Rng {
            test,
            seed,
            // Any seed, 0 included, gives a non-zero state.
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A proptest random source drawn from this one.
    pub fn proptest(&mut self) -> proptest::test_runner::TestRng {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &bytes,
        )
    }
}

impl Drop for Rng {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Straight to the stream, past the test harness's capture, so it is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "{}: random seed {}; replay with KVENV_TEST_SEED={} and the test's name",
                self.test,
                self.seed,
                self.seed
            );
        }
    }
}
