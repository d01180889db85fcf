//! Cron schedules in the pipeline file. Expressions are parsed by the same parser tokio-cron-scheduler uses
//! (croner, seconds required), so `validate` accepts exactly what the scheduler will run. The
//! common 5-field crontab form is read as firing at second 0.
//!
//! Fire times follow the zone's wall clock. A local time that does not exist (spring forward)
//! fires once, at the first instant after the gap (croner does this); a local time that happens
//! twice (fall back) fires once, at its first occurrence (croner's iterator would fire both;
//! [`fire_times_after`] steps through wall-clock times instead).

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
) -> impl Iterator<Item = chrono::DateTime<chrono_tz::Tz>> + Send + 'static {
    // Each fire is the library's next occurrence after the one before, from `after` in whole
    // seconds (croner keeps the start's fraction in what it finds). (croner 3.0.1's own
    // `iter_after` steps a second too far after each fire, so a per-second cron lost every
    // other second, and it hands over both instants of a repeated wall-clock time.)
    // `find_next_occurrence` walks wall-clock times and names a repeated one by its first
    // instant: started during the repeat, that instant is already past and skipped, so a
    // repeated time fires once.
    let cron = cron.clone();
    let mut cursor = chrono::DateTime::from_timestamp(after.timestamp(), 0)
        .unwrap_or(after)
        .with_timezone(&tz);
    std::iter::from_fn(move || {
        cursor = cron.find_next_occurrence(&cursor, false).ok()?;
        Some(cursor)
    })
    .skip_while(move |t| *t <= after)
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

/// The latest fire time at or before `now`, by the cron's forward iterator (whole seconds, a
/// cron's resolution), so every process names one fire alike. croner's backward search only
/// says where to start looking: it lands a spring-forward fire on the second before the gap
/// (`00:59:59Z` for Berlin's 03:00), and on fall-back day it finds a time chrono cannot
/// truncate (ambiguous), so names taken from it were wrong or fell back to the clock.
pub fn latest_fire(
    cron: &Cron,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    let hint = cron.find_previous_occurrence(&now.with_timezone(&tz), true).ok()?;
    let from = chrono::DateTime::from_timestamp(hint.timestamp() - 1, 0)?;
    fire_times_after(cron, tz, from).take_while(|t| *t <= now).last()
}

/// A schedule's fires in order, as the daemon hands them over: asked at each tick of a clock,
/// it names a fire by its scheduled instant, never by the time it was asked. (tokio-cron-
/// scheduler's own cron jobs keep the UTC offset their zone had when they were added, 0.15.1's
/// `time_offset_seconds`, so a job added in winter would fire an hour late all summer; here
/// every fire comes from the zone's calendar, transitions included.)
pub struct Fires {
    cron: Cron,
    tz: chrono_tz::Tz,
    upcoming: std::iter::Peekable<Upcoming>,
}

type Upcoming = Box<dyn Iterator<Item = chrono::DateTime<chrono_tz::Tz>> + Send>;

impl Fires {
    /// The fires strictly after `after`.
    pub fn after(cron: Cron, tz: chrono_tz::Tz, after: chrono::DateTime<chrono::Utc>) -> Fires {
        let upcoming = upcoming(&cron, tz, after);
        Fires { cron, tz, upcoming }
    }

    /// The fire due at `now`, if one is. After a pause longer than the schedule's interval (the
    /// machine slept), only the latest fire due is handed over: a pause never causes a storm.
    pub fn due(&mut self, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        let first = self.upcoming.next_if(|t| *t <= now)?.with_timezone(&chrono::Utc);
        if self.upcoming.peek().is_none_or(|t| *t > now) {
            return Some(first);
        }
        // Jumped, not walked: a per-second schedule paused for a week missed 600,000 fires.
        let latest = latest_fire(&self.cron, self.tz, now)
            .map(|t| t.with_timezone(&chrono::Utc))
            .filter(|latest| *latest > first)
            .unwrap_or(first);
        self.upcoming = upcoming(&self.cron, self.tz, latest);
        Some(latest)
    }
}

fn upcoming(cron: &Cron, tz: chrono_tz::Tz, after: chrono::DateTime<chrono::Utc>) -> std::iter::Peekable<Upcoming> {
    let fires: Upcoming = Box::new(fire_times_after(cron, tz, after));
    fires.peekable()
}

