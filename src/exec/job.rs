//! One step's execution on its own task: cache lookup, inputs from the store, the step itself
//! on a blocking thread (with retries and a timeout), outputs back to the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::cache;
use super::events::{Event, EventSender};
use super::job_error::{JobError, STOP_GRACE};
use super::outside::{ObjectStoreFiles, RegistryReader};
use crate::artifacts::{ArtifactError, ArtifactStore, StoredArtifact, WriteFailure};
use crate::frame::{OutputFormat, OutputRef, Table};
use crate::registry::Registry;
use crate::steps::context::{Cancel, StepContext, StepError, StepOutput, TableFile};
use crate::steps::{self, Step, StepParams};

/// What does a step's work once the runner has its inputs: `steps::run` in pmflow; a fake in
/// the runner's own tests, which then exercise caching, retries, cancellation and resume
/// without training anything.
#[derive(Clone)]
pub struct StepBody(pub Arc<StepWork>);

/// A step's work: its settings and context in, its outputs out.
pub type StepWork = dyn Fn(&StepParams, &mut StepContext) -> Result<StepOutput, StepError> + Send + Sync;

impl Default for StepBody {
    fn default() -> Self {
        StepBody(Arc::new(crate::steps::run))
    }
}

/// Temporary files removed when dropped: what an attempt downloaded, gone on every way out
/// (a timeout returns early).
struct Downloads(Vec<PathBuf>);

