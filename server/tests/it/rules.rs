//! Rules through the real database, the shipped model and ONNX Runtime, on SQLite and
//! PostgreSQL: background rules change nothing, a live rule decides in the decision's
//! transaction and records its version, going live takes a second person, every instance
//! picks up a change, backtests equal a recomputation from raw rows, and the HTTP surface
//! refuses bad rules by field and saves nothing.

use crate::common::*;
use amso_core::access::audit::Actor;
use amso_core::engine::worker::{Scorer, WorkerConfig, process_batch};
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::db::Flag;
use amso_core::platform::time::now_millis;
use amso_core::rules::live::LiveRules;
use amso_core::rules::store::{self, RuleError, State, Step};
use amso_core::rules::{backtest, spec};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn scorer() -> Scorer {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
    Scorer::start(&model, 16).expect("the shipped model loads")
}

fn worker() -> WorkerConfig {
    WorkerConfig {
        worker_id: "rules".into(),
        batch_size: 64,
        lease: Duration::from_secs(60),
        idle: Duration::from_millis(10),
        audit_rate_approve: 0.0,
        audit_rate_reject: 0.0,
        learning_share: 0.0,
    }
}

const WAVE: &str = r#"{"name": "ID investasi wave", "description": "crypto investment scam",
  "conditions": {"all": [{"market": ["ID", "SG"]}, {"terms": ["investasi", "profit harian"]}]},
  "action": {"reject": ["scam"]}}"#;

fn ops() -> Actor {
    Actor::User("ops@amso.test".into())
}

fn admin() -> Actor {
    Actor::User("admin@amso.test".into())
}

