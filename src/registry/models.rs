//! Model versions and aliases: registering a run's model (a new version number per name, safe
//! when several processes register at once), moving an alias (one version per alias), and the
//! append-only history of every alias decision, kept with who, when, why and the gate's figures.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::{now_text, Registry, RegistryError};

/// What registering records about a run's model. The files stay where the run wrote them.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub name: String,
    pub run_id: String,
    pub model_uri: String,
    pub model_sha256: String,
    pub card_uri: String,
    pub card_sha256: String,
    pub data_uri: Option<String>,
    pub data_sha256: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub git_commit: Option<String>,
    pub pmflow_version: String,
    pub description: Option<String>,
}

/// An alias decision to take together with a registration: promote the new version when the
/// gate passed and the alias still has the holder the gate was judged against.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub alias: String,
    pub gate_passed: bool,
    /// The holder's version the gate compared with (None: nobody held the alias).
    pub judged_against: Option<i64>,
    pub who: String,
    pub reason: Option<String>,
    pub gate: serde_json::Value,
}

/// How a registration went.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub version: i64,
    /// With a promotion: whether the alias moved.
    pub promoted: Option<bool>,
    /// Why it did not move, when the gate passed but another process moved the alias first.
    pub refused_because: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelVersionView {
    pub name: String,
    pub version: i64,
    pub run_id: String,
    pub model_uri: String,
    pub model_sha256: Option<String>,
    pub card_uri: Option<String>,
    pub card_sha256: Option<String>,
    pub data_uri: Option<String>,
    pub data_sha256: Option<String>,
    pub metrics: serde_json::Value,
    pub params: serde_json::Value,
    pub git_commit: Option<String>,
    pub pmflow_version: Option<String>,
    pub created_at: String,
    pub description: Option<String>,
    /// The aliases this version holds now.
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub versions: i64,
    pub latest: i64,
    pub latest_at: String,
    /// alias -> version.
    pub aliases: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AliasEvent {
    pub alias: String,
    pub version: i64,
    pub previous: Option<i64>,
    pub action: String,
    pub at: String,
    pub who: String,
    pub reason: Option<String>,
    pub gate: Option<serde_json::Value>,
}

impl Registry {
    /// Registers a run's model as the next version of its name, and takes the promotion
    /// decision in the same transaction. On SQLite the INSERT comes first, so the transaction
    /// holds the write lock from its first statement; on PostgreSQL the model's advisory lock
    /// comes first. Either way two processes (or hosts) registering at once wait for each other
    /// and get consecutive numbers, never an error.
    pub async fn register_model(
        &self,
        v: &NewModelVersion,
        promotion: Option<&Promotion>,
    ) -> Result<Registered, RegistryError> {
        let mut tx = self.pool.begin().await?;
        self.lock_model(&mut tx, &v.name).await?;
        let now = now_text();
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO model_versions (name, version, run_id, uri, created_at, description, model_sha256,
                 card_uri, card_sha256, data_uri, data_sha256, metrics, params, git_commit, pmflow_version)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
             FROM model_versions WHERE name = $1
             RETURNING version",
        )
        .bind(&v.name)
        .bind(&v.run_id)
        .bind(&v.model_uri)
        .bind(&now)
        .bind(&v.description)
        .bind(&v.model_sha256)
        .bind(&v.card_uri)
        .bind(&v.card_sha256)
        .bind(&v.data_uri)
        .bind(&v.data_sha256)
        .bind(serde_json::to_string(&v.metrics).unwrap_or_else(|_| "{}".into()))
        .bind(serde_json::Value::Object(v.params.clone()).to_string())
        .bind(&v.git_commit)
        .bind(&v.pmflow_version)
        .fetch_one(&mut *tx)
        .await?;
        let mut registered = Registered {
            version,
            promoted: None,
            refused_because: None,
        };
        if let Some(p) = promotion {
            let holder = holder_in(&mut tx, &v.name, &p.alias).await?;
            let moved_meanwhile = holder != p.judged_against;
            let promote = p.gate_passed && !moved_meanwhile;
            if p.gate_passed && moved_meanwhile {
                registered.refused_because = Some(format!(
                    "`{}` moved to {} while the gate ran; run the gate again",
                    p.alias,
                    holder.map_or("nobody".into(), |h| format!("v{h}"))
                ));
            }
            if promote {
                set_alias_in(&mut tx, &v.name, &p.alias, version, &p.who, &now).await?;
            }
            let action = if promote { "promoted" } else { "refused" };
            let reason = registered.refused_because.clone().or(p.reason.clone());
            history_in(
                &mut tx,
                &v.name,
                &p.alias,
                version,
                holder,
                action,
                &p.who,
                reason.as_deref(),
                Some(&p.gate),
                &now,
            )
            .await?;
            registered.promoted = Some(promote);
        }
        tx.commit().await?;
        Ok(registered)
    }

    /// The version holding `alias` of model `name`, if any.
    pub async fn alias_holder(&self, name: &str, alias: &str) -> Result<Option<i64>, RegistryError> {
        let mut conn = self.pool.acquire().await?;
        Ok(
            sqlx::query_scalar("SELECT version FROM model_aliases WHERE name = $1 AND alias = $2")
                .bind(name)
                .bind(alias)
                .fetch_optional(&mut *conn)
                .await?,
        )
    }

    /// Moves `alias` to `version` by hand (`models promote`), recording the previous holder.
    /// Returns the previous holder.
    pub async fn promote(
        &self,
        name: &str,
        version: i64,
        alias: &str,
        who: &str,
        reason: Option<&str>,
    ) -> Result<Option<i64>, RegistryError> {
        self.model_version(name, version).await?;
        let mut tx = self.pool.begin().await?;
        self.lock_model(&mut tx, name).await?;
        let now = now_text();
        // A write first, so the transaction holds the lock before it reads the holder.
        sqlx::query("UPDATE model_versions SET name = name WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        let previous = holder_in(&mut tx, name, alias).await?;
        set_alias_in(&mut tx, name, alias, version, who, &now).await?;
        history_in(
            &mut tx, name, alias, version, previous, "promoted", who, reason, None, &now,
        )
        .await?;
        tx.commit().await?;
        Ok(previous)
    }

    /// What rolling `alias` back would do: (its holder now, the version that held it before its
    /// holder was promoted). Read first, so the caller can check that version's files.
    pub async fn rollback_target(&self, name: &str, alias: &str) -> Result<(i64, i64), RegistryError> {
        let mut conn = self.pool.acquire().await?;
        rollback_in(&mut conn, name, alias).await
    }

    /// Gives `alias` back to the version that held it before its holder was promoted, when that
    /// is still `expected` (from [`Self::rollback_target`]; another process may have moved the
    /// alias since). Returns (from, to).
    pub async fn rollback(
        &self,
        name: &str,
        alias: &str,
        expected: (i64, i64),
        who: &str,
        reason: Option<&str>,
    ) -> Result<(i64, i64), RegistryError> {
        let mut tx = self.pool.begin().await?;
        self.lock_model(&mut tx, name).await?;
        let now = now_text();
        sqlx::query("UPDATE model_aliases SET alias = alias WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .execute(&mut *tx)
            .await?;
        let (current, target) = rollback_in(&mut tx, name, alias).await?;
        if (current, target) != expected {
            return Err(RegistryError::Refused(format!(
                "`{alias}` of `{name}` moved while v{} was checked (v{current} holds it now); run the rollback again",
                expected.1
            )));
        }
        set_alias_in(&mut tx, name, alias, target, who, &now).await?;
        history_in(
            &mut tx,
            name,
            alias,
            target,
            Some(current),
            "rolled-back",
            who,
            reason,
            None,
            &now,
        )
        .await?;
        tx.commit().await?;
        Ok((current, target))
    }

    pub async fn list_models(&self) -> Result<Vec<ModelSummary>, RegistryError> {
        let rows = sqlx::query(
            "SELECT name, COUNT(*) AS versions, MAX(version) AS latest, MAX(created_at) AS latest_at
             FROM model_versions GROUP BY name ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get("name")?;
            out.push(ModelSummary {
                aliases: self.aliases_of(&name).await?,
                name,
                versions: r.try_get("versions")?,
                latest: r.try_get("latest")?,
                latest_at: r.try_get("latest_at")?,
            });
        }
        Ok(out)
    }

    async fn aliases_of(&self, name: &str) -> Result<BTreeMap<String, i64>, RegistryError> {
        let rows = sqlx::query("SELECT alias, version FROM model_aliases WHERE name = $1 ORDER BY alias")
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("alias")?, r.try_get("version")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// One version; an error naming the model's versions when it is not there.
    pub async fn model_version(&self, name: &str, version: i64) -> Result<ModelVersionView, RegistryError> {
        let row = sqlx::query(
            "SELECT name, version, run_id, uri, model_sha256, card_uri, card_sha256, data_uri, data_sha256,
                    metrics, params, git_commit, pmflow_version, created_at, description
             FROM model_versions WHERE name = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM model_versions WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            return Err(RegistryError::NotFound(match latest {
                Some(n) => format!("model `{name}` has no version {version} (versions 1 to {n})"),
                None => format!("no model `{name}` in the registry (`pmflow models list` shows them)"),
            }));
        };
        let aliases = self
            .aliases_of(name)
            .await?
            .into_iter()
            .filter(|(_, v)| *v == version)
            .map(|(a, _)| a)
            .collect();
        let json = |key: &str| -> Result<serde_json::Value, sqlx::Error> {
            let text: String = row.try_get(key)?;
            Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
        };
        Ok(ModelVersionView {
            name: row.try_get("name")?,
            version: row.try_get("version")?,
            run_id: row.try_get("run_id")?,
            model_uri: row.try_get("uri")?,
            model_sha256: row.try_get("model_sha256")?,
            card_uri: row.try_get("card_uri")?,
            card_sha256: row.try_get("card_sha256")?,
            data_uri: row.try_get("data_uri")?,
            data_sha256: row.try_get("data_sha256")?,
            metrics: json("metrics")?,
            params: json("params")?,
            git_commit: row.try_get("git_commit")?,
            pmflow_version: row.try_get("pmflow_version")?,
            created_at: row.try_get("created_at")?,
            description: row.try_get("description")?,
            aliases,
        })
    }

    /// The version `spec` names for model `name`: `@ALIAS`, `@vN`, `@latest`, or None (the
    /// latest).
    pub async fn resolve_model(&self, name: &str, at: Option<&str>) -> Result<i64, RegistryError> {
        match at {
            Some(v) if v.len() > 1 && v.starts_with('v') && v[1..].chars().all(|c| c.is_ascii_digit()) => {
                let n: i64 = v[1..]
                    .parse()
                    .map_err(|_| RegistryError::NotFound(format!("`{v}` is not a version")))?;
                self.model_version(name, n).await.map(|m| m.version)
            }
            None | Some("latest") => {
                let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM model_versions WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                latest.ok_or_else(|| {
                    RegistryError::NotFound(format!(
                        "no model `{name}` in the registry (`pmflow models list` shows them)"
                    ))
                })
            }
            Some(alias) => match self.alias_holder(name, alias).await? {
                Some(v) => Ok(v),
                None => {
                    // An unknown model is named as such, not as an unset alias.
                    Box::pin(self.resolve_model(name, None)).await?;
                    let known = self.aliases_of(name).await?;
                    let known: Vec<String> = known.keys().cloned().collect();
                    Err(RegistryError::NotFound(if known.is_empty() {
                        format!("no version of `{name}` holds `{alias}` (no alias is set yet)")
                    } else {
                        format!("no version of `{name}` holds `{alias}` (aliases: {})", known.join(", "))
                    }))
                }
            },
        }
    }

    /// The version a spec names, read whole: `NAME` (the latest), `NAME@ALIAS`, `NAME@vN` or
    /// `NAME@latest`.
    pub async fn model_version_of(&self, spec: &str) -> Result<ModelVersionView, RegistryError> {
        let (name, at) = match spec.split_once('@') {
            Some((name, at)) => (name, Some(at)),
            None => (spec, None),
        };
        let version = self.resolve_model(name, at).await?;
        self.model_version(name, version).await
    }

    pub async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersionView>, RegistryError> {
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM model_versions WHERE name = $1 ORDER BY version")
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            out.push(self.model_version(name, v).await?);
        }
        Ok(out)
    }

    /// Every alias decision for `name` (optionally one alias), oldest first.
    pub async fn alias_history(&self, name: &str, alias: Option<&str>) -> Result<Vec<AliasEvent>, RegistryError> {
        let rows = sqlx::query(
            "SELECT alias, version, previous, action, at, who, reason, gate FROM model_alias_history
             WHERE name = $1 AND ($2 IS NULL OR alias = $2) ORDER BY id",
        )
        .bind(name)
        .bind(alias)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let gate: Option<String> = r.try_get("gate")?;
                Ok(AliasEvent {
                    alias: r.try_get("alias")?,
                    version: r.try_get("version")?,
                    previous: r.try_get("previous")?,
                    action: r.try_get("action")?,
                    at: r.try_get("at")?,
                    who: r.try_get("who")?,
                    reason: r.try_get("reason")?,
                    gate: gate.and_then(|g| serde_json::from_str(&g).ok()),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// (the holder of `alias` now, the holder before it), or why there is nothing to roll back to.
async fn rollback_in(conn: &mut sqlx::AnyConnection, name: &str, alias: &str) -> Result<(i64, i64), RegistryError> {
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM model_aliases WHERE name = $1 AND alias = $2")
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(current) = current else {
        return Err(RegistryError::NotFound(format!(
            "no version of `{name}` holds `{alias}`; nothing to roll back"
        )));
    };
    let before: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT previous FROM model_alias_history
         WHERE name = $1 AND alias = $2 AND version = $3 AND action = 'promoted' ORDER BY id DESC LIMIT 1",
    )
    .bind(name)
    .bind(alias)
    .bind(current)
    .fetch_optional(&mut *conn)
    .await?;
    match before {
        Some(Some(target)) => Ok((current, target)),
        _ => Err(RegistryError::Refused(format!(
            "`{alias}` of `{name}` had no holder before v{current}; promote a version instead: `pmflow models promote {name} VERSION --alias {alias}`"
        ))),
    }
}

async fn holder_in(tx: &mut Tx<'_>, name: &str, alias: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM model_aliases WHERE name = $1 AND alias = $2")
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut **tx)
        .await
}

async fn set_alias_in(
    tx: &mut Tx<'_>,
    name: &str,
    alias: &str,
    version: i64,
    who: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_aliases (name, alias, version, set_at, set_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, set_at = excluded.set_at, set_by = excluded.set_by",
    )
    .bind(name)
    .bind(alias)
    .bind(version)
    .bind(now)
    .bind(who)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn history_in(
    tx: &mut Tx<'_>,
    name: &str,
    alias: &str,
    version: i64,
    previous: Option<i64>,
    action: &str,
    who: &str,
    reason: Option<&str>,
    gate: Option<&serde_json::Value>,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_alias_history (name, alias, version, previous, action, at, who, reason, gate)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(name)
    .bind(alias)
    .bind(version)
    .bind(previous)
    .bind(action)
    .bind(now)
    .bind(who)
    .bind(reason)
    .bind(gate.map(|g| g.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::testing::{on_both_backends, Fresh};
    use crate::registry::{test_run, test_version, RegistryLocation};

    fn promotion(passed: bool, against: Option<i64>) -> Promotion {
        Promotion {
            alias: "production".into(),
            gate_passed: passed,
            judged_against: against,
            who: "me@here".into(),
            reason: None,
            gate: serde_json::json!({"passed": passed}),
        }
    }

    async fn registry(fresh: &Fresh) -> Registry {
        let r = fresh.open().await;
        for run in ["r1", "r2", "r3"] {
            r.create_run(&test_run(run)).await.unwrap();
        }
        r
    }

    on_both_backends! {
    async fn versions_count_up_and_the_gate_decides_the_alias(fresh) {
        let r = registry(&fresh).await;
        let first = r
            .register_model(&test_version("r1", 0.8), Some(&promotion(true, None)))
            .await
            .unwrap();
        assert_eq!((first.version, first.promoted), (1, Some(true)));
        let second = r
            .register_model(&test_version("r2", 0.5), Some(&promotion(false, Some(1))))
            .await
            .unwrap();
        assert_eq!((second.version, second.promoted), (2, Some(false)));
        assert_eq!(r.alias_holder("pump", "production").await.unwrap(), Some(1));
        // The gate passed against v1, but v1 is no longer the holder: refused, with the reason.
        r.promote("pump", 2, "production", "me@here", Some("by hand"))
            .await
            .unwrap();
        let third = r
            .register_model(&test_version("r3", 0.9), Some(&promotion(true, Some(1))))
            .await
            .unwrap();
        assert_eq!(third.promoted, Some(false));
        assert!(third.refused_because.unwrap().contains("moved to v2"));
        let history = r.alias_history("pump", Some("production")).await.unwrap();
        let actions: Vec<(&str, i64, Option<i64>)> = history
            .iter()
            .map(|h| (h.action.as_str(), h.version, h.previous))
            .collect();
        assert_eq!(
            actions,
            [
                ("promoted", 1, None),
                ("refused", 2, Some(1)),
                ("promoted", 2, Some(1)),
                ("refused", 3, Some(2))
            ]
        );
        assert_eq!(history[2].reason.as_deref(), Some("by hand"));
        assert_eq!(history[0].who, "me@here");
    }

    async fn rollback_returns_the_alias_to_the_holder_before(fresh) {
        let r = registry(&fresh).await;
        for run in ["r1", "r2", "r3"] {
            r.register_model(&test_version(run, 0.8), None).await.unwrap();
        }
        let err = r.rollback_target("pump", "production").await.unwrap_err();
        assert!(err.to_string().contains("nothing to roll back"), "{err}");
        r.promote("pump", 1, "production", "me", None).await.unwrap();
        let err = r.rollback_target("pump", "production").await.unwrap_err();
        assert!(err.to_string().contains("had no holder before v1"), "{err}");
        r.promote("pump", 2, "production", "me", None).await.unwrap();
        r.promote("pump", 3, "production", "me", None).await.unwrap();
        let target = r.rollback_target("pump", "production").await.unwrap();
        assert_eq!(target, (3, 2));
        assert_eq!(
            r.rollback("pump", "production", target, "me", Some("v3 alarms too often"))
                .await
                .unwrap(),
            (3, 2)
        );
        // The target was read before the alias moved on: refused, nothing changed.
        let err = r.rollback("pump", "production", (3, 2), "me", None).await.unwrap_err();
        assert!(err.to_string().contains("moved while v2 was checked (v2 holds it now)"), "{err}");
        let target = r.rollback_target("pump", "production").await.unwrap();
        assert_eq!(r.rollback("pump", "production", target, "me", None).await.unwrap(), (2, 1));
        assert_eq!(r.resolve_model("pump", Some("production")).await.unwrap(), 1);
        assert_eq!(r.resolve_model("pump", Some("v3")).await.unwrap(), 3);
        assert_eq!(r.resolve_model("pump", None).await.unwrap(), 3);
        assert_eq!(r.model_version_of("pump@production").await.unwrap().version, 1);
        assert_eq!(r.model_version_of("pump").await.unwrap().version, 3);
        let err = r.resolve_model("pump", Some("v9")).await.unwrap_err().to_string();
        assert_eq!(err, "model `pump` has no version 9 (versions 1 to 3)");
        let err = r.resolve_model("pump", Some("staging")).await.unwrap_err().to_string();
        assert_eq!(err, "no version of `pump` holds `staging` (aliases: production)");
        let listed = r.list_models().await.unwrap();
        assert_eq!(
            (listed[0].versions, listed[0].latest, listed[0].aliases["production"]),
            (3, 3, 1)
        );
    }

    /// Two processes' worth of connections registering at the same moment: distinct numbers.
    async fn concurrent_registrations_get_distinct_versions(fresh) {
        let first = registry(&fresh).await;
        let second = fresh.open().await;
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let r = if i % 2 == 0 { first.clone() } else { second.clone() };
                tokio::spawn(async move {
                    let v = r.register_model(&test_version("r1", 0.5), Some(&promotion(true, None))).await.unwrap();
                    (v.version, v.promoted)
                })
            })
            .collect();
        let mut versions: Vec<i64> = Vec::new();
        let mut promoted = 0;
        for t in tasks {
            let (version, was_promoted) = t.await.unwrap();
            versions.push(version);
            promoted += usize::from(was_promoted == Some(true));
        }
        versions.sort();
        assert_eq!(versions, (1..=16).collect::<Vec<_>>());
        // Each gate judged against "nobody holds it": only the first to decide may promote.
        assert_eq!(promoted, 1, "one promotion, the others refused as the alias moved");
        let history = first.alias_history("pump", Some("production")).await.unwrap();
        assert_eq!(history.len(), 16);
    }
    }

    /// A registry written before the model registry existed (the schema up to its previous
    /// migration) migrates in place and keeps its rows.
    #[tokio::test]
    async fn an_older_registry_migrates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let older = dir.path().join("migrations");
        std::fs::create_dir_all(&older).unwrap();
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&shipped)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files
            .iter()
            .filter(|f| !f.ends_with("20261202000001_model_registry.sql"))
        {
            std::fs::copy(f, older.join(f.file_name().unwrap())).unwrap();
        }
        let file = dir.path().join("r.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(older.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO experiments (id, name, created_at) VALUES (1, 'e', 't')")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO runs (id, experiment_id, pipeline, pipeline_file, pipeline_text, pipeline_hash, status, trigger, started_at, pmflow_version, host, pid, heartbeat_at)
             VALUES ('old', 1, 'p', 'p.yaml', '{}', 'h', 'succeeded', 'manual', 't', '0', 'h', 1, 't')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO model_versions (name, version, run_id, uri, created_at) VALUES ('pump', 1, 'old', 'file:///m', 't')")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO model_aliases (name, alias, version, set_at) VALUES ('pump', 'production', 1, 't')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;

        let r = Registry::open(&RegistryLocation::Sqlite(file)).await.unwrap();
        let v = r.model_version("pump", 1).await.unwrap();
        assert_eq!((v.run_id.as_str(), v.model_uri.as_str()), ("old", "file:///m"));
        assert_eq!(v.aliases, ["production"]);
        assert_eq!(v.metrics, serde_json::json!({}));
        r.create_run(&test_run("new")).await.unwrap();
        assert_eq!(
            r.register_model(&test_version("new", 0.5), None).await.unwrap().version,
            2
        );
    }
}
