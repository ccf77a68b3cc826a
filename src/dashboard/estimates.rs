//! Model-assisted estimates read from the rollups: the calibration maps kept with each model
//! version (fitted on the audited verdicts of that version), and the per-bin sums of
//! `rollup_estimates` turned into [`Totals`] with the map of the version that decided.
//! The arithmetic is in [`crate::metrics::estimate`].

use super::filter::{DAY_MS, Filter};
use super::kpis::{grouped, grouped_where};
use crate::access::audit::{self, Actor, NewEntry};
use crate::dashboard::view::{TripwireAlert, Window};
use crate::metrics::estimate;
use crate::metrics::estimate::{Calibration, Class, Totals};
use crate::metrics::kpi::{CATEGORY_COUNT, PSI_BINS};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::rollup::{ANY, ESTIMATE_MEASURES, TARGET_AD, estimate_bins};
use crate::vocab::policy::Category;
use std::collections::BTreeMap;

/// The calibration target of the ad as a whole (its top score).
pub const AD_TARGET: &str = ANY;

/// Days of audited verdicts a calibration map is fitted on.
pub const FIT_DAYS: i64 = 28;

/// The market of the calibration maps fitted on all markets together.
pub const ALL_MARKETS: &str = ANY;

/// Calibration maps by (model version, market or [`ALL_MARKETS`], target: [`AD_TARGET`] or a
/// category).
pub type Calibrations = BTreeMap<(String, String, String), Calibration>;

/// The map of a model version, market and target: the market's own, else the all-markets one.
pub fn map_for<'a>(
    cal: &'a Calibrations,
    model: &str,
    market: &str,
    target: &str,
) -> Option<&'a Calibration> {
    cal.get(&(model.to_string(), market.to_string(), target.to_string()))
        .or_else(|| {
            cal.get(&(
                model.to_string(),
                ALL_MARKETS.to_string(),
                target.to_string(),
            ))
        })
}

/// Checked sums (Σw, Σw·y per bin) by (market or [`ALL_MARKETS`], target).
pub type CheckedSums = BTreeMap<(String, String), ([f64; PSI_BINS], [f64; PSI_BINS])>;

/// One stored calibration map and how well it fits.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredCalibration {
    pub model_version: String,
    /// A market, or [`ALL_MARKETS`].
    pub market: String,
    pub target: String,
    pub fitted_at: Millis,
    pub calibration: Calibration,
    /// Σw of the checked ads it was fitted on.
    pub checked: f64,
    /// Expected calibration error of the raw scores and of the map, on the fitting data.
    pub error_before: Option<f64>,
    pub error_after: Option<f64>,
}

/// Every stored map.
pub async fn stored(db: &Db) -> sqlx::Result<Vec<StoredCalibration>> {
    type Row = (
        String,
        String,
        String,
        i64,
        String,
        f64,
        Option<f64>,
        Option<f64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select model_version, market, target, fitted_at, bins, checked, error_before, \
         error_after from calibrations order by model_version, market, target",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(model_version, market, target, fitted_at, bins, checked, before, after)| {
                let bins: Vec<f64> = serde_json::from_str(&bins).ok()?;
                let bins: [f64; PSI_BINS] = bins.try_into().ok()?;
                Some(StoredCalibration {
                    model_version,
                    market,
                    target,
                    fitted_at,
                    calibration: Calibration { bins },
                    checked,
                    error_before: before,
                    error_after: after,
                })
            },
        )
        .collect())
}

/// The maps as a lookup.
pub async fn calibrations(db: &Db) -> sqlx::Result<Calibrations> {
    Ok(stored(db)
        .await?
        .into_iter()
        .map(|s| ((s.model_version, s.market, s.target), s.calibration))
        .collect())
}

