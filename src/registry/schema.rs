//! The registry schema, described once: the SQL files in `migrations/` (SQLite's dialect, as
//! registries made before PostgreSQL support have them applied) and, for PostgreSQL, the same
//! files put into its dialect by [`postgres_dialect`]. Both backends apply them through sqlx's
//! migrator, which PostgreSQL runs under an advisory lock so that hosts starting at once migrate
//! once.

use sqlx::migrate::{Migration, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::Backend;

/// The migrations as written (SQLite).
pub(super) static SQLITE: Migrator = sqlx::migrate!("./migrations");

/// A construct of SQLite's dialect that [`postgres_dialect`] has no rule for: a new migration
/// used it, and must be written another way (or the translation taught it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("migration {version} uses `{construct}`, which pmflow cannot put into PostgreSQL's dialect (a pmflow bug; please report it)")]
pub struct Untranslatable {
    pub version: i64,
    pub construct: String,
}

/// A SQLite construct [`postgres_dialect`] has no rule for: the construct, or the first line
/// of the statement it could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoRule(pub String);

/// Why a registry's schema cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A newer pmflow migrated the registry: it is refused untouched.
    #[error("the registry was written by a newer pmflow (schema migration {0} is unknown to pmflow {version}); upgrade pmflow. Nothing was changed", version = env!("CARGO_PKG_VERSION"))]
    Newer(i64),
    /// A read-only registry cannot be upgraded.
    #[error("the registry is read-only and its schema predates this pmflow; open it once with write access (any `pmflow runs list`) to upgrade it")]
    ReadOnlyOlder,
    /// The SQLite file is no registry: not a database, or a corrupt one.
    #[error("the file is not a pmflow registry (not a SQLite database, or corrupt); nothing was changed. Point `storage.registry` at another file")]
    NotARegistry,
    #[error(transparent)]
    Untranslatable(#[from] Untranslatable),
    /// A migration failed: its statement's error as the database gave it.
    #[error("{}", migrate_text(.0))]
    Migrate(sqlx::migrate::MigrateError),
    #[error("{0}")]
    Query(#[from] sqlx::Error),
}

/// A failed migration's error, without sqlx's wrapping of the statement's error.
fn migrate_text(e: &sqlx::migrate::MigrateError) -> String {
    match e {
        sqlx::migrate::MigrateError::Execute(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

impl From<sqlx::migrate::MigrateError> for SchemaError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => SchemaError::Newer(v),
            other => SchemaError::Migrate(other),
        }
    }
}

/// Applies the migrations `backend` lacks (PostgreSQL: under sqlx's advisory lock).
pub(super) async fn migrate(backend: Backend, pool: &sqlx::AnyPool) -> Result<(), SchemaError> {
    match backend {
        Backend::Sqlite => Ok(SQLITE.run(pool).await?),
        Backend::Postgres => Ok(postgres()?.run(pool).await?),
    }
}

/// The migrations in PostgreSQL's dialect.
fn postgres() -> Result<Migrator, Untranslatable> {
    let migrations = SQLITE
        .iter()
        .map(|m| {
            let sql = postgres_dialect(m.sql.as_str()).map_err(|NoRule(construct)| Untranslatable {
                version: m.version,
                construct,
            })?;
            Ok(Migration::new(
                m.version,
                m.description.clone(),
                m.migration_type,
                AssertSqlSafe(sql).into_sql_str(),
                m.no_tx,
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Migrator::with_migrations(migrations))
}

/// The newest migration this pmflow knows.
pub(super) fn newest() -> Option<i64> {
    SQLITE.iter().map(|m| m.version).max()
}

/// SQLite constructs with no rule below; finding one is an error, not a silent mistranslation.
const UNSUPPORTED: [&str; 9] = [
    "AUTOINCREMENT",
    "WITHOUT ROWID",
    "PRAGMA",
    "INSERT OR",
    "rowid",
    "datetime(",
    "strftime(",
    "RAISE(",
    "x'",
];

/// One migration in PostgreSQL's dialect. The rules cover what the registry's schema uses:
/// - `INTEGER PRIMARY KEY` (SQLite's row id) becomes a `BIGINT` identity column;
/// - `INTEGER` becomes `BIGINT` (SQLite integers are 64-bit) and `REAL` `DOUBLE PRECISION`;
/// - `TEXT` becomes `TEXT COLLATE "C"`: text compares byte by byte, as in SQLite, whatever the
///   database's default collation, so `ORDER BY`, `MAX` and the lease's time comparisons give
///   the same answers on both;
/// - a `BEFORE UPDATE` trigger that raises (`SELECT RAISE(ABORT, 'msg')`), how the schema makes
///   rows immutable, becomes a PL/pgSQL function raising the same message and its trigger.
///
/// Returns the construct it cannot translate, if any.
pub fn postgres_dialect(sql: &str) -> Result<String, NoRule> {
    let sql = translate_triggers(sql)?;
    let mut out = String::with_capacity(sql.len() + 64);
    for line in sql.split_inclusive('\n') {
        let (code, comment) = match line.find("--") {
            Some(at) => line.split_at(at),
            None => (line, ""),
        };
        if let Some(bad) = UNSUPPORTED.iter().find(|c| code.contains(*c)) {
            return Err(NoRule(bad.to_string()));
        }
        let code = code.replace(
            "INTEGER PRIMARY KEY",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        );
        let code = replace_word(&code, "INTEGER", "BIGINT");
        let code = replace_word(&code, "REAL", "DOUBLE PRECISION");
        out.push_str(&replace_word(&code, "TEXT", "TEXT COLLATE \"C\""));
        out.push_str(comment);
    }
    Ok(out)
}

/// `word` replaced where it stands alone (not inside `INTEGERS` or `UNREAL`).
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if ident(before) || ident(after) { word } else { with });
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Rewrites every `CREATE TRIGGER name BEFORE UPDATE ON table BEGIN SELECT RAISE(ABORT, 'msg');
/// END;` as a PL/pgSQL function and a row trigger that calls it.
fn translate_triggers(sql: &str) -> Result<String, NoRule> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("CREATE TRIGGER") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find("END;") else {
            return Err(NoRule("CREATE TRIGGER without END;".into()));
        };
        let statement = &rest[at..at + end + "END;".len()];
        let words: Vec<&str> = statement.split_whitespace().collect();
        let shape = match words.as_slice() {
            ["CREATE", "TRIGGER", name, "BEFORE", "UPDATE", "ON", table, "BEGIN", "SELECT", ..] => {
                let body = statement.split_once("RAISE(ABORT,").map(|(_, b)| b.trim_start());
                let message = body
                    .and_then(|b| b.strip_prefix('\''))
                    .and_then(|b| b.split_once('\''))
                    .map(|(m, tail)| (m, tail.trim_start()));
                match message {
                    Some((message, tail)) if tail.starts_with(");") => Some((*name, *table, message)),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((name, table, message)) = shape else {
            return Err(NoRule(statement.lines().next().unwrap_or(statement).to_string()));
        };
        out.push_str(&format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$;\n\
             CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();"
        ));
        rest = &rest[at + end + "END;".len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_has_a_postgres_form() {
        let pg = postgres().unwrap();
        assert_eq!(pg.iter().count(), SQLITE.iter().count());
        for (m, p) in SQLITE.iter().zip(pg.iter()) {
            assert_eq!(m.version, p.version);
            assert!(!p.sql.as_str().contains("RAISE(ABORT"), "{}", p.sql.as_str());
        }
    }

    #[test]
    fn types_keys_and_immutability_triggers_are_translated() {
        let sql = "CREATE TABLE t (\n    id INTEGER PRIMARY KEY,\n    n INTEGER NOT NULL, -- an INTEGER count\n    x REAL,\n    INTEGERS TEXT\n);\n\
                   CREATE TRIGGER t_frozen BEFORE UPDATE ON t\nBEGIN\n    SELECT RAISE(ABORT, 't rows are frozen');\nEND;\n";
        let pg = postgres_dialect(sql).unwrap();
        assert!(
            pg.contains("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"),
            "{pg}"
        );
        assert!(pg.contains("n BIGINT NOT NULL, -- an INTEGER count"), "{pg}");
        assert!(pg.contains("x DOUBLE PRECISION,"), "{pg}");
        assert!(pg.contains("INTEGERS TEXT COLLATE \"C\""), "{pg}");
        assert!(pg.contains("CREATE FUNCTION t_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 't rows are frozen'; END $$;"), "{pg}");
        assert!(
            pg.contains("CREATE TRIGGER t_frozen BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION t_frozen();"),
            "{pg}"
        );
    }

    /// The one description gives both databases the same tables and columns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_backends_end_with_the_same_tables_and_columns() {
        use crate::registry::testing::Fresh;
        let (sqlite, postgres) = (Fresh::new(Backend::Sqlite), Fresh::new(Backend::Postgres));
        let (s, p) = (sqlite.open().await, postgres.open().await);
        let in_sqlite: Vec<String> = sqlx::query_scalar(
            "SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap();
        let in_postgres: Vec<String> = sqlx::query_scalar(
            "SELECT (table_name || '.' || column_name)::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(&p.pool)
        .await
        .unwrap();
        assert!(in_sqlite.len() > 80, "{in_sqlite:?}");
        assert_eq!(in_sqlite, in_postgres);
        let triggers: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT trigger_name::text FROM information_schema.triggers ORDER BY 1")
                .fetch_all(&p.pool)
                .await
                .unwrap();
        assert_eq!(
            triggers,
            [
                "metrics_append_only",
                "model_alias_history_append_only",
                "params_immutable"
            ]
        );
        let collations: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT COALESCE(collation_name::text, '-') FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' AND data_type = 'text'",
        )
        .fetch_all(&p.pool)
        .await
        .unwrap();
        assert_eq!(collations, ["C"], "text sorts byte by byte, as in SQLite");
    }

    /// Hosts starting at once on a new PostgreSQL database: every open succeeds, and each
    /// migration is applied once (sqlx's advisory lock; without it this test fails with a
    /// duplicate key while creating the tables).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hosts_opening_a_new_database_at_once_migrate_it_once() {
        let fresh = std::sync::Arc::new(crate::registry::testing::Fresh::new(Backend::Postgres));
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let fresh = fresh.clone();
                tokio::spawn(async move { crate::registry::Registry::open(&fresh.location).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            open.await.unwrap().unwrap();
        }
        let r = fresh.open().await;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&r.pool)
            .await
            .unwrap();
        let known: Vec<i64> = SQLITE.iter().map(|m| m.version).collect();
        assert_eq!(applied, known);
    }

    #[test]
    fn a_construct_without_a_rule_is_refused_not_passed_through() {
        assert_eq!(
            postgres_dialect("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);").unwrap_err(),
            NoRule("AUTOINCREMENT".into())
        );
        assert!(postgres_dialect("CREATE TRIGGER a AFTER INSERT ON t BEGIN DELETE FROM t; END;").is_err());
        assert!(postgres_dialect("-- PRAGMA in a comment is fine\nCREATE INDEX i ON t (a);").is_ok());
    }
}
