//! `pmflow gc`: removes artifact files that nothing needs any more, and says what it removed.
//!
//! Three kinds go: the leftovers of killed runs (staging files whose writer is gone, files a
//! run wrote but never recorded), the folders of runs the registry does not know (deleted, or
//! written for a registry since reset), and, when asked with `--keep-last` / `--older-than`,
//! the files of old runs. Never a running run's files, never a run a model version was
//! registered from, never a file a kept run uses (a step served from the cache reads an
//! earlier run's tables). Registry records stay; removed files are stamped `removed_at`.

use std::collections::{HashMap, HashSet};

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
    /// In the folder of a run the registry does not know.
    UnknownRun,
    /// A recorded file of a run that `--keep-last` / `--older-than` selects.
    OldRun,
}

impl Reason {
    fn label(self) -> &'static str {
        match self {
            Reason::Leftover => "leftover of a killed run",
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
    let registry = super::runs::open(&args.registry.registry).await?;
    let runs = registry.gc_runs().await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let collected = old_runs(&runs, args.keep_last, older_than_ms, now_ms);
    let mut needed: HashSet<String> = HashSet::new();
    for run in runs.iter().filter(|r| !collected.contains(&r.id)) {
        needed.extend(registry.referenced_uris(&run.id).await?);
    }
    let by_id: HashMap<&str, &GcRun> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let objects = store.list("").await.map_err(|e| CliError::Usage(e.to_string()))?;

    // Run folders are `EXPERIMENT/RUN_ID/...`. If the registry knows none of the runs the store
    // holds, it is most likely not the store's registry: its folders are left alone.
    let run_of = |o: &StoredObject| -> Option<String> {
        let key = store.key_of(&o.uri)?;
        let run = key.split('/').nth(1)?;
        is_run_id(run).then(|| run.to_string())
    };
    let store_runs: HashSet<String> = objects.iter().filter_map(&run_of).collect();
    let registry_owns_store = store_runs.is_empty() || store_runs.iter().any(|r| by_id.contains_key(r.as_str()));
    let mut recorded: HashMap<String, HashSet<String>> = HashMap::new();
    let mut plan: Vec<(Reason, &StoredObject, Option<String>)> = Vec::new();
    for o in &objects {
        let Some(run_id) = run_of(o) else {
            if is_dead_staging(&o.uri) {
                plan.push((Reason::Leftover, o, None));
            }
            continue;
        };
        let Some(run) = by_id.get(run_id.as_str()) else {
            if registry_owns_store {
                plan.push((Reason::UnknownRun, o, None));
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

    let verb = if args.dry_run { "would remove" } else { "removed" };
    let mut totals: HashMap<Reason, (usize, u64)> = HashMap::new();
    let mut removed_of_run: HashMap<String, Vec<String>> = HashMap::new();
    for (reason, o, run) in &plan {
        if !args.dry_run {
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
    for (run, uris) in &removed_of_run {
        registry.mark_removed(run, uris).await?;
    }
    if !args.dry_run {
        store.prune_empty_folders();
    }
    registry.close().await;
    if !registry_owns_store {
        eprintln!(
            "gc: the registry knows none of the {} runs in {}; their folders were left alone (is --registry the store's registry?)",
            store_runs.len(),
            location.url()
        );
    }
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
        if args.dry_run || kept == 0 || collected.is_empty() {
            String::new()
        } else {
            format!("; {kept} old run(s) kept every file (used by newer runs)")
        }
    );
    Ok(())
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
