//! The fresh folder a program runs against: its input tables as files (a local Parquet artifact
//! linked, not copied), the folder its outputs go to, the messages file, and
//! `pmflow-step.json`, which says where all of it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::json;

use super::names::output_path;
use super::{CommandParams, InputFormat};
use crate::frame::{Roles, Table};
use crate::steps::context::{StepContext, StepError};

/// The context file's name, in the working folder; `PMFLOW_STEP` holds its path.
pub const CONTEXT_FILE: &str = "pmflow-step.json";
/// The messages file's name: JSON lines the program appends.
pub const MESSAGES_FILE: &str = "messages.jsonl";

/// One input as the program sees it.
pub struct HandedInput {
    /// Its name in the context (`clean`, `train`, or `split/train` when ambiguous).
    pub name: String,
    pub path: PathBuf,
    pub rows: usize,
    pub columns: Vec<String>,
    pub roles: Roles,
}

/// A prepared working folder.
pub struct Workdir {
    pub dir: PathBuf,
    pub inputs: Vec<HandedInput>,
    /// The roles of the input tables (the first one's): what table outputs must keep.
    pub roles: Roles,
    pub context: PathBuf,
    pub messages: PathBuf,
    /// On a replay on new data: the state the step fitted in training, by name, as files here.
    pub fitted: Option<Vec<(String, PathBuf)>>,
}

impl Workdir {
    /// Makes the folder, hands over the inputs (and, on a replay, the `fitted` state) and
    /// writes the context file.
    pub fn make(
        p: &CommandParams,
        ctx: &mut StepContext,
        fitted: Option<&[(String, Vec<u8>)]>,
    ) -> Result<Workdir, StepError> {
        let dir = fresh_folder(ctx)?;
        let made = Self::fill(p, ctx, dir.clone(), fitted);
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        made
    }

    fn fill(
        p: &CommandParams,
        ctx: &mut StepContext,
        dir: PathBuf,
        fitted: Option<&[(String, Vec<u8>)]>,
    ) -> Result<Workdir, StepError> {
        let shown = dir.display().to_string();
        let io = |what: &str, e: std::io::Error| StepError::new(format!("cannot {what} in {shown}: {e}"));
        for sub in ["in", "out", "fitted"] {
            std::fs::create_dir(dir.join(sub)).map_err(|e| io("make a folder", e))?;
        }
        let fitted = match fitted {
            None => None,
            Some(files) => {
                let mut paths = Vec::new();
                for (name, bytes) in files {
                    let path = dir.join("fitted").join(name);
                    std::fs::write(&path, bytes).map_err(|e| io("write the fitted state", e))?;
                    paths.push((name.clone(), path));
                }
                Some(paths)
            }
        };
        let inputs = hand_over(p, ctx, &dir.join("in"))?;
        let roles = inputs.first().map(|i| i.roles.clone()).unwrap_or_default();
        let messages = dir.join(MESSAGES_FILE);
        std::fs::write(&messages, b"").map_err(|e| io("write the messages file", e))?;
        let work = Workdir {
            context: dir.join(CONTEXT_FILE),
            dir,
            inputs,
            roles,
            messages,
            fitted,
        };
        let text = serde_json::to_vec_pretty(&work.context_json(p, ctx)).unwrap_or_default();
        std::fs::write(&work.context, text).map_err(|e| io("write the context file", e))?;
        Ok(work)
    }

    /// Where output `name` of `kind` goes.
    pub fn output(&self, name: &str, kind: crate::steps::ports::OutputKind) -> PathBuf {
        self.dir.join("out").join(output_path(name, kind))
    }

