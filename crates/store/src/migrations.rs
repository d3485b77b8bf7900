//! The schema migrations of both backends, embedded in the binary.
//!
//! The SQL lives in `migrations/sqlite/` and `migrations/postgres/` (sqlx's `VERSION_DESCRIPTION.sql`
//! naming, so `sqlx migrate` can also read the folders). They are embedded with `include_str!` and handed to
//! [`Migrator::with_migrations`] instead of `sqlx::migrate!`, so the crate needs no sqlx proc-macros (the
//! `macros` feature). That choice is about dependencies, not speed: a cold build with `macros` measured the
//! same CPU time within noise (270 s vs 272 s on the shared 2-core machine). A unit test checks that every
//! `.sql` file in the folders is listed here, so a migration cannot be added on disk and forgotten.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

/// One migration: its version, its description and its SQL per backend.
struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, in version order.
const STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Step {
        version: 2,
        description: "binding_auth_user",
        sqlite: include_str!("../migrations/sqlite/0002_binding_auth_user.sql"),
        postgres: include_str!("../migrations/postgres/0002_binding_auth_user.sql"),
    },
    Step {
        version: 3,
        description: "call_purpose_digits",
        sqlite: include_str!("../migrations/sqlite/0003_call_purpose_digits.sql"),
        postgres: include_str!("../migrations/postgres/0003_call_purpose_digits.sql"),
    },
    Step {
        version: 4,
        description: "hotel",
        sqlite: include_str!("../migrations/sqlite/0004_hotel.sql"),
        postgres: include_str!("../migrations/postgres/0004_hotel.sql"),
    },
    Step {
        version: 5,
        description: "call_caller_name_forwarding",
        sqlite: include_str!("../migrations/sqlite/0005_call_caller_name_forwarding.sql"),
        postgres: include_str!("../migrations/postgres/0005_call_caller_name_forwarding.sql"),
    },
];

/// Builds the migrator for `backend`; each migration runs in its own transaction.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = STEPS
        .iter()
        .map(|step| {
            let sql = match backend {
                Backend::Sqlite => step.sqlite,
                Backend::Postgres => step.postgres,
            };
            Migration::new(
                step.version,
                Cow::Borrowed(step.description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists `migrations/<dir>` as `(version, description)` pairs parsed from the file names.
    fn on_disk(dir: &str) -> Vec<(i64, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut found: Vec<(i64, String)> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter_map(|name| name.strip_suffix(".sql").map(str::to_owned))
            .map(|stem| {
                let (version, description) = stem.split_once('_').unwrap_or_else(|| {
                    panic!("migration `{stem}.sql` is not named VERSION_DESCRIPTION.sql")
                });
                (
                    version.parse().expect("numeric migration version"),
                    description.to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn every_migration_file_is_embedded_for_both_backends() {
        let listed: Vec<(i64, String)> = STEPS
            .iter()
            .map(|s| (s.version, s.description.to_owned()))
            .collect();
        assert_eq!(
            on_disk("sqlite"),
            listed,
            "migrations/sqlite differs from STEPS"
        );
        assert_eq!(
            on_disk("postgres"),
            listed,
            "migrations/postgres differs from STEPS"
        );
    }

    #[test]
    fn migrators_have_checksums_and_order() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let m = migrator(backend);
            let versions: Vec<i64> = m.iter().map(|m| m.version).collect();
            let mut sorted = versions.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                versions, sorted,
                "{backend}: versions must be unique and ascending"
            );
            assert!(m.iter().all(|m| !m.checksum.is_empty()));
        }
    }
}
