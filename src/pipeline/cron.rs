//! Cron schedules in the pipeline file. Expressions are parsed by the same parser tokio-cron-scheduler uses
//! (croner, seconds required), so `validate` accepts exactly what the scheduler will run. The
//! common 5-field crontab form is read as firing at second 0.
//!
//! Fire times follow the zone's wall clock. A local time that does not exist (spring forward)
//! fires once, at the first instant after the gap (croner does this); a local time that happens
//! twice (fall back) fires once, at its first occurrence (croner would fire both, so
//! [`fire_times_after`] drops the repeat).

use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// Why a cron expression is refused, with an example of one that works.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

/// Parses a 6-field cron expression (`sec min hour day-of-month month day-of-week`), or a
/// 5-field crontab one (`min hour day-of-month month day-of-week`, at second 0).
pub fn parse_cron(expr: &str) -> Result<Cron, CronError> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5..=7 => with_seconds(expr),
        _ => {
            return Err(CronError(format!(
                "`{expr}` has {fields} fields; pmflow cron expressions have 6 (sec min hour day-of-month month day-of-week, e.g. \"0 0 3 * * Mon\": 03:00 every Monday) or crontab's 5 (min hour day-of-month month day-of-week)"
            )))
        }
    };
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(&full)
        .map_err(|e| CronError(format!("`{expr}` is not a valid cron expression: {e}")))
}

/// The expression with its seconds field: crontab's five fields fire at second 0.
pub fn with_seconds(expr: &str) -> String {
    match expr.split_whitespace().count() {
        5 => format!("0 {}", expr.trim()),
        _ => expr.trim().to_string(),
    }
}

/// The fire times strictly after `after`, in `tz`, each wall-clock time once.
pub fn fire_times_after(
    cron: &Cron,
    tz: chrono_tz::Tz,
    after: chrono::DateTime<chrono::Utc>,
) -> impl Iterator<Item = chrono::DateTime<chrono_tz::Tz>> + '_ {
    // Start a little before `after`, so that a repeated local time whose first occurrence
    // came before `after` is known and its repeat is not fired. No zone shifts by more than
    // two hours.
    let from = (after - chrono::Duration::hours(3)).with_timezone(&tz);
    let mut last_local: Option<chrono::NaiveDateTime> = None;
    cron.iter_after(from)
        .filter(move |t| {
            let local = t.naive_local();
            let repeat = last_local == Some(local);
            last_local = Some(local);
            !repeat
        })
        .skip_while(move |t| t.with_timezone(&chrono::Utc) <= after)
}

/// Fires missed between the last recorded fire and `now` (the daemon was down, the machine
/// asleep): how many there were is not counted, and at most one is caught up. With
/// `run_once`, the latest missed fire; without, or when nothing was missed, or when the
/// pipeline never fired (a new schedule misses nothing), None.
pub fn catch_up(
    cron: &Cron,
    tz: chrono_tz::Tz,
    last_fire: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
    run_once: bool,
) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    let last = last_fire?;
    let first_missed = fire_times_after(cron, tz, last).next()?;
    if !run_once || first_missed.with_timezone(&chrono::Utc) > now {
        return None;
    }
    // The latest fire at or before now: no walk over every missed fire (a per-second schedule
    // down for a week missed 600,000).
    latest_fire(cron, tz, now)
}

/// The latest fire time at or before `now`, in whole seconds (a cron's resolution), so every
/// process names one fire alike.
pub fn latest_fire(
    cron: &Cron,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    let latest = cron.find_previous_occurrence(&now.with_timezone(&tz), true).ok()?;
    chrono::Timelike::with_nanosecond(&latest, 0)
}

