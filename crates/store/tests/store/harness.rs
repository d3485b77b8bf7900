//! Test databases for both backends, and the macro that runs one test body on each.
//!
//! SQLite: a fresh file in a temporary directory (in a not-yet-existing subdirectory, so every test
//! also exercises directory creation). PostgreSQL: a fresh database per test on the server at
//! `SWITCHBOARD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), created with a
//! unique name and dropped (`WITH (FORCE)`) when the test ends, even when it panics. An unreachable
//! server fails the PostgreSQL tests unless `SWITCHBOARD_SKIP_POSTGRES=1`.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, Executor};
use store::{Backend, Store};

/// The PostgreSQL server used when `SWITCHBOARD_TEST_POSTGRES` is not set.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Makes each database name unique within this process (the pid separates processes).
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs each listed `async fn name(db: &TestDb)` of the calling module once on SQLite (as test
/// `sqlite::name`) and once on PostgreSQL (as test `postgres::name`).
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::harness::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = crate::harness::TestDb::postgres(stringify!($name)).await {
                        super::$name(&db).await;
                    }
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;

/// One test's private database.
pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { server_url: String, name: String },
}

impl TestDb {
    /// A new SQLite database file in a fresh temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite:{}/data/switchboard.db", dir.path().display());
        TestDb {
            url,
            kind: Kind::Sqlite { _dir: dir },
        }
    }

    /// A new PostgreSQL database for test `test`, or `None` when PostgreSQL tests are skipped.
    ///
    /// Panics when the server cannot be reached and skipping was not asked for.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        sqlx::any::install_default_drivers();
        let server_url = std::env::var("SWITCHBOARD_TEST_POSTGRES")
            .unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let mut admin = match sqlx::AnyConnection::connect(&server_url).await {
            Ok(conn) => conn,
            Err(e) if std::env::var("SWITCHBOARD_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("skipping PostgreSQL test {test}: {e} (SWITCHBOARD_SKIP_POSTGRES=1)");
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL at {} is not reachable: {e}. Start it (the test suite expects user postgres at \
                 127.0.0.1:5432), point SWITCHBOARD_TEST_POSTGRES at another server, or set \
                 SWITCHBOARD_SKIP_POSTGRES=1 to skip the PostgreSQL store tests.",
                store::redact(&server_url)
            ),
        };
        let short: String = test.chars().take(32).collect();
        let name = format!(
            "sbtest_{short}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .await
            .unwrap_or_else(|e| panic!("drop leftover database {name}: {e}"));
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        admin.close().await.expect("close the admin connection");
        Some(TestDb {
            url: with_database(&server_url, &name),
            kind: Kind::Postgres { server_url, name },
        })
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend this database runs on.
    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite { .. } => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Connects to this database without the store and applies only the migrations named by their
    /// files (`["0001_initial.sql"]`), as an older server would have left the database; the
    /// returned connection writes rows of that older shape. Opening the store afterwards applies the
    /// remaining migrations.
    pub async fn with_old_schema(&self, files: &[&str]) -> sqlx::AnyConnection {
        let url = match self.backend() {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite:").expect("an sqlite: URL");
                std::fs::create_dir_all(std::path::Path::new(path).parent().expect("a parent"))
                    .expect("create the database directory");
                format!("{}?mode=rwc", self.url)
            }
            Backend::Postgres => self.url.clone(),
        };
        let folder = match self.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let dir = tempfile::tempdir().expect("create a temporary directory");
        for file in files {
            std::fs::copy(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(folder)
                    .join(file),
                dir.path().join(file),
            )
            .unwrap_or_else(|e| panic!("copy migration {folder}/{file}: {e}"));
        }
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        sqlx::migrate::Migrator::new(dir.path())
            .await
            .expect("read the old migrations")
            .run(&mut conn)
            .await
            .expect("apply the old migrations");
        conn
    }

    /// Opens (and migrates) the database; panics with the reason when that fails.
    pub async fn open(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("Store::connect({}) failed: {e}", self.url));
        assert_eq!(store.backend(), self.backend());
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Kind::Postgres { server_url, name } = &self.kind else {
            return;
        };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a runtime for cleanup");
            rt.block_on(async move {
                let mut admin = sqlx::AnyConnection::connect(&server_url).await?;
                admin
                    .execute(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("warning: could not drop test database: {e}");
        }
    }
}

/// Returns `server_url` with its database name replaced by `name`, keeping any query string.
pub fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "y"),
        "postgres://u:p@h/y?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "z"), "postgres://h/z");
}
