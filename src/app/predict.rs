//! `pmflow predict --model M --data FILE`: batch scoring from the command line. The model is
//! found and checked first, the file prepared by its training chain, and the machines printed
//! most at risk first; `--out` keeps every scored window.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use super::shared::open_registry;
use crate::cli::{PredictArgs, PredictAt, PredictFormat};
use crate::error::CliError;
use crate::model::windows::WindowsAt;
use crate::steps::predict::{Levels, PredictParams, ShortSeries};

pub async fn predict(args: &PredictArgs, progress: crate::report::ProgressMode) -> Result<(), CliError> {
    if !(args.warning > 0.0 && args.warning <= 1.0) {
        return Err(CliError::Usage(format!(
            "--warning {} must be above 0 and at most 1 (a multiple of the model's threshold, below `critical` at 1x)",
            args.warning
        )));
    }
    if let Some(out) = &args.out {
        super::shared::out_is_a_file(out)?;
        out_format(out)?;
    }
    let registry = open_registry(&args.registry.registry).await?;
    let root = std::env::current_dir().map_err(|e| CliError::Internal(e.to_string()))?;
    let params = PredictParams {
        model: None,
        levels: Levels {
            warning: args.warning,
            critical: 1.0,
        },
        at: match args.at {
            PredictAt::Latest => WindowsAt::Latest,
            PredictAt::All => WindowsAt::All,
        },
        short_series: if args.skip_short {
            ShortSeries::Skip
        } else {
            ShortSeries::Error
        },
        batch_size: args.batch_size.max(1),
        ..PredictParams::new(args.data.clone())
    };
    let started = std::time::Instant::now();
    // Plain lines on stderr (stdout is the result, for other tools), one per phase.
    let quiet = matches!(progress, crate::report::ProgressMode::Quiet);
    let shown = std::time::Instant::now();
    let scored = crate::exec::predict::predict(
        &args.model,
        params,
        &root,
        &registry,
        |warning| eprintln!("warning: {warning}"),
        move |message| {
            if !quiet {
                eprintln!("[{:>8.2}s] predict: {message}", shown.elapsed().as_secs_f64());
            }
        },
    )
    .await;
    registry.close().await;
    use crate::exec::predict::PredictError;
    let (model, mut output) = scored.map_err(|e| match e {
        PredictError::Model(e) => CliError::Usage(format!("--model {}: {e}", args.model)),
        PredictError::Data(e) => CliError::RunFailed(format!("--data {}: {e}", args.data)),
    })?;
    let table = |name: &str, output: &mut crate::steps::context::StepOutput| {
        output
            .tables
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| output.tables.remove(i).1)
            .ok_or_else(|| CliError::Internal(format!("the predict step returned no `{name}` table")))
    };
    let mut windows = table("scores", &mut output)?;
    let mut machines = table("machines", &mut output)?;
    let report = output.reports.first().map(|(_, r)| r.clone()).unwrap_or_default();
    if let Some(out) = &args.out {
        write_scores(out, &mut windows.frame)?;
    }
    let mut stdout = std::io::stdout().lock();
    let printed = match args.format {
        PredictFormat::Table => {
            let summary = format!(
                "{} machines scored with {} (threshold {:.4}; warning from {:.4}) in {:.1} s: {} critical, {} warning, {} healthy\n",
                machines.frame.height(),
                model.shown,
                report["threshold"].as_f64().unwrap_or(f64::NAN),
                report["threshold"].as_f64().unwrap_or(f64::NAN) * args.warning,
                started.elapsed().as_secs_f64(),
                report["critical"],
                report["warning"],
                report["healthy"],
            );
            write!(stdout, "{}{summary}", text_table(&machines.frame)?)
        }
        PredictFormat::Json => {
            let value = serde_json::json!({
                "model": {"shown": model.shown, "run_id": model.run_id,
                          "name": model.version.as_ref().map(|v| &v.0), "version": model.version.as_ref().map(|v| v.1)},
                "summary": report,
                "machines": rows_json(&machines.frame)?,
            });
            writeln!(stdout, "{}", serde_json::to_string_pretty(&value).unwrap_or_default())
        }
        PredictFormat::Csv => CsvWriter::new(&mut stdout)
            .finish(&mut machines.frame)
            .map_err(std::io::Error::other),
    };
    printed.map_err(|e| CliError::Internal(format!("cannot write the output: {e}")))
}

