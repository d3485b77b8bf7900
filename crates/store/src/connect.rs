//! Opening a [`Store`]: URL → backend, SQLite file and WAL set-up, connection pool, migrations.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use crate::migrations::migrator;
use crate::url::{DbUrl, SqliteLocation};
use crate::{Backend, StoreError};

/// How long a caller waits for a pooled connection before the operation fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections to an SQLite file: one writer at a time anyway, a few readers in parallel under WAL.
const SQLITE_POOL_SIZE: u32 = 4;
/// Connections to a PostgreSQL server per node.
const POSTGRES_POOL_SIZE: u32 = 8;

/// A handle on the Switchboard database; cheap to clone (all clones share one connection pool).
///
/// Every write is committed before its method returns. On SQLite the database runs in WAL mode with
/// `synchronous=NORMAL`: a committed transaction has been written to the WAL file (into the operating
/// system's page cache) before the call returns, so it survives a crash or kill of the process; only a
/// power loss or kernel crash can lose the last commits. On PostgreSQL durability follows the server's
/// `synchronous_commit` (on by default: flushed to disk before the commit returns).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// Accepted URLs: `sqlite:PATH` / `sqlite://PATH` (the parent directory and the file are created
    /// when missing, unless the URL sets its own `mode=`), `sqlite::memory:` (a private database that
    /// lives as long as this store), and `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`.
    /// SQLite files are switched to WAL mode. Both backends run the embedded migrations; on PostgreSQL
    /// they take an advisory lock, so several nodes may start at once.
    ///
    /// This installs sqlx's default `Any` drivers; a program that installed a different driver set
    /// first makes it panic.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let parsed = DbUrl::parse(url)?;
        if let Some(SqliteLocation::File { path, create: true }) = &parsed.sqlite
            && let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        // One direct connection first: it fails at once with the driver's own reason (connection
        // refused, authentication failed, unreadable file), where the pool would retry until its
        // acquire timeout and then report only that it timed out.
        let connect_failed = |source| StoreError::Connect {
            backend: parsed.backend,
            url: parsed.redacted.clone(),
            source,
        };
        AnyConnection::connect(&parsed.driver_url)
            .await
            .map_err(connect_failed)?
            .close()
            .await
            .map_err(connect_failed)?;
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let options = match &parsed.sqlite {
            // Every connection to `:memory:` is a separate database, so keep exactly one, forever.
            Some(SqliteLocation::Memory) => options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            Some(SqliteLocation::File { .. }) => options
                .max_connections(SQLITE_POOL_SIZE)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        Ok(())
                    })
                }),
            None => options.max_connections(POSTGRES_POOL_SIZE),
        };
        let pool = options
            .connect(&parsed.driver_url)
            .await
            .map_err(connect_failed)?;
        if let Some(SqliteLocation::File { .. }) = &parsed.sqlite {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
                .fetch_one(&pool)
                .await
                .map_err(connect_failed)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::WalRefused {
                    url: parsed.redacted,
                    got: mode,
                });
            }
        }
        migrator(parsed.backend)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: parsed.backend,
                source,
            })?;
        Ok(Store {
            pool,
            backend: parsed.backend,
        })
    }

    /// Returns which database engine this store talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that will write, for operations that read before they write.
    ///
    /// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at the start, so two such
    /// transactions run one after the other (the second waits for the lock) and each reads what the
    /// other committed. A plain deferred transaction would read first and then fail with "database
    /// is locked" when it tried to write after another writer. PostgreSQL begins as usual (read
    /// committed); there the unique indexes settle races.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Checks that the database answers a trivial query; for health endpoints.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(crate::error::query_failed("ping"))?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// Closes every pooled connection after the operations in flight finish; later calls fail.
    ///
    /// Dropping the last clone also closes the pool, but without waiting; call this on shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_connections_use_wal_and_synchronous_normal() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}/x.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        // Hold several connections at once so the check covers more than the first one.
        let mut conns = Vec::new();
        for _ in 0..SQLITE_POOL_SIZE {
            conns.push(store.pool.acquire().await.unwrap());
        }
        for conn in &mut conns {
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(
                sync, 1,
                "synchronous must be NORMAL (1) on every pooled connection"
            );
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
        }
        drop(conns);
        store.ping().await.unwrap();
        store.close().await;
        assert!(store.ping().await.is_err(), "a closed store refuses work");
    }
}
