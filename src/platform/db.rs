//! The database: one pool over SQLite or PostgreSQL, chosen by `DATABASE_URL`.
//!
//! Queries are written once with `$1` placeholders, which both backends accept; the few
//! statements that must differ branch on [`Backend`]. Timestamps are stored as
//! milliseconds since the epoch ([`crate::platform::time::Millis`]).

use sqlx::any::{
    AnyPoolOptions, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef, install_default_drivers,
};
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Decode, Executor, Type};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a URL names, if it names one we support.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// Appends the placeholder of the `n`th (1-based) parameter of a statement whose
    /// parameters are all bound in the order they appear. Every placeholder of that statement
    /// must come from here: on SQLite a `?` after a hand-written `$1` would take the wrong value. SQLite gets anonymous `?`: it finds
    /// numbered parameters (`$7`, `?7`) by scanning a list, so preparing and binding a
    /// statement of a few thousand of them grows with the square of their number (it was
    /// three quarters of a worker's time).
    pub fn push_placeholder(self, sql: &mut String, n: usize) {
        use std::fmt::Write;
        match self {
            Backend::Sqlite => sql.push('?'),
            Backend::Postgres => {
                let _ = write!(sql, "${n}");
            }
        }
    }

    /// Placeholders for `count` parameters bound in order from the `first`th, comma-separated.
    pub fn placeholders(self, first: usize, count: usize) -> String {
        let mut out = String::with_capacity(count * 6);
        for n in first..first + count {
            if n > first {
                out.push(',');
            }
            self.push_placeholder(&mut out, n);
        }
        out
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Failures of the database layer, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got `{0}`)")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A connection pool and the backend it talks to. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite runs one writer at a time and makes the others sleep and retry; queueing
    /// writers here instead keeps write latency even under load.
    writer: Arc<Writer>,
}

/// How long a batch write lets people's writes go first before it queues with them.
const BATCH_PATIENCE: std::time::Duration = std::time::Duration::from_millis(250);

/// This process's SQLite writer turn. People's writes (a review, a claim) go first; batch
/// writes (a worker's decisions, an ingest batch, folding rollups) wait while one of them is
/// waiting, so a reviewer waits at most for the batch already running, not for a queue of
/// them. Among themselves, each kind is first come, first served.
#[derive(Debug, Default)]
struct Writer {
    turn: Arc<tokio::sync::Mutex<()>>,
    /// People's writes waiting for the turn.
    people_waiting: std::sync::atomic::AtomicUsize,
    /// Signalled when the last of them got it.
    none_waiting: tokio::sync::Notify,
}

impl Writer {
    async fn person(&self) -> tokio::sync::OwnedMutexGuard<()> {
        use std::sync::atomic::Ordering::SeqCst;
        self.people_waiting.fetch_add(1, SeqCst);
        let turn = self.turn.clone().lock_owned().await;
        if self.people_waiting.fetch_sub(1, SeqCst) == 1 {
            self.none_waiting.notify_waiters();
        }
        turn
    }

    async fn batch(&self) -> tokio::sync::OwnedMutexGuard<()> {
        use std::sync::atomic::Ordering::SeqCst;
        let patience = tokio::time::Instant::now() + BATCH_PATIENCE;
        loop {
            let none = self.none_waiting.notified();
            if self.people_waiting.load(SeqCst) > 0 {
                if tokio::time::timeout_at(patience, none).await.is_err() {
                    break;
                }
                continue;
            }
            let turn = self.turn.clone().lock_owned().await;
            if self.people_waiting.load(SeqCst) == 0 || tokio::time::Instant::now() >= patience {
                return turn;
            }
            // A person started waiting while this batch queued: they go first.
        }
        // People have kept the turn busy for a while: queue with them, first come first served.
        self.turn.clone().lock_owned().await
    }
}