fn out_format(out: &Path) -> Result<bool, CliError> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => Ok(true),
        Some("csv") => Ok(false),
        _ => Err(CliError::Usage(format!(
            "--out {}: name a .parquet or .csv file",
            out.display()
        ))),
    }
}

/// Writes `frame` as Parquet or CSV (by `out`'s extension), never half a scores file where a
/// dashboard would read it.
fn write_scores(out: &Path, frame: &mut DataFrame) -> Result<(), CliError> {
    let parquet = out_format(out)?;
    super::shared::write_beside(out, |staging| {
        let fail = |e: String| CliError::RunFailed(format!("cannot write {}: {e}", out.display()));
        let mut file = std::fs::File::create(staging).map_err(|e| fail(e.to_string()))?;
        if parquet {
            ParquetWriter::new(&mut file)
                .finish(frame)
                .map_err(|e| fail(e.to_string()))?;
        } else {
            CsvWriter::new(&mut file)
                .finish(frame)
                .map_err(|e| fail(e.to_string()))?;
        }
        file.sync_all().map_err(|e| fail(e.to_string()))
    })
}

/// The machines as aligned columns: risk, entity, time, score, alarm.
fn text_table(frame: &DataFrame) -> Result<String, CliError> {
    let rows = rows_text(frame)?;
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_uppercase()).collect();
    let order = column_order(frame);
    let mut widths: Vec<usize> = order.iter().map(|&c| names[c].len()).collect();
    for row in &rows {
        for (w, &c) in widths.iter_mut().zip(&order) {
            *w = (*w).max(row[c].len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}", w = *w))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(order.iter().map(|&c| names[c].as_str()).collect());
    for row in &rows {
        out.push_str(&line(order.iter().map(|&c| row[c].as_str()).collect()));
    }
    Ok(out)
}

/// Risk first, then the rest in frame order.
fn column_order(frame: &DataFrame) -> Vec<usize> {
    let names = frame.get_column_names();
    let risk = names.iter().position(|n| n.as_str() == "risk");
    risk.into_iter()
        .chain((0..names.len()).filter(|i| Some(*i) != risk))
        .collect()
}

/// Every cell as text (scores to 4 decimals).
fn rows_text(frame: &DataFrame) -> Result<Vec<Vec<String>>, CliError> {
    let mut columns = Vec::new();
    for column in frame.columns() {
        let cells: Vec<String> = if column.name().as_str() == "score" {
            crate::frame::column_f64(frame, "score")
                .map_err(|e| CliError::Internal(e.to_string()))?
                .iter()
                .map(|s| format!("{s:.4}"))
                .collect()
        } else {
            let text = column
                .cast(&DataType::String)
                .map_err(|e| CliError::Internal(e.to_string()))?;
            let text = text.str().map_err(|e| CliError::Internal(e.to_string()))?;
            text.iter().map(|v| v.unwrap_or("").to_string()).collect()
        };
        columns.push(cells);
    }
    Ok((0..frame.height())
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect())
}

/// One JSON object per machine, scores as numbers.
fn rows_json(frame: &DataFrame) -> Result<Vec<serde_json::Value>, CliError> {
    let rows = rows_text(frame)?;
    let scores = crate::frame::column_f64(frame, "score").map_err(|e| CliError::Internal(e.to_string()))?;
    let names = frame.get_column_names();
    Ok(rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let mut object = serde_json::Map::new();
            for (c, name) in names.iter().enumerate() {
                let value = match name.as_str() {
                    "score" => serde_json::json!(scores[r]),
                    "alarm" => serde_json::json!(row[c] == "true"),
                    _ => serde_json::json!(row[c]),
                };
                object.insert(name.to_string(), value);
            }
            serde_json::Value::Object(object)
        })
        .collect())
}
