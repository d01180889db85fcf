//! The one integration suite: drives the real `pmflow` binary against real files, a real
//! SQLite registry and a real artifact folder in a temporary project.

mod support;

mod cache;
mod concurrency;
mod gen_data;
mod interrupt;
mod registry_contract;
mod run;
mod s3;
mod train;
mod validate;
