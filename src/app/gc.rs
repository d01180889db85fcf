//! `pmflow gc`: removes artifact files that nothing needs any more, and says what it removed.
//!
//! Three kinds go: the leftovers of killed runs (staging files whose writer is gone, files a
//! run wrote but never recorded), the files of incomplete run folders the registry does not
//! know (no `pipeline.json`: a run writes it before anything else), and, when asked with
//! `--keep-last` / `--older-than`, the files of old runs. Never a running run's files, never a
//! run a model version was registered from, never a file a kept run uses (a step served from
//! the cache reads an earlier run's tables). A complete run this registry does not know is
//! another registry's (a trial `--registry`, a project moved to PostgreSQL that kept its
//! folder): gc cannot prove it is garbage, so it stays unless `--unknown-runs` names it.
//! Registry records stay; removed files are stamped `removed_at`.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::artifacts::{ArtifactStore, StoredObject};
use crate::cli::GcArgs;
use crate::error::CliError;
use crate::exec::leftovers::{is_dead_staging, is_leftover, staging_pid};
use crate::pipeline::duration::duration_ms;
use crate::pipeline::location::ArtifactLocation;
use crate::registry::GcRun;

/// Why a file is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Reason {
    /// A killed run's staging file or unrecorded file.
    Leftover,
    /// In a run folder without `pipeline.json` that the registry does not know.
    IncompleteRun,
    /// In the folder of a complete run the registry does not know (`--unknown-runs`).
    UnknownRun,
    /// A recorded file of a run that `--keep-last` / `--older-than` selects.
    OldRun,
}

impl Reason {
    fn label(self) -> &'static str {
        match self {
            Reason::Leftover => "leftover of a killed run",
            Reason::IncompleteRun => "incomplete unknown run",
            Reason::UnknownRun => "run unknown to the registry",
            Reason::OldRun => "old run",
        }
    }
}

pub async fn gc(args: &GcArgs) -> Result<(), CliError> {
    let older_than_ms = match &args.older_than {
        Some(text) => Some(duration_ms(text).ok_or_else(|| {
            CliError::Usage(format!(
                "--older-than `{text}`: give an age such as `30d`, `12h` or `2w`"
            ))
        })?),
        None => None,
    };
    let cwd = std::env::current_dir().map_err(|e| CliError::Internal(e.to_string()))?;
    let location = ArtifactLocation::parse(&args.artifacts, &cwd)
        .map_err(|e| CliError::Usage(format!("--artifacts (or PMFLOW_ARTIFACTS): {e}")))?;
    let store = ArtifactStore::open(&location).map_err(|e| CliError::Usage(e.to_string()))?;
    let registry = super::shared::open_registry(&args.registry.registry).await?;
    let runs = registry.gc_runs().await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let collected = old_runs(&runs, args.keep_last, older_than_ms, now_ms);
    let mut needed: HashSet<String> = HashSet::new();
    for run in runs.iter().filter(|r| !collected.contains(&r.id)) {
        needed.extend(registry.referenced_uris(&run.id).await?);
    }
    let by_id: HashMap<&str, &GcRun> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let objects = store.list("").await.map_err(|e| CliError::Usage(e.to_string()))?;

    // Run folders are `EXPERIMENT/RUN_ID/...`.
    let run_of = |o: &StoredObject| -> Option<(String, String)> {
        let key = store.key_of(&o.uri)?;
        let mut parts = key.splitn(3, '/');
        let (experiment, run) = (parts.next()?, parts.next()?);
        is_run_id(run).then(|| (run.to_string(), format!("{experiment}/{run}")))
    };
    // Every run writes its `pipeline.json` before anything else, and gc keeps it while any file
    // of the run stays: a folder that holds one is a run, someone's.
    let complete: HashSet<String> = objects
        .iter()
        .filter_map(|o| {
            let (run, folder) = run_of(o)?;
            (store.key_of(&o.uri)? == format!("{folder}/pipeline.json")).then_some(run)
        })
        .collect();
    let mut recorded: HashMap<String, HashSet<String>> = HashMap::new();
    let mut plan: Vec<(Reason, &StoredObject, Option<String>)> = Vec::new();
    // Complete runs this registry does not know, left alone: folder -> (files, bytes).
    let mut foreign: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for o in &objects {
        let Some((run_id, folder)) = run_of(o) else {
            if is_dead_staging(&o.uri) {
                plan.push((Reason::Leftover, o, None));
            }
            continue;
        };
        let Some(run) = by_id.get(run_id.as_str()) else {
            if complete.contains(&run_id) {
                if args.unknown_runs {
                    plan.push((Reason::UnknownRun, o, None));
                } else {
                    let f = foreign.entry(folder).or_default();
                    f.0 += 1;
                    f.1 += o.bytes;
                }
            } else if staging_pid(&o.uri).is_none() || is_dead_staging(&o.uri) {
                // A live writer's staging file is left to its writer.
                plan.push((Reason::IncompleteRun, o, None));
            }
            continue;
        };
        if run.status == "running" {
            continue;
        }
        if !recorded.contains_key(&run_id) {
            recorded.insert(run_id.clone(), registry.recorded_uris(&run_id).await?);
        }
        if is_leftover(&o.uri, &recorded[&run_id]) {
            plan.push((Reason::Leftover, o, None));
        } else if staging_pid(&o.uri).is_none() && collected.contains(&run_id) && !needed.contains(&o.uri) {
            plan.push((Reason::OldRun, o, Some(run_id)));
        }
    }
    keep_markers_of_kept_files(&mut plan, &objects, |o| run_of(o).map(|(run, _)| run));
    let verb = if args.dry_run { "would remove" } else { "removed" };
    let (totals, removed_of_run) = remove(&plan, &store, verb, args.dry_run).await?;
    for (run, uris) in &removed_of_run {
        registry.mark_removed(run, uris).await?;
    }
    if !args.dry_run {
        store.prune_empty_folders();
    }
    registry.close().await;
    print_foreign(&foreign, &location.url());
    print_totals(verb, &totals, &collected, &removed_of_run, args.dry_run);
    Ok(())
}