/// A write transaction: on SQLite it also holds this process's writer turn until it ends.
/// Dereferences to the connection, so `&mut *tx` is an executor as with a plain transaction.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The engine this transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Commits the transaction (and gives up the writer turn).
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Db {
    /// Connects to `url`, creating a SQLite file (and its directory) when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| DbError::UnsupportedUrl(redact(url)))?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the single writer; the busy timeout
                        // makes concurrent writers wait instead of failing at once.
                        conn.execute(
                            "pragma journal_mode = wal; pragma synchronous = normal; \
                             pragma busy_timeout = 10000; pragma foreign_keys = on;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(Writer::default()),
        })
    }

    /// Applies every pending migration; fails loudly if one does not apply.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers and every shipped migration has been applied.
    pub async fn is_ready(&self) -> Result<bool, DbError> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("select version from _sqlx_migrations where success = $1")
                .bind(true)
                .fetch_all(&self.pool)
                .await?;
        let applied: std::collections::HashSet<i64> = applied.into_iter().map(|r| r.0).collect();
        Ok(self
            .backend
            .migrator()
            .iter()
            .all(|m| applied.contains(&m.version)))
    }

    /// The pool, for the data-access modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write after reading. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`, waiting out the busy timeout) instead of failing at the first write
    /// when another writer committed since the transaction's first read.
    pub async fn begin_write(&self) -> sqlx::Result<WriteTx> {
        self.begin(false).await
    }

    /// A write transaction for a batch that can wait a few milliseconds: on SQLite it lets
    /// people's writes waiting for the turn go first (see [`Writer`]).
    pub async fn begin_batch_write(&self) -> sqlx::Result<WriteTx> {
        self.begin(true).await
    }

    async fn begin(&self, batch: bool) -> sqlx::Result<WriteTx> {
        match self.backend {
            Backend::Sqlite => {
                let turn = if batch {
                    self.writer.batch().await
                } else {
                    self.writer.person().await
                };
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    backend: Backend::Sqlite,
                    _turn: Some(turn),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                backend: Backend::Postgres,
                _turn: None,
            }),
        }
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for checked-out ones to return.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A boolean column as read back: `boolean` on PostgreSQL, `integer` 0/1 on SQLite, whose
/// `BOOLEAN` the Any driver cannot read. Bind plain `bool`s; decode into `Flag`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(
            ty.kind(),
            AnyTypeInfoKind::Bool
                | AnyTypeInfoKind::SmallInt
                | AnyTypeInfoKind::Integer
                | AnyTypeInfoKind::BigInt
        )
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <bool as Decode<Any>>::decode(value.clone()) {
            Ok(b) => Ok(Flag(b)),
            Err(_) => Ok(Flag(<i64 as Decode<Any>>::decode(value)? != 0)),
        }
    }
}

/// Makes sure the SQLite file's directory exists and the file is created on first use.
fn prepare_sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let dir = Path::new(path)
        .parent()
        .filter(|d| path != ":memory:" && !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let mut url = format!("sqlite://{path}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
        if !query.contains("mode=") {
            url.push_str("&mode=rwc");
        }
    }
    Ok(url)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Numbered placeholders `$first, $first+1, …` for `n` bound values, for statements that
/// number their other parameters too (both backends read `$n`; never mix them with `?`).
pub fn numbered(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `rows` copies of `row` joined by commas, each `?` becoming the backend's placeholder for
/// the next parameter (`$1`, `$2`, … on PostgreSQL): the VALUES list of a multi-row insert.
pub fn values_list(backend: Backend, rows: usize, row: &str) -> String {
    let mut out = String::with_capacity(rows * (row.len() + 16));
    let mut n = 0;
    for i in 0..rows {
        if i > 0 {
            out.push(',');
        }
        for c in row.chars() {
            if c == '?' {
                n += 1;
                backend.push_placeholder(&mut out, n);
            } else {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backends() {
        assert_eq!(Backend::from_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://amso:s3cret@db/amso"),
            "postgres://amso:***@db/amso"
        );
        assert_eq!(redact("postgres://amso@db/amso"), "postgres://amso@db/amso");
        assert_eq!(redact("sqlite://data/amso.db"), "sqlite://data/amso.db");
    }

    #[test]
    fn sqlite_urls_create_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/amso.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", file.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
    }

    #[test]
    fn values_lists_number_every_placeholder() {
        use super::{Backend, values_list};
        assert_eq!(
            values_list(Backend::Postgres, 2, "(?,'open',?)"),
            "($1,'open',$2),($3,'open',$4)"
        );
        assert_eq!(
            values_list(Backend::Sqlite, 2, "(?,'open',?)"),
            "(?,'open',?),(?,'open',?)"
        );
        assert_eq!(values_list(Backend::Postgres, 0, "(?)"), "");
        assert_eq!(Backend::Postgres.placeholders(3, 3), "$3,$4,$5");
        assert_eq!(Backend::Sqlite.placeholders(3, 2), "?,?");
    }
}
