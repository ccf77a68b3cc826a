//! The dashboards' and the report's scenarios: a synthetic history of N decisions
//! (`amso_core::demo::synthetic`), then every dashboard query, the live update and the weekly
//! report in every format, timed.

use super::measure::latency_summary;
use crate::cli::common::CliError;
use crate::http::build_router;
use crate::http::kpis::overview_json;
use amso_core::dashboard;
use amso_core::dashboard::view::Selection;
use amso_core::demo::synthetic;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use std::time::Instant;

/// Writes `n` decisions of synthetic history ending now, showing progress; returns the
/// seconds taken.
pub async fn write_history(db: &Db, n: usize, seed: u64) -> Result<f64, CliError> {
    let started = Instant::now();
    let seconds = synthetic::write_history(db, n, seed, now_millis(), &mut |written| {
        eprint!(
            "\r  {written} of {n} decisions written ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    })
    .await?;
    eprintln!();
    Ok(seconds)
}

/// Times each dashboard query `rounds` times over the data in `db`.
pub async fn time_queries(db: &Db, rounds: usize) -> Result<Value, CliError> {
    let now = now_millis();
    let sel = |window: &str, market: &str| Selection {
        window: window.into(),
        market: market.into(),
        ..Selection::default()
    };
    let all7 = dashboard::filter::resolve(&sel("7d", ""), now)?;
    let all28 = dashboard::filter::resolve(&sel("28d", ""), now)?;
    let us28 = dashboard::filter::resolve(&sel("28d", "US"), now)?;
    let mut out = serde_json::Map::new();
    macro_rules! timed {
        ($name:expr, $call:expr) => {{
            let mut ms = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let t = Instant::now();
                $call;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            out.insert($name.into(), latency_summary(ms));
        }};
    }
    timed!(
        "overview_7d",
        dashboard::overview::overview(db, &all7, now).await?
    );
    timed!(
        "overview_28d",
        dashboard::overview::overview(db, &all28, now).await?
    );
    timed!(
        "overview_28d_us",
        dashboard::overview::overview(db, &us28, now).await?
    );
    timed!(
        "kpis_api_json_28d",
        overview_json(&dashboard::overview::overview(db, &all28, now).await?)
    );
    timed!(
        "quality_28d",
        dashboard::quality::quality(db, &all28).await?
    );
    timed!(
        "drift_cells_7d",
        dashboard::drift::drift_cells(db, &all7, &dashboard::drift::reference_window(&all7.window))
            .await?
    );
    timed!(
        "drift_page_7d",
        dashboard::drift::drift_view(db, &all7, &dashboard::drift::reference_window(&all7.window))
            .await?
    );
    timed!("cost_28d", dashboard::cost::cost_view(db, &all28).await?);
    timed!(
        "overrides_28d",
        dashboard::overrides::overrides_view(db, &all28).await?
    );
    timed!(
        "overrides_28d_us_drilldown",
        dashboard::overrides::overrides_view(db, &us28).await?
    );
    timed!(
        "simulator",
        dashboard::simulator::simulate(db, Market::Us, Category::Scam, 0.25, 0.85, now).await?
    );
    timed!(
        "drift_check",
        dashboard::drift_alerts::check_drift(db, now).await?
    );
    Ok(Value::Object(out))
}

/// Time from a decision's commit to the `kpis` event on an open `/api/v1/stream`, through
/// the real router, `rounds` times.
pub async fn live_latency(
    db: &Db,
    config: &amso_core::platform::config::Config,
    rounds: usize,
) -> Result<Value, CliError> {
    use axum::body::Body;
    use axum::http::{Request, header};
    use futures_util::StreamExt;
    use tower::ServiceExt;
    let password = "bench-live-password";
    let email = format!("bench-exec-{}@example.com", now_millis());
    amso_core::access::users::create(
        db,
        &amso_core::access::audit::Actor::System,
        amso_core::access::users::NewUser {
            email: email.clone(),
            display_name: "Bench executive".into(),
            role: amso_core::vocab::role::Role::Executive,
            markets: vec![],
            password: password.into(),
            demo_credentials: false,
            time_zone: None,
            languages: Vec::new(),
        },
    )
    .await?;
    let state = amso_app::ssr::AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("amso")
            .build(),
        db: db.clone(),
        config: std::sync::Arc::new(config.clone()),
        scorer: None,
    };
    let app = build_router(state).router;
    let login = Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!(
            "email={}&password={password}",
            email.replace('@', "%40")
        )))?;
    let res = app.clone().oneshot(login).await?;
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("amso_session="))
        .and_then(|v| v.split(';').next())
        .ok_or("bench login failed")?
        .to_string();
    let req = Request::get("/api/v1/stream")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())?;
    let mut body = app.oneshot(req).await?.into_body().into_data_stream();
    let mut ms = Vec::with_capacity(rounds);
    let mut rng = StdRng::seed_from_u64(9);
    // Above every id of the history and of earlier runs on the same database.
    let first_id = synthetic::max_ad_id(db).await?.max(50_000_000) + 1;
    for i in 0..rounds {
        // Let the stream settle on the current state, then commit one decision.
        let settle = tokio::time::timeout(std::time::Duration::from_millis(400), body.next()).await;
        drop(settle);
        synthetic::write_live_decision(db, &mut rng, first_id + i as i64, now_millis()).await?;
        let committed = Instant::now();
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
                .await
                .map_err(|_| "no live event within 5 s")?
                .ok_or("the stream ended")??;
            if String::from_utf8_lossy(&next).starts_with("event: kpis") {
                break;
            }
        }
        ms.push(committed.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latency_summary(ms))
}

/// The weekly report of the last complete week (UTC, every market): the time to read its
/// figures from the rollups, and to render each format from them, over `rounds` rounds.
/// A format's full time is reading plus rendering, as `amso report` and the API do it.
pub async fn time_report(db: &Db, rounds: usize) -> Result<Value, CliError> {
    use amso_core::report::{self, Format, build::Request, week::IsoWeek};
    let now = now_millis();
    let req = Request {
        week: IsoWeek::last_complete(now, report::UTC),
        tz: report::UTC,
        markets: Vec::new(),
    };
    let mut build_ms = Vec::with_capacity(rounds);
    let mut render_ms: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut full_ms: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut bytes = [0usize; 3];
    let mut decided = 0.0;
    for _ in 0..rounds {
        let t = Instant::now();
        let built = std::sync::Arc::new(report::build::build(db, &req, now).await?);
        let read = t.elapsed().as_secs_f64() * 1000.0;
        build_ms.push(read);
        decided = built.totals.decided;
        for (i, format) in Format::ALL.into_iter().enumerate() {
            let t = Instant::now();
            let file = report::build::render_async(built.clone(), format).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            render_ms[i].push(ms);
            full_ms[i].push(read + ms);
            bytes[i] = file.len();
        }
    }
    let mut formats = serde_json::Map::new();
    for (i, format) in Format::ALL.into_iter().enumerate() {
        formats.insert(
            format.as_str().into(),
            json!({
                "render": latency_summary(render_ms[i].clone()),
                "read_and_render": latency_summary(full_ms[i].clone()),
                "bytes": bytes[i],
            }),
        );
    }
    Ok(json!({
        "week": req.week.to_string(),
        "decided_in_week": decided,
        "read_figures": latency_summary(build_ms),
        "formats": formats,
    }))
}