impl Drop for Downloads {
    fn drop(&mut self) {
        for file in &self.0 {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A step's output references, and its tables by artifact URI.
type Outputs = (Vec<OutputRef>, Vec<(String, Table)>);

/// What a finished step leaves for the steps after it and for the registry.
pub struct Done {
    pub tables: Vec<OutputRef>,
    /// The run whose outputs were reused, on a cache hit.
    pub cached_from: Option<String>,
    pub cache_key: Option<String>,
    /// The tables this execution produced, by artifact URI, for steps that start right away
    /// (empty on a cache hit).
    pub frames: Vec<(String, Table)>,
}

pub struct StepJob {
    pub step: Arc<Step>,
    pub root: PathBuf,
    pub store: ArtifactStore,
    pub registry: Registry,
    /// Where this step's artifacts go: `<experiment>/<run>/<step>`.
    pub prefix: String,
    pub run_id: String,
    /// The pipeline's name (a registered model's name by default).
    pub pipeline: String,
    pub tx: EventSender,
    /// Upstream tables as (upstream step id, table).
    pub inputs: Vec<(String, OutputRef)>,
    /// Every upstream step's settings, in execution order (see `StepContext::upstream`).
    pub upstream: Vec<(String, crate::steps::StepParams)>,
    /// False for `--force`d steps and steps downstream of them.
    pub use_cache: bool,
    /// Raised by the runner when the run is interrupted: the step stops at its next check and
    /// is not retried.
    pub interrupted: Arc<AtomicBool>,
    /// Input tables still in memory from the step that just wrote them, by artifact URI: the
    /// same frames the artifacts hold, so reading them back would only cost time. The first
    /// attempt takes them; a retry reads the artifacts.
    pub handed: Mutex<HashMap<String, Table>>,
    /// What does the step's work.
    pub body: StepBody,
}

impl StepJob {
    pub async fn run(mut self) -> Result<Done, JobError> {
        if let Some(params) = self.step.params.as_register() {
            return self.register(params).await;
        }
        // A model or earlier runs' tables the step names join its inputs (and so its cache
        // key); a named model's training chain replaces this pipeline's as what new data is
        // prepared by. `--dry-run` computes the same key with the same function.
        let inputs = std::mem::take(&mut self.inputs);
        let keyed = super::wiring::keyed(&self.step, inputs, &self.root, &self.registry, &self.store).await?;
        if let Some((shown, chain)) = keyed.model {
            let _ = self.tx.send(Event::Note {
                step: self.step.id.clone(),
                message: format!("scoring with {shown}"),
            });
            self.upstream = chain;
        }
        self.inputs = keyed.inputs;
        // The files read from outside the run, with their digests (S3: version), for lineage.
        if !keyed.files.is_empty() {
            let _ = self.tx.send(Event::Tag {
                key: format!("{}{}", crate::registry::INPUT_TAG, self.step.id),
                value: crate::registry::files_read_tag(&keyed.files),
            });
        }
        let key = keyed.key.ok();
        if let (Some(key), true) = (&key, self.use_cache) {
            if let Some(done) = self.reuse(key).await {
                return Ok(done);
            }
        }
        let (tables, frames) = self.run_with_retries().await?;
        Ok(Done {
            tables,
            cached_from: None,
            cache_key: key,
            frames,
        })
    }

    /// `register` writes the registry: never cached, never retried (a retry could register
    /// twice), carried out by `register.rs`.
    async fn register(&self, params: &steps::register::RegisterParams) -> Result<Done, JobError> {
        let _ = self.tx.send(Event::StepStarted {
            step: self.step.id.clone(),
            attempt: 1,
            of: 1,
        });
        let report = super::register::carry_out(super::register::Registration {
            params,
            step_id: &self.step.id,
            run_id: &self.run_id,
            pipeline: &self.pipeline,
            registry: &self.registry,
            store: &self.store,
            tx: &self.tx,
            inputs: &self.inputs,
        })
        .await?;
        let output = StepOutput {
            reports: vec![("registration".into(), report)],
            ..Default::default()
        };
        let (tables, frames) = self.store_outputs(output).await?;
        Ok(Done {
            tables,
            cached_from: None,
            cache_key: None,
            frames,
        })
    }

    /// A cache hit: the outputs of an earlier identical execution, re-recorded for this run.
    async fn reuse(&self, key: &str) -> Option<Done> {
        let cached = self.registry.find_cached(key).await.ok().flatten()?;
        if let Err(why) = cache::still_valid(&cached, &self.store, &self.registry).await {
            let _ = self.tx.send(Event::Warning {
                step: self.step.id.clone(),
                message: format!("not reused: {why}"),
            });
            return None;
        }
        for (name, stored) in cached.artifacts {
            let _ = self.tx.send(Event::Artifact {
                step: self.step.id.clone(),
                name,
                stored,
            });
        }
        for message in cached.warnings {
            let _ = self.tx.send(Event::Warning {
                step: self.step.id.clone(),
                message,
            });
        }
        for (key, value, index) in cached.metrics {
            let _ = self.tx.send(Event::Metric {
                step: self.step.id.clone(),
                key,
                value,
                index,
            });
        }
        Some(Done {
            tables: cached.tables,
            cached_from: Some(cached.run_id),
            cache_key: Some(key.to_string()),
            frames: Vec::new(),
        })
    }

    async fn run_with_retries(&self) -> Result<Outputs, JobError> {
        let attempts = self.step.retries + 1;
        let mut attempt = 1;
        loop {
            let _ = self.tx.send(Event::StepStarted {
                step: self.step.id.clone(),
                attempt,
                of: attempts,
            });
            match self.attempt(attempt).await {
                Ok(tables) => return Ok(tables),
                Err(_) if self.interrupted.load(Ordering::Relaxed) => return Err(JobError::Interrupted),
                Err(e @ JobError::TimedOutStuck(_)) => return Err(e),
                Err(e) if attempt < attempts => {
                    let _ = self.tx.send(Event::StepRetrying {
                        step: self.step.id.clone(),
                        attempt,
                        error: e.to_string(),
                    });
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn attempt(&self, attempt: u32) -> Result<Outputs, JobError> {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        let mut files = Vec::new();
        // A program run as the step reads its tables itself: it gets their files.
        let as_files = steps::ports(&self.step.params).reads_table_files();
        let mut table_files = Vec::new();
        // Tables downloaded for the step to read, removed however the attempt ends.
        let mut downloaded = Downloads(Vec::new());
        for (from, t) in &self.inputs {
            let key = format!("{from}/{}", t.name);
            match t.format {
                OutputFormat::Table if as_files => {
                    let (path, temporary) = self.local_table_file(t).await?;
                    if temporary {
                        downloaded.0.push(path.clone());
                    }
                    table_files.push(TableFile {
                        name: key,
                        path,
                        roles: t.roles.clone(),
                    });
                }
                OutputFormat::Table => {
                    let handed = self.handed.lock().map(|mut h| h.remove(&t.uri)).ok().flatten();
                    let table = match handed {
                        Some(table) => table,
                        None => self.read_table(t).await?,
                    };
                    inputs.push((key, table));
                }
                OutputFormat::File => {
                    let bytes = match self.store.get(&t.uri).await {
                        // A named model's files may live in another store than this pipeline's.
                        Err(ArtifactError::Foreign { .. }) => {
                            crate::artifacts::store_for_url(&t.uri)?.get(&t.uri).await?
                        }
                        read => read?,
                    };
                    files.push((key, bytes.to_vec()));
                }
            }
        }
        let events = self.tx.for_step(&self.step.id);
        let mut ctx = StepContext::new(self.step.id.clone(), self.root.clone(), inputs, events);
        ctx.remote = Arc::new(ObjectStoreFiles);
        ctx.registry = Arc::new(RegistryReader(self.registry.clone()));
        ctx.files = files;
        ctx.table_files = table_files;
        ctx.run_id = self.run_id.clone();
        ctx.attempt = attempt;
        ctx.upstream = self.upstream.clone();
        ctx.digests = self
            .inputs
            .iter()
            .map(|(from, t)| (format!("{from}/{}", t.name), t.sha256.clone()))
            .collect();
        // This attempt's own flag: a timeout stops it without stopping its retry.
        let timed_out = Arc::new(AtomicBool::new(false));
        ctx.cancel = Cancel::any_of([self.interrupted.clone(), timed_out.clone()]);
        let step = self.step.clone();
        let body = self.body.0.clone();
        // Steps are CPU-bound and synchronous: run them off the async threads.
        let mut work = tokio::task::spawn_blocking(move || body(&step.params, &mut ctx));
        let joined = match self.step.timeout {
            Some(limit) => match tokio::time::timeout(limit, &mut work).await {
                Ok(joined) => joined,
                Err(_) => {
                    // The retry (or the run's end) waits for this attempt to return.
                    timed_out.store(true, Ordering::Relaxed);
                    return match tokio::time::timeout(STOP_GRACE, work).await {
                        Ok(_) => Err(JobError::TimedOut(limit.as_secs())),
                        Err(_) => Err(JobError::TimedOutStuck(limit.as_secs())),
                    };
                }
            },
            None => work.await,
        };
        drop(downloaded);
        let output: StepOutput = joined.map_err(|e| JobError::Panicked(e.to_string()))??;
        let undeclared = steps::ports(&self.step.params).undeclared(&output);
        if !undeclared.is_empty() {
            return Err(StepError::new(format!(
                "internal error: a `{}` step wrote {}, which its kind does not declare among its outputs; please report this",
                self.step.kind.name(),
                undeclared.join(", ")
            ))
            .into());
        }
        let started = std::time::Instant::now();
        let stored = self.store_outputs(output).await?;
        // The share of the step's time that went to its artifacts (encoding, digest, storage);
        // the rest is the step's own work. `just bench` reports the two apart.
        let _ = self.tx.send(Event::Metric {
            step: self.step.id.clone(),
            key: "write_seconds".into(),
            value: started.elapsed().as_secs_f64(),
            index: 0,
        });
        Ok(stored)
    }

    /// Uploads tables (Parquet), reports (JSON) and files, emitting one event per artifact.
    /// Returns the outputs' references and the tables themselves (sharing the frames' buffers).
    async fn store_outputs(&self, output: StepOutput) -> Result<Outputs, JobError> {
        let mut tables = Vec::new();
        let mut frames = Vec::new();
        for (name, table) in output.tables {
            let roles = table.roles.clone();
            let kept = table.clone();
            let key = format!("{}/{name}.parquet", self.prefix);
            let stored = self
                .store
                .put_streamed(&key, move |out| {
                    table
                        .write_parquet(out)
                        .map_err(|e| WriteFailure::Encoder(format!("Parquet encoding: {e}")))
                })
                .await?;
            tables.push(OutputRef {
                name: name.clone(),
                uri: stored.uri.clone(),
                sha256: stored.sha256.clone(),
                roles,
                format: OutputFormat::Table,
            });
            frames.push((stored.uri.clone(), kept));
            self.remember(&stored).await;
            self.artifact(format!("{name}.parquet"), stored);
        }
        for (name, bytes) in output.files {
            let stored = self.put(&name, Bytes::from(bytes)).await?;
            tables.push(OutputRef {
                name: name.clone(),
                uri: stored.uri.clone(),
                sha256: stored.sha256.clone(),
                roles: Default::default(),
                format: OutputFormat::File,
            });
            self.artifact(name, stored);
        }
        for (name, report) in output.reports {
            let text = serde_json::to_vec_pretty(&report).unwrap_or_default();
            let stored = self.put(&format!("{name}.json"), Bytes::from(text)).await?;
            self.artifact(format!("{name}.json"), stored);
        }
        Ok((tables, frames))
    }

    /// An upstream table: straight from its file in a local store, else downloaded.
    async fn read_table(&self, t: &OutputRef) -> Result<Table, JobError> {
        let cannot = |cause: String| JobError::Decode {
            uri: t.uri.clone(),
            cause,
        };
        // A remote table goes to a temporary file first and is decoded from a map of it, as a
        // local one is: holding the download in memory next to the decoded frame would double
        // the step's peak for a large table.
        let (path, temporary) = self.local_table_file(t).await?;
        let (file, roles) = (path.clone(), t.roles.clone());
        let read = match tokio::task::spawn_blocking(move || Table::read_parquet_file(&file, roles)).await {
            Ok(decoded) => decoded.map_err(|e| cannot(e.to_string())),
            Err(e) => Err(cannot(e.to_string())),
        };
        if temporary {
            let _ = std::fs::remove_file(&path);
        }
        read
    }

    /// A table artifact as a local Parquet file: its own file in a local store, else a download
    /// to a temporary file (`true`: the caller removes it).
    async fn local_table_file(&self, t: &OutputRef) -> Result<(PathBuf, bool), JobError> {
        match self.store.local_file(&t.uri) {
            Some(path) => Ok((path, false)),
            None => {
                let temp = crate::frame::temporary_path("table.parquet");
                self.store.download_to(&t.uri, &temp).await?;
                Ok((temp, true))
            }
        }
    }

    /// Records a local artifact's digest with its file stamp, so a later cache check need not
    /// read it again.
    async fn remember(&self, stored: &StoredArtifact) {
        if let Some(path) = self.store.local_file(&stored.uri) {
            if let Ok(stamp) = crate::registry::FileStamp::of(&path) {
                let _ = self.registry.remember_digest(&path, stamp, &stored.sha256).await;
            }
        }
    }

    fn artifact(&self, name: String, stored: StoredArtifact) {
        let _ = self.tx.send(Event::Artifact {
            step: self.step.id.clone(),
            name,
            stored,
        });
    }

    async fn put(&self, name: &str, bytes: Bytes) -> Result<StoredArtifact, JobError> {
        Ok(self.store.put(&format!("{}/{name}", self.prefix), bytes).await?)
    }
}
