//! Running a validated pipeline: the scheduler loop, step contexts and the events it emits.

mod cache;
pub mod events;
mod job;
mod outside;
pub mod plan;
mod recorder;
pub mod runner;
