//! The quality page: precision and recall per market × category with intervals, the weekly
//! trend, reliability per category.

use super::estimates::{self, AD_TARGET, ALL_MARKETS, Rows, SliceTotals};
use super::filter::{DAY_MS, Filter};
use super::kpis::{add_into, grouped, ht};
use crate::dashboard::view::Window;
use crate::metrics::estimate;
use crate::metrics::kpi::{self};
use crate::platform::db::Db;
use crate::rollup::{AD_MEASURES, CAT_MEASURES, ad, cat};
use crate::vocab::policy::Category;
use chrono::{Datelike, TimeZone, Utc};
use std::collections::BTreeMap;

fn iso_week_label(week: i64) -> String {
    // Week numbers count Mondays since the epoch: week w starts on day 7w − 3.
    let monday = Utc
        .timestamp_millis_opt((week * 7 - 3) * DAY_MS)
        .single()
        .map(|d| d.date_naive());
    monday.map_or_else(String::new, |d| {
        let iso = d.iso_week();
        format!("{}-W{:02}", iso.year(), iso.week())
    })
}

/// The quality page: precision, recall and F1 per market × category with intervals, a
/// weekly trend over the 8 weeks ending with the window, and reliability per category.
pub async fn quality(db: &Db, f: &Filter) -> sqlx::Result<crate::dashboard::view::Quality> {
    use crate::dashboard::view::{QualityCell, Reliability};
    let q_measures = &CAT_MEASURES[cat::P_W..cat::P_W + 6];
    let rows = grouped(
        db,
        "rollup_categories",
        q_measures,
        &["market", "category"],
        f,
        true,
    )
    .await?;
    let cal = estimates::calibrations(db).await?;
    let by_market = estimates::totals(db, f, &["market"], &cal, Rows::CategoryShares).await?;
    let mut every_market = SliceTotals::empty();
    for t in by_market.values() {
        every_market.merge(t);
    }
    let model_assisted = |market: &str, category: &str| {
        let t = if market == "ALL" {
            Some(&every_market)
        } else {
            by_market.get(&vec![market.to_string()])
        }?;
        let c = category.parse::<Category>().ok()?;
        Some(estimate::shares(
            &t.categories[c.index()],
            t.categories_calibrated[c.index()],
        ))
    };
    let mut all: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut cells = Vec::new();
    let cell = |market: String, category: String, v: &[f64]| {
        let precision = kpi::ht_ratio(&ht(v, 0));
        let recall = kpi::ht_ratio(&ht(v, 3));
        QualityCell {
            estimates: model_assisted(&market, &category),
            market,
            category,
            f1: precision
                .zip(recall)
                .and_then(|(p, r)| kpi::f1(p.value, r.value)),
            precision,
            recall,
        }
    };
    for (k, v) in &rows {
        add_into(all.entry(k[1].clone()).or_insert_with(|| vec![0.0; 6]), v);
        cells.push(cell(k[0].clone(), k[1].clone(), v));
    }
    for (c, v) in &all {
        cells.push(cell("ALL".into(), c.clone(), v));
    }
    let tripwires = cells
        .iter()
        .filter(|c| c.estimates.as_ref().is_some_and(|e| e.tripwire))
        .map(|c| (c.market.clone(), c.category.clone()))
        .collect();
    // Weekly trend: ad-level, or the chosen category's.
    // Weeks count Mondays since the epoch (a Thursday): week w starts on day 7w − 3.
    let end_week = ((f.window.to_ms - 1).div_euclid(DAY_MS) + 3).div_euclid(7);
    let trend = f.with_window(Window {
        from_ms: (7 * (end_week - 7) - 3) * DAY_MS,
        // Weeks are UTC weeks (the weekly rollups' own); the days of the window are the
        // viewer's.
        zone: String::new(),
        ..f.window.clone()
    });
    let (table, measures, p_at, r_at) = match f.category {
        Some(_) => ("rollup_categories", q_measures.to_vec(), 0, 3),
        None => (
            "rollup_ads",
            AD_MEASURES[ad::P_W..ad::P_W + 6].to_vec(),
            0,
            3,
        ),
    };
    let weekly = grouped(db, table, &measures, &["(day + 3) / 7"], &trend, true).await?;
    let weekly: BTreeMap<i64, Vec<f64>> = weekly
        .into_iter()
        .map(|(k, v)| (k[0].parse().unwrap_or(0), v))
        .collect();
    let weeks: Vec<i64> = (end_week - 7..=end_week).collect();
    let audit = |w: &i64, at: usize| {
        weekly
            .get(w)
            .and_then(|v| kpi::ht_ratio(&ht(v, at)))
            .filter(|e| e.enough())
            .map(|e| e.value)
    };
    let trend_rows = if f.category.is_some() {
        Rows::CategoryShares
    } else {
        Rows::Ad
    };
    let weekly_estimates =
        estimates::totals(db, &trend, &["(day + 3) / 7"], &cal, trend_rows).await?;
    let assisted: BTreeMap<i64, estimate::Estimates> = weekly_estimates
        .iter()
        .map(|(k, t)| {
            let e = match f.category {
                Some(c) => {
                    estimate::shares(&t.categories[c.index()], t.categories_calibrated[c.index()])
                }
                None => estimate::shares(&t.ad, t.calibrated),
            };
            (k[0].parse().unwrap_or(0), e)
        })
        .collect();
    let value = |w: &i64, recall: bool| {
        let e = assisted.get(w)?;
        let figure = if recall {
            e.figures.recall
        } else {
            e.figures.precision
        };
        figure.filter(|e| e.enough()).map(|e| e.value)
    };
    // Reliability per category over the window, before and after the calibration map of the
    // chosen model (else the newest that has maps).
    let calibrated_model = match &f.model {
        Some(m) => Some(m.clone()),
        None => super::kpis::models(db)
            .await?
            .into_iter()
            .find(|m| estimates::map_for(&cal, m, ALL_MARKETS, AD_TARGET).is_some()),
    };
    let cal_measures = &CAT_MEASURES[cat::CAL_W..cat::CAL_S + kpi::PSI_BINS];
    let rows = grouped(
        db,
        "rollup_categories",
        cal_measures,
        &["category"],
        f,
        true,
    )
    .await?;
    let reliability = rows
        .into_iter()
        .map(|(k, v)| {
            let bins: Vec<kpi::CalibrationBin> = (0..kpi::PSI_BINS)
                .map(|b| kpi::CalibrationBin {
                    w: v[b],
                    wy: v[20 + b],
                    ws: v[40 + b],
                })
                .collect();
            let map = calibrated_model.as_ref().and_then(|m| {
                let market = f.market.map_or(ALL_MARKETS, |m| m.code());
                estimates::map_for(&cal, m, market, &k[0])
            });
            let w: [f64; kpi::PSI_BINS] = std::array::from_fn(|b| bins[b].w);
            let wy: [f64; kpi::PSI_BINS] = std::array::from_fn(|b| bins[b].wy);
            Reliability {
                category: k[0].clone(),
                points: bins
                    .iter()
                    .filter(|b| b.w > 0.0)
                    .map(|b| (b.ws / b.w, b.wy / b.w, b.w))
                    .collect(),
                ece: kpi::expected_calibration_error(&bins),
                calibrated: map
                    .map(|m| {
                        (0..kpi::PSI_BINS)
                            .filter(|b| w[*b] > 0.0)
                            .map(|b| (m.bins[b], wy[b] / w[b], w[b]))
                            .collect()
                    })
                    .unwrap_or_default(),
                ece_calibrated: map.and_then(|m| m.error(&w, &wy)),
            }
        })
        .collect();
    Ok(crate::dashboard::view::Quality {
        window: f.window.clone(),
        cells,
        weekly_precision: weeks.iter().map(|w| value(w, false)).collect(),
        weekly_recall: weeks.iter().map(|w| value(w, true)).collect(),
        weekly_precision_audit: weeks.iter().map(|w| audit(w, p_at)).collect(),
        weekly_recall_audit: weeks.iter().map(|w| audit(w, r_at)).collect(),
        calibrated_model,
        tripwires,
        weeks: weeks.iter().map(|w| iso_week_label(*w)).collect(),
        reliability,
    })
}
