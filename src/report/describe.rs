//! One description of each event, in words: both reporters print these texts, bars beside their
//! bars and plain lines after a timestamp, so the two never tell a run differently.

use crate::exec::events::{Event, StepStatus};

use super::format_duration;

/// How a finished step is marked (`ok`, `cached`, `FAILED`, ...) and what follows the mark.
pub struct Outcome {
    pub mark: &'static str,
    /// The duration of a step that succeeded, the error of one that did not.
    pub detail: String,
    /// The whole outcome as a sentence after the step id (plain lines).
    pub sentence: String,
}

/// A step's finish, described once.
pub fn outcome(
    status: StepStatus,
    duration: std::time::Duration,
    error: Option<&str>,
    cached_from: Option<&str>,
) -> Outcome {
    let mark = match status {
        StepStatus::Succeeded if cached_from.is_some() => "cached",
        StepStatus::Succeeded => "ok",
        StepStatus::Failed => "FAILED",
        StepStatus::Skipped => "skipped",
        StepStatus::Interrupted => "interrupted",
    };
    let (detail, sentence) = match (status, error) {
        (StepStatus::Succeeded, _) => {
            let took = format_duration(duration);
            let sentence = match cached_from {
                Some(run) => format!("cached (outputs of run {run})"),
                None => format!("succeeded in {took}"),
            };
            (took, sentence)
        }
        (s, Some(e)) => (e.to_string(), format!("{}: {e}", s.as_str())),
        (s, None) => (String::new(), s.as_str().to_string()),
    };
    Outcome { mark, detail, sentence }
}

/// The note an event adds about one step in passing (a retry, a warning, a resumed step), as
/// (step, text); None for events that are not told as a note.
pub fn note(event: &Event) -> Option<(&str, String)> {
    match event {
        Event::StepRetrying { step, attempt, error } => {
            Some((step, format!("attempt {attempt} failed, retrying: {error}")))
        }
        Event::Warning { step, message } => Some((step, format!("warning: {message}"))),
        Event::Note { step, message } => Some((step, message.clone())),
        Event::StepReused { step } => Some((step, "done before the resume, not run again".into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn outcomes_read_the_same_as_a_mark_and_as_a_sentence() {
        let ok = outcome(StepStatus::Succeeded, Duration::from_millis(1500), None, None);
        assert_eq!(
            (ok.mark, ok.detail.as_str(), ok.sentence.as_str()),
            ("ok", "1.50s", "succeeded in 1.50s")
        );
        let cached = outcome(StepStatus::Succeeded, Duration::ZERO, None, Some("r1"));
        assert_eq!(
            (cached.mark, cached.sentence.as_str()),
            ("cached", "cached (outputs of run r1)")
        );
        let failed = outcome(StepStatus::Failed, Duration::ZERO, Some("no file"), None);
        assert_eq!(
            (failed.mark, failed.detail.as_str(), failed.sentence.as_str()),
            ("FAILED", "no file", "failed: no file")
        );
        let skipped = outcome(StepStatus::Skipped, Duration::ZERO, None, None);
        assert_eq!((skipped.mark, skipped.sentence.as_str()), ("skipped", "skipped"));
    }
}
