//! The one integration suite: drives the real `pmflow` binary against real files, a real
//! SQLite registry and a real artifact folder in a temporary project.

// An end-to-end scenario is read top to bottom; the function-length limit (clippy.toml) is
// for the code under test.
#![allow(clippy::too_many_lines)]

mod support;

#[path = "../../src/registry/pg_test_server.rs"]
mod pg_server;

mod bad_inputs;
mod bench_peers;
mod cache;
mod command;
mod command_model;
mod compat;
mod concurrency;
mod drift;
mod examples;
mod features;
mod gc_registries;
mod gen_data;
mod hardening;
mod hardening_gates;
mod hardening_schedule;
mod hardening_sensors;
mod hardening_urls;
mod interrupt;
mod layers;
mod models;
mod postgres;
mod predict;
mod registry_contract;
mod report;
mod run;
mod s3;
mod schedule;
mod search;
mod secrets;
mod snapshots_out;
mod train;
mod validate;
