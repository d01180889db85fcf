//! `pmflow metrics RUN`: a run's full metric history, every point with its step index and
//! time, as CSV (for spreadsheets and pandas) or JSON.

use std::io::Write;

use crate::cli::{MetricsArgs, MetricsFormat};
use crate::error::CliError;
use crate::registry::MetricRecord;

pub async fn metrics(args: &MetricsArgs) -> Result<(), CliError> {
    let registry = super::shared::open_registry(&args.registry.registry).await?;
    let history = match registry.resolve_run(&args.run).await {
        Ok(id) => registry.metric_history(&id).await,
        Err(e) => Err(e),
    };
    registry.close().await;
    let history = history?;
    // Thousands of points: one buffered, locked writer rather than a `println!` per row.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        MetricsFormat::Csv => write_csv(&mut out, &history),
        MetricsFormat::Json => write_json(&mut out, &history),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Internal(format!("cannot write the metrics: {e}")))
}

/// A point's time as the registry's other times are written: ISO 8601, UTC, milliseconds.
fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180): metric keys
/// carry feature names, which come from the data's column names.
fn field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

fn write_csv(out: &mut impl Write, history: &[MetricRecord]) -> std::io::Result<()> {
    writeln!(out, "step_id,key,step,value,time")?;
    for m in history {
        // `{}` of an f64 is its shortest exact form, so values read back bit for bit.
        writeln!(
            out,
            "{},{},{},{},{}",
            field(&m.step_id),
            field(&m.key),
            m.step,
            m.value,
            time(m.time_ms)
        )?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, history: &[MetricRecord]) -> std::io::Result<()> {
    let rows: Vec<serde_json::Value> = history
        .iter()
        .map(|m| {
            serde_json::json!({
                "step_id": m.step_id,
                "key": m.key,
                "step": m.step,
                // JSON has no infinity: such a value is null, as in `runs show`.
                "value": serde_json::Number::from_f64(m.value),
                "time": time(m.time_ms),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, step: i64, value: f64) -> MetricRecord {
        MetricRecord {
            step_id: "train".into(),
            key: key.into(),
            step,
            value,
            time_ms: 1_767_225_600_123,
        }
    }

    #[test]
    fn csv_has_the_header_quotes_odd_keys_and_iso_times() {
        let mut out = Vec::new();
        write_csv(&mut out, &[record("val_loss", 1, 0.25), record("a,\"b\"", 0, 3.0)]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "step_id,key,step,value,time\n\
             train,val_loss,1,0.25,2026-01-01T00:00:00.123Z\n\
             train,\"a,\"\"b\"\"\",0,3,2026-01-01T00:00:00.123Z\n"
        );
    }

    #[test]
    fn json_is_an_array_of_points() {
        let mut out = Vec::new();
        write_json(&mut out, &[record("val_loss", 2, 0.5), record("x", 0, f64::INFINITY)]).unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            rows[0],
            serde_json::json!({"step_id": "train", "key": "val_loss", "step": 2, "value": 0.5, "time": "2026-01-01T00:00:00.123Z"})
        );
        assert!(rows[1]["value"].is_null());
        let mut empty = Vec::new();
        write_json(&mut empty, &[]).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "[]\n");
    }
}
