//! The integration tests of `offers-api`, in one test binary so that `common` compiles once.
//! Each module exercises one area end to end; `common` holds the shared fixtures.

#[macro_use]
mod common;

mod api;
mod audiences;
mod campaign_offers;
mod campaigns;
mod cli;
mod hardening;
mod live;
mod openapi;
mod people;
mod scale;
mod studio;
