//! Configuration read from the environment. Every variable has a default except secrets.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://data/amso.db` | embedded SQLite file, or `postgres://…` |
//! | `AMSO_ENV` | `development` | `production` refuses demo credentials and insecure cookies |
//! | `AMSO_SESSION_IDLE_MINUTES` | `60` | a session ends after this long without a request |
//! | `AMSO_COOKIE_SECURE` | `false` in development, `true` in production | `Secure` flag on the session cookie |
//! | `AMSO_LOGIN_MAX_FAILURES` | `5` | failed logins per email within the window before refusing |
//! | `AMSO_LOGIN_WINDOW_MINUTES` | `15` | the window for the limits on failed logins |
//! | `AMSO_LOGIN_MAX_FAILURES_PER_ADDRESS` | `30` | failed logins from one client address (any emails) within the window before refusing it |
//! | `AMSO_PASSWORD_HASH_CONCURRENCY` | `2` | password checks (argon2, 19 MiB each) running at once; more wait up to 2 s, then get 429 |
//! | `AMSO_ALLOWED_ORIGINS` | (none) | extra origins allowed to send state-changing requests, comma-separated (`https://amso.example`), for a proxy that rewrites `Host` |
//! | `AMSO_METRICS_TOKEN` | (none) | when set, `/metrics` needs `Authorization: Bearer <token>` |
//! | `AMSO_STREAM_MAX` | `500` | live-stream connections per process |
//! | `AMSO_STREAM_MAX_PER_USER` | `4` | live-stream connections per user per process |
//! | `AMSO_DB_MAX_CONNECTIONS` | `8` | database pool size |
//! | `AMSO_LOG_FORMAT` | `text` | `json` for one JSON object per log line |
//! | `RUST_LOG` | `info` | log filter |
//! | `AMSO_MODEL_PATH` | `models/default/model.onnx` | the classifier `amso serve` runs |
//! | `ORT_DYLIB_PATH` | `.tools/onnxruntime/libonnxruntime.so` | ONNX Runtime shared library |
//! | `AMSO_WORKERS` | `2` | decision workers per `amso serve` process (0: none) |
//! | `AMSO_WORKER_BATCH` | `256` | ads claimed per batch |
//! | `AMSO_LEASE_SECONDS` | `60` | how long a claimed batch is reserved before others may take it |
//! | `AMSO_AUDIT_RATE_APPROVE` | `0.02` | share of auto-approvals also sent for audit review |
//! | `AMSO_AUDIT_RATE_REJECT` | `0.05` | share of auto-rejections also sent for audit review |
//! | `AMSO_REVIEW_LEASE_SECONDS` | `300` | how long a review item stays reserved for its reviewer (renewed while open) |
//! | `AMSO_QA_RATE` | `0.05` | share of human reviews checked again, blind, by a second reviewer |
//! | `AMSO_UNDO_SECONDS` | `30` | how long after submitting a reviewer may undo it |
//! | `AMSO_DRIFT_CHECK_SECONDS` | `300` | how often drift is checked for alerts (last 7 days against the 28 before) |
//! | `AMSO_CALIBRATION_REFIT_HOURS` | `24` | how often calibration maps are refitted on each model version's last 28 days of audited verdicts (also at start) |
//! | `AMSO_DEMO_ADS` | `100000` | ads in the demo history `amso serve --demo` writes into an empty database (28 days, decided and reviewed) |
//! | `AMSO_CLOCK_START` | (none) | a rehearsal clock: the process's clock reads this RFC 3339 instant when first asked and runs on from it (tests and rehearsals; refused in production) |
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` | address `amso serve` listens on |
//! | `LEPTOS_SITE_ROOT` | `target/site` | where the built CSS/JS/wasm are served from |

use std::env;
use std::str::FromStr;

/// Whether the process runs for development/demo or for real.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Everything configurable, resolved once at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub environment: Environment,
    pub session_idle_minutes: i64,
    pub cookie_secure: bool,
    pub login_max_failures: i64,
    pub login_window_minutes: i64,
    pub login_max_failures_per_address: i64,
    pub password_hash_concurrency: usize,
    /// Origins besides the request's own host that may send state-changing requests.
    pub allowed_origins: Vec<String>,
    pub metrics_token: Option<String>,
    pub stream_max: usize,
    pub stream_max_per_user: usize,
    pub db_max_connections: u32,
    pub log_json: bool,
    pub model_path: String,
    pub workers: usize,
    pub worker_batch: i64,
    pub lease_seconds: u64,
    pub audit_rate_approve: f64,
    pub audit_rate_reject: f64,
    /// Share of review capacity given to ads where the champion and a shadow challenger
    /// disagree.
    pub learning_share: f64,
    pub review_lease_seconds: u64,
    pub qa_rate: f64,
    pub undo_window_seconds: u64,
    /// How often drift is checked for alerts.
    pub drift_check_seconds: u64,
    /// How often calibration maps are refitted (they are also fitted at start).
    pub calibration_refit_hours: u64,
    /// How often the review deltas queued for the rollups are folded in (milliseconds).
    pub rollup_fold_ms: u64,
    pub demo_ads: usize,
    /// The weekly report's time zone (IANA name).
    pub report_time_zone: String,
    /// `mon 07:00` (weekday and time in the report's time zone) or `off`.
    pub report_schedule: String,
    /// How often the schedule and pending deliveries are looked at.
    pub report_check_seconds: u64,
    /// `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// or `smtp://host:25` (plain, for a relay on a trusted network); unset: reports are
    /// archived, not mailed.
    pub smtp_url: Option<String>,
    pub report_recipients: Vec<String>,
    pub report_from: String,
}

