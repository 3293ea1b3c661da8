//! # strata-fuzzkit (tests only)
//!
//! Fuzzing on the stable toolchain: every decoder of Strata has a fuzz target, an ordinary
//! `#[test]` named `fuzz_*` in its owning crate's `tests/fuzz.rs`, that feeds it
//! structure-aware random inputs for a fixed time and asserts it never panics (and, where the
//! format allows, that what it does accept is right).
//!
//! * [`fuzz`] runs a target: `proptest` strategies generate the inputs, batch after batch with
//!   fresh seeds, until the time budget ([`budget`], `FUZZ_SECONDS`) is spent. A failure is
//!   shrunk to a small input, printed with the seed that reproduces it (`FUZZ_SEED`), and fails
//!   the test; the input then becomes a regression test next to the target.
//! * [`Mutations`] / [`mutated`] corrupt valid encodings (flip, overwrite, insert, remove,
//!   duplicate, truncate), so inputs stay close to the format and reach deep into decoders
//!   instead of failing at the first byte.
//!
//! `make test` runs every target briefly (the default budget); `make fuzz` runs them longer.

mod mutate;
mod run;

pub use mutate::{mutated, Mutation, Mutations};
pub use run::{budget, fuzz, DEFAULT_SECONDS};

/// Re-exported so targets write strategies without a dependency of their own.
pub use proptest;
