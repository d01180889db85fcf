//! Cron schedules in the pipeline file. Expressions are parsed by the same parser tokio-cron-scheduler uses
//! (croner, seconds required), so `validate` accepts exactly what the scheduler will run.

use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// Why a cron expression is refused, with an example of one that works.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

/// Parses a 6-field cron expression (`sec min hour day-of-month month day-of-week`).
pub fn parse_cron(expr: &str) -> Result<Cron, CronError> {
    let fields = expr.split_whitespace().count();
    if fields != 6 && fields != 7 {
        return Err(CronError(format!(
            "`{expr}` has {fields} fields; pmflow cron expressions have 6: sec min hour day-of-month month day-of-week, e.g. \"0 0 3 * * Mon\" (03:00 every Monday)"
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| CronError(format!("`{expr}` is not a valid cron expression: {e}")))
}

/// The next `n` fire times after now, in the schedule's time zone.
pub fn next_fire_times(cron: &Cron, tz: chrono_tz::Tz, n: usize) -> Vec<chrono::DateTime<chrono_tz::Tz>> {
    let now = chrono::Utc::now().with_timezone(&tz);
    cron.iter_after(now).take(n).collect()
}
