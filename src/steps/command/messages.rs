//! The messages a program appends to its messages file, one JSON object a line, read while it
//! runs: `{"metric": NAME, "value": X, "step": N}`, `{"warning": TEXT}`,
//! `{"tag": KEY, "value": V}`, `{"progress": DONE, "total": N, "message": TEXT}`.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::steps::context::StepContext;

/// How many unreadable lines are reported by name before they are only counted.
const BAD_LINES_SHOWN: usize = 3;

/// One message, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Metric { name: String, value: f64, step: i64 },
    Warning(String),
    Tag { key: String, value: String },
    Progress { done: u64, total: u64, message: String },
}

/// Reads one line; the error says what is wrong with it.
pub fn parse(line: &str) -> Result<Message, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(name) = text("metric") {
        let number = value
            .get("value")
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("metric `{name}` needs a finite number as `value`"))?;
        let step = match value.get("step") {
            None | Some(serde_json::Value::Null) => 0,
            Some(s) => s
                .as_i64()
                .ok_or_else(|| format!("metric `{name}`: `step` must be a whole number"))?,
        };
        return Ok(Message::Metric {
            name,
            value: number,
            step,
        });
    }
    if let Some(warning) = text("warning") {
        return Ok(Message::Warning(warning));
    }
    if let Some(key) = text("tag") {
        let value = match value.get("value") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(format!("tag `{key}` needs a `value`")),
        };
        return Ok(Message::Tag { key, value });
    }
    if let Some(done) = value.get("progress") {
        let done = done.as_u64().ok_or("`progress` must be a whole number")?;
        let total = value.get("total").and_then(|t| t.as_u64()).unwrap_or(0).max(done);
        return Ok(Message::Progress {
            done,
            total,
            message: text("message").unwrap_or_default(),
        });
    }
    Err("not a message pmflow knows (metric, warning, tag or progress)".into())
}

/// Follows the messages file: each call reads what was appended since the last one.
pub struct Follower {
    path: PathBuf,
    offset: u64,
    /// A line not yet ended by a newline (the program is still writing it).
    partial: Vec<u8>,
    lines: usize,
    bad: usize,
}

impl Follower {
    pub fn new(path: PathBuf) -> Follower {
        Follower {
            path,
            offset: 0,
            partial: Vec::new(),
            lines: 0,
            bad: 0,
        }
    }

    /// Sends every complete new line to `ctx` as the event it stands for; with `end`, a last
    /// line without a newline too.
    pub fn read(&mut self, ctx: &StepContext, end: bool) {
        let mut fresh = Vec::new();
        if let Ok(mut file) = std::fs::File::open(&self.path) {
            if file.seek(SeekFrom::Start(self.offset)).is_ok() {
                let _ = file.read_to_end(&mut fresh);
            }
        }
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let mut complete: Vec<Vec<u8>> = Vec::new();
        while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
            complete.push(self.partial.drain(..=i).collect());
        }
        if end && !self.partial.is_empty() {
            complete.push(std::mem::take(&mut self.partial));
        }
        for line in complete {
            self.lines += 1;
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            match parse(text.trim()) {
                Ok(message) => send(ctx, message),
                Err(why) => {
                    self.bad += 1;
                    if self.bad <= BAD_LINES_SHOWN {
                        ctx.warn(format!("messages line {}: {why}; ignored", self.lines));
                    }
                }
            }
        }
        if end && self.bad > BAD_LINES_SHOWN {
            ctx.warn(format!(
                "{} more unreadable messages lines ignored",
                self.bad - BAD_LINES_SHOWN
            ));
        }
    }
}

fn send(ctx: &StepContext, message: Message) {
    match message {
        Message::Metric { name, value, step } => ctx.metric_at(name, value, step),
        Message::Warning(text) => ctx.warn(text),
        Message::Tag { key, value } => ctx.tag(key, value),
        Message::Progress { done, total, message } => ctx.progress(done, total, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_message_is_read() {
        assert_eq!(
            parse(r#"{"metric": "loss", "value": 0.5, "step": 3}"#),
            Ok(Message::Metric {
                name: "loss".into(),
                value: 0.5,
                step: 3
            })
        );
        assert_eq!(
            parse(r#"{"metric": "rows", "value": 7}"#),
            Ok(Message::Metric {
                name: "rows".into(),
                value: 7.0,
                step: 0
            })
        );
        assert_eq!(parse(r#"{"warning": "hm"}"#), Ok(Message::Warning("hm".into())));
        assert_eq!(
            parse(r#"{"tag": "source", "value": 3}"#),
            Ok(Message::Tag {
                key: "source".into(),
                value: "3".into()
            })
        );
        assert_eq!(
            parse(r#"{"progress": 2, "total": 5}"#),
            Ok(Message::Progress {
                done: 2,
                total: 5,
                message: String::new()
            })
        );
    }

    #[test]
    fn a_bad_line_says_what_is_wrong() {
        assert!(parse("metric loss 0.5").unwrap_err().starts_with("not JSON"));
        assert!(parse(r#"{"metric": "loss", "value": "high"}"#)
            .unwrap_err()
            .contains("finite number"));
        assert!(parse(r#"{"metric": "loss", "value": 1, "step": 1.5}"#)
            .unwrap_err()
            .contains("whole number"));
        assert!(parse(r#"{"hello": 1}"#)
            .unwrap_err()
            .contains("metric, warning, tag or progress"));
    }

    #[test]
    fn lines_are_read_as_they_are_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let (ctx, rx) = StepContext::detached(dir.path(), Vec::new());
        let mut follower = Follower::new(path.clone());
        std::fs::write(&path, "{\"metric\": \"a\", \"value\": 1}\n{\"metric\": \"b\", \"va").unwrap();
        follower.read(&ctx, false);
        let got: Vec<_> = rx.try_iter().collect();
        assert_eq!(got.len(), 1, "only the ended line: {got:?}");
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"lue\": 2}").unwrap();
        follower.read(&ctx, true);
        let got: Vec<_> = rx.try_iter().collect();
        assert!(
            matches!(&got[..], [crate::steps::context::StepEvent::Metric { key, value, .. }] if key == "b" && *value == 2.0),
            "{got:?}"
        );
    }
}
