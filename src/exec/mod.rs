//! Running a validated pipeline: the step loop, one job per step, the step cache, the event
//! bus and its recorder, and the views of the world outside a run that a step is handed.

mod cache;
pub mod events;
mod job;
mod job_error;
pub mod leftovers;
mod outside;
pub mod plan;
pub mod predict;
mod recorder;
mod register;
mod resolve;
pub mod run_report;
pub mod runner;
#[cfg(test)]
mod runner_tests;
mod wiring;