/// Per-bin checked sums (Σw, Σw·y) of every market and target of a model version over a
/// window.
async fn checked_bins(db: &Db, model_version: &str, window: &Window) -> sqlx::Result<CheckedSums> {
    let f = Filter {
        window: window.clone(),
        market: None,
        category: None,
        model: Some(model_version.to_string()),
    };
    let rows = grouped(
        db,
        "rollup_estimates",
        &ESTIMATE_MEASURES,
        &["market", "target", "category"],
        &f,
        true,
    )
    .await?;
    Ok(checked_sums(rows.iter().map(|(k, v)| {
        (k[0].as_str(), k[1].as_str(), k[2].as_str(), v.as_slice())
    })))
}

/// Checked sums (Σw, Σw·y per bin) per market and calibration target, and for all markets
/// together, from `rollup_estimates` rows given as (market, target, category, measures).
pub fn checked_sums<'a>(
    rows: impl Iterator<Item = (&'a str, &'a str, &'a str, &'a [f64])>,
) -> CheckedSums {
    let mut out = CheckedSums::new();
    for (market, target, category, v) in rows {
        let target = if target == TARGET_AD {
            AD_TARGET.to_string()
        } else {
            category.to_string()
        };
        let bins = estimate_bins(v);
        for m in [market, ALL_MARKETS] {
            let entry = out
                .entry((m.to_string(), target.clone()))
                .or_insert(([0.0; PSI_BINS], [0.0; PSI_BINS]));
            for (b, s) in bins.iter().enumerate() {
                entry.0[b] += s.w;
                entry.1[b] += s.wy;
            }
        }
    }
    out
}

/// Fits and stores the calibration maps of one model version on the audited verdicts of the
/// [`FIT_DAYS`] days before `now`, for the ad and every category with checked ads. Returns
/// the maps stored.
pub async fn fit(
    db: &Db,
    model_version: &str,
    now: Millis,
    actor: &Actor,
) -> sqlx::Result<Vec<StoredCalibration>> {
    let today = now.div_euclid(DAY_MS);
    let window = Window {
        from: String::new(),
        to: String::new(),
        from_ms: (today - FIT_DAYS + 1) * DAY_MS,
        to_ms: (today + 1) * DAY_MS,
        zone: String::new(),
    };
    let bins = checked_bins(db, model_version, &window).await?;
    let fitted = fit_maps(model_version, &bins, now);
    store_maps(db, &fitted, actor, now).await?;
    Ok(fitted)
}

