//! Opening a PostgreSQL store: the connection pool, creating the database
//! on first start, checking for PostGIS (with advice on installing it) and
//! running the migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateDatabase, MigrateError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections per process: enough for concurrent requests and a streaming
/// export or two, few enough that several replicas fit under the server's
/// default `max_connections` of 100.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection before it fails (the API
/// answers 503) instead of queueing without bound.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// The extension the schema needs.
const POSTGIS: &str = "postgis";

/// Connects to `url`, creating the database if it does not exist, checks that
/// PostGIS is available and brings the schema up to date.
pub(super) async fn open_pool(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.application_name("qala");
    let pool = match pool(options.clone()).await {
        // invalid_catalog_name: no such database.
        Err(e) if has_sqlstate(&e, "3D000") => {
            // Like the SQLite file, the database is created on first start.
            tracing::info!("creating database");
            match Postgres::create_database(url).await {
                // duplicate_database: another replica starting at the same time won.
                Err(e) if has_sqlstate(&e, "42P04") => {}
                other => other?,
            }
            pool(options).await?
        }
        other => other?,
    };
    let server_major = require_extension(&pool, POSTGIS).await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| classify_migrate_error(e, Some(server_major)))?;
    Ok(pool)
}

async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// Whether `e` is a database error with SQLSTATE `code`.
fn has_sqlstate(e: &sqlx::Error, code: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
}

/// The error that says how to get PostGIS onto the server.
fn postgis_missing(server_major: Option<i32>, what: &str) -> Error {
    let package = server_major.map_or_else(
        || "postgresql-<version>-postgis-3".to_owned(),
        |major| format!("postgresql-{major}-postgis-3"),
    );
    Error::PostgisMissing(format!(
        "{what}. Install PostGIS on the database server (Debian/Ubuntu: apt-get install {package}), \
         then run CREATE EXTENSION postgis; in this database as a superuser"
    ))
}

/// Fails with [`Error::PostgisMissing`] unless `extension` is installed in the
/// database or available on the server for the first migration to create;
/// returns the server's major version.
async fn require_extension(pool: &PgPool, extension: &str) -> Result<i32> {
    let (installed, available, major): (bool, bool, i32) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1),
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1),
                current_setting('server_version_num')::int / 10000",
    )
    .bind(extension)
    .fetch_one(pool)
    .await?;
    if installed || available {
        Ok(major)
    } else {
        Err(postgis_missing(
            Some(major),
            &format!("the PostgreSQL {major} server has no {extension} extension installed"),
        ))
    }
}

/// Turns the failure of `CREATE EXTENSION postgis` in the first migration into
/// [`Error::PostgisMissing`]; other migration errors pass through.
fn classify_migrate_error(e: MigrateError, server_major: Option<i32>) -> Error {
    let db_error = match &e {
        MigrateError::Execute(db) | MigrateError::ExecuteMigration(db, _) => Some(db),
        _ => None,
    };
    if let Some(sqlx::Error::Database(db)) = db_error {
        let message = db.message();
        let about_extension = message.contains("extension");
        match db.code().as_deref() {
            // No control file: "could not open extension control file" (up to
            // PostgreSQL 15, undefined_file) or "extension … is not available"
            // (16 and later, feature_not_supported).
            Some("58P01" | "0A000") if about_extension => {
                return postgis_missing(server_major, &format!("the server said: {message}"));
            }
            Some("42501") if about_extension => {
                return Error::PostgisMissing(format!(
                    "the server has PostGIS but this database user may not create the extension \
                     ({message}); ask a superuser to run CREATE EXTENSION postgis; in this database"
                ));
            }
            _ => {}
        }
    }
    Error::Migrate(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A database error as the server would send it, for classification tests.
    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        message: &'static str,
    }

    impl std::fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn migration_failure(code: &'static str, message: &'static str) -> MigrateError {
        MigrateError::ExecuteMigration(
            sqlx::Error::Database(Box::new(FakeDbError { code, message })),
            1,
        )
    }

    #[test]
    fn a_missing_postgis_control_file_says_how_to_install_postgis() {
        // PostgreSQL 15's words for CREATE EXTENSION without the package.
        let e = classify_migrate_error(
            migration_failure(
                "58P01",
                "could not open extension control file \"/usr/share/postgresql/15/extension/postgis.control\": No such file or directory",
            ),
            Some(15),
        );
        let Error::PostgisMissing(message) = &e else {
            panic!("expected PostgisMissing, got {e:?}")
        };
        assert!(
            message.contains("apt-get install postgresql-15-postgis-3"),
            "{message}"
        );
        assert!(message.contains("CREATE EXTENSION postgis"), "{message}");
        assert!(
            e.to_string().starts_with("PostGIS extension missing:"),
            "{e}"
        );
    }

    #[test]
    fn an_unavailable_extension_in_newer_servers_says_how_to_install_postgis() {
        // PostgreSQL 16 and later.
        let e = classify_migrate_error(
            migration_failure("0A000", "extension \"postgis\" is not available"),
            None,
        );
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
    }

    #[test]
    fn a_user_who_may_not_create_postgis_is_told_to_ask_a_superuser() {
        let e = classify_migrate_error(
            migration_failure("42501", "permission denied to create extension \"postgis\""),
            None,
        );
        let Error::PostgisMissing(message) = &e else {
            panic!("expected PostgisMissing, got {e:?}")
        };
        assert!(message.contains("superuser"), "{message}");
    }

    #[test]
    fn other_migration_failures_stay_migration_errors() {
        let e = classify_migrate_error(
            migration_failure("42P07", "relation \"issues\" already exists"),
            None,
        );
        assert!(matches!(e, Error::Migrate(_)), "{e:?}");
        let e = classify_migrate_error(MigrateError::VersionMissing(3), None);
        assert!(matches!(e, Error::Migrate(_)), "{e:?}");
    }

    /// Against a real server when `QALA_TEST_POSTGRES_URL` is set: an
    /// extension the server does not have is reported as PostGIS missing,
    /// both by the check before migrating and from the server's own error.
    #[tokio::test]
    async fn a_server_without_the_extension_gets_the_install_advice() {
        let Ok(url) = std::env::var("QALA_TEST_POSTGRES_URL") else {
            eprintln!("skipping PostgreSQL: QALA_TEST_POSTGRES_URL not set");
            return;
        };
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let e = require_extension(&pool, "qala_no_such_extension")
            .await
            .unwrap_err();
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
        assert!(e.to_string().contains("apt-get install postgresql-"), "{e}");

        // The real error of CREATE EXTENSION for a package that is not there,
        // classified as a migration would see it. Inside a transaction that is
        // rolled back, so nothing changes even if it unexpectedly succeeded.
        let mut tx = pool.begin().await.unwrap();
        let server_error = sqlx::query("CREATE EXTENSION qala_no_such_extension")
            .execute(&mut *tx)
            .await
            .unwrap_err();
        drop(tx);
        let e = classify_migrate_error(MigrateError::ExecuteMigration(server_error, 1), Some(15));
        assert!(matches!(e, Error::PostgisMissing(_)), "{e:?}");
    }
}
