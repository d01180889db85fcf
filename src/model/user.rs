//! A model of the user's own: the folder a `command` step wrote (the user's files and a
//! `model.json` naming a `score` command), packed as one zip beside a pmflow model card, and
//! scored by running that command on prepared windows. `evaluate`, `predict` and `register`
//! take it through [`super::ModelBundle`] like a built-in model.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::card::ModelCard;
use super::ModelError;
use crate::ml::training::WindowSet;
use crate::subprocess::{self, Ended, Watch};

pub use super::card::USER_FORMAT as FORMAT;
/// The file in the user's folder that says how to score.
pub const SPEC: &str = "model.json";
/// The user's folder, packed.
pub const FILES: &str = "model.zip";

/// `model.json`: how pmflow calls the user's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The command that scores, run in the model's folder (argv).
    pub score: Vec<String>,
    /// The feature columns it reads, in order; default: every numeric non-role column of the
    /// training table.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Rows per window; default 1 (tabular rows).
    #[serde(default)]
    pub window: Option<usize>,
    /// Alarm when the score is >= this; default: chosen by pmflow on the `val` part.
    #[serde(default)]
    pub threshold: Option<f64>,
}

impl Spec {
    /// Reads `model.json` from `folder`; the error says what to fix.
    pub fn read(folder: &Path) -> Result<Spec, ModelError> {
        let path = folder.join(SPEC);
        let bytes = std::fs::read(&path).map_err(|e| {
            ModelError::new(format!(
                "the model folder has no readable {SPEC} ({e}); write one naming the `score` command"
            ))
        })?;
        let spec: Spec = serde_json::from_slice(&bytes).map_err(|e| {
            ModelError::new(format!(
                "{SPEC} is not valid: {e}; it holds `score` (argv), and optionally `features`, `window`, `threshold`"
            ))
        })?;
        if spec.score.is_empty() || spec.score[0].is_empty() {
            return Err(ModelError::new(format!(
                "{SPEC}: `score` must name a command (a list such as [\"python3\", \"score.py\"])"
            )));
        }
        if spec.window == Some(0) {
            return Err(ModelError::new(format!("{SPEC}: `window` must be at least 1")));
        }
        Ok(spec)
    }
}