/// Stores fitted maps in place of the version's earlier ones, audited as one fit.
pub async fn store_maps(
    db: &Db,
    fitted: &[StoredCalibration],
    actor: &Actor,
    now: Millis,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    for s in fitted {
        sqlx::query(
            "delete from calibrations where model_version = $1 and market = $2 and target = $3",
        )
        .bind(&s.model_version)
        .bind(&s.market)
        .bind(&s.target)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into calibrations (model_version, market, target, fitted_at, bins, checked, \
             error_before, error_after) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.model_version)
        .bind(&s.market)
        .bind(&s.target)
        .bind(s.fitted_at)
        .bind(serde_json::to_string(&s.calibration.bins.to_vec()).unwrap_or_default())
        .bind(s.checked)
        .bind(s.error_before)
        .bind(s.error_after)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(first) = fitted.first() {
        let overall = fitted
            .iter()
            .find(|s| s.target == AD_TARGET && s.market == ALL_MARKETS);
        let after = serde_json::json!({
            "maps": fitted.len(),
            "checked": overall.map(|s| s.checked),
            "error_before": overall.and_then(|s| s.error_before),
            "error_after": overall.and_then(|s| s.error_after),
        });
        audit::record_at(
            &mut *tx,
            NewEntry {
                actor,
                action: "calibration.fit",
                object: format!("model:{}", first.model_version),
                before: None,
                after: Some(after),
                ip: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Calibration maps fitted on checked sums per market and target: the all-markets map first
/// (pulled toward the raw scores where sparse), then each market's (pulled toward the
/// all-markets map). Targets with nothing checked get none, and are read with the
/// all-markets map.
pub fn fit_maps(model_version: &str, bins: &CheckedSums, now: Millis) -> Vec<StoredCalibration> {
    let stored = |market: &str, target: &str, w: &[f64; PSI_BINS], wy: &[f64; PSI_BINS], map| {
        StoredCalibration {
            model_version: model_version.to_string(),
            market: market.to_string(),
            target: target.to_string(),
            fitted_at: now,
            calibration: map,
            checked: w.iter().sum(),
            error_before: Calibration::identity().error(w, wy),
            error_after: map.error(w, wy),
        }
    };
    let checked = |w: &[f64; PSI_BINS]| w.iter().sum::<f64>() > 0.0;
    let mut out: Vec<StoredCalibration> = bins
        .iter()
        .filter(|((market, _), (w, _))| market == ALL_MARKETS && checked(w))
        .map(|((market, target), (w, wy))| stored(market, target, w, wy, Calibration::fit(w, wy)))
        .collect();
    let overall: BTreeMap<String, Calibration> = out
        .iter()
        .map(|s| (s.target.clone(), s.calibration))
        .collect();
    for ((market, target), (w, wy)) in bins {
        if market == ALL_MARKETS || !checked(w) {
            continue;
        }
        let prior = overall
            .get(target)
            .copied()
            .unwrap_or_else(Calibration::identity);
        out.push(stored(
            market,
            target,
            w,
            wy,
            Calibration::fit_toward(w, wy, &prior),
        ));
    }
    out
}

/// Refits every model version that decided in the last [`FIT_DAYS`] days.
pub async fn refit_all(db: &Db, now: Millis, actor: &Actor) -> sqlx::Result<usize> {
    let since = now.div_euclid(DAY_MS) - FIT_DAYS;
    let versions: Vec<(String,)> = sqlx::query_as(
        "select distinct model_version from rollup_ads_daily where day > $1 order by 1",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let mut n = 0;
    for (v,) in versions {
        n += fit(db, &v, now, actor).await?.len();
    }
    Ok(n)
}

/// The key of a `rollup_estimates` row, without its time.
#[derive(Clone, Copy, Debug)]
pub struct EstimateRow<'a> {
    pub market: &'a str,
    pub model: &'a str,
    pub target: &'a str,
    pub category: &'a str,
    pub class: &'a str,
}

/// The totals of one slice: the ad as a whole and each category.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SliceTotals {
    pub ad: Totals,
    pub categories: [Totals; CATEGORY_COUNT],
    /// Whether every model version behind the slice has a calibration map for the ad.
    pub calibrated: bool,
    /// Per category: whether every version has a map for it.
    pub categories_calibrated: [bool; CATEGORY_COUNT],
}

impl SliceTotals {
    /// Nothing yet (calibrated until a version without a map is added).
    pub fn empty() -> SliceTotals {
        SliceTotals {
            calibrated: true,
            categories_calibrated: [true; CATEGORY_COUNT],
            ..Default::default()
        }
    }

    /// Adds one `rollup_estimates` row, read with the map of its version and market (else the
    /// version's all-markets map); without one, with the raw scores, and the slice (or
    /// category) is marked uncalibrated.
    pub fn add_row(&mut self, row: &EstimateRow<'_>, v: &[f64], cal: &Calibrations) {
        let Some(class) = Class::parse(row.class) else {
            return;
        };
        let identity = Calibration::identity();
        let bins = estimate_bins(v);
        if row.target == TARGET_AD {
            let map = map_for(cal, row.model, row.market, AD_TARGET);
            self.calibrated &= map.is_some();
            self.ad.add_class(class, &bins, map.unwrap_or(&identity));
        } else if let Ok(c) = row.category.parse::<Category>() {
            let map = map_for(cal, row.model, row.market, c.as_str());
            self.categories_calibrated[c.index()] &= map.is_some();
            self.categories[c.index()].add_class(class, &bins, map.unwrap_or(&identity));
        }
    }

    /// The slice seen through one category, where a filter picks one: its totals stand for
    /// the ad as a whole (precision, recall and wrong rejections of that category) and it
    /// alone is harmed by approvals.
    pub fn for_category(self, category: Option<Category>) -> SliceTotals {
        let Some(c) = category else {
            return self;
        };
        let mut out = SliceTotals::empty();
        out.ad = self.categories[c.index()];
        out.calibrated = self.categories_calibrated[c.index()];
        out.categories[c.index()] = self.categories[c.index()];
        out.categories_calibrated[c.index()] = self.categories_calibrated[c.index()];
        out
    }

    /// Adds another slice.
    pub fn merge(&mut self, o: &SliceTotals) {
        self.ad.merge(&o.ad);
        for (a, b) in self.categories.iter_mut().zip(&o.categories) {
            a.merge(b);
        }
        self.calibrated &= o.calibrated;
        for (a, b) in self
            .categories_calibrated
            .iter_mut()
            .zip(o.categories_calibrated)
        {
            *a &= b;
        }
    }
}

/// Which `rollup_estimates` rows a reader needs (fewer rows, faster pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    All,
    /// The ad as a whole.
    Ad,
    /// The categories.
    Categories,
    /// The categories' precision and recall only (no budget columns: fewer bytes to sum).
    CategoryShares,
    /// The headline figures: the ad as a whole, and the categories' auto-approvals (the harm
    /// let through, weighted per category).
    Kpis,
}

impl Rows {
    /// The measures read: all, or without the budget-weighted ones (the first six of
    /// `BIN_MEASURES` are n, nb, w, wy, v, vy; the rest read as 0).
    fn measures(self) -> &'static [&'static str] {
        match self {
            Rows::CategoryShares => &ESTIMATE_MEASURES[..6 * PSI_BINS],
            _ => &ESTIMATE_MEASURES,
        }
    }

    fn condition(self) -> &'static str {
        match self {
            Rows::All => "",
            Rows::Ad => "target = 'ad'",
            Rows::Categories | Rows::CategoryShares => "target = 'category'",
            Rows::Kpis => "(target = 'ad' or class = 'approve')",
        }
    }
}

