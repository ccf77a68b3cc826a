//! The dashboards on SQLite and PostgreSQL: rollups kept while the demo history is decided
//! and reviewed equal a recomputation from the raw rows; headline figures recomputed here
//! independently from the raw rows agree; the KPIs API and the pages' server functions give
//! the same numbers, to the right people only; drift alerts are raised once; live events.

use crate::common::*;
use crate::review::reviewer;
use amso_core::access::apikeys::{self, Scope as KeyScope};
use amso_core::access::audit::Actor;
use amso_core::dashboard;
use amso_core::dashboard::view::Selection;
use amso_core::demo::accounts::DEMO_LOGINS;
use amso_core::demo::history::{HistoryParams, seed_history};
use amso_core::metrics::kpi;
use amso_core::platform::time::now_millis;
use amso_core::review::{self, DeskSettings, verdicts::Submission};
use amso_core::rollup;
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::{HumanVerdict, Source};
use amso_core::vocab::role::Role;
use axum::http::StatusCode;
use std::collections::BTreeMap;

fn scorer() -> amso_core::engine::worker::Scorer {
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
    amso_core::engine::worker::Scorer::start(&model, 16).unwrap()
}

fn window_28d() -> Selection {
    Selection {
        window: "28d".into(),
        ..Selection::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Headline figures straight from the raw rows, written without the rollup code.
struct Direct {
    decided: f64,
    automated: f64,
    checked: f64,
    overridden: f64,
    precision_w: f64,
    precision_wy: f64,
    sla_ms: Vec<i64>,
    handling_ms_by_market: BTreeMap<String, f64>,
    /// Auto-rejections, and the difference estimator's total of those humans confirm:
    /// Σ calibrated m + Σ audited (y − m) / π, m read from the stored map of the version.
    rejected: f64,
    rejected_confirmed: f64,
}

/// The stored ad-level calibration maps, by model version and market (`*`: all markets).
async fn ad_maps(t: &TestDb) -> BTreeMap<(String, String), Vec<f64>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select model_version, market, bins from calibrations where target = '*'")
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(v, m, bins)| ((v, m), serde_json::from_str(&bins).unwrap()))
        .collect()
}

async fn direct(t: &TestDb, from: i64, to: i64) -> Direct {
    type Row = (
        i64,
        String,
        String,
        i64,
        f64,
        Option<String>,
        String,
        String,
    );
    // Each decision with its final human verdict (the latest review that is not QA).
    let rows: Vec<Row> = sqlx::query_as(
        "select d.ad_id, a.market, d.action, cast(cast(d.audit_sample as integer) as bigint), d.sampling_probability, \
         (select r.verdict from reviews r where r.ad_id = d.ad_id and r.source <> 'qa' order by r.id desc limit 1), \
         d.scores, d.model_version \
         from decisions d join ads a on a.id = d.ad_id where d.decided_at >= $1 and d.decided_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    let mut d = Direct {
        decided: rows.len() as f64,
        automated: 0.0,
        checked: 0.0,
        overridden: 0.0,
        precision_w: 0.0,
        precision_wy: 0.0,
        sla_ms: Vec::new(),
        handling_ms_by_market: BTreeMap::new(),
        rejected: 0.0,
        rejected_confirmed: 0.0,
    };
    let maps = ad_maps(t).await;
    for (_, market, action, audit, p, verdict, scores, model) in &rows {
        if action == "reject" {
            let scores: Vec<f64> = serde_json::from_str(scores).unwrap();
            let top = scores.iter().copied().fold(0.0, f64::max);
            let bin = ((top * 20.0) as usize).min(19);
            let map = maps
                .get(&(model.clone(), market.clone()))
                .unwrap_or_else(|| &maps[&(model.clone(), "*".to_string())]);
            let m = map[bin];
            d.rejected += 1.0;
            d.rejected_confirmed += m;
            if let (1, Some(v)) = (*audit, verdict) {
                d.rejected_confirmed += (f64::from(u8::from(v == "reject")) - m) / p;
            }
        }
        if action == "review" {
            continue;
        }
        d.automated += 1.0;
        if let Some(v) = verdict {
            d.checked += 1.0;
            if v != action {
                d.overridden += 1.0;
            }
            if action == "reject" && *audit == 1 {
                d.precision_w += 1.0 / p;
                if v == "reject" {
                    d.precision_wy += 1.0 / p;
                }
            }
        }
    }
    let reviews: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "select r.market, r.source, r.status_before, r.started_at, r.finished_at, a.submitted_at \
         from reviews r join ads a on a.id = r.ad_id where r.finished_at >= $1 and r.finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    for (market, source, before, started, finished, submitted) in reviews {
        *d.handling_ms_by_market.entry(market).or_default() += (finished - started) as f64;
        if source != "qa" && before == "in_review" {
            d.sla_ms.push(finished - submitted);
        }
    }
    d.sla_ms.sort_unstable();
    d
}

