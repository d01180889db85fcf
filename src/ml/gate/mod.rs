//! The metric gate, pure (no I/O): which metric a name means (its full name or a unique
//! suffix), which way each metric is better, how a candidate's value compares with a baseline's
//! within a tolerance (`compare`), and which promotion conditions a candidate meets (a
//! `register` step). Every gate judges here, so `compare`, `register` and (next) `serve` cannot
//! disagree on a figure.

mod change;
mod conditions;
mod direction;
mod names;
mod rounding;

pub use change::{judge, Tolerance, Verdict};
pub use conditions::{check_conditions, describe, Bound, Check, Condition, GateOutcome, Holder};
pub use direction::{direction_of, is_timing, Better};
pub use names::{find, resolve as resolve_metric, MetricError, Named};