/// Totals per group (`group`: columns of `rollup_estimates` such as `market` or
/// `(day + 3) / 7`), each version's bins read with its own map; a version without a map is
/// read with the raw scores and marks the slice uncalibrated.
pub async fn totals(
    db: &Db,
    f: &Filter,
    group: &[&str],
    cal: &Calibrations,
    rows: Rows,
) -> sqlx::Result<BTreeMap<Vec<String>, SliceTotals>> {
    let mut columns: Vec<&str> = group.to_vec();
    columns.extend(["market", "model_version", "target", "category", "class"]);
    let rows = grouped_where(
        db,
        "rollup_estimates",
        rows.measures(),
        &columns,
        f,
        true,
        rows.condition(),
    )
    .await?;
    let g = group.len();
    let mut out: BTreeMap<Vec<String>, SliceTotals> = BTreeMap::new();
    for (k, v) in rows {
        let row = EstimateRow {
            market: &k[g],
            model: &k[g + 1],
            target: &k[g + 2],
            category: &k[g + 3],
            class: &k[g + 4],
        };
        out.entry(k[..g].to_vec())
            .or_insert_with(SliceTotals::empty)
            .add_row(&row, &v, cal);
    }
    Ok(out)
}

/// Checks the tripwire of every market and of all markets together (`ALL`), for the ad as a
/// whole and each category, over the 7 days up to `now`, and raises an alert where a slice
/// trips that had not (see [`estimate::tripped`]). Returns the alerts raised.
pub async fn check_tripwires(db: &Db, now: Millis) -> sqlx::Result<usize> {
    let to_ms = (now.div_euclid(DAY_MS) + 1) * DAY_MS;
    let f = Filter {
        window: Window {
            from: String::new(),
            to: String::new(),
            from_ms: to_ms - 7 * DAY_MS,
            to_ms,
            zone: String::new(),
        },
        market: None,
        category: None,
        model: None,
    };
    let cal = calibrations(db).await?;
    let mut raised = 0;
    let per_market = totals(db, &f, &["market"], &cal, Rows::All).await?;
    let mut all = SliceTotals::empty();
    for t in per_market.values() {
        all.merge(t);
    }
    let markets = per_market
        .into_iter()
        .map(|(k, t)| (k[0].clone(), t))
        .chain((!all.ad.n.iter().all(|n| *n == 0.0)).then(|| ("ALL".to_string(), all)));
    // Only a slice whose reading changed is written (most checks change nothing).
    let known: BTreeMap<(String, String), bool> = sqlx::query_as::<_, (String, String, i64)>(
        "select market, category, tripped from tripwire_state",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|(m, c, t)| ((m, c), t != 0))
    .collect();
    for (market, t) in markets {
        let mut slices = vec![(AD_TARGET.to_string(), estimate::shares(&t.ad, t.calibrated))];
        for c in Category::ALL {
            slices.push((
                c.as_str().to_string(),
                estimate::shares(&t.categories[c.index()], t.categories_calibrated[c.index()]),
            ));
        }
        for (category, e) in slices {
            if known.get(&(market.clone(), category.clone())) == Some(&e.tripwire) {
                continue;
            }
            raised +=
                usize::from(record_tripwire(db, &market, &category, &e, &f.window, now).await?);
        }
    }
    Ok(raised)
}

