//! The review desk's scenario: many reviewers claiming and submitting against a large queue,
//! never two on one item.

use super::BenchArgs;
use super::fixtures::{bench_db, corpus, to_new};
use super::measure::latency_summary;
use crate::cli::common::CliError;
use amso_core::engine::commit;
use amso_core::intake::ads;
use amso_core::intake::validate::NewAd;
use amso_core::platform::time::now_millis;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// `review`: many reviewers claim-next and submit at once against a large queue, first
/// back to back (saturation), then paced one item per second each (still ~50× a real
/// team's pace); latencies of both calls, and a check that no item was handed out twice.
pub async fn review(args: &BenchArgs, url: Option<&str>, tmp: &Path) -> Result<Value, CliError> {
    use amso_core::engine::commit::Decided;
    use amso_core::engine::decide::{Action, Route, Verdict};
    use amso_core::review::{self, DeskSettings, Scope, verdicts::Submission};
    use amso_core::vocab::market::Market;
    use amso_core::vocab::policy::Category;
    use amso_core::vocab::queue::{HumanVerdict, Source};
    use amso_core::vocab::role::Role;

    let (db, shown) = bench_db(url, tmp, "review").await?;
    let prefix = format!("rv{}", now_millis());
    // The queue: restricted-category items spread over the ten markets.
    let started = Instant::now();
    let corpus = corpus(args.review_items.min(20_000));
    let mut queued = 0;
    let mut round = 0;
    while queued < args.review_items {
        let take = (args.review_items - queued).min(corpus.len());
        let new: Vec<NewAd> = corpus[..take]
            .iter()
            .map(|a| to_new(a, &format!("{prefix}-{round}")))
            .collect();
        for chunk in new.chunks(1000) {
            let now = now_millis();
            let stored = ads::submit(&db, "bench", chunk, now).await?;
            let mut scores = [0.02f32; 10];
            scores[Category::Alcohol.index()] = 0.7;
            let rows: Vec<Decided> = stored
                .iter()
                .zip(chunk)
                .map(|(s, a)| Decided {
                    ad_id: s.id,
                    market: a.market,
                    scores,
                    verdict: Verdict {
                        action: Action::Review,
                        reasons: vec![Category::Alcohol],
                        route: Some(Route::Restricted),
                        audit_sample: false,
                        sampling_probability: 1.0,
                    },
                    latency_ms: 1.0,
                    submitted_at: now,
                    daily_budget_usd: a.daily_budget_usd,
                    language: None,
                })
                .collect();
            commit::record(&db, "bench", "bench", 1, &rows, now).await?;
        }
        queued += take;
        round += 1;
    }
    let setup_secs = started.elapsed().as_secs_f64();

    // The team: the same number of reviewers in every market.
    let mut team = Vec::new();
    for i in 0..args.reviewers {
        let market = Market::ALL[i % Market::ALL.len()];
        let user = amso_core::access::users::create(
            &db,
            &amso_core::access::audit::Actor::Cli,
            amso_core::access::users::NewUser {
                email: format!("bench-{prefix}-{i}@example.com"),
                display_name: format!("Bench reviewer {i}"),
                role: Role::Reviewer,
                markets: vec![market],
                password: "bench-password-long-enough".into(),
                demo_credentials: false,
                time_zone: None,
                // Language matching on: one index lookup per language they read.
                languages: market
                    .languages()
                    .iter()
                    .map(|l| l.code().to_string())
                    .collect(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        team.push(Scope {
            user_id: user.id,
            email: user.email,
            role: Role::Reviewer,
            markets: vec![market],
        });
    }

    let settings = DeskSettings::default();
    let mut phases = serde_json::Map::new();
    // The server's folder runs beside the reviewers, as it would in `amso serve`.
    let folder = tokio::spawn(crate::jobs::rollup_fold::run_every(db.clone(), 200));
    let mut claimed_all: Vec<i64> = Vec::new();
    for (phase, pause) in [
        ("back_to_back", Duration::ZERO),
        ("paced_1s", Duration::from_secs(1)),
    ] {
        let mut handles = Vec::new();
        let wall = Instant::now();
        for scope in team.clone() {
            let db = db.clone();
            let per = args.per_reviewer;
            handles.push(tokio::spawn(async move {
                let mut claims = Vec::with_capacity(per);
                let mut submits = Vec::with_capacity(per);
                let mut ids = Vec::with_capacity(per);
                for _ in 0..per {
                    let t = Instant::now();
                    let id = review::queues::claim_next(
                        &db,
                        &scope,
                        Source::Restricted,
                        &settings,
                        None,
                        now_millis(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    claims.push(t.elapsed().as_secs_f64() * 1000.0);
                    let Some(id) = id else { break };
                    ids.push(id);
                    let t = Instant::now();
                    review::verdicts::submit(
                        &db,
                        &scope,
                        id,
                        &Submission {
                            verdict: HumanVerdict::Approve,
                            categories: vec![],
                            reason_code: Some("licensed_advertiser".into()),
                            reason_text: None,
                        },
                        &settings,
                        false,
                        1.0,
                        now_millis(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    submits.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                Ok::<_, String>((claims, submits, ids))
            }));
        }
        let mut claims = Vec::new();
        let mut submits = Vec::new();
        for h in handles {
            let (c, s, ids) = h.await.map_err(|e| e.to_string())??;
            claims.extend(c);
            submits.extend(s);
            claimed_all.extend(ids);
        }
        let secs = wall.elapsed().as_secs_f64();
        phases.insert(
            phase.into(),
            json!({
                "items_reviewed": submits.len(),
                "reviews_per_second": submits.len() as f64 / secs,
                "claim_next": latency_summary(claims),
                "submit": latency_summary(submits),
            }),
        );
    }
    folder.abort();
    amso_core::rollup::store::fold(&db).await?;
    let distinct: std::collections::HashSet<i64> = claimed_all.iter().copied().collect();
    let double = review::verdicts::tasks_reviewed_twice(&db).await?;
    db.close().await;
    Ok(json!({
        "database": shown,
        "queued_items": queued,
        "setup_seconds": setup_secs,
        "reviewers": args.reviewers,
        "phases": phases,
        "items_claimed_twice": claimed_all.len() - distinct.len() + double as usize,
    }))
}
