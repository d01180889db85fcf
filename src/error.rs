//! Errors at the command level and the exit codes they map to (documented in README and --help).

use crate::pipeline::Diagnostics;

/// Exit codes: the contract with shells and CI.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    /// The run failed (or, later, a gate found a regression).
    pub const FAILED: i32 = 1;
    /// Invalid usage or an invalid pipeline.
    pub const USAGE: i32 = 2;
    /// A bug or an environment failure inside pmflow.
    pub const INTERNAL: i32 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The pipeline has problems; each is printed as FILE:LINE:COL: message.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// Bad arguments or unusable input named on the command line.
    #[error("{0}")]
    Usage(String),
    /// The run ran and failed; the reporter has already shown why.
    #[error("{0}")]
    RunFailed(String),
    /// A gate found a regression (`pmflow compare`); the comparison is already printed.
    #[error("{0}")]
    Regression(String),
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Invalid(_) | CliError::Usage(_) => exit::USAGE,
            CliError::RunFailed(_) | CliError::Regression(_) => exit::FAILED,
            CliError::Internal(_) => exit::INTERNAL,
        }
    }
}

impl From<crate::registry::RegistryError> for CliError {
    fn from(e: crate::registry::RegistryError) -> Self {
        use crate::registry::RegistryError as R;
        match e {
            R::Open { .. } | R::NotFound(_) | R::Refused(_) | R::Ambiguous(_) => CliError::Usage(e.to_string()),
            R::Query(_) => CliError::Internal(e.to_string()),
        }
    }
}