/// The next `n` fire times after now, in the schedule's time zone.
pub fn next_fire_times(cron: &Cron, tz: chrono_tz::Tz, n: usize) -> Vec<chrono::DateTime<chrono_tz::Tz>> {
    fire_times_after(cron, tz, chrono::Utc::now()).take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// Fire times after `start` (UTC), as `local / UTC` text.
    fn fires(expr: &str, zone: &str, start: (i32, u32, u32, u32), n: usize) -> Vec<String> {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let after = Utc.with_ymd_and_hms(start.0, start.1, start.2, start.3, 0, 0).unwrap();
        fire_times_after(&parse_cron(expr).unwrap(), tz, after)
            .take(n)
            .map(|t| {
                format!(
                    "{} / {}",
                    t.format("%m-%d %H:%M %Z"),
                    t.with_timezone(&Utc).format("%H:%M")
                )
            })
            .collect()
    }

    #[test]
    fn a_time_skipped_by_spring_forward_fires_once_after_the_gap() {
        // Europe/Berlin, 2026-03-29 and 2027-03-28: 02:00 CET jumps to 03:00 CEST.
        assert_eq!(
            fires("0 30 2 * * *", "Europe/Berlin", (2026, 3, 28, 12), 3),
            [
                "03-29 03:00 CEST / 01:00",
                "03-30 02:30 CEST / 00:30",
                "03-31 02:30 CEST / 00:30"
            ]
        );
        assert_eq!(
            fires("0 30 2 * * *", "Europe/Berlin", (2027, 3, 27, 12), 2),
            ["03-28 03:00 CEST / 01:00", "03-29 02:30 CEST / 00:30"]
        );
        // America/New_York, 2026-03-08 and 2027-03-14: 02:00 EST jumps to 03:00 EDT.
        assert_eq!(
            fires("0 30 2 * * *", "America/New_York", (2026, 3, 7, 12), 2),
            ["03-08 03:00 EDT / 07:00", "03-09 02:30 EDT / 06:30"]
        );
        assert_eq!(
            fires("0 30 2 * * *", "America/New_York", (2027, 3, 13, 12), 2),
            ["03-14 03:00 EDT / 07:00", "03-15 02:30 EDT / 06:30"]
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_fires_once() {
        // Europe/Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET, so 02:00-02:59 happen
        // twice. Daily at 02:30: once. Hourly: 02:00 once, then on.
        assert_eq!(
            fires("0 30 2 * * *", "Europe/Berlin", (2026, 10, 24, 12), 2),
            ["10-25 02:30 CEST / 00:30", "10-26 02:30 CET / 01:30"]
        );
        assert_eq!(
            fires("0 0 * * * *", "Europe/Berlin", (2026, 10, 24, 22), 4),
            [
                "10-25 01:00 CEST / 23:00",
                "10-25 02:00 CEST / 00:00",
                "10-25 03:00 CET / 02:00",
                "10-25 04:00 CET / 03:00"
            ]
        );
        // Started between the two 02:00s: the repeat is not fired either.
        assert_eq!(
            fires("0 0 * * * *", "Europe/Berlin", (2026, 10, 25, 0), 1),
            ["10-25 03:00 CET / 02:00"]
        );
        // Europe/Berlin 2027-10-31; America/New_York 2026-11-01 and 2027-11-07 at 02:00 -> 01:00.
        assert_eq!(
            fires("0 30 2 * * *", "Europe/Berlin", (2027, 10, 30, 12), 2),
            ["10-31 02:30 CEST / 00:30", "11-01 02:30 CET / 01:30"]
        );
        assert_eq!(
            fires("0 30 1 * * *", "America/New_York", (2026, 10, 31, 12), 2),
            ["11-01 01:30 EDT / 05:30", "11-02 01:30 EST / 06:30"]
        );
        assert_eq!(
            fires("0 30 1 * * *", "America/New_York", (2027, 11, 6, 12), 2),
            ["11-07 01:30 EDT / 05:30", "11-08 01:30 EST / 06:30"]
        );
    }

    #[test]
    fn after_downtime_at_most_one_fire_is_caught_up() {
        let cron = parse_cron("0 0 3 * * Mon").unwrap();
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let tz = chrono_tz::UTC;
        // Last fire Monday 2 Nov; down until Wednesday 25 Nov: three Mondays missed, one run.
        let caught = catch_up(&cron, tz, Some(at(2, 3)), at(25, 12), true).unwrap();
        assert_eq!(caught.with_timezone(&Utc), at(23, 3));
        assert_eq!(
            catch_up(&cron, tz, Some(at(2, 3)), at(25, 12), false),
            None,
            "on-missed: skip"
        );
        assert_eq!(
            catch_up(&cron, tz, Some(at(23, 3)), at(25, 12), true),
            None,
            "nothing missed"
        );
        assert_eq!(
            catch_up(&cron, tz, None, at(25, 12), true),
            None,
            "never fired: nothing missed"
        );
        // A per-second schedule down for a week: still one.
        let every_second = parse_cron("* * * * * *").unwrap();
        let caught = catch_up(&every_second, tz, Some(at(1, 0)), at(8, 0), true).unwrap();
        assert_eq!(caught.with_timezone(&Utc), at(8, 0));
    }

    #[test]
    fn crontab_five_fields_fire_at_second_zero() {
        assert_eq!(
            fires("0 3 * * Mon", "UTC", (2026, 12, 1, 0), 2),
            ["12-07 03:00 UTC / 03:00", "12-14 03:00 UTC / 03:00"]
        );
        let err = parse_cron("0 3 * Mon").unwrap_err().to_string();
        assert!(err.contains("has 4 fields"), "{err}");
    }
}
