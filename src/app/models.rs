//! `pmflow models`: list, show (with the files checked against their recorded digests),
//! promote, rollback and history. Promotion by hand refuses a version whose files changed.

use serde::Serialize;

use super::shared::{number, open_registry, print_json};
use crate::cli::{Format, ModelsCommand};
use crate::error::CliError;
use crate::registry::{ModelVersionView, Registry};

pub async fn command(command: ModelsCommand) -> Result<(), CliError> {
    match command {
        ModelsCommand::List { format, registry } => list(&registry.registry, format).await,
        ModelsCommand::Show {
            model,
            format,
            registry,
        } => show(&registry.registry, &model, format).await,
        ModelsCommand::Promote {
            name,
            version,
            alias,
            reason,
            registry,
        } => promote(&registry.registry, &name, &version, &alias, reason.as_deref()).await,
        ModelsCommand::Rollback {
            name,
            alias,
            reason,
            registry,
        } => rollback(&registry.registry, &name, &alias, reason.as_deref()).await,
        ModelsCommand::History {
            name,
            alias,
            format,
            registry,
        } => history(&registry.registry, &name, alias.as_deref(), format).await,
    }
}

/// The version a spec names, read whole.
pub async fn resolve(registry: &Registry, spec: &str) -> Result<ModelVersionView, CliError> {
    Ok(registry.model_version_of(spec).await?)
}

async fn list(url: &str, format: Format) -> Result<(), CliError> {
    let registry = open_registry(url).await?;
    let models = registry.list_models().await?;
    registry.close().await;
    if format == Format::Json {
        return print_json(&models);
    }
    if models.is_empty() {
        println!("no models; a pipeline's `register` step adds them");
        return Ok(());
    }
    println!(
        "{:<24}  {:>8}  {:>6}  {:<24}  ALIASES",
        "MODEL", "VERSIONS", "LATEST", "REGISTERED"
    );
    for m in &models {
        let aliases: Vec<String> = m.aliases.iter().map(|(a, v)| format!("{a}=v{v}")).collect();
        println!(
            "{:<24}  {:>8}  {:>6}  {:<24}  {}",
            m.name,
            m.versions,
            format!("v{}", m.latest),
            m.latest_at,
            aliases.join(", ")
        );
    }
    Ok(())
}

/// One file of a version and whether it is still what was registered.
#[derive(Debug, Serialize)]
pub struct FileCheck {
    pub role: &'static str,
    pub uri: String,
    pub sha256: Option<String>,
    /// `ok`, `changed`, `missing` or `unknown` (no digest was recorded).
    pub state: String,
}

/// Reads every file of `v` and compares its digest with the recorded one.
pub async fn check_files(v: &ModelVersionView) -> Vec<FileCheck> {
    let files = [
        ("weights", Some(v.model_uri.clone()), v.model_sha256.clone()),
        ("card", v.card_uri.clone(), v.card_sha256.clone()),
        ("training data", v.data_uri.clone(), v.data_sha256.clone()),
    ];
    let mut out = Vec::new();
    for (role, uri, sha256) in files {
        let Some(uri) = uri else { continue };
        let state = match crate::artifacts::store_for_url(&uri) {
            Err(e) => format!("missing ({e})"),
            Ok(store) => match (store.sha256_of(&uri).await, &sha256) {
                (Err(e), _) => format!("missing ({e})"),
                (Ok(_), None) => "unknown".into(),
                (Ok(now), Some(then)) if &now == then => "ok".into(),
                (Ok(_), Some(_)) => "changed".into(),
            },
        };
        out.push(FileCheck {
            role,
            uri,
            sha256,
            state,
        });
    }
    out
}

async fn show(url: &str, spec: &str, format: Format) -> Result<(), CliError> {
    let registry = open_registry(url).await?;
    let v = resolve(&registry, spec).await?;
    let files = check_files(&v).await;
    registry.close().await;
    if format == Format::Json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            version: &'a ModelVersionView,
            files: &'a [FileCheck],
            intact: bool,
        }
        let intact = files.iter().all(|f| f.state == "ok" || f.state == "unknown");
        return print_json(&Shown {
            version: &v,
            files: &files,
            intact,
        });
    }
    println!("model        {} v{}", v.name, v.version);
    if !v.aliases.is_empty() {
        println!("aliases      {}", v.aliases.join(", "));
    }
    println!("run          {}", v.run_id);
    println!("registered   {}", v.created_at);
    if let Some(d) = &v.description {
        println!("description  {d}");
    }
    println!(
        "made by      pmflow {}{}",
        v.pmflow_version.as_deref().unwrap_or("?"),
        v.git_commit
            .as_deref()
            .map(|c| format!(", git {c}"))
            .unwrap_or_default()
    );
    println!("files");
    for f in &files {
        let mark = if f.state == "ok" { "ok" } else { "!!" };
        println!("  {mark} {:<14} {} ({})", f.role, f.uri, f.state);
    }
    if let Some(metrics) = v.metrics.as_object() {
        println!("metrics");
        for (k, value) in metrics {
            if let Some(x) = value.as_f64() {
                println!("  {k:<40} {}", number(x));
            }
        }
    }
    Ok(())
}

