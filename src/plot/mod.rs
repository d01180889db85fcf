//! Pictures as SVG: loss curves, PR and ROC curves, confusion matrices, drift, permutation
//! importance, a run's timeline. Written by hand (a
//! few hundred lines) instead of through a plotting crate: SVG text needs no fonts, so the
//! binary links no font stack and the files render the same in any browser or viewer.

mod charts;
mod drift;
mod importance;
mod svg;
mod timeline;

pub use charts::{confusion_matrix, line_chart, Chart, Series};
pub use drift::{drift_picture, DriftBar, DriftCurves};
pub use importance::{importance_picture, ImportanceBar};
pub use timeline::{timeline, TimelineBar};
