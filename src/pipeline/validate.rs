//! Node tree -> typed [`Pipeline`], collecting every problem instead of stopping at the first.

use std::time::Duration;

use super::catalog::StepCatalog;
use super::diagnostic::{did_you_mean, Diagnostics};
use super::fields::Fields;
use super::location::{self, ArtifactLocation, RegistryLocation};
use super::model::{OnMissed, Overlap, Pipeline, Schedule, Source, Step, Storage, When};
use super::node::{Node, Value};

pub const DEFAULT_REGISTRY: &str = "sqlite://experiments/registry.db";
pub const DEFAULT_ARTIFACTS: &str = "file://artifacts";

/// Checks the whole document; `source` carries the file, root and resolved text.
pub fn validate<C: StepCatalog>(doc: &Node, source: Source, diags: &mut Diagnostics) -> Option<Pipeline<C>> {
    let mut top = Fields::new(doc, "pipeline", diags)?;
    let name = top.required_str("name", " (a short name such as `pump-failure`)");
    if let (Some(n), Some(node)) = (&name, doc.get("name")) {
        check_name(&mut top, "name", node.pos, n);
    }
    // The experiment names the folder a run's artifacts go to: a name that a path or URL
    // would spell another way (`%`, `#`, `?`, `.`) writes under one name and reads under another.
    let experiment = top.optional_str("experiment");
    if let (Some(e), Some(node)) = (&experiment, doc.get("experiment")) {
        check_name(&mut top, "experiment", node.pos, e);
    }
    let params = top
        .node("params")
        .map(|n| flatten_params(n, &mut top))
        .unwrap_or_default();
    let storage = storage(top.node("storage"), &source, top.diags);
    credentials_in_values(doc, "", top.diags);
    let schedule = top.node("schedule").and_then(|n| schedule(n, top.diags));
    let steps = match top.node("steps") {
        Some(n) => steps::<C>(n, top.diags),
        None => {
            top.error(
                doc.pos,
                "missing required key `steps` (a list of steps, each with `id` and `kind`)",
            );
            Vec::new()
        }
    };
    let _ = top.optional_str("description");
    if let (Some(s), Some(node)) = (&schedule, top.node("schedule")) {
        // `when: drift` retrains on the verdict of a drift step: without one it could not fire.
        if s.when == When::Drift && !steps.iter().any(|step| C::judges_drift(&step.params)) {
            let pos = node.get("when").map(|n| n.pos).unwrap_or(node.pos);
            top.error(
                pos,
                "`schedule.when: drift` retrains only when the pipeline's drift step finds drift, but the pipeline has no step of kind `drift`; add one, or use `when: always`",
            );
        }
    }
    top.finish();

    if !diags.is_empty() {
        return None;
    }
    let name = name?;
    Some(Pipeline {
        experiment: experiment.unwrap_or_else(|| name.clone()),
        name,
        params,
        storage: storage?,
        schedule,
        steps,
        source,
    })
}

/// `name` and `experiment`: letters, digits, `-`, `_` and `.`, and not dots alone (`.` and
/// `..` are folders already, and the experiment is a folder of the artifact store).
fn check_name(fields: &mut Fields, key: &str, pos: super::node::Pos, value: &str) {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        fields.error(
            pos,
            format!("`{key}` may only use letters, digits, `-`, `_` and `.`; found `{value}`"),
        );
    } else if value.chars().all(|c| c == '.') {
        fields.error(
            pos,
            format!("`{key}: {value}` names no folder; use letters or digits in it"),
        );
    }
}

/// `params:` must be a mapping; nested mappings flatten to `a.b` names.
fn flatten_params(node: &Node, fields: &mut Fields) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    match &node.value {
        Value::Map(_) => flatten_into("", node, &mut out),
        Value::Null => {}
        _ => fields.error(
            node.pos,
            format!(
                "`params` must be a mapping of names to values, found {}",
                node.type_name()
            ),
        ),
    }
    out
}