/// `7` or `v7`.
fn version_number(text: &str) -> Result<i64, CliError> {
    text.strip_prefix('v')
        .unwrap_or(text)
        .parse()
        .map_err(|_| CliError::Usage(format!("`{text}` is not a version: give a number such as 7 or v7")))
}

async fn promote(url: &str, name: &str, version: &str, alias: &str, reason: Option<&str>) -> Result<(), CliError> {
    if !crate::steps::register::valid_name(alias) {
        return Err(CliError::Usage(format!(
            "`{alias}` is not an alias name: use letters, digits, `-`, `_` and `.`, and not `v` and a number"
        )));
    }
    let registry = open_registry(url).await?;
    let version = match version {
        "latest" => registry.resolve_model(name, Some("latest")).await?,
        v => version_number(v)?,
    };
    let v = registry.model_version(name, version).await?;
    if let Err(e) = intact(&v).await {
        registry.close().await;
        return Err(e);
    }
    let previous = registry
        .promote(name, version, alias, &crate::registry::who(), reason)
        .await?;
    registry.close().await;
    println!(
        "`{alias}` of `{name}`: {} -> v{version}",
        previous.map_or("unset".into(), |p| format!("v{p}"))
    );
    Ok(())
}

/// Refuses a version whose files are no longer those registered: an alias never moves to it,
/// by `promote` or by `rollback`.
async fn intact(v: &ModelVersionView) -> Result<(), CliError> {
    let broken: Vec<String> = check_files(v)
        .await
        .into_iter()
        .filter(|f| f.state != "ok" && f.state != "unknown")
        .map(|f| format!("{} {} is {}", f.role, f.uri, f.state))
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "`{}` v{} is not promoted: {}. It is no longer the model that was registered; register a new version",
        v.name,
        v.version,
        broken.join("; ")
    )))
}

/// Gives `alias` back to its previous holder, once that version's files are checked as
/// `promote` checks them.
async fn rollback(url: &str, name: &str, alias: &str, reason: Option<&str>) -> Result<(), CliError> {
    let registry = open_registry(url).await?;
    let rolled = async {
        let target = registry.rollback_target(name, alias).await?;
        intact(&registry.model_version(name, target.1).await?).await?;
        Ok::<_, CliError>(
            registry
                .rollback(name, alias, target, &crate::registry::who(), reason)
                .await?,
        )
    }
    .await;
    registry.close().await;
    let (from, to) = rolled?;
    println!("`{alias}` of `{name}`: v{from} -> v{to} (rolled back)");
    Ok(())
}

async fn history(url: &str, name: &str, alias: Option<&str>, format: Format) -> Result<(), CliError> {
    let registry = open_registry(url).await?;
    // An unknown model is an error, not an empty history.
    registry.resolve_model(name, None).await?;
    let events = registry.alias_history(name, alias).await?;
    // For an alias never set: the ones that were, so a typo shows as one.
    let others = match alias {
        Some(_) if events.is_empty() => registry.alias_history(name, None).await?,
        _ => Vec::new(),
    };
    registry.close().await;
    if format == Format::Json {
        return print_json(&events);
    }
    if events.is_empty() {
        // A refused promotion is in the history but set nothing.
        let mut set: Vec<&str> = others
            .iter()
            .filter(|e| e.action != "refused")
            .map(|e| e.alias.as_str())
            .collect();
        set.sort_unstable();
        set.dedup();
        match (alias, set.is_empty()) {
            (Some(a), false) => println!(
                "alias `{a}` of `{name}` was never set; aliases that were: {}",
                set.join(", ")
            ),
            (Some(a), true) => println!("alias `{a}` of `{name}` was never set, nor was any other"),
            (None, _) => println!("no alias of `{name}` was ever set"),
        }
        return Ok(());
    }
    println!(
        "{:<24}  {:<12}  {:<12}  {:<8}  {:<20}  REASON",
        "AT", "ALIAS", "ACTION", "VERSION", "WHO"
    );
    for e in &events {
        let version = match (e.action.as_str(), e.previous) {
            ("refused", _) => format!("v{}", e.version),
            (_, Some(p)) => format!("v{p}->v{}", e.version),
            (_, None) => format!("->v{}", e.version),
        };
        println!(
            "{:<24}  {:<12}  {:<12}  {:<8}  {:<20}  {}",
            e.at,
            e.alias,
            e.action,
            version,
            e.who,
            e.reason.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_written() {
        assert_eq!(version_number("v7").unwrap(), 7);
        assert_eq!(version_number("7").unwrap(), 7);
        assert!(version_number("seven").is_err());
    }
}