    fn context_json(&self, p: &CommandParams, ctx: &StepContext) -> serde_json::Value {
        let role = |r: &Option<String>| r.clone().map_or(serde_json::Value::Null, serde_json::Value::from);
        let format = match p.input_format {
            InputFormat::Parquet => "parquet",
            InputFormat::Csv => "csv",
        };
        let inputs: serde_json::Map<String, serde_json::Value> = self
            .inputs
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    json!({"path": i.path, "format": format, "rows": i.rows, "columns": i.columns}),
                )
            })
            .collect();
        let outputs: serde_json::Map<String, serde_json::Value> = p
            .outputs
            .iter()
            .map(|(name, kind)| {
                let kind_name = format!("{kind:?}").to_lowercase();
                (
                    name.clone(),
                    json!({"path": self.output(name, *kind), "kind": kind_name}),
                )
            })
            .collect();
        let fitted: serde_json::Map<String, serde_json::Value> = self
            .fitted
            .iter()
            .flatten()
            .map(|(name, path)| (name.clone(), json!(path)))
            .collect();
        json!({
            "pmflow": env!("CARGO_PKG_VERSION"),
            "replay": self.fitted.is_some(),
            "fitted": fitted,
            "run": ctx.run_id,
            "step": ctx.step_id,
            "attempt": ctx.attempt,
            "seed": p.seed,
            "threads": p.threads,
            "workdir": self.dir,
            "roles": {"entity": role(&self.roles.entity), "timestamp": role(&self.roles.timestamp), "label": role(&self.roles.label)},
            "params": p.params,
            "inputs": inputs,
            "outputs": outputs,
            "messages": self.messages,
        })
    }

    /// The variables the program sees besides its declared ones: where everything is.
    pub fn variables(&self, p: &CommandParams) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let path = |p: &Path| p.display().to_string();
        vars.insert("PMFLOW_STEP".into(), path(&self.context));
        vars.insert("PMFLOW_MESSAGES".into(), path(&self.messages));
        vars.insert("PMFLOW_WORKDIR".into(), path(&self.dir));
        vars.insert("PMFLOW_PARAMS".into(), p.params.to_string());
        vars.insert("PMFLOW_SEED".into(), p.seed.to_string());
        vars.insert("PMFLOW_THREADS".into(), p.threads.to_string());
        for input in &self.inputs {
            vars.insert(
                format!("PMFLOW_INPUT_{}", variable_part(&input.name)),
                path(&input.path),
            );
        }
        for (name, kind) in &p.outputs {
            vars.insert(
                format!("PMFLOW_OUTPUT_{}", variable_part(name)),
                path(&self.output(name, *kind)),
            );
        }
        vars
    }

    /// Removes the folder and everything in it.
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `split/train` -> `SPLIT_TRAIN`, `work_orders.csv` -> `WORK_ORDERS_CSV`.
pub fn variable_part(name: &str) -> String {
    name.chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect()
}

/// A new, empty folder for this attempt under the temporary folder.
fn fresh_folder(ctx: &StepContext) -> Result<PathBuf, StepError> {
    let base = crate::frame::temporary_path(&format!("step-{}-{}", ctx.step_id, ctx.attempt));
    std::fs::create_dir_all(&base)
        .map_err(|e| StepError::new(format!("cannot make a working folder {}: {e}", base.display())))?;
    Ok(base)
}

/// The tables the program reads, under the names the context gives them, as files in `into`.
fn hand_over(p: &CommandParams, ctx: &mut StepContext, into: &Path) -> Result<Vec<HandedInput>, StepError> {
    // Files the runner handed over (a run), or tables in memory (a replay on new data).
    let available: Vec<(String, Source)> = if ctx.table_files.is_empty() {
        std::mem::take(&mut ctx.inputs)
            .into_iter()
            .map(|(name, table)| (name, Source::Memory(table)))
            .collect()
    } else {
        ctx.table_files
            .iter()
            .map(|f| (f.name.clone(), Source::File(f.path.clone(), f.roles.clone())))
            .collect()
    };
    let chosen = choose(p.inputs.as_deref(), available)?;
    let names = context_names(&chosen.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>());
    let mut handed = Vec::new();
    for ((_, source), name) in chosen.into_iter().zip(names) {
        let extension = match p.input_format {
            InputFormat::Parquet => "parquet",
            InputFormat::Csv => "csv",
        };
        let path = into.join(format!("{}.{extension}", variable_part(&name).to_lowercase()));
        handed.push(source.write(name, &path, p.input_format)?);
    }
    Ok(handed)
}

/// Where an input's rows are.
enum Source {
    File(PathBuf, Roles),
    Memory(Table),
}

impl Source {
    /// Puts the table at `path` in `format`: a Parquet file is linked; anything else written.
    fn write(self, name: String, path: &Path, format: InputFormat) -> Result<HandedInput, StepError> {
        let fail = |e: String| StepError::new(format!("cannot hand over input `{name}`: {e}"));
        let (rows, columns, roles) = match (self, format) {
            (Source::File(file, roles), InputFormat::Parquet) => {
                std::os::unix::fs::symlink(&file, path).map_err(|e| fail(e.to_string()))?;
                let (rows, columns) = parquet_shape(&file).map_err(|e| fail(e.to_string()))?;
                (rows, columns, roles)
            }
            (Source::File(file, roles), InputFormat::Csv) => {
                let table = Table::read_parquet_file(&file, roles).map_err(|e| fail(e.to_string()))?;
                write_table(&table, path, format).map_err(fail)?
            }
            (Source::Memory(table), format) => write_table(&table, path, format).map_err(fail)?,
        };
        Ok(HandedInput {
            name,
            path: path.to_path_buf(),
            rows,
            columns,
            roles,
        })
    }
}

