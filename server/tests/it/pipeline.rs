//! Ingest → decision through the real database, the shipped model and ONNX Runtime, on
//! SQLite and PostgreSQL: the API, imports, concurrent workers and expired leases.

use crate::common::*;
use amso_core::access::apikeys::{self, Scope};
use amso_core::access::audit::Actor;
use amso_core::engine::commit;
use amso_core::engine::worker::{Scorer, WorkerConfig, process_batch};
use amso_core::intake::ads;
use amso_core::intake::validate::{NewAd, SubmittedAd};
use amso_core::platform::time::now_millis;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;
use std::time::Duration;

fn scorer() -> Scorer {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
    Scorer::start(&model, 16).expect("the shipped model loads")
}

fn worker(id: &str) -> WorkerConfig {
    WorkerConfig {
        worker_id: id.into(),
        batch_size: 64,
        lease: Duration::from_secs(60),
        idle: Duration::from_millis(10),
        audit_rate_approve: 0.02,
        audit_rate_reject: 0.05,
        learning_share: 0.0,
    }
}

fn ad(i: usize, market: &str, headline: &str) -> NewAd {
    SubmittedAd {
        external_id: Some(format!("t-{i}")),
        market: Some(market.into()),
        headline: Some(headline.into()),
        body: Some("Order before Friday for delivery next week.".into()),
        daily_budget_usd: Some(50.0),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

async fn decisions_per_ad(t: &TestDb) -> Vec<(i64, i64)> {
    sqlx::query_as("select ad_id, count(*) from decisions group by ad_id having count(*) > 1")
        .fetch_all(t.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn ingested_ads_are_decided_by_the_rules() {
    let scorer = scorer();
    for t in backends().await {
        let batch = vec![
            ad(1, "US", "Summer sale: running shoes 30% off"),
            ad(2, "AE", "Online casino: 200% welcome bonus and free spins"),
            ad(3, "GB", "Online casino: 200% welcome bonus and free spins"),
            ad(4, "DE", "Buy oxycodone without prescription"),
        ];
        let stored = ads::submit(&t.db, "test", &batch, now_millis())
            .await
            .unwrap();
        assert!(stored.iter().all(|s| s.created));
        // Resubmitting is idempotent.
        let again = ads::submit(&t.db, "test", &batch[..1], now_millis())
            .await
            .unwrap();
        assert_eq!((again[0].id, again[0].created), (stored[0].id, false));

        let mut rng = StdRng::seed_from_u64(9);
        let n = process_batch(
            &t.db,
            &amso_core::engine::serving::Models::new(scorer.clone()),
            &worker("w1"),
            &mut rng,
            &mut Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(n, 4, "{}", t.label);
        let status = |i: usize| {
            let db = t.db.clone();
            let id = stored[i].id;
            async move { ads::find(&db, id).await.unwrap().unwrap() }
        };
        assert_eq!(status(0).await.status, "auto_approved", "{}", t.label);
        let ae = status(1).await;
        assert_eq!(ae.status, "auto_rejected", "{}: {:?}", t.label, ae.decision);
        assert_eq!(ae.decision.as_ref().unwrap().reasons, vec!["gambling"]);
        // Gambling is restricted in GB: a person decides.
        let gb = status(2).await;
        assert_eq!(gb.status, "in_review", "{}", t.label);
        assert_eq!(gb.decision.unwrap().route.as_deref(), Some("restricted"));
        assert_eq!(status(3).await.status, "auto_rejected");
        let d = status(0).await.decision.unwrap();
        assert_eq!(d.thresholds_version, 1);
        assert_eq!(d.scores.len(), 10);
        assert!((d.sampling_probability - 0.02).abs() < 1e-12);

        let (counted,): (i64,) = sqlx::query_as(
            "select cast(coalesce(sum(decided), 0) as bigint) from rollup_ads_daily",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(counted, 4, "{}: daily rollups follow decisions", t.label);

        // A batch mixing a decided ad, a new one and the new one again: each is answered in
        // order, the decided one with its current status, the repeat with its first copy's id.
        let mixed = vec![
            batch[1].clone(),
            ad(5, "FR", "Handmade ceramic mugs"),
            ad(5, "FR", "Handmade ceramic mugs"),
        ];
        let answered = ads::submit(&t.db, "test", &mixed, now_millis())
            .await
            .unwrap();
        let seen: Vec<(i64, bool, &str)> = answered
            .iter()
            .map(|s| (s.id, s.created, s.status.as_str()))
            .collect();
        assert_eq!(
            seen[0],
            (stored[1].id, false, "auto_rejected"),
            "{}",
            t.label
        );
        assert_eq!((seen[1].1, seen[1].2), (true, "queued"), "{}", t.label);
        assert_eq!(seen[2], (seen[1].0, false, "queued"), "{}", t.label);
        assert_eq!(
            answered
                .iter()
                .map(|s| s.external_id.as_str())
                .collect::<Vec<_>>(),
            mixed
                .iter()
                .map(|a| a.external_id.as_str())
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn concurrent_workers_never_decide_an_ad_twice() {
    let scorer = scorer();
    for t in backends().await {
        let batch: Vec<NewAd> = (0..600)
            .map(|i| ad(i, "FR", "Nouvelle collection : vélo"))
            .collect();
        ads::submit(&t.db, "test", &batch, now_millis())
            .await
            .unwrap();
        let mut handles = Vec::new();
        for w in 0..4 {
            let (db, scorer, config) = (t.db.clone(), scorer.clone(), worker(&format!("w{w}")));
            handles.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(w);
                let mut live_rules = Default::default();
                let mut total = 0;
                loop {
                    match process_batch(
                        &db,
                        &amso_core::engine::serving::Models::new(scorer.clone()),
                        &config,
                        &mut rng,
                        &mut live_rules,
                    )
                    .await
                    {
                        Ok(0) => break total,
                        Ok(n) => total += n,
                        Err(amso_core::engine::worker::EngineError::Overloaded) => {
                            tokio::task::yield_now().await
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        assert_eq!(total, 600, "{}", t.label);
        assert!(decisions_per_ad(&t).await.is_empty());
        let (n,): (i64,) = sqlx::query_as("select count(*) from decisions")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 600);
        assert_eq!(ads::queued_count(&t.db).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn a_dead_workers_batch_is_finished_by_another_after_its_lease() {
    let scorer = scorer();
    for t in backends().await {
        let batch: Vec<NewAd> = (0..50)
            .map(|i| ad(i, "JP", "夏のセール：自転車が30%オフ"))
            .collect();
        ads::submit(&t.db, "test", &batch, now_millis())
            .await
            .unwrap();
        // Worker "dead" claims everything with a 1 s lease, then dies without deciding.
        let claimed = commit::claim(&t.db, "dead", 100, 1000, now_millis())
            .await
            .unwrap();
        assert_eq!(claimed.len(), 50);
        let mut rng = StdRng::seed_from_u64(1);
        // While the lease holds, nobody else takes those ads.
        assert_eq!(
            process_batch(
                &t.db,
                &amso_core::engine::serving::Models::new(scorer.clone()),
                &worker("alive"),
                &mut rng,
                &mut Default::default()
            )
            .await
            .unwrap(),
            0
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let mut decided = 0;
        loop {
            let n = process_batch(
                &t.db,
                &amso_core::engine::serving::Models::new(scorer.clone()),
                &worker("alive"),
                &mut rng,
                &mut Default::default(),
            )
            .await
            .unwrap();
            if n == 0 {
                break;
            }
            decided += n;
        }
        assert_eq!(decided, 50, "{}", t.label);
        let (by_alive,): (i64,) =
            sqlx::query_as("select count(*) from decisions where worker = 'alive'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(by_alive, 50);
        // A late write from the dead worker cannot decide them again.
        let late = commit::record(&t.db, "dead", "m", 1, &[], now_millis())
            .await
            .unwrap();
        assert_eq!(late, 0);
        assert!(decisions_per_ad(&t).await.is_empty());
    }
}

fn post_ads(body: &str, key: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/api/v1/ads").header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn get_ad(id: i64, key: &str) -> Request<Body> {
    Request::get(format!("/api/v1/ads/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_ads_api_checks_keys_and_reports_each_bad_item() {
    for t in backends().await {
        let app = app(&t);
        let (_, ingest) = apikeys::create(&t.db, &Actor::Cli, "feed", Scope::Ingest)
            .await
            .unwrap();
        let (_, other) = apikeys::create(&t.db, &Actor::Cli, "other feed", Scope::Ingest)
            .await
            .unwrap();
        let (_, kpis) = apikeys::create(&t.db, &Actor::Cli, "bi", Scope::Kpis)
            .await
            .unwrap();

        let body = r#"[{"external_id":"a1","market":"US","headline":"Garden furniture sale"},
                       {"external_id":"a2","market":"XX","headline":"Bad market"},
                       {"market":"US","headline":"No id"}]"#;
        let r = send(&app, post_ads(body, Some(&ingest))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}: {}", t.label, r.text());
        let j = r.json();
        assert_eq!(
            (j["accepted"].as_i64(), j["rejected"].as_i64()),
            (Some(1), Some(2))
        );
        assert!(j["results"][1]["error"].as_str().unwrap().contains("XX"));
        assert!(
            j["results"][2]["error"]
                .as_str()
                .unwrap()
                .contains("external_id")
        );
        let id = j["results"][0]["id"].as_i64().unwrap();

        // Idempotent resubmission.
        let r = send(
            &app,
            post_ads(
                r#"{"external_id":"a1","market":"US","headline":"Garden furniture sale"}"#,
                Some(&ingest),
            ),
        )
        .await;
        assert_eq!(r.json()["duplicate"], true);
        assert_eq!(r.json()["id"].as_i64(), Some(id));

        let r = send(&app, get_ad(id, &ingest)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["status"], "queued");
        assert_eq!(
            send(&app, get_ad(id, &other)).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&app, get_ad(id, &kpis)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            send(&app, post_ads(body, Some(&kpis))).await.status,
            StatusCode::FORBIDDEN
        );
        let r = send(&app, post_ads(body, None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["kind"], "unauthenticated");
        assert_eq!(
            send(&app, post_ads(body, Some("amso_wrong"))).await.status,
            StatusCode::UNAUTHORIZED
        );
        let r = send(&app, post_ads("{not json", Some(&ingest))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["kind"], "invalid");
        let too_many = format!(
            "[{}]",
            vec![r#"{"external_id":"z","market":"US","headline":"h"}"#; 1001].join(",")
        );
        assert_eq!(
            send(&app, post_ads(&too_many, Some(&ingest))).await.status,
            StatusCode::PAYLOAD_TOO_LARGE
        );

        // Revoked keys stop working at once.
        let key = apikeys::authenticate(&t.db, &ingest)
            .await
            .unwrap()
            .unwrap();
        apikeys::revoke(&t.db, &Actor::Cli, key.id).await.unwrap();
        assert_eq!(
            send(&app, get_ad(id, &ingest)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn imports_load_good_rows_and_report_bad_ones() {
    let t = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ads.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"external_id":"i1","market":"BR","headline":"Tênis de corrida","labels":[]}"#,
            "\n",
            r#"{"external_id":"i2","market":"BR"}"#,
            "\n",
            r#"{"external_id":"i3","market":"KR","headline":"러닝화"}"#,
            "\n",
        ),
    )
    .unwrap();
    amso_server::cli::data::import(&t.db, &file).await.unwrap();
    assert_eq!(ads::queued_count(&t.db).await.unwrap(), 2);
    // Importing again adds nothing.
    amso_server::cli::data::import(&t.db, &file).await.unwrap();
    assert_eq!(ads::queued_count(&t.db).await.unwrap(), 2);
}
