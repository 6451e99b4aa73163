//! The integration tests of `offers-core`, in one test binary.

mod properties;
mod seed_examples;
