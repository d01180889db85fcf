//! Opening a registry: a SQLite file (created if missing, WAL, a busy timeout, migrations under
//! an exclusive file lock) or a PostgreSQL database (password from the URL, `PGPASSWORD` or
//! `~/.pgpass`; migrations under sqlx's advisory lock), and what connection trouble means in
//! words that name the host and what to check.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use super::schema::{self, SchemaError};
use super::{Backend, Registry, RegistryError, RegistryLocation};
use crate::pipeline::location::{redact, PostgresUrl};

/// How long a SQLite writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a PostgreSQL connection may take to open before the host is called unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    ReadWrite,
    ReadOnly,
}

pub(super) async fn open(location: &RegistryLocation, access: Access) -> Result<Registry, RegistryError> {
    sqlx::any::install_default_drivers();
    match location {
        RegistryLocation::Sqlite(path) => open_sqlite(location, path, access).await,
        RegistryLocation::Postgres(pg) => open_postgres(pg, access).await,
    }
}

async fn open_sqlite(location: &RegistryLocation, path: &Path, access: Access) -> Result<Registry, RegistryError> {
    let fail = |message: String| RegistryError::Open {
        url: location.url(),
        message,
    };
    let mut guard = None;
    if access == Access::ReadWrite {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Opening, migrating and sweeping dead runs happen under an exclusive file lock, so
        // processes that open a new registry at the same moment never race on migrations.
        guard = Some(lock_file(path).map_err(|e| fail(format!("cannot lock {}: {e}", path.display())))?);
    }
    let file = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| fail(e.to_string()))?
        .filename(path)
        .create_if_missing(access == Access::ReadWrite)
        .read_only(access == Access::ReadOnly);
    let options = AnyConnectOptions::from_url(&file.to_url_lossy())
        .map_err(|e| fail(e.to_string()))?
        .disable_statement_logging();
    let writable = access == Access::ReadWrite;
    // One connection first, to say at once what is wrong with the file (the pool would retry a
    // failing connection until its timeout), and to switch a new file to WAL, which lets readers
    // work while a run writes (the setting stays with the file).
    let mut probe = options.connect().await.map_err(|e| fail(explain_sqlite(&e)))?;
    let check = match access {
        Access::ReadWrite => "PRAGMA journal_mode = WAL; SELECT COUNT(*) FROM sqlite_master;",
        Access::ReadOnly => "SELECT COUNT(*) FROM sqlite_master;",
    };
    let checked = sqlx::raw_sql(check).execute(&mut probe).await;
    let _ = sqlx::Connection::close(probe).await;
    checked.map_err(|e| fail(explain_sqlite(&e)))?;
    // The `Any` driver opens SQLite from a URL, which carries no pragmas: each connection sets
    // its own as it opens.
    let pool = AnyPoolOptions::new()
        .max_connections(if writable { 4 } else { 2 })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                let mut pragmas = format!("PRAGMA busy_timeout = {};", BUSY_TIMEOUT.as_millis());
                if writable {
                    pragmas.push_str(" PRAGMA synchronous = NORMAL;");
                }
                pragmas.push_str(" PRAGMA foreign_keys = ON;");
                sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas)).execute(conn).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| fail(explain_sqlite(&e)))?;
    let registry = Registry {
        pool,
        backend: Backend::Sqlite,
        shown: location.url(),
    };
    prepare_schema(&registry, access)
        .await
        .map_err(|e| fail(e.to_string()))?;
    drop(guard);
    Ok(registry)
}

async fn open_postgres(pg: &PostgresUrl, access: Access) -> Result<Registry, RegistryError> {
    let fail = |message: String| RegistryError::Open {
        url: pg.shown(),
        message,
    };
    let url = url::Url::parse(pg.connect_url()).map_err(|e| fail(e.to_string()))?;
    let mut options = AnyConnectOptions::from_url(&url).map_err(|e| fail(redact(&e.to_string()).into_owned()))?;
    // Statement logging would print bound values; pmflow's own progress says what happens.
    options = options.disable_statement_logging();
    // One connection first, tried once: the pool would retry a refused connection until its
    // timeout and report only that it timed out, where this says what went wrong.
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Err(_) => return Err(fail(explain_postgres(pg, &sqlx::Error::PoolTimedOut))),
        Ok(Err(e)) => return Err(fail(explain_postgres(pg, &e))),
        Ok(Ok(probe)) => {
            let _ = sqlx::Connection::close(probe).await;
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| fail(explain_postgres(pg, &e)))?;
    let registry = Registry {
        pool,
        backend: Backend::Postgres,
        shown: pg.shown(),
    };
    prepare_schema(&registry, access)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok(registry)
}