fn flatten_into(prefix: &str, node: &Node, out: &mut Vec<(String, serde_json::Value)>) {
    match node.as_map() {
        Some(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                let name = if prefix.is_empty() {
                    k.name.clone()
                } else {
                    format!("{prefix}.{}", k.name)
                };
                flatten_into(&name, v, out);
            }
        }
        _ => out.push((prefix.to_string(), node.to_json())),
    }
}

fn storage(node: Option<&Node>, source: &Source, diags: &mut Diagnostics) -> Option<Storage> {
    let empty = Node::new(Value::Null, Default::default());
    let node = node.unwrap_or(&empty);
    let mut f = Fields::new(node, "`storage`", diags)?;
    let registry_text = f.optional_str("registry");
    let artifacts_text = f.optional_str("artifacts");
    let registry_pos = f.node("registry").map(|n| n.pos).unwrap_or(node.pos);
    let artifacts_pos = f.node("artifacts").map(|n| n.pos).unwrap_or(node.pos);
    f.finish();
    let registry = match RegistryLocation::parse(registry_text.as_deref().unwrap_or(DEFAULT_REGISTRY), &source.root) {
        // The resolved pipeline is stored with every run and printed in its header.
        Ok(RegistryLocation::Postgres(pg)) if pg.has_password => {
            diags.push(
                registry_pos,
                format!(
                    "`storage.registry`: `{}` has a password in it, and the pipeline is stored with every run; remove it and set PGPASSWORD or a ~/.pgpass line, or give the whole URL with --registry (or PMFLOW_REGISTRY), which is stored nowhere",
                    pg.shown()
                ),
            );
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            diags.push(registry_pos, format!("`storage.registry`: {e}"));
            None
        }
    };
    let artifacts = match ArtifactLocation::parse(artifacts_text.as_deref().unwrap_or(DEFAULT_ARTIFACTS), &source.root)
    {
        Ok(a) => Some(a),
        Err(e) => {
            diags.push(artifacts_pos, format!("`storage.artifacts`: {e}"));
            None
        }
    };
    Some(Storage {
        registry: registry?,
        artifacts: artifacts?,
    })
}

/// URLs with a user or password anywhere in the document but the storage URLs (which
/// `storage` checks with advice of their own): a `load` path, a param. The resolved document
/// is stored with every run and a path is printed in errors, so they are refused like the
/// storage URLs. `path` names the value as `--set` would (`load.with.path`).
fn credentials_in_values(node: &Node, path: &str, diags: &mut Diagnostics) {
    match &node.value {
        Value::Str(text) => {
            if matches!(path, "storage.registry" | "storage.artifacts") {
                return;
            }
            if let Err(e) = location::refuse_credentials(text) {
                diags.push(node.pos, format!("`{}`: {e}", location::redact(path)));
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let id = item.get("id").and_then(Node::as_str).filter(|_| path == "steps");
                let name = match id {
                    Some(id) => id.to_string(),
                    None => format!("{path}[{i}]"),
                };
                credentials_in_values(item, &name, diags);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let name = if path.is_empty() {
                    key.name.clone()
                } else {
                    format!("{path}.{}", key.name)
                };
                if let Err(e) = location::refuse_credentials(&key.name) {
                    diags.push(key.pos, format!("key `{}`: {e}", location::redact(&name)));
                }
                credentials_in_values(value, &name, diags);
            }
        }
        _ => {}
    }
}

