//! Drift alerts: the periodic check that raises them (and remembers each slice's band) and
//! the reads of recent alerts.

use super::filter::{DAY_MS, Filter};
use super::scores::{MIN_DRIFT_SCORES, histograms};
use crate::dashboard::view::{DriftAlert, Window};
use crate::metrics::kpi::{self, DriftBand};
use crate::platform::db::Db;
use crate::platform::time::{Millis, to_rfc3339};

/// The latest drift alerts, newest first.
pub async fn alerts(db: &Db, limit: i64) -> sqlx::Result<Vec<DriftAlert>> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select id, at, market, category, band, previous_band, psi from drift_alerts order by at desc, id desc limit $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(alert_rows(rows))
}

/// Drift alerts raised inside a window, oldest first (the weekly report's).
pub async fn alerts_between(db: &Db, w: &Window) -> sqlx::Result<Vec<DriftAlert>> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select id, at, market, category, band, previous_band, psi from drift_alerts \
         where at >= $1 and at < $2 order by at, id",
    )
    .bind(w.from_ms)
    .bind(w.to_ms)
    .fetch_all(db.pool())
    .await?;
    Ok(alert_rows(rows))
}

type AlertRow = (i64, i64, String, String, String, String, f64);

fn alert_rows(rows: Vec<AlertRow>) -> Vec<DriftAlert> {
    rows.into_iter()
        .map(
            |(id, at, market, category, band, previous_band, psi)| DriftAlert {
                id,
                at: to_rfc3339(at),
                market,
                category,
                band,
                previous_band,
                psi,
            },
        )
        .collect()
}

/// Checks drift for the 7 days up to `now` against the 28 days before, and records an alert
/// for every market × category whose band rose since the last check. Several servers may
/// check at once: the band is compared and set in one statement, so each rise is recorded
/// once. Returns the alerts recorded.
pub async fn check_drift(db: &Db, now: Millis) -> sqlx::Result<usize> {
    // Day-aligned, as the rollups it reads: today and the six days before.
    let to_ms = (now.div_euclid(DAY_MS) + 1) * DAY_MS;
    let current = Window {
        from: String::new(),
        to: String::new(),
        from_ms: to_ms - 7 * DAY_MS,
        to_ms,
        zone: String::new(),
    };
    let reference = Window {
        from: String::new(),
        to: String::new(),
        from_ms: current.from_ms - 28 * DAY_MS,
        to_ms: current.from_ms,
        zone: String::new(),
    };
    let all = Filter {
        window: current.clone(),
        market: None,
        category: None,
        model: None,
    };
    let q = histograms(db, &all).await?;
    let p = histograms(db, &all.with_window(reference.clone())).await?;
    let mut raised = 0;
    for (key, cur) in &q {
        let Some(psi) = p.get(key).and_then(|r| kpi::psi(r, cur)) else {
            continue;
        };
        // Too few decisions make PSI noise, not drift.
        if cur.iter().sum::<f64>() < MIN_DRIFT_SCORES {
            continue;
        }
        let band = DriftBand::of(psi);
        let mut tx = db.begin_write().await?;
        let old: Option<(String,)> =
            sqlx::query_as("select band from drift_state where market = $1 and category = $2")
                .bind(&key.0)
                .bind(&key.1)
                .fetch_optional(&mut *tx)
                .await?;
        let old_band = old.map_or("stable".to_string(), |o| o.0);
        let changed = sqlx::query(
            "insert into drift_state (market, category, band, psi, checked_at) values ($1, $2, $3, $4, $5) \
             on conflict (market, category) do update set band = excluded.band, psi = excluded.psi, \
             checked_at = excluded.checked_at where drift_state.band = $6",
        )
        .bind(&key.0)
        .bind(&key.1)
        .bind(band.as_str())
        .bind(psi)
        .bind(now)
        .bind(&old_band)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let rank = |b: &str| ["stable", "watch", "drifted"].iter().position(|x| *x == b);
        if changed == 1 && rank(band.as_str()) > rank(&old_band) {
            sqlx::query(
                "insert into drift_alerts (at, market, category, band, previous_band, psi, current_from, current_to, \
                 reference_from, reference_to) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(now)
            .bind(&key.0)
            .bind(&key.1)
            .bind(band.as_str())
            .bind(&old_band)
            .bind(psi)
            .bind(current.from_ms)
            .bind(current.to_ms)
            .bind(reference.from_ms)
            .bind(reference.to_ms)
            .execute(&mut *tx)
            .await?;
            raised += 1;
        }
        tx.commit().await?;
    }
    Ok(raised)
}

/// The last PSI and band the drift check saw for one market × category.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct SliceState {
    pub market: String,
    pub category: String,
    pub band: String,
    pub psi: f64,
}

/// Every market × category the drift check has seen, with its last PSI and band.
pub async fn slice_states(db: &Db) -> sqlx::Result<Vec<SliceState>> {
    sqlx::query_as("select market, category, band, psi from drift_state order by market, category")
        .fetch_all(db.pool())
        .await
}

/// How many alerts have been raised per band.
pub async fn alerts_by_band(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("select band, count(*) from drift_alerts group by band order by band")
        .fetch_all(db.pool())
        .await
}