/// Removal totals by reason, and the files removed per old run (to mark in the registry).
type Removed = (HashMap<Reason, (usize, u64)>, HashMap<String, Vec<String>>);

/// Removes the planned files (or, on a dry run, only says it would), one line each.
async fn remove(
    plan: &[(Reason, &StoredObject, Option<String>)],
    store: &ArtifactStore,
    verb: &str,
    dry_run: bool,
) -> Result<Removed, CliError> {
    let mut totals: HashMap<Reason, (usize, u64)> = HashMap::new();
    let mut removed_of_run: HashMap<String, Vec<String>> = HashMap::new();
    for (reason, o, run) in plan {
        if !dry_run {
            store
                .delete(&o.uri)
                .await
                .map_err(|e| CliError::Internal(e.to_string()))?;
            if let Some(run) = run {
                removed_of_run.entry(run.clone()).or_default().push(o.uri.clone());
            }
        }
        println!("{verb} {:<28} {:>10}  {}", reason.label(), megabytes(o.bytes), o.uri);
        let t = totals.entry(*reason).or_default();
        t.0 += 1;
        t.1 += o.bytes;
    }
    Ok((totals, removed_of_run))
}

/// The complete runs this registry does not know, kept: one line each, and what to do.
fn print_foreign(foreign: &BTreeMap<String, (usize, u64)>, store_url: &str) {
    for (folder, (files, bytes)) in foreign {
        println!(
            "kept {:<33} {:>10}  {folder} ({files} file(s))",
            "run unknown to this registry",
            megabytes(*bytes)
        );
    }
    if !foreign.is_empty() {
        eprintln!(
            "gc: kept {} complete run(s) in {} that this registry does not know: another registry's (a `--registry` trial, or a registry moved to PostgreSQL)? Their models may depend on them. Run gc with that registry, or pass --unknown-runs to remove them (see them first with --dry-run)",
            foreign.len(),
            store_url
        );
    }
}

/// The closing line: files and bytes removed, by reason, and old runs kept whole.
fn print_totals(
    verb: &str,
    totals: &HashMap<Reason, (usize, u64)>,
    collected: &HashSet<String>,
    removed_of_run: &HashMap<String, Vec<String>>,
    dry_run: bool,
) {
    let (files, bytes) = totals.values().fold((0, 0), |(f, b), (n, s)| (f + n, b + s));
    let mut reasons: Vec<(&Reason, &(usize, u64))> = totals.iter().collect();
    reasons.sort();
    let parts: Vec<String> = reasons
        .iter()
        .map(|(r, (n, s))| format!("{n} {} ({})", r.label(), megabytes(*s)))
        .collect();
    let kept = collected.iter().filter(|r| !removed_of_run.contains_key(*r)).count();
    println!(
        "gc: {verb} {files} file(s), {}{}{}",
        megabytes(bytes),
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        },
        if dry_run || kept == 0 || collected.is_empty() {
            String::new()
        } else {
            format!("; {kept} old run(s) kept every file (used by newer runs)")
        }
    );
}