/// Packs every file under `folder` (sorted, permissions kept) as a zip.
pub fn pack(folder: &Path) -> Result<Vec<u8>, ModelError> {
    let fail = |e: String| ModelError::new(format!("cannot pack the model folder {}: {e}", folder.display()));
    let mut files = Vec::new();
    list_files(folder, folder, &mut files).map_err(|e| fail(e.to_string()))?;
    files.sort();
    let mut zip = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for relative in files {
        let path = folder.join(&relative);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map_err(|e| fail(e.to_string()))?
            .permissions()
            .mode();
        let options = ::zip::write::FileOptions::default().unix_permissions(mode);
        zip.start_file(relative.to_string_lossy(), options)
            .map_err(|e| fail(e.to_string()))?;
        let bytes = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
        zip.write_all(&bytes).map_err(|e| fail(e.to_string()))?;
    }
    Ok(zip.finish().map_err(|e| fail(e.to_string()))?.into_inner())
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if path.is_file() {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// The user's model unpacked into a folder of its own, ready to score; the folder goes with it.
pub struct CommandScorer {
    card: ModelCard,
    dir: PathBuf,
    argv: Vec<String>,
}

impl CommandScorer {
    /// Unpacks `packed` (the zip [`pack`] made) for `card`.
    pub fn unpack(card: ModelCard, packed: &[u8]) -> Result<CommandScorer, ModelError> {
        let argv = card
            .score
            .clone()
            .ok_or_else(|| ModelError::new("the model card names no `score` command"))?;
        let dir = crate::frame::temporary_path("user-model");
        let fail = |e: String| ModelError::new(format!("{FILES} cannot be unpacked: {e}"));
        let mut archive = ::zip::ZipArchive::new(std::io::Cursor::new(packed)).map_err(|e| fail(e.to_string()))?;
        std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
        let scorer = CommandScorer { card, dir, argv };
        archive.extract(&scorer.dir).map_err(|e| fail(e.to_string()))?;
        Ok(scorer)
    }

    /// Runs the score command on `input` (a Parquet of windows' rows) and reads its scores.
    fn run(&self, input: &Path, output: &Path, windows: usize) -> Result<Vec<f64>, ModelError> {
        let program = subprocess::program_path(&self.argv[0], &self.dir);
        let log = self.dir.join("score.log");
        let stderr = std::fs::File::create(&log).map_err(|e| ModelError::new(e.to_string()))?;
        let mut command = std::process::Command::new(program);
        command
            .args(&self.argv[1..])
            .current_dir(&self.dir)
            .env_clear()
            .envs(subprocess::passed_environment())
            .env("PMFLOW_SCORE_INPUT", input)
            .env("PMFLOW_SCORE_OUTPUT", output)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        let shown = format!("the model's score command `{}`", self.argv.join(" "));
        let ended = subprocess::run(command, &mut || Watch::GoOn)
            .map_err(|e| ModelError::new(format!("cannot start {shown}: {e}")))?;
        let said = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default())
            .trim()
            .to_string();
        match ended {
            Ended::Exited(status) if status.success() => {}
            Ended::Exited(status)
            | Ended::Stopped {
                status: Some(status), ..
            } => {
                return Err(ModelError::new(format!(
                    "{shown} failed with {}: {said}",
                    subprocess::describe(&status)
                )))
            }
            Ended::Stopped { reason, .. } => return Err(ModelError::new(format!("{shown} was stopped: {reason}"))),
        }
        read_scores(output, windows).map_err(|e| ModelError::new(format!("{shown}: {e}")))
    }
}

impl Drop for CommandScorer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl super::scorer::Scorer for CommandScorer {
    fn card(&self) -> &ModelCard {
        &self.card
    }

    fn score(&self, windows: &WindowSet, _batch_size: usize) -> Result<Vec<f64>, ModelError> {
        let mut frame = window_rows(windows, &self.card.features)?;
        let input = self.dir.join("score_input.parquet");
        let output = self.dir.join("score_output.parquet");
        let _ = std::fs::remove_file(&output);
        let mut file = std::fs::File::create(&input).map_err(|e| ModelError::new(e.to_string()))?;
        ParquetWriter::new(&mut file).finish(&mut frame)?;
        self.run(&input, &output, windows.ends.len())
    }
}

/// Every window's rows, oldest first: `window` (its index), `step` (0 = oldest), the features.
pub fn window_rows(windows: &WindowSet, features: &[String]) -> Result<DataFrame, ModelError> {
    let width = features.len().max(1);
    let matrix: Vec<f32> = Vec::<f32>::try_from(windows.rows.flatten(0, -1))
        .map_err(|e| ModelError::new(format!("the windows cannot be read: {e}")))?;
    let length = windows.window.max(1) as usize;
    let (mut window, mut step) = (Vec::new(), Vec::new());
    let mut rows = Vec::new();
    for (w, end) in windows.ends.iter().enumerate() {
        let first = *end as usize + 1 - length;
        for s in 0..length {
            window.push(w as i64);
            step.push(s as i64);
            rows.push(first + s);
        }
    }
    let mut columns = vec![Column::new("window".into(), window), Column::new("step".into(), step)];
    for (f, name) in features.iter().enumerate() {
        let values: Vec<f64> = rows.iter().map(|r| matrix[r * width + f] as f64).collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    Ok(DataFrame::new(windows.ends.len() * length, columns)?)
}

/// The `score` column of the command's output, one finite number per window.
fn read_scores(path: &Path, windows: usize) -> Result<Vec<f64>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("it wrote no scores to PMFLOW_SCORE_OUTPUT ({e})"))?;
    let frame = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| format!("its output is not a Parquet file pmflow can read: {e}"))?;
    let column = frame
        .column("score")
        .map_err(|_| "its output has no `score` column".to_string())?
        .cast(&DataType::Float64)
        .map_err(|e| format!("its `score` column is not numbers: {e}"))?;
    let scores: Vec<Option<f64>> = column.f64().map_err(|e| e.to_string())?.iter().collect();
    if scores.len() != windows {
        return Err(format!(
            "it wrote {} scores for {windows} windows; write one per window, in order",
            scores.len()
        ));
    }
    scores
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.filter(|s| s.is_finite())
                .ok_or(format!("its score for window {i} is missing or not finite"))
        })
        .collect()
}
