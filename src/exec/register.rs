//! The `register` step, carried out by the runner (steps never write the registry): the run's
//! model becomes the next version of its name, pointing at the files the run wrote (nothing is
//! copied), and the promotion gate decides whether an alias moves. The gate itself is pure
//! (`ml::gate::check_conditions`); this gathers its figures and records the outcome.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::events::{Event, EventSender};
use super::job_error::JobError;
use crate::artifacts::ArtifactStore;
use crate::frame::{OutputFormat, OutputRef};
use crate::model::bundle;
use crate::registry::{NewModelVersion, Promotion, Registry};
use crate::steps::context::StepError;
use crate::steps::register::{self, Holder, RegisterParams};

/// What registering needs from the job that runs it.
pub struct Registration<'a> {
    pub params: &'a RegisterParams,
    pub step_id: &'a str,
    pub run_id: &'a str,
    pub pipeline: &'a str,
    pub registry: &'a Registry,
    pub store: &'a ArtifactStore,
    pub tx: &'a EventSender,
    /// The step's inputs: every ancestor's files (the model's among them).
    pub inputs: &'a [(String, OutputRef)],
}

/// What the step leaves as its report (`registration.json`).
pub async fn carry_out(r: Registration<'_>) -> Result<serde_json::Value, JobError> {
    let p = r.params;
    let name = p.model.clone().unwrap_or_else(|| r.pipeline.to_string());
    if !register::valid_name(&name) {
        return Err(StepError::new(format!(
            "the pipeline's name `{name}` is not a model name (letters, digits, `-`, `_`, `.`); set `with.model`"
        ))
        .into());
    }
    let file = |wanted: &str| {
        r.inputs
            .iter()
            .find(|(_, t)| t.format == OutputFormat::File && t.name == wanted)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| {
                StepError::new(format!(
                    "no `{wanted}` upstream: `register` needs a training step (`train`) before it in `needs`"
                ))
            })
    };
    let card = file(bundle::CARD)?;
    // The model's payload: a network's weights or a user's packed folder.
    let weights = bundle::PAYLOADS
        .iter()
        .find_map(|name| file(name).ok())
        .map_or_else(|| file(bundle::WEIGHTS), Ok)?;

    // Everything the steps before sent is in the registry before the run is read back.
    let written = Arc::new(tokio::sync::Notify::new());
    if r.tx.send(Event::Barrier(written.clone())).is_ok() {
        written.notified().await;
    }
    let run = r.registry.show_run(r.run_id).await.map_err(registry_error)?;
    let metrics = run.metric_values();
    let (data_uri, data_sha256) = training_data(&r, &card).await?;

    let (holders, outcome) = match &p.promote {
        Some(promote) => {
            let holders = holders_of(&r, &name, promote).await?;
            let outcome = register::check_conditions(&promote.when, &metrics, &holders);
            (holders, Some(outcome))
        }
        None => (BTreeMap::new(), None),
    };
    let promotion = match (&p.promote, &outcome) {
        (Some(promote), Some(o)) => Some(Promotion {
            alias: promote.alias.clone(),
            gate_passed: o.passed,
            judged_against: holders.get(&promote.alias).cloned().flatten().map(|h| h.version),
            who: crate::registry::who(),
            reason: Some(format!("gate of run {}", r.run_id)),
            gate: serde_json::to_value(o).unwrap_or_default(),
        }),
        _ => None,
    };
    let version = NewModelVersion {
        name: name.clone(),
        run_id: r.run_id.to_string(),
        model_uri: weights.uri.clone(),
        model_sha256: weights.sha256.clone(),
        card_uri: card.uri.clone(),
        card_sha256: card.sha256.clone(),
        data_uri,
        data_sha256,
        metrics: metrics.clone(),
        params: run.params.clone(),
        git_commit: run.git_commit.clone(),
        pmflow_version: env!("CARGO_PKG_VERSION").to_string(),
        description: p.description.clone(),
    };
    let registered = r
        .registry
        .register_model(&version, promotion.as_ref())
        .await
        .map_err(registry_error)?;

    tell(
        &r,
        &name,
        &registered,
        p.promote.as_ref().zip(outcome.as_ref()),
        &holders,
    );
    Ok(serde_json::json!({
        "model": name,
        "version": registered.version,
        "run": r.run_id,
        "model_uri": weights.uri,
        "card_uri": card.uri,
        "data_uri": version.data_uri,
        "promotion": p.promote.as_ref().map(|promote| serde_json::json!({
            "alias": promote.alias,
            "promoted": registered.promoted,
            "refused_because": registered.refused_because,
            "gate": outcome,
        })),
    }))
}

