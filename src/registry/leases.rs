//! Leases that keep one scheduled fire from running twice across processes and hosts: the
//! scheduler takes one per fire (two daemons on one registry never both run a fire), and a
//! holder renews it while it runs. A lease left by a dead process expires and is taken over.
//! Manual runs take none: people running a pipeline at once are never serialised.
//! Also the last fire recorded for a pipeline, from which missed fires are computed.

use chrono::{DateTime, Utc};

use super::{stamp, Registry, RegistryError};

/// Who holds a lease: this host and process.
pub fn lease_owner() -> String {
    format!("{}:{}", super::liveness::this_host(), std::process::id())
}

/// How long a lease lasts without renewal; holders renew it at a third of that.
pub const LEASE_TTL: chrono::Duration = chrono::Duration::seconds(60);

impl Registry {
    /// Takes the lease on `pipeline` for `ttl` when nobody holds it, its holder let it expire,
    /// or `owner` holds it already. One statement, so two processes racing for it cannot both
    /// win. Returns whether `owner` holds it now.
    pub async fn take_lease(
        &self,
        pipeline: &str,
        owner: &str,
        fire_at: Option<DateTime<Utc>>,
        ttl: chrono::Duration,
    ) -> Result<bool, RegistryError> {
        let now = self.clock().await?;
        let taken = sqlx::query(
            "INSERT INTO schedule_leases (pipeline, owner, fire_at, taken_at, expires_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (pipeline) DO UPDATE SET owner = excluded.owner, fire_at = excluded.fire_at,
                 taken_at = excluded.taken_at, expires_at = excluded.expires_at
             WHERE schedule_leases.expires_at <= $4 OR schedule_leases.owner = $2",
        )
        .bind(pipeline)
        .bind(owner)
        .bind(fire_at.map(stamp))
        .bind(stamp(now))
        .bind(stamp(now + ttl))
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// A lease held by a process of this host that is gone (a daemon killed with SIGKILL) is
    /// dropped now rather than after it expires: its restart does not skip a fire.
    pub async fn clear_dead_holder(&self, pipeline: &str) -> Result<(), RegistryError> {
        let holder: Option<String> = sqlx::query_scalar("SELECT owner FROM schedule_leases WHERE pipeline = $1")
            .bind(pipeline)
            .fetch_optional(&self.pool)
            .await?;
        let Some(holder) = holder else { return Ok(()) };
        let Some((host, pid)) = holder.rsplit_once(':') else {
            return Ok(());
        };
        let dead = host == super::liveness::this_host()
            && pid.parse::<i64>().is_ok_and(|pid| !super::liveness::pmflow_alive(pid));
        if dead {
            self.release_lease(pipeline, &holder).await?;
        }
        Ok(())
    }

    /// Renews `owner`'s lease on `pipeline` at a third of its life, for as long as it runs;
    /// returns once the lease is lost (expired and taken over). A failed renewal (the registry
    /// busy) is tried again at the next tick, not taken for a loss.
    pub async fn renew_until_lost(&self, pipeline: &str, owner: &str) {
        let every = std::time::Duration::from_secs((LEASE_TTL.num_seconds() / 3).max(1) as u64);
        loop {
            tokio::time::sleep(every).await;
            if let Ok(false) = self.renew_lease(pipeline, owner, LEASE_TTL).await {
                return;
            }
        }
    }

    /// Extends a lease `owner` holds; false when it lost it (expired and taken over).
    pub async fn renew_lease(&self, pipeline: &str, owner: &str, ttl: chrono::Duration) -> Result<bool, RegistryError> {
        let renewed = sqlx::query("UPDATE schedule_leases SET expires_at = $1 WHERE pipeline = $2 AND owner = $3")
            .bind(stamp(self.clock().await? + ttl))
            .bind(pipeline)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(renewed.rows_affected() == 1)
    }

    pub async fn release_lease(&self, pipeline: &str, owner: &str) -> Result<(), RegistryError> {
        sqlx::query("DELETE FROM schedule_leases WHERE pipeline = $1 AND owner = $2")
            .bind(pipeline)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest fire a run of `pipeline` was recorded for.
    pub async fn last_fire(&self, pipeline: &str) -> Result<Option<DateTime<Utc>>, RegistryError> {
        let last: Option<String> = sqlx::query_scalar("SELECT MAX(fire_at) FROM runs WHERE pipeline = $1")
            .bind(pipeline)
            .fetch_one(&self.pool)
            .await?;
        Ok(last
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_run;
    use crate::registry::testing::on_both_backends;

    on_both_backends! {
    async fn one_holder_at_a_time_and_an_expired_lease_is_taken_over(fresh) {
        let a = fresh.open().await;
        let b = fresh.open().await;
        let minute = chrono::Duration::minutes(1);
        // Two processes race for one fire: exactly one wins.
        let (ra, rb) = tokio::join!(
            a.take_lease("weekly", "a:1", None, minute),
            b.take_lease("weekly", "b:2", None, minute)
        );
        assert!(ra.unwrap() ^ rb.unwrap(), "exactly one holder");
        let (holder, other) = if a.renew_lease("weekly", "a:1", minute).await.unwrap() {
            ("a:1", "b:2")
        } else {
            ("b:2", "a:1")
        };
        assert!(!a.renew_lease("weekly", other, minute).await.unwrap());
        assert!(
            a.take_lease("weekly", holder, None, minute).await.unwrap(),
            "the holder may take it again"
        );
        // A holder that stops renewing: its lease runs out and the other takes it.
        assert!(a
            .take_lease("daily", "dead:9", None, chrono::Duration::milliseconds(-1))
            .await
            .unwrap());
        assert!(b.take_lease("daily", "b:2", None, minute).await.unwrap());
        assert!(
            !a.renew_lease("daily", "dead:9", minute).await.unwrap(),
            "the dead holder lost it"
        );
        a.release_lease("weekly", holder).await.unwrap();
        // A holder on this host whose process is gone is cleared at once.
        let gone = format!("{}:{}", crate::registry::liveness::this_host(), i32::MAX);
        assert!(a.take_lease("hourly", &gone, None, minute).await.unwrap());
        a.clear_dead_holder("hourly").await.unwrap();
        assert!(
            b.take_lease("hourly", "b:2", None, minute).await.unwrap(),
            "the dead holder's lease is taken"
        );
        assert!(b.take_lease("weekly", other, None, minute).await.unwrap());
    }

    async fn the_last_fire_comes_from_the_runs(fresh) {
        let r = fresh.open().await;
        assert_eq!(r.last_fire("p").await.unwrap(), None);
        for (id, at) in [("r1", "2026-11-23T03:00:00.000Z"), ("r2", "2026-11-30T03:00:00.000Z")] {
            let mut run = test_run(id);
            run.fire_at = Some(at.to_string());
            r.create_run(&run).await.unwrap();
        }
        let last = r.last_fire("p").await.unwrap().unwrap();
        assert_eq!(stamp(last), "2026-11-30T03:00:00.000Z");
    }
    }
}