/// Refuses a cron that has no fire after `now` in `tz` (30 February, 31 April, a past year):
/// the daemon would wait forever. Asked of the cron library's own iterator, which gives up at
/// its search limit.
pub fn check_fires(
    expr: &str,
    cron: &Cron,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), CronError> {
    match fire_times_after(cron, tz, now).next() {
        Some(_) => Ok(()),
        None => Err(CronError(format!(
            "`{expr}` never fires: no date after now matches it (a day the month does not have, such as 30 February or 31 April, or a year that has passed); fix the day, month or year"
        ))),
    }
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

    /// What a daemon started at `start` hands over when asked every second (at 300 ms past
    /// it, as a real tick comes late) until `end`: fire names, UTC.
    fn handed_over(expr: &str, zone: &str, start: &str, end: &str) -> Vec<String> {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let mut fires = Fires::after(parse_cron(expr).unwrap(), tz, at(start));
        let mut now = at(start) + chrono::Duration::milliseconds(300);
        let mut out = Vec::new();
        while now < at(end) {
            if let Some(fire) = fires.due(now) {
                out.push(fire.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            }
            now += chrono::Duration::seconds(1);
        }
        out
    }

    #[test]
    fn fires_are_named_by_their_scheduled_instant_across_daylight_saving() {
        // Berlin, 2026-03-29: 02:30 does not exist; it fires at 03:00 CEST = 01:00Z, named so
        // (not 00:59:59Z). A daemon started in winter fires at 02:30 CEST the day after
        // (00:30Z), not an hour late at the winter offset.
        assert_eq!(
            handed_over(
                "0 30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T23:00:00Z",
                "2026-03-30T02:00:00Z"
            ),
            ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]
        );
        // 2026-10-25: 02:30 happens twice; it fires once, at the first (00:30Z), and the day
        // after at 02:30 CET (01:30Z), not at the summer offset.
        assert_eq!(
            handed_over(
                "0 30 2 * * *",
                "Europe/Berlin",
                "2026-10-24T23:00:00Z",
                "2026-10-26T03:00:00Z"
            ),
            ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]
        );
        // Hourly through the repeated hour: 02:00 once.
        assert_eq!(
            handed_over(
                "0 0 * * * *",
                "Europe/Berlin",
                "2026-10-24T22:30:00Z",
                "2026-10-25T02:30:00Z"
            ),
            [
                "2026-10-24T23:00:00.000Z",
                "2026-10-25T00:00:00.000Z",
                "2026-10-25T02:00:00.000Z"
            ]
        );
    }

    #[test]
    fn the_latest_fire_is_the_scheduled_instant_on_both_transition_days() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let cron = parse_cron("0 30 2 * * *").unwrap();
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let latest = |now: &str| latest_fire(&cron, berlin, at(now)).map(|t| t.with_timezone(&Utc));
        assert_eq!(latest("2026-03-29T01:00:00.412Z"), Some(at("2026-03-29T01:00:00Z")));
        assert_eq!(latest("2026-10-25T00:30:00.412Z"), Some(at("2026-10-25T00:30:00Z")));
        assert_eq!(latest("2026-10-25T01:30:00.412Z"), Some(at("2026-10-25T00:30:00Z")));
        // A restart after the spring-forward fire with `on-missed: run-once`: nothing missed.
        assert_eq!(
            catch_up(
                &cron,
                berlin,
                latest("2026-03-29T01:00:00.412Z"),
                at("2026-03-29T01:05:00Z"),
                true
            ),
            None
        );
    }

    #[test]
    fn a_per_second_schedule_fires_every_second() {
        assert_eq!(
            handed_over("* * * * * *", "UTC", "2026-11-25T12:00:00.400Z", "2026-11-25T12:00:04Z"),
            [
                "2026-11-25T12:00:01.000Z",
                "2026-11-25T12:00:02.000Z",
                "2026-11-25T12:00:03.000Z"
            ]
        );
    }

    #[test]
    fn a_paused_daemon_hands_over_only_the_latest_fire() {
        let mut fires = Fires::after(parse_cron("* * * * * *").unwrap(), chrono_tz::UTC, at_utc(1, 0));
        assert_eq!(fires.due(at_utc(8, 0)), Some(at_utc(8, 0)));
        assert_eq!(fires.due(at_utc(8, 0)), None);
        assert_eq!(
            fires.due(at_utc(8, 0) + chrono::Duration::seconds(1)),
            Some(at_utc(8, 0) + chrono::Duration::seconds(1))
        );
    }

    fn at_utc(day: u32, hour: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_cron_that_never_fires_is_refused() {
        let now = at_utc(25, 12);
        for expr in ["0 0 0 30 2 *", "0 0 0 31 4 *", "0 0 0 1 1 * 2020"] {
            let err = check_fires(expr, &parse_cron(expr).unwrap(), chrono_tz::UTC, now).unwrap_err();
            assert!(err.0.contains(&format!("`{expr}` never fires")), "{err}");
        }
        // Leap days and future years fire.
        for expr in ["0 0 0 29 2 *", "0 0 0 1 1 * 2030", "0 0 3 * * Mon"] {
            check_fires(expr, &parse_cron(expr).unwrap(), chrono_tz::UTC, now).unwrap();
        }
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
