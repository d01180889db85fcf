//! Running a validated pipeline: the scheduler loop, step contexts and the events it emits.

mod cache;
pub mod context;
pub mod events;
mod job;
pub mod plan;
mod recorder;
pub mod runner;