/// Queues ads and decides them; returns their ids in order.
async fn decide(t: &TestDb, live: &mut LiveRules, ads_in: &[(&str, &str, &str)]) -> Vec<i64> {
    let batch: Vec<_> = ads_in
        .iter()
        .map(|(id, market, headline)| {
            SubmittedAd {
                external_id: Some((*id).into()),
                market: Some((*market).into()),
                headline: Some((*headline).into()),
                body: Some("Daftar sekarang.".into()),
                daily_budget_usd: Some(30.0),
                advertiser_id: Some("adv-1".into()),
                ..Default::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    let stored = ads::submit(&t.db, "test", &batch, now_millis())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let scorer = scorer();
    let mut n = 0;
    while n < batch.len() {
        let got = process_batch(
            &t.db,
            &amso_core::engine::serving::Models::new(scorer.clone()),
            &worker(),
            &mut rng,
            live,
        )
        .await
        .unwrap();
        assert!(got > 0, "{}: nothing decided", t.label);
        n += got;
    }
    stored.iter().map(|s| s.id).collect()
}

async fn hits(t: &TestDb, ad: i64) -> Vec<(i64, i64, String, String)> {
    sqlx::query_as(
        "select rule_id, version, mode, action from rule_hits where ad_id = $1 order by rule_id",
    )
    .bind(ad)
    .fetch_all(t.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn background_rules_record_and_live_rules_decide_in_the_same_transaction() {
    for t in backends().await {
        let spec = spec::parse(WAVE).unwrap();
        let id = store::create(&t.db, &spec, &ops(), now_millis())
            .await
            .unwrap();
        // A draft is evaluated nowhere.
        let mut live = LiveRules::default();
        let ads = decide(
            &t,
            &mut live,
            &[("d1", "ID", "Investasi emas digital, profit harian 5%")],
        )
        .await;
        assert!(hits(&t, ads[0]).await.is_empty(), "{}", t.label);

        // Background: recorded, no effect on the decision.
        store::step(&t.db, id, Step::Background, &ops(), now_millis())
            .await
            .unwrap();
        let mut live = LiveRules::default();
        let ads = decide(
            &t,
            &mut live,
            &[
                ("b1", "ID", "Investasi emas digital, profit harian 5%"),
                ("b2", "US", "Investasi emas digital, profit harian 5%"),
            ],
        )
        .await;
        let before = ads::find(&t.db, ads[0]).await.unwrap().unwrap();
        assert_eq!(
            hits(&t, ads[0]).await,
            vec![(id, 1, "background".into(), "reject".into())],
            "{}",
            t.label
        );
        assert!(
            hits(&t, ads[1]).await.is_empty(),
            "{}: US is not in the rule's markets",
            t.label
        );

        // Going live takes a second person.
        store::step(&t.db, id, Step::RequestLive, &ops(), now_millis())
            .await
            .unwrap();
        let same = store::step(&t.db, id, Step::Approve, &ops(), now_millis()).await;
        assert!(
            matches!(same, Err(RuleError::SecondPerson(_))),
            "{}: {same:?}",
            t.label
        );
        // While it waits it still runs in background only.
        let mut live = LiveRules::default();
        let waiting = decide(
            &t,
            &mut live,
            &[("p1", "SG", "Investasi kripto, profit harian")],
        )
        .await;
        assert_eq!(hits(&t, waiting[0]).await[0].2, "background", "{}", t.label);
        assert_eq!(
            store::step(&t.db, id, Step::Approve, &admin(), now_millis())
                .await
                .unwrap(),
            State::Live
        );

        // Live: a matching ad is rejected for scam, in the same transaction as its hit.
        let mut live = LiveRules::default();
        let ads = decide(
            &t,
            &mut live,
            &[
                ("l1", "ID", "Investasi emas digital, profit harian 5%"),
                ("l2", "ID", "Sepatu lari diskon"),
            ],
        )
        .await;
        let rejected = ads::find(&t.db, ads[0]).await.unwrap().unwrap();
        assert_eq!(
            rejected.status, "auto_rejected",
            "{}: {:?} (background it was {})",
            t.label, rejected.decision, before.status
        );
        assert!(
            rejected
                .decision
                .unwrap()
                .reasons
                .contains(&"scam".to_string())
        );
        assert_eq!(
            hits(&t, ads[0]).await,
            vec![(id, 1, "live".into(), "reject".into())]
        );
        assert!(hits(&t, ads[1]).await.is_empty());
        let shown = store::hits_for_ad(&t.db, ads[0]).await.unwrap();
        assert_eq!(
            (shown[0].name.as_str(), shown[0].detail.as_str()),
            ("ID investasi wave", "scam")
        );

        // Every step was audited.
        let (steps,): (i64,) = sqlx::query_as(
            "select count(*) from audit_log where object = $1 and action like 'rule.%'",
        )
        .bind(format!("rule:{id}"))
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(
            steps, 4,
            "{}: create, background, request, approve",
            t.label
        );

        // An edit is a new version and takes the rule off until it is approved again.
        let v2 = store::edit(&t.db, id, &spec, &ops(), now_millis())
            .await
            .unwrap();
        assert_eq!(v2, 2);
        let mut live = LiveRules::default();
        let ads = decide(
            &t,
            &mut live,
            &[("e1", "ID", "Investasi emas digital, profit harian 5%")],
        )
        .await;
        assert!(hits(&t, ads[0]).await.is_empty(), "{}", t.label);
    }
}

#[tokio::test]
async fn every_instance_picks_up_a_rule_change() {
    for t in backends().await {
        let (mut a, mut b) = (LiveRules::default(), LiveRules::default());
        assert!(a.current(&t.db, now_millis()).await.unwrap().is_empty());
        assert!(b.current(&t.db, now_millis()).await.unwrap().is_empty());
        let id = store::create(&t.db, &spec::parse(WAVE).unwrap(), &ops(), now_millis())
            .await
            .unwrap();
        store::step(&t.db, id, Step::Background, &ops(), now_millis())
            .await
            .unwrap();
        tokio::time::sleep(amso_core::rules::live::CHECK_EVERY + Duration::from_millis(100)).await;
        for cache in [&mut a, &mut b] {
            let set = cache.current(&t.db, now_millis()).await.unwrap();
            assert_eq!(set.rules.len(), 1, "{}", t.label);
            assert_eq!(set.rules[0].id, id);
        }
        store::step(&t.db, id, Step::Archive, &ops(), now_millis())
            .await
            .unwrap();
        tokio::time::sleep(amso_core::rules::live::CHECK_EVERY + Duration::from_millis(100)).await;
        assert!(
            a.current(&t.db, now_millis()).await.unwrap().is_empty(),
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn a_backtest_equals_a_recomputation_from_raw_rows() {
    for t in backends().await {
        // Ads decided by the model with no rules; then some are given human verdicts as audit
        // samples (weight 1/0.02) or as routed reviews (weight 1).
        let mut live = LiveRules::default();
        let texts = [
            ("k1", "ID", "Investasi emas digital, profit harian 5%"),
            ("k2", "ID", "Investasi kripto aman"),
            ("k3", "SG", "Profit harian dijamin, investasi sekarang"),
            ("k4", "ID", "Sepatu lari diskon 30%"),
            ("k5", "US", "Investasi emas digital, profit harian 5%"),
            ("k6", "ID", "Pr0fit harian tanpa risiko"),
        ];
        let ids = decide(&t, &mut live, &texts).await;
        let label = |ad: i64, status: &'static str, audit: bool, p: f64| {
            let db = t.db.clone();
            async move {
                sqlx::query("update ads set status = $1 where id = $2")
                    .bind(status)
                    .bind(ad)
                    .execute(db.pool())
                    .await
                    .unwrap();
                // Labelled without an audit: the model routed it to a review.
                let action = if audit { None } else { Some("review") };
                sqlx::query("update decisions set audit_sample = $1, sampling_probability = $2, action = coalesce($3, action) where ad_id = $4")
                    .bind(audit)
                    .bind(p)
                    .bind(action)
                    .bind(ad)
                    .execute(db.pool())
                    .await
                    .unwrap();
            }
        };
        label(ids[0], "rejected", true, 0.02).await;
        label(ids[1], "approved", true, 0.02).await;
        label(ids[2], "rejected", false, 1.0).await;
        label(ids[3], "approved", true, 0.02).await; // not a hit
        label(ids[4], "rejected", true, 0.02).await; // US: not a hit

        let spec = spec::parse(WAVE).unwrap();
        let id = store::create(&t.db, &spec, &ops(), now_millis())
            .await
            .unwrap();
        let result = backtest::run(
            &t.db,
            backtest::Tested {
                rule_id: id,
                version: 1,
                spec: &spec,
            },
            7,
            now_millis() + 1,
            &|_| {},
            &AtomicBool::new(false),
        )
        .await
        .unwrap();
        assert_eq!(result.ads_scanned, 6, "{}", t.label);
        // Hits: k1, k2, k3, k6 (leet), not k4 (no term) or k5 (US).
        assert_eq!(result.hits, 4, "{}: {result:?}", t.label);
        assert_eq!(result.by_market.get("ID"), Some(&3));
        assert_eq!(result.by_market.get("SG"), Some(&1));

        // The same from raw rows, by hand.
        let rows: Vec<(String, String, Flag, f64, String)> = sqlx::query_as(
            "select a.external_id, a.status, d.audit_sample, d.sampling_probability, d.action from ads a join decisions d on d.ad_id = a.id",
        )
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        let (mut w, mut w2, mut wy) = (0.0, 0.0, 0.0);
        let mut labelled = 0;
        for (ext, status, audit, p, action) in &rows {
            if !["k1", "k2", "k3", "k6"].contains(&ext.as_str()) {
                continue;
            }
            let sampled = audit.0 || action == "review";
            let verdict = match status.as_str() {
                "rejected" => Some(true),
                "approved" => Some(false),
                _ => None,
            };
            if let (true, Some(y)) = (sampled, verdict) {
                labelled += 1;
                let weight = 1.0 / p;
                w += weight;
                w2 += weight * weight;
                if y {
                    wy += weight;
                }
            }
        }
        assert_eq!(result.labelled, labelled, "{}", t.label);
        let p = result.precision.unwrap();
        assert!(
            (p.value - wy / w).abs() < 1e-9,
            "{}: {p:?} vs {}",
            t.label,
            wy / w
        );
        assert!((p.n - w * w / w2).abs() < 1e-9);
        assert!(p.low <= p.value && p.value <= p.high);
        // New catches: hits the model approved (k2 after labelling stays an approval).
        let approved_hits = rows
            .iter()
            .filter(|r| ["k1", "k2", "k3", "k6"].contains(&r.0.as_str()) && r.4 == "approve")
            .count() as u64;
        assert_eq!(result.new_catches, approved_hits, "{}", t.label);
        let rejected_hits = rows
            .iter()
            .filter(|r| ["k1", "k2", "k3", "k6"].contains(&r.0.as_str()) && r.4 == "reject")
            .count() as u64;
        assert_eq!(
            result.overlap_model_rejections, rejected_hits,
            "{}",
            t.label
        );

        // A window beyond what is kept is refused by field.
        let too_long = backtest::run(
            &t.db,
            backtest::Tested {
                rule_id: id,
                version: 1,
                spec: &spec,
            },
            backtest::MAX_DAYS + 1,
            now_millis(),
            &|_| {},
            &AtomicBool::new(false),
        )
        .await;
        assert!(
            matches!(too_long, Err(backtest::BacktestError::Invalid(ref e)) if e.field == "days"),
            "{too_long:?}"
        );
    }
}

fn json_req(method: &str, path: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_api_refuses_bad_rules_by_field_and_saves_nothing() {
    for t in backends().await {
        let app = app(&t);
        let ops = login(&app, "ops@amso.test", "ops-demo-pass").await;
        let admin = login(&app, "admin@amso.test", "admin-demo-pass").await;
        for (body, field) in [
            (
                r#"{"name": "r", "conditions": {"all": [{"market": ["ID"]}, {"terms": []}]}, "action": {"reject": ["scam"]}}"#,
                "conditions.all[1].terms",
            ),
            (
                r#"{"name": "r", "conditions": {"market": ["XX"]}, "action": {"reject": ["scam"]}}"#,
                "conditions.market[0]",
            ),
            (
                r#"{"name": "r", "conditions": {"score": {"category": "spam", "min": 0.4}}, "action": {"flag": "x"}}"#,
                "conditions.score.category",
            ),
            (
                r#"{"name": "r", "conditions": {"regex": "(open"}, "action": {"flag": "x"}}"#,
                "conditions.regex",
            ),
            (
                r#"{"name": "r", "conditions": {"regex": "\\w{1000}\\w{1000}\\w{1000}"}, "action": {"flag": "x"}}"#,
                "conditions.regex",
            ),
            (r#"{"name": "r", "conditions": "#, "rule"),
        ] {
            let r = send(&app, json_req("POST", "/api/v1/rules", &ops, body)).await;
            assert!(
                r.status.is_client_error(),
                "{}: {body} got {}",
                t.label,
                r.status
            );
            let error = r.json()["error"].as_str().unwrap_or_default().to_string();
            assert!(error.starts_with(field), "{}: {body}: {error}", t.label);
        }
        let (n,): (i64,) = sqlx::query_as("select count(*) from rules")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{}: nothing half-saved", t.label);

        let r = send(&app, json_req("POST", "/api/v1/rules", &ops, WAVE)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}: {}", t.label, r.text());
        let id = r.json()["id"].as_i64().unwrap();
        let r = send(
            &app,
            json_req(
                "POST",
                &format!("/api/v1/rules/{id}/request-live"),
                &ops,
                "",
            ),
        )
        .await;
        assert_eq!(r.json()["state"], "pending_live", "{}", t.label);
        let r = send(
            &app,
            json_req("POST", &format!("/api/v1/rules/{id}/approve"), &ops, ""),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "{}: the asker cannot approve",
            t.label
        );
        let r = send(
            &app,
            json_req("POST", &format!("/api/v1/rules/{id}/approve"), &admin, ""),
        )
        .await;
        assert_eq!(r.json()["state"], "live", "{}: {}", t.label, r.text());
        let r = send(
            &app,
            json_req(
                "POST",
                &format!("/api/v1/rules/{id}/backtest?days=28"),
                &ops,
                "",
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["hits"], 0);
        let r = send(&app, get(&format!("/api/v1/rules/{id}"), Some(&ops))).await;
        assert_eq!(r.json()["state"], "live");
        assert_eq!(r.json()["approved_by"], "admin@amso.test");
        assert_eq!(
            r.json()["backtest"]["hits"],
            0,
            "{}: the backtest is kept with the version",
            t.label
        );
        let r = send(&app, get("/api/v1/rules", Some(&ops))).await;
        assert_eq!(r.json()["rules"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn retroaction_reopens_each_match_once_and_only_for_a_live_rule() {
    for t in backends().await {
        let now = now_millis();
        let wave: Vec<String> = (0..6)
            .map(|i| format!("Investasi kripto, profit harian {i}%"))
            .collect();
        let other: Vec<String> = (0..4).map(|i| format!("Sepatu lari diskon {i}")).collect();
        crate::radar::decided_at(
            &t,
            "w",
            amso_core::vocab::market::Market::Id,
            &wave,
            now - 2 * 86_400_000,
        )
        .await;
        crate::radar::decided_at(
            &t,
            "o",
            amso_core::vocab::market::Market::Id,
            &other,
            now - 2 * 86_400_000,
        )
        .await;
        let id = store::create(&t.db, &spec::parse(WAVE).unwrap(), &ops(), now)
            .await
            .unwrap();
        let r = amso_core::rules::retro::run(&t.db, id, 7, true, &ops(), now).await;
        assert!(
            matches!(r, Err(amso_core::rules::retro::RetroError::NotLive(_))),
            "{}: {r:?}",
            t.label
        );
        store::step(&t.db, id, Step::RequestLive, &ops(), now)
            .await
            .unwrap();
        store::step(&t.db, id, Step::Approve, &admin(), now)
            .await
            .unwrap();

        let count = amso_core::rules::retro::run(&t.db, id, 7, true, &ops(), now)
            .await
            .unwrap();
        assert_eq!((count.matched, count.reopened), (6, 0), "{}", t.label);
        let in_review = |db: amso_core::platform::db::Db| async move {
            let (n,): (i64,) =
                sqlx::query_as("select count(*) from ads where status = 'in_review'")
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
            n
        };
        assert_eq!(
            in_review(t.db.clone()).await,
            0,
            "{}: a dry run changes nothing",
            t.label
        );

        let done = amso_core::rules::retro::run(&t.db, id, 7, false, &ops(), now)
            .await
            .unwrap();
        assert_eq!(
            (done.matched, done.reopened, done.queue.as_str()),
            (6, 6, "uncertain"),
            "{}",
            t.label
        );
        assert_eq!(in_review(t.db.clone()).await, 6);
        let (tasks,): (i64,) = sqlx::query_as(
            "select count(*) from review_tasks where state = 'open' and source = 'uncertain' and note like 'Reopened by rule%'",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(tasks, 6, "{}", t.label);
        let (retro_hits,): (i64,) =
            sqlx::query_as("select count(*) from rule_hits where rule_id = $1 and mode = 'retro'")
                .bind(id)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(retro_hits, 6);

        // Twice: nothing reopened twice.
        let again = amso_core::rules::retro::run(&t.db, id, 7, false, &ops(), now)
            .await
            .unwrap();
        assert_eq!(again.reopened, 0, "{}", t.label);
        let (tasks_after,): (i64,) = sqlx::query_as("select count(*) from review_tasks")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(tasks_after, 6, "{}", t.label);
        let (audited,): (i64,) =
            sqlx::query_as("select count(*) from audit_log where action = 'rule.retro'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(
            audited, 2,
            "{}: each run that changed or could change anything is audited",
            t.label
        );
    }
}

#[tokio::test]
async fn a_retroactive_rejection_takes_a_second_person_and_rejects_each_match_once() {
    use amso_core::rules::retro::{self, RetroError};
    for t in backends().await {
        let now = now_millis();
        let wave: Vec<String> = (0..5)
            .map(|i| format!("Investasi kripto, profit harian {i}%"))
            .collect();
        let other: Vec<String> = (0..3).map(|i| format!("Sepatu lari diskon {i}")).collect();
        for (prefix, texts) in [("w", &wave), ("o", &other)] {
            crate::radar::decided_at(
                &t,
                prefix,
                amso_core::vocab::market::Market::Id,
                texts,
                now - 86_400_000,
            )
            .await;
        }
        let id = store::create(&t.db, &spec::parse(WAVE).unwrap(), &ops(), now)
            .await
            .unwrap();
        store::step(&t.db, id, Step::RequestLive, &ops(), now)
            .await
            .unwrap();
        store::step(&t.db, id, Step::Approve, &admin(), now)
            .await
            .unwrap();
        let status_count = |status: &'static str| {
            let db = t.db.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as("select count(*) from ads where status = $1")
                    .bind(status)
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
                n
            }
        };

        let asked = retro::request_reject(&t.db, id, 7, &ops(), now)
            .await
            .unwrap();
        assert_eq!(
            (
                asked.matched,
                asked.state.as_str(),
                asked.categories.clone()
            ),
            (5, "pending", vec!["scam".to_string()]),
            "{}",
            t.label
        );
        assert_eq!(
            status_count("rejected").await,
            0,
            "{}: asking changes nothing",
            t.label
        );
        let own = retro::decide(&t.db, asked.id, true, &ops(), now).await;
        assert!(
            matches!(own, Err(RetroError::SecondPerson(_))),
            "{}: the asker cannot approve: {own:?}",
            t.label
        );
        let done = retro::decide(&t.db, asked.id, true, &admin(), now)
            .await
            .unwrap();
        assert_eq!(
            (
                done.state.as_str(),
                done.rejected,
                done.decided_by.as_deref()
            ),
            ("done", Some(5), Some("admin@amso.test")),
            "{}",
            t.label
        );
        assert_eq!(status_count("rejected").await, 5, "{}", t.label);
        assert_eq!(status_count("auto_approved").await, 3, "{}", t.label);
        let (hits,): (i64,) = sqlx::query_as(
            "select count(*) from rule_hits where rule_id = $1 and mode = 'retro' and action = 'reject'",
        )
        .bind(id)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(hits, 5, "{}", t.label);
        let again = retro::decide(&t.db, asked.id, true, &admin(), now).await;
        assert!(matches!(again, Err(RetroError::Decided(_))), "{}", t.label);
        let twice = retro::request_reject(&t.db, id, 7, &ops(), now).await;
        assert!(
            matches!(twice, Err(RetroError::Nothing)),
            "{}: nothing is swept up twice: {twice:?}",
            t.label
        );
        let reopen = retro::run(&t.db, id, 7, true, &ops(), now).await.unwrap();
        assert_eq!(
            (reopen.matched, reopen.already),
            (0, 0),
            "{}: rejected ads are no longer auto-approved",
            t.label
        );

        // A review rule cannot reject retroactively; a refused request changes nothing.
        let review = spec::parse(
            r#"{"name": "shoes", "conditions": {"terms": ["sepatu"]}, "action": {"review": {"queue": "uncertain"}}}"#,
        )
        .unwrap();
        let rid = store::create(&t.db, &review, &ops(), now).await.unwrap();
        store::step(&t.db, rid, Step::RequestLive, &ops(), now)
            .await
            .unwrap();
        store::step(&t.db, rid, Step::Approve, &admin(), now)
            .await
            .unwrap();
        let r = retro::request_reject(&t.db, rid, 7, &ops(), now).await;
        assert!(
            matches!(r, Err(RetroError::NotReject)),
            "{}: {r:?}",
            t.label
        );
        let (audited,): (i64,) = sqlx::query_as(
            "select count(*) from audit_log where action in ('rule.retro_reject_request', 'rule.retro_reject_approve')",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 2, "{}", t.label);
        let requests = retro::requests(&t.db, id).await.unwrap();
        assert_eq!(requests.len(), 1, "{}", t.label);
    }
}

#[tokio::test]
async fn a_term_list_of_100000_lines_saves_from_the_editor_and_a_bad_line_is_named() {
    for t in backends().await {
        let app = app(&t);
        let ops = login(&app, "ops@amso.test", "ops-demo-pass").await;
        let terms: Vec<String> = (0..100_000).map(|i| format!("brandterm{i:06}")).collect();
        let mut bad = terms.clone();
        bad[70_000] = "!!!".into();
        let save = |terms: String| {
            rpc(
                "save_rule",
                &[
                    ("id", "0"),
                    ("form[name]", "counterfeit brands"),
                    ("form[markets]", "US"),
                    ("form[terms]", &terms),
                    ("form[action]", "flag"),
                    ("form[flag_label]", "brand"),
                ],
                Some(&ops),
            )
        };
        let r = send(&app, save(bad.join("\n"))).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {}",
            t.label,
            r.text()
        );
        assert!(
            r.text().contains("Terms, line 70001"),
            "{}: the bad line is named: {}",
            t.label,
            r.text()
        );
        let (rules,): (i64,) = sqlx::query_as("select count(*) from rules")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(rules, 0, "{}: nothing saved", t.label);

        let r = send(&app, save(terms.join("\n"))).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: {}",
            t.label,
            &r.text()[..200.min(r.text().len())]
        );
        let id: i64 = r.json().as_i64().unwrap();
        let rule = store::get(&t.db, id, now_millis()).await.unwrap().unwrap();
        let json = serde_json::to_value(&rule.spec).unwrap();
        assert_eq!(
            json["conditions"]["all"][1]["terms"]
                .as_array()
                .map(Vec::len),
            Some(100_000),
            "{}: {}",
            t.label,
            &json.to_string()[..200]
        );
    }
}

/// Two `amso serve` processes over one database: a rule switched live through the store is
/// applied by both processes' workers within 5 s, with no restart.
#[tokio::test]
async fn two_servers_apply_a_rule_switched_on_within_five_seconds() {
    use amso_server::cli::bench::reliability::Server;
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        eprintln!(
            "note: ORT_DYLIB_PATH not set; the two-server run is skipped (scripts/test.sh sets it)"
        );
        return;
    }
    for t in backends().await {
        let (_, key) = amso_core::access::apikeys::create(
            &t.db,
            &Actor::System,
            "two servers",
            amso_core::access::apikeys::Scope::Ingest,
        )
        .await
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
        let exe = Path::new(env!("CARGO_BIN_EXE_amso"));
        let mut servers = Vec::new();
        for name in ["a", "b"] {
            let mut s =
                Server::launch(exe, &t.url, model.to_str().unwrap(), tmp.path(), name).unwrap();
            s.ready().await.unwrap();
            servers.push(s);
        }
        let id = store::create(&t.db, &spec::parse(WAVE).unwrap(), &ops(), now_millis())
            .await
            .unwrap();
        store::step(&t.db, id, Step::RequestLive, &ops(), now_millis())
            .await
            .unwrap();
        store::step(&t.db, id, Step::Approve, &admin(), now_millis())
            .await
            .unwrap();
        let live_at = now_millis();
        // Matching ads through both servers for 8 s; the workers of both claim them.
        post_through(&servers, &key, 8_000, t.label, |n| {
            format!(
                r#"{{"external_id":"two-{n}","market":"ID","headline":"Investasi kripto {n}","body":"profit harian dijamin"}}"#
            )
        })
        .await;
        wait_until_decided(&t).await;
        for s in servers {
            s.stop().unwrap();
        }
        // Per server process (the worker id carries its pid): decisions from 5 s after the
        // switch on, and how many of them the rule decided.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select d.worker, case when exists (select 1 from rule_hits h where h.ad_id = d.ad_id \
             and h.rule_id = $1 and h.mode = 'live') and d.action = 'reject' then 1 else 0 end \
             from decisions d where d.decided_at >= $2",
        )
        .bind(id)
        .bind(live_at + 5_000)
        .fetch_all(t.db.pool())
        .await
        .unwrap();
        let mut per_process: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
        for (worker, by_rule) in rows {
            let pid = process_of(&worker);
            let e = per_process.entry(pid).or_default();
            e.0 += 1;
            e.1 += u32::try_from(by_rule).unwrap();
        }
        assert_eq!(
            per_process.len(),
            2,
            "{}: both servers decided ads after the switch: {per_process:?}",
            t.label
        );
        for (pid, (decided, by_rule)) in &per_process {
            assert_eq!(
                decided, by_rule,
                "{}: server {pid} decided {decided} ads 5 s after the switch, the rule {by_rule}",
                t.label
            );
        }
    }
}