/// Remembers a slice's tripwire reading; raises an alert (once) when it newly trips.
async fn record_tripwire(
    db: &Db,
    market: &str,
    category: &str,
    e: &estimate::Estimates,
    window: &Window,
    now: Millis,
) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let old: Option<(i64,)> =
        sqlx::query_as("select tripped from tripwire_state where market = $1 and category = $2")
            .bind(market)
            .bind(category)
            .fetch_optional(&mut *tx)
            .await?;
    let was = old.is_some_and(|o| o.0 != 0);
    let changed = sqlx::query(
        "insert into tripwire_state (market, category, tripped, checked_at) values ($1, $2, $3, $4) \
         on conflict (market, category) do update set tripped = excluded.tripped, \
         checked_at = excluded.checked_at where tripwire_state.tripped = $5",
    )
    .bind(market)
    .bind(category)
    .bind(i64::from(e.tripwire))
    .bind(now)
    .bind(i64::from(was))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let raise = changed == 1 && e.tripwire && !was;
    if raise {
        // Name the figure that is out: precision first.
        let outside = |f: Option<crate::metrics::kpi::Estimate>, lf: Option<f64>| {
            f.zip(lf).filter(|(f, lf)| *lf < f.low || *lf > f.high)
        };
        let (figure, (f, lf)) = match outside(e.figures.precision, e.label_free.precision) {
            Some(x) => ("precision", x),
            None => match outside(e.figures.recall, e.label_free.recall) {
                Some(x) => ("recall", x),
                None => {
                    tx.commit().await?;
                    return Ok(false);
                }
            },
        };
        sqlx::query(
            "insert into tripwire_alerts (at, market, category, figure, label_free, value, low, high, \
             window_from, window_to) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(now)
        .bind(market)
        .bind(category)
        .bind(figure)
        .bind(lf)
        .bind(f.value)
        .bind(f.low)
        .bind(f.high)
        .bind(window.from_ms)
        .bind(window.to_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(raise)
}

/// The newest tripwire alerts first.
pub async fn tripwire_alerts(db: &Db, limit: i64) -> sqlx::Result<Vec<TripwireAlert>> {
    type Row = (i64, i64, String, String, String, f64, f64, f64, f64);
    let rows: Vec<Row> = sqlx::query_as(
        "select id, at, market, category, figure, label_free, value, low, high from tripwire_alerts \
         order by at desc, id desc limit $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, at, market, category, figure, label_free, value, low, high)| TripwireAlert {
                id,
                at: crate::platform::time::to_rfc3339(at),
                market,
                category,
                figure,
                label_free,
                value,
                low,
                high,
            },
        )
        .collect())
}