/// The current holder of each alias the gate names (the promoted one and those `vs` names),
/// with its run's final metrics; None for an alias nobody holds.
async fn holders_of(
    r: &Registration<'_>,
    name: &str,
    promote: &register::Promote,
) -> Result<BTreeMap<String, Option<Holder>>, JobError> {
    let mut holders: BTreeMap<String, Option<Holder>> = BTreeMap::new();
    let aliases = std::iter::once(promote.alias.as_str()).chain(promote.when.iter().filter_map(|c| c.bound.vs()));
    for alias in aliases {
        if holders.contains_key(alias) {
            continue;
        }
        let holder = match r.registry.alias_holder(name, alias).await.map_err(registry_error)? {
            Some(version) => {
                let held = r.registry.model_version(name, version).await.map_err(registry_error)?;
                // The holder's run as recorded (its metrics are final), exact to the bit.
                let held_run = r.registry.show_run(&held.run_id).await.map_err(registry_error)?;
                Some(Holder {
                    version,
                    metrics: held_run.metric_values(),
                })
            }
            None => None,
        };
        holders.insert(alias.to_string(), holder);
    }
    Ok(holders)
}

/// The registration as metrics and a note: the version, and with a gate each check, whether
/// it passed and whether the alias moved.
fn tell(
    r: &Registration<'_>,
    name: &str,
    registered: &crate::registry::Registered,
    gate: Option<(&register::Promote, &register::GateOutcome)>,
    holders: &BTreeMap<String, Option<Holder>>,
) {
    let metric = |key: String, value: f64| {
        let _ = r.tx.send(Event::Metric {
            step: r.step_id.to_string(),
            key,
            value,
            index: 0,
        });
    };
    let note = |message: String| {
        let _ = r.tx.send(Event::Note {
            step: r.step_id.to_string(),
            message,
        });
    };
    metric("version".into(), registered.version as f64);
    note(format!(
        "registered `{name}` v{} (run {})",
        registered.version, r.run_id
    ));
    if let Some((promote, o)) = gate {
        for check in &o.checks {
            metric(format!("gate.{}", check.metric), f64::from(u8::from(check.passed)));
        }
        let promoted = registered.promoted == Some(true);
        metric("gate_passed".into(), f64::from(u8::from(o.passed)));
        metric("promoted".into(), f64::from(u8::from(promoted)));
        let figures: Vec<String> = o
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{}: {} ({})",
                    c.condition,
                    if c.passed { "ok" } else { "FAILED" },
                    c.reason
                )
            })
            .collect();
        let previous = holders.get(&promote.alias).cloned().flatten().map(|h| h.version);
        let headline = match (promoted, &registered.refused_because) {
            (true, _) => format!(
                "promoted v{} to `{}` (was {})",
                registered.version,
                promote.alias,
                previous.map_or("unset".into(), |v| format!("v{v}"))
            ),
            (false, Some(why)) => format!("not promoted to `{}`: {why}", promote.alias),
            (false, None) => format!("not promoted to `{}`: the gate failed", promote.alias),
        };
        note(if figures.is_empty() {
            headline
        } else {
            format!("{headline}; {}", figures.join("; "))
        });
    }
}

/// The URI and digest of the table the model trained on, found among this run's recorded
/// outputs by the step and digest its card names.
async fn training_data(r: &Registration<'_>, card: &OutputRef) -> Result<(Option<String>, Option<String>), JobError> {
    let bytes = r.store.get(&card.uri).await?;
    let Some((step, part, sha256)) = register::training_table(&bytes)? else {
        return Ok((None, None));
    };
    let (_, _, outputs) = r.registry.succeeded_outputs(r.run_id).await.map_err(registry_error)?;
    let uri = outputs
        .get(&step)
        .and_then(|tables| tables.iter().find(|t| t.name == part && t.sha256 == sha256))
        .map(|t| t.uri.clone());
    Ok((uri, Some(sha256)))
}

fn registry_error(e: crate::registry::RegistryError) -> JobError {
    StepError::new(format!("registry: {e}")).into()
}