/// Writes `table` as Parquet or CSV; its shape and roles.
fn write_table(table: &Table, path: &Path, format: InputFormat) -> Result<(usize, Vec<String>, Roles), String> {
    let mut file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    match format {
        InputFormat::Parquet => table.write_parquet(&mut file).map_err(|e| e.to_string())?,
        InputFormat::Csv => {
            let mut frame = table.frame.clone();
            CsvWriter::new(&mut file)
                .finish(&mut frame)
                .map_err(|e| e.to_string())?
        }
    }
    let columns = table.frame.get_column_names().iter().map(|c| c.to_string()).collect();
    Ok((table.frame.height(), columns, table.roles.clone()))
}

/// Rows and column names of a Parquet file, from its footer.
fn parquet_shape(path: &Path) -> PolarsResult<(usize, Vec<String>)> {
    let mut reader = ParquetReader::new(std::fs::File::open(path)?);
    let rows = reader.num_rows()?;
    let columns = reader.schema()?.iter_names().map(|n| n.to_string()).collect();
    Ok((rows, columns))
}

/// The tables `wanted` names (`step`, `step/part`, or a part such as `train`), in its order;
/// all of them when it is None.
fn choose<T>(wanted: Option<&[String]>, available: Vec<(String, T)>) -> Result<Vec<(String, T)>, StepError> {
    let Some(wanted) = wanted else {
        return Ok(available);
    };
    let mut available: Vec<Option<(String, T)>> = available.into_iter().map(Some).collect();
    let mut chosen = Vec::new();
    for want in wanted {
        let before = chosen.len();
        for slot in available.iter_mut() {
            let matches = slot.as_ref().is_some_and(|(name, _)| {
                let (step, part) = name.split_once('/').unwrap_or((name.as_str(), ""));
                name == want || step == want || part == want
            });
            if matches {
                chosen.extend(slot.take());
            }
        }
        if chosen.len() == before {
            let names: Vec<String> = available.iter().flatten().map(|(n, _)| format!("`{n}`")).collect();
            return Err(StepError::new(format!(
                "`inputs`: no table `{want}` upstream; the steps under `needs` give {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    Ok(chosen)
}

/// The name each table goes by in the context: the step's id for a whole table (`frame`), the
/// part's name for a split part, and `step/part` for any name two tables would share.
pub fn context_names(tables: &[&str]) -> Vec<String> {
    let short: Vec<String> = tables
        .iter()
        .map(|t| match t.split_once('/') {
            Some((step, "frame")) => step.to_string(),
            Some((_, part)) => part.to_string(),
            None => t.to_string(),
        })
        .collect();
    short
        .iter()
        .zip(tables)
        .map(|(s, full)| match short.iter().filter(|o| *o == s).count() {
            1 => s.clone(),
            _ => full.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_named_by_step_or_part_and_in_full_when_two_share_a_name() {
        assert_eq!(
            context_names(&["clean/frame", "split/train", "split/val"]),
            ["clean", "train", "val"]
        );
        assert_eq!(
            context_names(&["split/train", "smote/train", "split/val"]),
            ["split/train", "smote/train", "val"]
        );
        assert_eq!(variable_part("split/train"), "SPLIT_TRAIN");
        assert_eq!(variable_part("work_orders.csv"), "WORK_ORDERS_CSV");
    }

    #[test]
    fn inputs_are_chosen_by_step_part_or_both() {
        let available = || {
            vec![
                ("split/train".to_string(), 1),
                ("split/val".to_string(), 2),
                ("clean/frame".to_string(), 3),
            ]
        };
        let names = |chosen: Vec<(String, i32)>| chosen.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        assert_eq!(names(choose(None, available()).unwrap()), [1, 2, 3]);
        assert_eq!(
            names(choose(Some(&["val".into(), "train".into()]), available()).unwrap()),
            [2, 1]
        );
        assert_eq!(names(choose(Some(&["split".into()]), available()).unwrap()), [1, 2]);
        assert_eq!(names(choose(Some(&["clean".into()]), available()).unwrap()), [3]);
        let missing = choose(Some(&["test".into()]), available()).err().unwrap();
        assert!(
            missing.0.contains("no table `test`") && missing.0.contains("`split/val`"),
            "{missing}"
        );
    }
}