/// Writable: applies the migrations this pmflow knows. Read-only: the schema must be the one
/// this pmflow writes. Either way a registry a newer pmflow migrated is refused untouched. A
/// SQLite file that turns out not to be a registry is said to be so.
async fn prepare_schema(registry: &Registry, access: Access) -> Result<(), SchemaError> {
    let prepared = match access {
        Access::ReadWrite => schema::migrate(registry.backend, &registry.pool).await,
        Access::ReadOnly => check_schema(registry).await,
    };
    match (registry.backend, prepared) {
        (Backend::Sqlite, Err(e)) if not_a_database(&e.to_string()) => Err(SchemaError::NotARegistry),
        (_, prepared) => prepared,
    }
}

async fn check_schema(registry: &Registry) -> Result<(), SchemaError> {
    let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&registry.pool)
        .await?;
    match (applied, schema::newest()) {
        (Some(a), Some(k)) if a > k => Err(SchemaError::Newer(a)),
        (Some(a), Some(k)) if a < k => Err(SchemaError::ReadOnlyOlder),
        _ => Ok(()),
    }
}

fn explain_sqlite(e: &sqlx::Error) -> String {
    let text = e.to_string();
    if not_a_database(&text) {
        SchemaError::NotARegistry.to_string()
    } else {
        text
    }
}

/// Whether SQLite's message says the file is no database (or a corrupt one).
fn not_a_database(text: &str) -> bool {
    text.contains("not a database") || text.contains("malformed")
}

/// Whether `e` says the database could not be reached, rather than refusing a statement.
pub(super) fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)
    ) || matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| {
        // 57P01..57P03: the server is shutting down or starting; 08xxx: connection exceptions.
        c.starts_with("57P") || c.starts_with("08")
    })) || matches!(e, sqlx::Error::Protocol(text) if text.contains("connection"))
}

/// Connection trouble in words: the host, the user or database at fault, and what to check.
fn explain_postgres(pg: &PostgresUrl, e: &sqlx::Error) -> String {
    let host = &pg.host;
    let user = pg.user.clone().unwrap_or_else(|| "(the login user)".into());
    let database = pg.database.clone().unwrap_or_else(|| user.clone());
    let code = match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    let said = redact(&e.to_string()).into_owned();
    match code.as_deref() {
        Some("28P01") => format!(
            "PostgreSQL at {host} refused the password of user `{user}`; check the password in PGPASSWORD, ~/.pgpass or the URL ({said})"
        ),
        Some("28000") => format!(
            "PostgreSQL at {host} does not let user `{user}` in; check the user name and the server's pg_hba.conf ({said})"
        ),
        Some("3D000") => format!(
            "PostgreSQL at {host} has no database `{database}`; create it (`createdb -h HOST -U {user} {database}`) or fix the name in the URL"
        ),
        Some(c) if c.starts_with("57P") => format!("PostgreSQL at {host} is starting up or shutting down; try again shortly ({said})"),
        _ => match e {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
                "cannot connect to PostgreSQL at {host}: connection refused; is the server running and listening there? Check the host and port in the URL"
            ),
            sqlx::Error::Io(io) => format!(
                "cannot connect to PostgreSQL at {host}: {io}; check the host name, the port and the network"
            ),
            sqlx::Error::PoolTimedOut => format!(
                "no answer from PostgreSQL at {host} within {} s; check that the host is up and that no firewall drops the port",
                CONNECT_TIMEOUT.as_secs()
            ),
            sqlx::Error::Tls(_) => format!("the TLS handshake with PostgreSQL at {host} failed ({said}); check `sslmode` in the URL"),
            _ if !pg.has_password && said.contains("password") => format!(
                "PostgreSQL at {host} asks user `{user}` for a password and none was given; set PGPASSWORD or add a ~/.pgpass line ({said})"
            ),
            _ => format!("cannot use PostgreSQL at {host}: {said}"),
        },
    }
}

/// Takes an exclusive advisory lock on the database file itself (created empty if missing).
/// SQLite locks with fcntl, so this flock does not interfere with it.
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    file.lock()?;
    Ok(file)
}
