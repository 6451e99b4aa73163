//! The integration tests of `offers-core`, in one test binary.

mod audiences;
mod campaign;
mod properties;
mod readable_text;
mod seed_examples;
