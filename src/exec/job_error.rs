//! Why one execution of a step failed, and how long a step asked to stop has to return: shared
//! by the step job, the registration it may carry out, and the step loop.

use std::time::Duration;

use crate::artifacts::ArtifactError;
use crate::steps::context::StepError;

/// Why one execution of a step failed; shown to the user with the step id.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Step(#[from] StepError),
    #[error("{0}")]
    Artifact(#[from] ArtifactError),
    #[error("cannot read {uri}: {cause}")]
    Decode { uri: String, cause: String },
    #[error("timed out after {0} s (`timeout-secs`)")]
    TimedOut(u64),
    /// Past its timeout, the step did not stop within [`STOP_GRACE`]: it is not retried, so two
    /// attempts never run at once.
    #[error("timed out after {0} s (`timeout-secs`) and did not stop within {grace} s (it is blocked outside pmflow's checks, e.g. reading a file or pipe that never ends); not retried", grace = STOP_GRACE.as_secs())]
    TimedOutStuck(u64),
    /// The run was interrupted while the step ran.
    #[error("interrupted")]
    Interrupted,
    #[error("internal error: the step panicked ({0}); please report this")]
    Panicked(String),
}

/// How long a step asked to stop (interrupt, timeout) has to return. A step checks between
/// batches and chunks, so it stops in well under a second; one blocked in a read of a pipe or
/// socket never does, and is left behind after this long.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