#[tokio::test]
async fn dashboard_numbers_equal_the_raw_rows() {
    let scorer = scorer();
    for t in backends().await {
        let p = HistoryParams {
            ads: 2500,
            days: 28,
            seed: 11,
            end: now_millis(),
            audit_rate_approve: 0.02,
            audit_rate_reject: 0.05,
            qa_rate: 0.05,
            lifecycle: None,
        };
        seed_history(&t.db, &scorer, &p).await.unwrap();

        // A review and its undo, then a review that stays: rollups follow both ways.
        let me = reviewer(
            &t,
            "dash-reviewer@example.com",
            Role::Reviewer,
            Market::ALL.to_vec(),
        )
        .await;
        let settings = DeskSettings::default();
        let task = review::queues::claim_next(
            &t.db,
            &me,
            Source::Uncertain,
            &settings,
            None,
            now_millis(),
        )
        .await
        .unwrap()
        .expect("the demo backlog has uncertain items");
        let verdict = Submission {
            verdict: HumanVerdict::Reject,
            categories: vec![Category::Scam],
            reason_code: None,
            reason_text: None,
        };
        let done = review::verdicts::submit(
            &t.db,
            &me,
            task,
            &verdict,
            &settings,
            false,
            0.99,
            now_millis(),
        )
        .await
        .unwrap();
        review::verdicts::undo(&t.db, &me, done.review_id, &settings, now_millis())
            .await
            .unwrap();
        let approve = Submission {
            verdict: HumanVerdict::Approve,
            ..verdict
        };
        review::verdicts::submit(
            &t.db,
            &me,
            task,
            &approve,
            &settings,
            false,
            0.99,
            now_millis(),
        )
        .await
        .unwrap();

        // The three reviews queued their rollup changes; the server's folder writes them.
        let queued = rollup::store::queued(&t.db).await.unwrap();
        assert!(!queued.is_empty(), "{}: nothing queued", t.label);
        assert_eq!(rollup::store::fold(&t.db).await.unwrap(), 3, "{}", t.label);
        assert!(rollup::store::queued(&t.db).await.unwrap().is_empty());
        assert_eq!(rollup::store::fold(&t.db).await.unwrap(), 0, "{}", t.label);

        // 1. What was kept incrementally is what the raw rows say.
        let stored = rollup::store::stored(&t.db, rollup::Grain::Hour)
            .await
            .unwrap();
        let recomputed = rollup::store::recompute(&t.db).await.unwrap();
        let diff = stored.differences(&recomputed);
        assert!(
            diff.is_empty(),
            "{}: {} differences, first: {:?}",
            t.label,
            diff.len(),
            &diff[..diff.len().min(5)]
        );
        // The daily rollups the pages read are the hourly ones summed per day.
        let daily = rollup::store::stored(&t.db, rollup::Grain::Day)
            .await
            .unwrap();
        let diff = daily.differences(&recomputed.daily());
        assert!(
            diff.is_empty(),
            "{}: daily: {:?}",
            t.label,
            &diff[..diff.len().min(5)]
        );
        assert!(
            !stored.ads.is_empty() && !stored.categories.is_empty(),
            "{}",
            t.label
        );

        // 2. The overview's figures against an independent recomputation.
        let now = now_millis();
        let f = dashboard::filter::resolve(&window_28d(), now).unwrap();
        let o = dashboard::overview::overview(&t.db, &f, now).await.unwrap();
        let d = direct(&t, f.window.from_ms, f.window.to_ms).await;
        let k = &o.totals;
        assert_eq!(k.decided, d.decided, "{}", t.label);
        assert!(k.decided > 2000.0, "{}: {}", t.label, k.decided);
        assert!(
            close(k.automation_rate.unwrap(), d.automated / d.decided),
            "{}",
            t.label
        );
        assert_eq!(
            (k.checked, k.overridden),
            (d.checked, d.overridden),
            "{}",
            t.label
        );
        assert!(
            k.overridden > 0.0,
            "{}: the demo team overrules the machine",
            t.label
        );
        let precision = k.precision.expect("audited auto-rejections exist");
        assert!(
            close(precision.value, d.precision_wy / d.precision_w),
            "{}",
            t.label
        );
        assert!(precision.low <= precision.value && precision.value <= precision.high);
        // The model-assisted precision is the difference estimator over the raw rows, and
        // its interval is narrower than the audit-only one.
        let e = k.estimates.as_ref().expect("the history has estimate sums");
        assert_eq!(e.method, "difference", "{}: {:?}", t.label, e.fallback);
        let assisted = e.figures.precision.expect("audited auto-rejections exist");
        assert!(
            close(assisted.value, d.rejected_confirmed / d.rejected),
            "{}: {} vs {}",
            t.label,
            assisted.value,
            d.rejected_confirmed / d.rejected
        );
        assert!(assisted.high - assisted.low < precision.high - precision.low);
        assert_eq!(e.audit_only.precision, Some(precision));
        let p95 = kpi::nearest_rank(&d.sla_ms, 0.95).unwrap();
        let expected = kpi::bucket_upper_ms(kpi::duration_bucket(p95)) as f64 / 1000.0;
        assert_eq!(k.sla_p95_seconds, Some(expected), "{}", t.label);
        // Bucketed, but within 10% of the exact figure.
        assert!((expected * 1000.0 - p95 as f64).abs() <= 0.1 * p95 as f64 + 1000.0);
        let rates = dashboard::kpis::rates(&t.db).await.unwrap();
        let review_cost: f64 = d
            .handling_ms_by_market
            .iter()
            .map(|(m, ms)| ms / 3.6e6 * rates.hourly(m))
            .sum();
        assert!(
            close(k.cost.review, review_cost),
            "{}: {} vs {review_cost}",
            t.label,
            k.cost.review
        );
        // The same 28 days as a Tokyo viewer sees them: from Tokyo midnight to Tokyo
        // midnight, read from the hourly rollups, each day's count that of its local hours.
        let tokyo = amso_core::platform::time::zone_or_utc("Asia/Tokyo");
        let ft = dashboard::filter::resolve_in(&window_28d(), now, tokyo).unwrap();
        assert_eq!(ft.window.from_ms.rem_euclid(86_400_000), 15 * 3_600_000);
        assert_eq!(ft.window.zone, "Asia/Tokyo");
        let ot = dashboard::overview::overview(&t.db, &ft, now)
            .await
            .unwrap();
        let dt = direct(&t, ft.window.from_ms, ft.window.to_ms).await;
        assert_eq!(ot.totals.decided, dt.decided, "{}", t.label);
        assert_ne!(dt.decided, d.decided, "{}: nine hours apart", t.label);
        let per_day = |i: usize| -> f64 { ot.markets.iter().map(|m| m.daily_decided[i]).sum() };
        let days = ot.markets[0].daily_decided.len();
        assert_eq!(days, 28, "{}", t.label);
        assert_eq!(
            (0..days).map(per_day).sum::<f64>(),
            dt.decided,
            "{}",
            t.label
        );
        for i in [0, 13, 27] {
            let from = ft.window.from_ms + i as i64 * 86_400_000;
            let one = direct(&t, from, from + 86_400_000).await;
            assert_eq!(per_day(i), one.decided, "{}: Tokyo day {i}", t.label);
        }
        let sum_markets: f64 = o.markets.iter().map(|m| m.kpis.decided).sum();
        assert_eq!(sum_markets, k.decided);

        // 3. The KPIs API gives the same numbers as the page's server function.
        let app = app(&t);
        let q = format!("/api/v1/kpis?from={}&to={}", f.window.from, f.window.to);
        assert_eq!(
            send(&app, get(&q, None)).await.status,
            StatusCode::UNAUTHORIZED
        );
        let (_, ingest) = apikeys::create(&t.db, &Actor::Cli, "feed", KeyScope::Ingest)
            .await
            .unwrap();
        let (_, bi) = apikeys::create(&t.db, &Actor::Cli, "bi", KeyScope::Kpis)
            .await
            .unwrap();
        let with_key = |secret: &str| {
            axum::http::Request::get(&q)
                .header("authorization", format!("Bearer {secret}"))
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert_eq!(
            send(&app, with_key(&ingest)).await.status,
            StatusCode::FORBIDDEN
        );
        let api = send(&app, with_key(&bi)).await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.text());
        let j = api.json();
        assert_eq!(j["window"]["from"], f.window.from.as_str());
        assert_eq!(j["totals"]["decided"].as_f64(), Some(k.decided));
        assert_eq!(
            j["totals"]["precision"]["value"].as_f64(),
            Some(precision.value)
        );
        let est = &j["totals"]["estimates"];
        assert_eq!(est["method"], "difference");
        // Summed in the order the database returns rows: equal to rounding.
        assert!(close(
            est["precision"]["value"].as_f64().unwrap(),
            assisted.value
        ));
        assert_eq!(
            est["audit_only"]["precision"]["value"].as_f64(),
            Some(precision.value)
        );
        for field in [
            "recall",
            "false_positive_cost_usd",
            "false_negative_cost_usd",
            "cost_per_1k_ads",
        ] {
            let f = &est[field];
            let (v, lo, hi) = (
                f["value"].as_f64().unwrap(),
                f["low"].as_f64().unwrap(),
                f["high"].as_f64().unwrap(),
            );
            assert!(lo <= v && v <= hi, "{}: {field} {f}", t.label);
        }
        assert!(est["label_free"]["precision"].as_f64().is_some());
        assert!(est["tripwire"].is_boolean());
        assert!(j["totals"]["cost_usd"]["per_1k_ads"].as_f64().is_some());
        let us = j["markets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["market"] == "US")
            .unwrap();
        let us_row = o.markets.iter().find(|m| m.market == "US").unwrap();
        assert_eq!(us["decided"].as_f64(), Some(us_row.kpis.decided));
        assert!(close(
            us["override_rate"].as_f64().unwrap(),
            us_row.kpis.override_rate.unwrap()
        ));
        assert_eq!(j["drift"].as_array().unwrap().len(), 100);
        let r = send(&app, {
            let mut r = with_key(&bi);
            *r.uri_mut() = "/api/v1/kpis?from=yesterday".parse().unwrap();
            r
        })
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert_eq!(r.json()["kind"], "invalid");
        // Days in another zone on request: Tokyo's 28 days, as the overview counted them.
        let get_tz = |tz: &str| {
            let mut r = with_key(&bi);
            *r.uri_mut() = format!(
                "/api/v1/kpis?from={}&to={}&tz={tz}",
                ft.window.from, ft.window.to
            )
            .parse()
            .unwrap();
            r
        };
        let r = send(&app, get_tz("Asia/Tokyo")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["window"]["time_zone"], "Asia/Tokyo");
        assert_eq!(r.json()["totals"]["decided"].as_f64(), Some(dt.decided));
        let r = send(&app, get_tz("Mars/Olympus")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.json()["error"].as_str().unwrap().starts_with("tz:"));

        // The page's server function, as the executive, says the same; a reviewer gets 403.
        let exec = DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::Executive)
            .unwrap();
        let cookie = login(&app, exec.email, exec.password).await;
        let form = [
            ("sel[window]", "custom"),
            ("sel[from]", f.window.from.as_str()),
            ("sel[to]", f.window.to.as_str()),
            ("sel[market]", "US"),
            ("sel[category]", ""),
            ("sel[model]", ""),
        ];
        let page = send(&app, rpc("get_overview", &form, Some(&cookie))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let pj = page.json();
        let data = if pj.get("data").is_some() {
            &pj["data"]
        } else {
            &pj
        };
        assert_eq!(
            data["totals"]["decided"].as_f64(),
            Some(us_row.kpis.decided)
        );
        let session_api = send(&app, get(&format!("{q}&market=US"), Some(&cookie))).await;
        assert_eq!(
            session_api.json()["totals"]["decided"].as_f64(),
            Some(us_row.kpis.decided)
        );
        // Executives read; they do not change rates or thresholds.
        let r = send(
            &app,
            rpc(
                "apply_thresholds",
                &[
                    ("market", "US"),
                    ("category", "scam"),
                    ("approve_below", "0.3"),
                    ("reject_at", "0.85"),
                ],
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let rev = DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::Reviewer)
            .unwrap();
        let cookie = login(&app, rev.email, rev.password).await;
        for name in ["get_overview", "get_quality", "get_cost", "get_overrides"] {
            let r = send(&app, rpc(name, &form, Some(&cookie))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.text());
        }
        let r = send(&app, get(&q, Some(&cookie))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // 4. The other views read without error and carry data.
        let qv = dashboard::quality::quality(&t.db, &f).await.unwrap();
        assert!(
            qv.cells
                .iter()
                .any(|c| c.market == "ALL" && c.precision.is_some())
        );
        assert_eq!(qv.weeks.len(), 8);
        assert!(!qv.reliability.is_empty());
        let dv =
            dashboard::drift::drift_view(&t.db, &f, &dashboard::drift::reference_window(&f.window))
                .await
                .unwrap();
        assert_eq!(dv.cells.len(), 100);
        // Picking a slice keeps the whole grid and looks into that slice first.
        let us_scam = dashboard::filter::Filter {
            market: Some(Market::Us),
            category: Some(Category::Scam),
            ..f.clone()
        };
        let picked = dashboard::drift::drift_view(
            &t.db,
            &us_scam,
            &dashboard::drift::reference_window(&f.window),
        )
        .await
        .unwrap();
        assert_eq!(picked.cells, dv.cells);
        assert_eq!(picked.focus, Some(("US".to_string(), "scam".to_string())));
        assert_eq!(picked.language_js, dv.language_js);
        let us_scam_psi = dv
            .cells
            .iter()
            .find(|c| c.market == "US" && c.category == "scam")
            .and_then(|c| c.psi);
        if us_scam_psi.is_some() {
            assert_eq!(picked.daily_psi[0].0, "US scam");
        }
        assert!(picked.daily_psi.len() <= 5);
        let cv = dashboard::cost::cost_view(&t.db, &f).await.unwrap();
        assert!(close(cv.total.total, k.cost.total), "{}", t.label);
        let ov = dashboard::overrides::overrides_view(&t.db, &f.with_window(f.window.clone()))
            .await
            .unwrap();
        let heat: f64 = ov.cells.iter().map(|c| c.overridden).sum();
        assert_eq!(heat, k.overridden);
        let us_only = dashboard::filter::Filter {
            market: Some(Market::Us),
            ..f.clone()
        };
        let drill = dashboard::overrides::overrides_view(&t.db, &us_only)
            .await
            .unwrap()
            .drill;
        assert!(
            drill
                .iter()
                .all(|a| a.market == "US" && a.machine_action != a.verdict)
        );
        let sim = dashboard::simulator::simulate(&t.db, Market::Us, Category::Scam, 0.3, 0.9, now)
            .await
            .unwrap();
        assert!(
            sim.decided > 0.0 && sim.current.automation_rate.is_some(),
            "{sim:?}"
        );
        // Raising the reject threshold never rejects more.
        let stricter =
            dashboard::simulator::simulate(&t.db, Market::Us, Category::Scam, 0.3, 0.95, now)
                .await
                .unwrap();
        assert!(
            stricter.proposed.recall.unwrap_or(0.0) <= sim.proposed.recall.unwrap_or(0.0) + 1e-12
        );
        assert!(
            dashboard::simulator::simulate(&t.db, Market::Us, Category::Scam, 0.9, 0.3, now)
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn drift_alerts_are_raised_once_and_exported() {
    use amso_core::engine::commit::{self, Decided};
    use amso_core::engine::decide::{Action, Verdict};
    use amso_core::intake::ads;
    use amso_core::intake::validate::SubmittedAd;
    for t in backends().await {
        // A month of low gambling scores in GB, then a week of high ones.
        let now = now_millis();
        let day = 86_400_000;
        for (days_ago, score) in [(20, 0.05f32), (3, 0.7)] {
            let at = now - days_ago * day;
            let batch: Vec<_> = (0..150)
                .map(|i| {
                    SubmittedAd {
                        external_id: Some(format!("drift-{days_ago}-{i}")),
                        market: Some("GB".into()),
                        language: Some("en".into()),
                        headline: Some("Spin and win".into()),
                        body: Some("Play tonight".into()),
                        daily_budget_usd: Some(20.0),
                        ..Default::default()
                    }
                    .validate()
                    .unwrap()
                })
                .collect();
            let stored = ads::submit(&t.db, "test", &batch, at).await.unwrap();
            let mut scores = [0.01f32; 10];
            scores[Category::Gambling.index()] = score;
            let rows: Vec<Decided> = stored
                .iter()
                .map(|s| Decided {
                    ad_id: s.id,
                    market: Market::Gb,
                    scores,
                    verdict: Verdict {
                        action: Action::Approve,
                        reasons: vec![],
                        route: None,
                        audit_sample: false,
                        sampling_probability: 0.02,
                    },
                    latency_ms: 1.0,
                    submitted_at: at,
                    daily_budget_usd: 20.0,
                    language: Some("en".into()),
                })
                .collect();
            commit::record(&t.db, "w", "m1", 1, &rows, at)
                .await
                .unwrap();
        }
        assert_eq!(
            dashboard::drift_alerts::check_drift(&t.db, now)
                .await
                .unwrap(),
            1,
            "{}",
            t.label
        );
        assert_eq!(
            dashboard::drift_alerts::check_drift(&t.db, now)
                .await
                .unwrap(),
            0,
            "{}",
            t.label
        );
        let alerts = dashboard::drift_alerts::alerts(&t.db, 10).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (
                alerts[0].market.as_str(),
                alerts[0].category.as_str(),
                alerts[0].band.as_str()
            ),
            ("GB", "gambling", "drifted")
        );
        let metrics = send(&app(&t), get("/metrics", None)).await.text();
        assert!(
            metrics.contains("amso_drift_alerts_total{band=\"drifted\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("amso_drift_band{market=\"GB\",category=\"gambling\"} 2"));
    }
}

#[tokio::test]
async fn dashboards_hear_of_new_decisions_live() {
    use futures_util::StreamExt;
    use tower::ServiceExt;
    for t in backends().await {
        let app = app(&t);
        let exec = DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::Executive)
            .unwrap();
        let cookie = login(&app, exec.email, exec.password).await;
        let res = app
            .clone()
            .oneshot(get("/api/v1/stream", Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body().into_data_stream();
        // The stream takes its first look, then an ad is decided.
        let (event, _) = tokio::join!(
            tokio::time::timeout(std::time::Duration::from_secs(5), body.next()),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(600)).await;
                crate::review::decided(
                    &t,
                    "live",
                    1,
                    Market::Us,
                    amso_core::engine::decide::Action::Approve,
                    None,
                )
                .await
            }
        );
        let event = event
            .expect("an event within a second or so")
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&event);
        assert!(text.starts_with("event: kpis"), "{}: {text}", t.label);
    }
}

/// The tripwire: a wave the model does not know — in the last week humans find violations in
/// every audited auto-approval, where the model's scores were low — pulls the model-assisted
/// recall far below what the calibrated scores alone say. Each slice raises its alert once (a
/// second check, as a second server would run it, raises none) and the overview lists them.
#[tokio::test]
async fn the_tripwire_is_raised_once_when_scores_stop_matching_the_audits() {
    for t in backends().await {
        let end = now_millis();
        amso_core::demo::synthetic::write_history(&t.db, 12_000, 5, end, &mut |_| {})
            .await
            .unwrap();
        let fitted = dashboard::estimates::refit_all(&t.db, end, &Actor::System)
            .await
            .unwrap();
        assert!(fitted > 0, "{}", t.label);
        assert_eq!(
            dashboard::estimates::check_tripwires(&t.db, end)
                .await
                .unwrap(),
            0,
            "{}: a fresh fit agrees with the audits: {:?}",
            t.label,
            dashboard::estimates::tripwire_alerts(&t.db, 10)
                .await
                .unwrap()
        );
        let week_ago = end - 7 * 86_400_000;
        sqlx::query(
            "update reviews set verdict = 'reject', categories = '[\"scam\"]' where source = 'audit' \
             and ad_id in (select ad_id from decisions where action = 'approve' and decided_at >= $1)",
        )
        .bind(week_ago)
        .execute(t.db.pool())
        .await
        .unwrap();
        rollup::store::rebuild(&t.db).await.unwrap();
        let raised = dashboard::estimates::check_tripwires(&t.db, end)
            .await
            .unwrap();
        let alerts = dashboard::estimates::tripwire_alerts(&t.db, 50)
            .await
            .unwrap();
        assert!(raised > 0, "{}", t.label);
        assert_eq!(alerts.len(), raised, "{}", t.label);
        assert!(
            alerts.iter().any(|a| a.market == "ALL"
                && a.category == "*"
                && a.figure == "recall"
                && a.label_free > a.high),
            "{}: {alerts:?}",
            t.label
        );
        assert_eq!(
            dashboard::estimates::check_tripwires(&t.db, end)
                .await
                .unwrap(),
            0,
            "{}: raised once",
            t.label
        );
        let f = dashboard::filter::resolve(&window_28d(), end).unwrap();
        let o = dashboard::overview::overview(&t.db, &f, end).await.unwrap();
        assert_eq!(o.tripwires.len(), raised.min(10), "{}", t.label);
    }
}