fn schedule(node: &Node, diags: &mut Diagnostics) -> Option<Schedule> {
    let mut f = Fields::new(node, "`schedule`", diags)?;
    let cron = f.required_str(
        "cron",
        " (6 fields: sec min hour day month weekday, e.g. \"0 0 3 * * Mon\")",
    );
    let cron_pos = f.node("cron").map(|n| n.pos);
    let tz_text = f.optional_str("timezone");
    let tz_pos = f.node("timezone").map(|n| n.pos);
    let overlap = match f.optional_choice("overlap", &["skip", "queue"]) {
        Some("queue") => Overlap::Queue,
        _ => Overlap::Skip,
    };
    let on_missed = match f.optional_choice("on-missed", &["skip", "run-once"]) {
        Some("run-once") => OnMissed::RunOnce,
        _ => OnMissed::Skip,
    };
    let when = match f.optional_choice("when", &["always", "drift"]) {
        Some("drift") => When::Drift,
        _ => When::Always,
    };
    let enabled = f.optional_bool("enabled").unwrap_or(true);
    f.finish();
    let timezone = match tz_text {
        None => Some(chrono_tz::UTC),
        Some(t) => match t.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let hint = did_you_mean(&t, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()));
                diags.push(
                    tz_pos.unwrap_or(node.pos),
                    format!("`schedule.timezone`: unknown IANA time zone `{t}`{hint}; use names like `UTC` or `Europe/Berlin`"),
                );
                None
            }
        },
    };
    let cron = cron.and_then(|c| {
        let checked = super::cron::parse_cron(&c).and_then(|parsed| match timezone {
            // A cron whose every date is impossible or past would leave the daemon idle forever.
            Some(tz) => super::cron::check_fires(&c, &parsed, tz, chrono::Utc::now()),
            None => Ok(()),
        });
        match checked {
            Ok(()) => Some(c),
            Err(e) => {
                diags.push(cron_pos.unwrap_or(node.pos), format!("`schedule.cron`: {e}"));
                None
            }
        }
    });
    Some(Schedule {
        cron: cron?,
        timezone: timezone?,
        overlap,
        on_missed,
        when,
        enabled,
    })
}

fn steps<C: StepCatalog>(node: &Node, diags: &mut Diagnostics) -> Vec<Step<C>> {
    let Value::Seq(items) = &node.value else {
        diags.push(
            node.pos,
            format!("`steps` must be a list of steps, found {}", node.type_name()),
        );
        return Vec::new();
    };
    if items.is_empty() {
        diags.push(node.pos, "`steps` is empty; a pipeline needs at least one step");
    }
    let mut out: Vec<Step<C>> = Vec::new();
    let mut ids: Vec<(String, super::node::Pos)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let label = item
            .get("id")
            .and_then(Node::as_str)
            .map(|id| format!("step `{id}`"))
            .unwrap_or_else(|| format!("step #{}", index + 1));
        if let Some(step) = step::<C>(item, &label, diags) {
            if let Some((_, first)) = ids.iter().find(|(id, _)| *id == step.id) {
                let pos = item.get("id").map(|n| n.pos).unwrap_or(item.pos);
                diags.push(
                    pos,
                    format!("{label}: duplicate step id (first defined at line {})", first.line),
                );
            } else {
                ids.push((step.id.clone(), item.get("id").map(|n| n.pos).unwrap_or(item.pos)));
            }
            out.push(step);
        }
    }
    super::graph::check(&out, items, diags);
    upstream_kinds(&out, items, diags);
    out
}

/// Each step that needs something of its ancestors (`predict` without `model:`, `evaluate` and
/// `register` need a trained model) and has none: refused at the step, since every run would
/// fail there.
fn upstream_kinds<C: StepCatalog>(steps: &[Step<C>], items: &[Node], diags: &mut Diagnostics) {
    let index_of: std::collections::HashMap<&str, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    for (i, step) in steps.iter().enumerate() {
        // A `needs` naming no step is reported already; what it meant is unknown.
        if step.needs.iter().any(|n| !index_of.contains_key(n.as_str())) {
            continue;
        }
        let ancestors: Vec<&C::Params> = super::graph::ancestors(steps, &index_of, i)
            .iter()
            .map(|&(_, j)| &steps[j].params)
            .collect();
        let pos = items
            .iter()
            .find(|n| n.get("id").and_then(Node::as_str) == Some(step.id.as_str()))
            .map(|n| n.pos)
            .unwrap_or_default();
        if let Some(why) = C::missing_upstream(&step.params, &ancestors) {
            diags.push(pos, format!("step `{}`: {why}", step.id));
        }
        let needs: Vec<(&str, &C::Params)> = step
            .needs
            .iter()
            .map(|n| (n.as_str(), &steps[index_of[n.as_str()]].params))
            .collect();
        for why in C::unknown_inputs(&step.params, &needs) {
            diags.push(pos, format!("step `{}`: {why}", step.id));
        }
    }
}