/// The runs whose files go: beyond the newest `keep_last` of their pipeline and started more
/// than `older_than_ms` ago (both, when both are given); none when neither is. Running runs and
/// runs with a registered model version always stay. `runs` is newest first.
fn old_runs(runs: &[GcRun], keep_last: Option<usize>, older_than_ms: Option<i64>, now_ms: i64) -> HashSet<String> {
    if keep_last.is_none() && older_than_ms.is_none() {
        return HashSet::new();
    }
    let mut seen_of_pipeline: HashMap<&str, usize> = HashMap::new();
    let mut old = HashSet::new();
    for run in runs {
        let rank = seen_of_pipeline.entry(run.pipeline.as_str()).or_insert(0);
        *rank += 1;
        let beyond_keep = keep_last.is_none_or(|n| *rank > n);
        let started_ms = chrono::DateTime::parse_from_rfc3339(&run.started_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or(now_ms);
        let aged = older_than_ms.is_none_or(|age| now_ms - started_ms > age);
        if beyond_keep && aged && run.status != "running" && !run.has_model {
            old.insert(run.id.clone());
        }
    }
    old
}

/// An old run's `pipeline.json` stays while any other file of its folder stays (a newer run
/// reuses its tables): it is what tells another registry's gc that the folder is a run.
fn keep_markers_of_kept_files<'a>(
    plan: &mut Vec<(Reason, &'a StoredObject, Option<String>)>,
    objects: &'a [StoredObject],
    run_of: impl Fn(&StoredObject) -> Option<String>,
) {
    let going: HashSet<&str> = plan.iter().map(|(_, o, _)| o.uri.as_str()).collect();
    let staying: HashSet<String> = objects
        .iter()
        .filter(|o| !going.contains(o.uri.as_str()) && !o.uri.ends_with("/pipeline.json"))
        .filter_map(&run_of)
        .collect();
    plan.retain(|(reason, o, run)| {
        !(*reason == Reason::OldRun
            && o.uri.ends_with("/pipeline.json")
            && run.as_ref().is_some_and(|r| staying.contains(r)))
    });
}

/// Run ids are uuid v7 in 32 hex digits.
fn is_run_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, pipeline: &str, started: &str, status: &str, has_model: bool) -> GcRun {
        GcRun {
            id: id.into(),
            experiment: "e".into(),
            pipeline: pipeline.into(),
            status: status.into(),
            started_at: started.into(),
            has_model,
        }
    }

    #[test]
    fn old_runs_respect_keep_last_age_models_and_running_runs() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .timestamp_millis();
        // Newest first, as the registry lists them.
        let runs = [
            run("a4", "a", "2026-11-30T00:00:00Z", "succeeded", false),
            run("b2", "b", "2026-11-29T00:00:00Z", "failed", false),
            run("a3", "a", "2026-11-20T00:00:00Z", "running", false),
            run("a2", "a", "2026-10-01T00:00:00Z", "succeeded", true),
            run("a1", "a", "2026-09-01T00:00:00Z", "succeeded", false),
            run("b1", "b", "2026-09-01T00:00:00Z", "succeeded", false),
        ];
        let sorted = |s: HashSet<String>| {
            let mut v: Vec<String> = s.into_iter().collect();
            v.sort();
            v
        };
        assert!(old_runs(&runs, None, None, now).is_empty(), "nothing without a rule");
        assert_eq!(
            sorted(old_runs(&runs, Some(1), None, now)),
            ["a1", "b1"],
            "a3 runs, a2 has a model"
        );
        let thirty_days = 30 * 86_400_000;
        assert_eq!(sorted(old_runs(&runs, None, Some(thirty_days), now)), ["a1", "b1"]);
        assert_eq!(
            sorted(old_runs(&runs, Some(2), Some(86_400_000), now)),
            ["a1"],
            "b1 is among b's newest two"
        );
        assert_eq!(sorted(old_runs(&runs, Some(3), None, now)), ["a1"]);
    }

    #[test]
    fn run_folders_are_uuid_hex() {
        assert!(is_run_id("019ad2c4b0a87c31a2d1f0e9c8b7a6f5"));
        assert!(!is_run_id("split"));
        assert!(!is_run_id("019ad2c4b0a87c31a2d1f0e9c8b7a6fz"));
    }
}
