//! The one integration suite: drives the real `pmflow` binary against real files, a real
//! SQLite registry and a real artifact folder in a temporary project.

mod support;

mod cache;
mod concurrency;
mod examples;
mod features;
mod gen_data;
mod interrupt;
mod layers;
mod registry_contract;
mod run;
mod s3;
mod snapshots_out;
mod train;
mod validate;