fn step<C: StepCatalog>(node: &Node, label: &str, diags: &mut Diagnostics) -> Option<Step<C>> {
    let mut f = Fields::new(node, label.to_string(), diags)?;
    let id = f.required_str("id", " (lowercase letters, digits, `-` and `_`)");
    let id_pos = f.node("id").map(|n| n.pos).unwrap_or(node.pos);
    if let Some(id) = &id {
        if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            f.error(
                id_pos,
                format!("id `{id}` may only use lowercase letters, digits, `-` and `_`"),
            );
        }
    }
    let kind_text = f.required_str("kind", &format!(" (one of {})", C::kind_names().join(", ")));
    let kind_pos = f.node("kind").map(|n| n.pos).unwrap_or(node.pos);
    let kind = kind_text.and_then(|k| match C::kind(&k) {
        Some(kind) => Some(kind),
        None => {
            let hint = did_you_mean(&k, C::kind_names().iter().copied());
            f.error(
                kind_pos,
                format!(
                    "unknown step kind `{k}`{hint}; available kinds: {}",
                    C::kind_names().join(", ")
                ),
            );
            None
        }
    });
    let needs = f.optional_str_list("needs").unwrap_or_default();
    let retries = f.optional_int("retries", 0, 100).unwrap_or(0) as u32;
    let timeout = f
        .optional_int("timeout-secs", 1, 7 * 24 * 3600)
        .map(|s| Duration::from_secs(s as u64));
    let with_node = f.node("with");
    f.finish();

    let empty = Node::new(Value::Map(Vec::new()), node.pos);
    let with_node = with_node.unwrap_or(&empty);
    let kind = kind?;
    let params = {
        let mut wf = Fields::new(with_node, format!("{label} `with`"), diags)?;
        let params = C::parse(kind, &mut wf);
        wf.finish();
        params
    };
    Some(Step {
        id: id?,
        kind,
        needs,
        retries,
        timeout,
        params: params?,
        with: with_node.to_json(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::fields::Fields;
    use super::super::{Diagnostics, StepCatalog};

    /// One kind, `load`, with a `path`: enough to put a URL where a step reads it.
    #[derive(Debug, Clone)]
    struct Load;

    impl StepCatalog for Load {
        type Kind = ();
        type Params = Option<String>;
        fn kind_names() -> Vec<&'static str> {
            vec!["load"]
        }
        fn kind(name: &str) -> Option<()> {
            (name == "load").then_some(())
        }
        fn parse(_: (), with: &mut Fields) -> Option<Option<String>> {
            Some(with.optional_str("path"))
        }
    }

    fn problems(text: &str, overrides: &[&str]) -> String {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        match super::super::from_str::<Load>(
            text,
            Path::new("p.yaml"),
            Path::new("/project"),
            Diagnostics::new("p.yaml", overrides),
        ) {
            Ok(_) => String::new(),
            Err(d) => d.to_string(),
        }
    }

    const PIPELINE: &str = "name: x\nstorage:\n  artifacts: file://artifacts\nsteps:\n  - id: load\n    kind: load\n    with: {path: data/x.csv}\n";

    #[test]
    fn schedule_policies_are_read_and_checked() {
        let with = |schedule: &str| PIPELINE.replace("steps:\n", &format!("schedule: {schedule}\nsteps:\n"));
        let text = with("{cron: \"0 3 * * Mon\", overlap: queue, on-missed: run-once, enabled: false}");
        let p = super::super::from_str::<Load>(
            &text,
            Path::new("p.yaml"),
            Path::new("/project"),
            Diagnostics::new("p.yaml", vec![]),
        )
        .unwrap();
        let s = p.schedule.unwrap();
        assert_eq!(
            (s.overlap, s.on_missed, s.when, s.enabled),
            (
                super::Overlap::Queue,
                super::OnMissed::RunOnce,
                super::When::Always,
                false
            )
        );
        let found = problems(&with("{cron: \"0 0 3 * * Mon\", when: drift}"), &[]);
        assert!(
            found.contains("p.yaml:4:41: pipeline: `schedule.when: drift` retrains only when"),
            "{found}"
        );
        assert!(found.contains("has no step of kind `drift`"), "{found}");
        let found = problems(&with("{cron: \"0 0 3 * * Mon\", overlap: wait}"), &[]);
        assert!(found.contains("`overlap`"), "{found}");
    }

    #[test]
    fn credentials_in_any_url_are_refused_at_their_line_redacted() {
        let text = PIPELINE
            .replace("file://artifacts", "s3://admin:SECRETPW@bucket/x")
            .replace("data/x.csv", "s3://admin:SECRETPW@bucket/in.csv");
        let found = problems(&text, &[]);
        assert!(
            found.contains("p.yaml:3:14: `storage.artifacts`: `s3://admin:***@bucket/x` has credentials"),
            "{found}"
        );
        assert!(
            found.contains("p.yaml:7:18: `load.with.path`: `s3://admin:***@bucket/in.csv` has credentials"),
            "{found}"
        );
        assert!(found.contains("AWS_ACCESS_KEY_ID"), "{found}");
        assert!(!found.contains("SECRETPW"), "{found}");
        assert_eq!(found.lines().count(), 2, "each URL once: {found}");
    }

    #[test]
    fn sqlite_registry_with_a_host_is_refused_at_its_line() {
        let text = PIPELINE.replace(
            "  artifacts: file://artifacts\n",
            "  registry: sqlite://admin:SECRETPW@localhost/r.db\n",
        );
        let found = problems(&text, &[]);
        assert!(
            found.contains("p.yaml:3:13: `storage.registry`: `sqlite://admin:***@localhost/r.db` names a host"),
            "{found}"
        );
        assert!(!found.contains("SECRETPW"), "{found}");
    }

    #[test]
    fn a_postgres_password_in_the_pipeline_is_refused_and_a_user_alone_is_fine() {
        let text = PIPELINE.replace(
            "  artifacts: file://artifacts\n",
            "  registry: postgres://app:SECRETPW@db.internal:5432/pmflow\n",
        );
        let found = problems(&text, &[]);
        assert!(
            found.contains(
                "p.yaml:3:13: `storage.registry`: `postgres://app:***@db.internal:5432/pmflow` has a password in it"
            ),
            "{found}"
        );
        assert!(found.contains("PGPASSWORD"), "{found}");
        assert!(!found.contains("SECRETPW"), "{found}");
        let set = problems(PIPELINE, &["storage.registry=postgres://app:SECRETPW@db/pmflow"]);
        // The `--set` text it is located at is redacted by the CLI (`app::redacted`).
        assert!(
            set.contains("`postgres://app:***@db/pmflow` has a password in it"),
            "{set}"
        );
        let text = PIPELINE.replace(
            "  artifacts: file://artifacts\n",
            "  registry: postgres://app@db.internal:5432/pmflow\n",
        );
        assert_eq!(problems(&text, &[]), "");
    }

    #[test]
    fn urls_without_credentials_pass() {
        assert_eq!(problems(PIPELINE, &[]), "");
        let text = PIPELINE.replace("data/x.csv", "s3://bucket/people/someone@example.com.csv");
        assert_eq!(problems(&text, &["storage.artifacts=s3://bucket/runs"]), "");
    }
}
