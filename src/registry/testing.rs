//! Registry tests on both backends: [`Fresh`] is an empty registry (a SQLite file in a temporary
//! folder, or a new database on the test binary's PostgreSQL server), and [`on_both_backends!`]
//! turns one test body into a `sqlite` and a `postgres` test.

use super::pg_test_server;
use super::{Backend, Registry, RegistryLocation};

/// An empty registry location that lives as long as the value.
pub struct Fresh {
    pub location: RegistryLocation,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    pub fn new(backend: Backend) -> Fresh {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Fresh {
                    location: RegistryLocation::Sqlite(dir.path().join("r.db")),
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = pg_test_server::shared();
                let database = server.create_database("unit");
                let url = server.url(&database);
                Fresh {
                    location: RegistryLocation::parse(&url, std::path::Path::new("/")).unwrap(),
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// Opens it (again: each call is another process's worth of connections).
    pub async fn open(&self) -> Registry {
        Registry::open(&self.location).await.unwrap()
    }
}

/// `on_both_backends! { async fn name(fresh) { ... } }` makes `name::sqlite` and
/// `name::postgres`, each with `fresh: Fresh` of its backend.
macro_rules! on_both_backends {
    ($($(#[doc = $doc:literal])* async fn $name:ident($fresh:ident) $body:block)*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($fresh: $crate::registry::testing::Fresh) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::registry::testing::Fresh::new($crate::registry::Backend::Sqlite)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                body($crate::registry::testing::Fresh::new($crate::registry::Backend::Postgres)).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;