/// A variable was set to something that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// The default database: a SQLite file under `data/`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/amso.db";

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let environment = match get("AMSO_ENV").as_deref().map(str::trim) {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    name: "AMSO_ENV",
                    value: other.to_string(),
                    reason: "expected `development` or `production`".into(),
                });
            }
        };
        let config = Config {
            database_url: get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            environment,
            session_idle_minutes: parse(&get, "AMSO_SESSION_IDLE_MINUTES", 60)?,
            cookie_secure: parse(
                &get,
                "AMSO_COOKIE_SECURE",
                environment == Environment::Production,
            )?,
            login_max_failures: parse(&get, "AMSO_LOGIN_MAX_FAILURES", 5)?,
            login_window_minutes: parse(&get, "AMSO_LOGIN_WINDOW_MINUTES", 15)?,
            login_max_failures_per_address: parse(&get, "AMSO_LOGIN_MAX_FAILURES_PER_ADDRESS", 30)?,
            password_hash_concurrency: parse(&get, "AMSO_PASSWORD_HASH_CONCURRENCY", 2)?,
            allowed_origins: get("AMSO_ALLOWED_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            metrics_token: get("AMSO_METRICS_TOKEN").filter(|t| !t.trim().is_empty()),
            stream_max: parse(&get, "AMSO_STREAM_MAX", 500)?,
            stream_max_per_user: parse(&get, "AMSO_STREAM_MAX_PER_USER", 4)?,
            db_max_connections: parse(&get, "AMSO_DB_MAX_CONNECTIONS", 8)?,
            log_json: get("AMSO_LOG_FORMAT").is_some_and(|f| f.trim() == "json"),
            model_path: get("AMSO_MODEL_PATH")
                .unwrap_or_else(|| "models/default/model.onnx".into()),
            workers: parse(&get, "AMSO_WORKERS", 2)?,
            worker_batch: parse(&get, "AMSO_WORKER_BATCH", 256)?,
            lease_seconds: parse(&get, "AMSO_LEASE_SECONDS", 60)?,
            audit_rate_approve: parse(&get, "AMSO_AUDIT_RATE_APPROVE", 0.02)?,
            audit_rate_reject: parse(&get, "AMSO_AUDIT_RATE_REJECT", 0.05)?,
            learning_share: parse(
                &get,
                "AMSO_LEARNING_SHARE",
                crate::engine::decide::DEFAULT_LEARNING_SHARE,
            )?,
            review_lease_seconds: parse(&get, "AMSO_REVIEW_LEASE_SECONDS", 300)?,
            qa_rate: parse(&get, "AMSO_QA_RATE", 0.05)?,
            undo_window_seconds: parse(&get, "AMSO_UNDO_SECONDS", 30)?,
            drift_check_seconds: parse(&get, "AMSO_DRIFT_CHECK_SECONDS", 300)?,
            calibration_refit_hours: parse(&get, "AMSO_CALIBRATION_REFIT_HOURS", 24)?,
            rollup_fold_ms: parse(&get, "AMSO_ROLLUP_FOLD_MS", 200)?,
            demo_ads: parse(&get, "AMSO_DEMO_ADS", 100_000)?,
            report_time_zone: get("AMSO_REPORT_TIME_ZONE").unwrap_or_else(|| "UTC".into()),
            report_schedule: get("AMSO_REPORT_SCHEDULE").unwrap_or_else(|| "mon 07:00".into()),
            report_check_seconds: parse(&get, "AMSO_REPORT_CHECK_SECONDS", 60)?,
            smtp_url: get("AMSO_SMTP_URL"),
            report_recipients: get("AMSO_REPORT_RECIPIENTS")
                .map(|list| {
                    list.split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            report_from: get("AMSO_REPORT_FROM")
                .unwrap_or_else(|| "AMSO reports <reports@amso.invalid>".into()),
        };
        let tz =
            crate::report::week::time_zone(&config.report_time_zone).map_err(|e| ConfigError {
                name: "AMSO_REPORT_TIME_ZONE",
                value: config.report_time_zone.clone(),
                reason: e.to_string(),
            })?;
        crate::report::archive::Schedule::parse(&config.report_schedule, tz).map_err(|e| {
            ConfigError {
                name: "AMSO_REPORT_SCHEDULE",
                value: config.report_schedule.clone(),
                reason: e.to_string(),
            }
        })?;
        for (name, rate) in [
            ("AMSO_AUDIT_RATE_APPROVE", config.audit_rate_approve),
            ("AMSO_AUDIT_RATE_REJECT", config.audit_rate_reject),
            ("AMSO_LEARNING_SHARE", config.learning_share),
            ("AMSO_QA_RATE", config.qa_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError {
                    name,
                    value: rate.to_string(),
                    reason: "must be between 0 and 1".into(),
                });
            }
        }
        if let Some(start) = get("AMSO_CLOCK_START") {
            let error = |reason: &str| ConfigError {
                name: "AMSO_CLOCK_START",
                value: start.clone(),
                reason: reason.into(),
            };
            if chrono::DateTime::parse_from_rfc3339(start.trim()).is_err() {
                return Err(error(
                    "expected an RFC 3339 instant such as 2026-12-04T14:59:45Z",
                ));
            }
            if config.is_production() {
                return Err(error(
                    "a rehearsal clock is for tests and rehearsals, never AMSO_ENV=production",
                ));
            }
        }
        if config.is_production() && !config.cookie_secure {
            return Err(ConfigError {
                name: "AMSO_COOKIE_SECURE",
                value: "false".into(),
                reason: "AMSO_ENV=production sends the session cookie over HTTPS only; \
                         serve behind TLS and leave AMSO_COOKIE_SECURE unset"
                    .into(),
            });
        }
        for (name, value) in [
            ("AMSO_LOGIN_MAX_FAILURES", config.login_max_failures),
            ("AMSO_LOGIN_WINDOW_MINUTES", config.login_window_minutes),
            (
                "AMSO_LOGIN_MAX_FAILURES_PER_ADDRESS",
                config.login_max_failures_per_address,
            ),
            (
                "AMSO_PASSWORD_HASH_CONCURRENCY",
                config.password_hash_concurrency as i64,
            ),
            ("AMSO_STREAM_MAX", config.stream_max as i64),
            (
                "AMSO_STREAM_MAX_PER_USER",
                config.stream_max_per_user as i64,
            ),
        ] {
            if value < 1 {
                return Err(ConfigError {
                    name,
                    value: value.to_string(),
                    reason: "must be at least 1".into(),
                });
            }
        }
        if config.session_idle_minutes < 1 {
            return Err(ConfigError {
                name: "AMSO_SESSION_IDLE_MINUTES",
                value: config.session_idle_minutes.to_string(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(config)
    }

    /// The reporting time zone (checked when the configuration was read).
    pub fn report_tz(&self) -> chrono_tz::Tz {
        crate::report::week::time_zone(&self.report_time_zone).unwrap_or(chrono_tz::UTC)
    }

    /// The weekly schedule, if on (checked when the configuration was read).
    pub fn report_schedule(&self) -> Option<crate::report::archive::Schedule> {
        crate::report::archive::Schedule::parse(&self.report_schedule, self.report_tz())
            .ok()
            .flatten()
    }

    /// Whether this is a production deployment.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

fn parse<T: FromStr>(
    get: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            value,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_need_nothing_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.environment, Environment::Development);
        assert!(!c.cookie_secure);
        assert_eq!(c.login_max_failures, 5);
    }

    #[test]
    fn production_defaults_to_secure_cookies() {
        let c = config(&[("AMSO_ENV", "production")]).unwrap();
        assert!(c.is_production());
        assert!(c.cookie_secure);
    }

    #[test]
    fn production_refuses_insecure_cookies() {
        let err =
            config(&[("AMSO_ENV", "production"), ("AMSO_COOKIE_SECURE", "false")]).unwrap_err();
        assert_eq!(err.name, "AMSO_COOKIE_SECURE");
        assert!(config(&[("AMSO_COOKIE_SECURE", "false")]).is_ok());
    }

    #[test]
    fn allowed_origins_are_normalised() {
        let c = config(&[(
            "AMSO_ALLOWED_ORIGINS",
            " https://AMSO.example/ ,, http://10.0.0.2:3000",
        )])
        .unwrap();
        assert_eq!(
            c.allowed_origins,
            ["https://amso.example", "http://10.0.0.2:3000"]
        );
        assert!(config(&[("AMSO_PASSWORD_HASH_CONCURRENCY", "0")]).is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("AMSO_LOGIN_MAX_FAILURES", "many")]).unwrap_err();
        assert_eq!(err.name, "AMSO_LOGIN_MAX_FAILURES");
        assert!(config(&[("AMSO_ENV", "staging")]).is_err());
        assert!(config(&[("AMSO_SESSION_IDLE_MINUTES", "0")]).is_err());
    }

    #[test]
    fn a_rehearsal_clock_parses_and_never_runs_in_production() {
        assert!(config(&[("AMSO_CLOCK_START", "2026-12-04T14:59:45Z")]).is_ok());
        let err = config(&[("AMSO_CLOCK_START", "tomorrow")]).unwrap_err();
        assert_eq!(err.name, "AMSO_CLOCK_START");
        let err = config(&[
            ("AMSO_ENV", "production"),
            ("AMSO_CLOCK_START", "2026-12-04T14:59:45Z"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "AMSO_CLOCK_START");
        assert!(err.reason.contains("production"));
    }
}
