//! Running a validated pipeline: the scheduler loop, step contexts and the events it emits.

pub mod context;
pub mod events;
mod recorder;
pub mod runner;
