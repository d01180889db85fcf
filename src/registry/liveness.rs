//! Finding runs whose process died (SIGKILL, power loss, OOM) so no run stays `running` forever.
//!
//! A run records its host and PID and refreshes a heartbeat while it works. When a registry is
//! opened, a `running` run is dead if its process is gone (same host: no such PID, or a PID now
//! used by something that is not pmflow) or its heartbeat is older than [`STALE_AFTER`] (another
//! host, where the PID cannot be checked).

use std::time::Duration;

use sqlx::Row;

use super::{now_text, Registry, RegistryError};

/// How often a running pmflow refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// A heartbeat older than this means the run's process is gone.
const STALE_AFTER: Duration = Duration::from_secs(300);

pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
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
    pub async fn heartbeat(&self, run_id: &str) -> Result<(), RegistryError> {
        sqlx::query("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'")
            .bind(now_text())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks runs (and their running steps) `interrupted` when their process is gone.
    pub(super) async fn mark_dead_runs(&self) -> Result<(), RegistryError> {
        let rows = sqlx::query("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'")
            .fetch_all(&self.pool)
            .await?;
        let host = this_host();
        let now = chrono::Utc::now();
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
                "UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? WHERE id = ? AND status = 'running'",
            )
            .bind(now_text())
            .bind(&why)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE step_runs SET status = 'interrupted', error = ? WHERE run_id = ? AND status = 'running'",
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
