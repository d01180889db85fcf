//! Finding runs whose process died (SIGKILL, power loss, OOM) so no run stays `running` forever.
//!
//! A run records its host and PID and refreshes a heartbeat while it works. When a registry is
//! opened, a `running` run is dead if its process is gone (same host: no such PID, or a PID now
//! used by something that is not pmflow) or its heartbeat is older than [`STALE_AFTER`] (another
//! host, where the PID cannot be checked).

use std::time::Duration;

use sqlx::Row;

use super::{stamp, Backend, Registry, RegistryError};

/// How often a running pmflow refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// A heartbeat older than this means the run's process is gone.
const STALE_AFTER: Duration = Duration::from_secs(300);

/// This host's name as runs and leases record it: `PMFLOW_HOST` when set (containers that share
/// a hostname, or hosts behind one name, must tell themselves apart), else the hostname.
pub fn this_host() -> String {
    match std::env::var("PMFLOW_HOST") {
        Ok(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => gethostname::gethostname().to_string_lossy().into_owned(),
    }
}

/// Whether process `pid` on this host is (still) a pmflow process.
pub fn pmflow_alive(pid: i64) -> bool {
    if pid == std::process::id() as i64 {
        return true;
    }
    let proc_dir = std::path::Path::new("/proc");
    if !proc_dir.exists() {
        // No procfs to ask: trust the heartbeat alone.
        return true;
    }
    match std::fs::read(proc_dir.join(pid.to_string()).join("cmdline")) {
        Ok(cmdline) => String::from_utf8_lossy(&cmdline).contains("pmflow"),
        Err(_) => false,
    }
}

impl Registry {
    /// Now by the registry's clock: the database server's on PostgreSQL, so that hosts whose
    /// clocks disagree still agree on heartbeats and leases; this machine's on SQLite.
    pub(crate) async fn clock(&self) -> Result<chrono::DateTime<chrono::Utc>, RegistryError> {
        match self.backend {
            Backend::Sqlite => Ok(chrono::Utc::now()),
            Backend::Postgres => {
                let ms: i64 = sqlx::query_scalar("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_else(chrono::Utc::now))
            }
        }
    }

    pub async fn heartbeat(&self, run_id: &str) -> Result<(), RegistryError> {
        let now = self.clock().await?;
        sqlx::query("UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'")
            .bind(stamp(now))
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A run of `pipeline` that is `running` in a live process (dead ones are marked
    /// `interrupted` first), the oldest if several: what a scheduled fire must not overlap.
    pub async fn live_run_of(&self, pipeline: &str) -> Result<Option<String>, RegistryError> {
        self.mark_dead_runs().await?;
        let id = sqlx::query_scalar(
            "SELECT id FROM runs WHERE pipeline = $1 AND status = 'running' ORDER BY started_at, id LIMIT 1",
        )
        .bind(pipeline)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Marks runs (and their running steps) `interrupted` when their process is gone.
    pub(super) async fn mark_dead_runs(&self) -> Result<(), RegistryError> {
        let rows = sqlx::query("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'")
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            // Every open sweeps: no second round trip to the server's clock for nothing.
            return Ok(());
        }
        let host = this_host();
        let now = self.clock().await?;
        for row in rows {
            let (id, run_host, pid, beat): (String, String, i64, String) = (
                row.try_get("id")?,
                row.try_get("host")?,
                row.try_get("pid")?,
                row.try_get("heartbeat_at")?,
            );
            let stale = chrono::DateTime::parse_from_rfc3339(&beat)
                .map(|t| (now - t.with_timezone(&chrono::Utc)).to_std().unwrap_or_default() > STALE_AFTER)
                .unwrap_or(true);
            let dead = if run_host == host { !pmflow_alive(pid) } else { stale };
            if !dead {
                continue;
            }
            let why = format!("the pmflow process (pid {pid} on {run_host}) ended without finishing the run");
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "UPDATE runs SET status = 'interrupted', ended_at = $1, error = $2 WHERE id = $3 AND status = 'running'",
            )
            .bind(stamp(now))
            .bind(&why)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE step_runs SET status = 'interrupted', error = $1 WHERE run_id = $2 AND status = 'running'",
            )
            .bind(&why)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::test_run;
    use crate::registry::testing::on_both_backends;

    on_both_backends! {
    /// Another host's PID cannot be checked: its run is dead once the heartbeat is older than
    /// STALE_AFTER, and left alone while it is fresh, whatever its PID.
    async fn runs_of_other_hosts_are_judged_by_their_heartbeat(fresh) {
        let r = fresh.open().await;
        for id in ["beating", "silent"] {
            r.create_run(&test_run(id)).await.unwrap();
            r.step_started(id, "load").await.unwrap();
        }
        let old = crate::registry::stamp(chrono::Utc::now() - chrono::Duration::minutes(10));
        sqlx::query("UPDATE runs SET host = 'plant-7', pid = 1")
            .execute(&r.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE runs SET heartbeat_at = $1 WHERE id = 'silent'")
            .bind(&old)
            .execute(&r.pool)
            .await
            .unwrap();
        let other = fresh.open().await;
        let silent = other.show_run("silent").await.unwrap();
        assert_eq!(silent.summary.status, "interrupted");
        assert!(silent.error.unwrap().contains("pid 1 on plant-7"));
        assert_eq!(silent.steps[0].status, "interrupted");
        let beating = other.show_run("beating").await.unwrap();
        assert_eq!(beating.summary.status, "running");
        assert_eq!(beating.steps[0].status, "running");
    }

    /// What a scheduled fire asks before it runs: a live run of its pipeline, not a dead one.
    async fn a_live_run_of_a_pipeline_is_found_and_a_dead_one_is_not(fresh) {
        let r = fresh.open().await;
        assert_eq!(r.live_run_of("p").await.unwrap(), None);
        r.create_run(&test_run("dead")).await.unwrap();
        sqlx::query("UPDATE runs SET host = 'plant-7', heartbeat_at = $1 WHERE id = 'dead'")
            .bind(crate::registry::stamp(chrono::Utc::now() - chrono::Duration::minutes(10)))
            .execute(&r.pool)
            .await
            .unwrap();
        assert_eq!(r.live_run_of("p").await.unwrap(), None, "its heartbeat stopped");
        r.create_run(&test_run("alive")).await.unwrap();
        assert_eq!(r.live_run_of("p").await.unwrap().as_deref(), Some("alive"));
        assert_eq!(r.live_run_of("other").await.unwrap(), None);
    }
    }
}
