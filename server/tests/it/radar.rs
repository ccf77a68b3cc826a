//! The emerging-risk radar on SQLite and PostgreSQL: a wave ingested today through the API
//! surfaces at the top of its market within one check, counts are kept incrementally (a
//! second check folds in only what is new), and the API answers by window and market.

use crate::common::*;
use amso_core::access::apikeys::{self, Scope};
use amso_core::access::audit::Actor;
use amso_core::engine::commit::{self, Decided};
use amso_core::engine::decide::{Action, Verdict};
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::time::now_millis;
use amso_core::radar::{Kind, Window, store};
use amso_core::vocab::market::Market;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

const DAY: i64 = 86_400_000;

/// Ads decided (approved) at `at`, with these headlines.
pub(crate) async fn decided_at(
    t: &TestDb,
    prefix: &str,
    market: Market,
    headlines: &[String],
    at: i64,
) {
    let batch: Vec<_> = headlines
        .iter()
        .enumerate()
        .map(|(i, h)| {
            SubmittedAd {
                external_id: Some(format!("{prefix}-{i}")),
                market: Some(market.code().into()),
                headline: Some(h.clone()),
                body: Some("Kirim sekarang.".into()),
                advertiser_id: Some(format!("adv-{}", i % 7)),
                daily_budget_usd: Some(20.0),
                ..Default::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    let stored = ads::submit(&t.db, "test", &batch, at).await.unwrap();
    let rows: Vec<Decided> = stored
        .iter()
        .map(|s| Decided {
            ad_id: s.id,
            market,
            scores: [0.05; 10],
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
            language: None,
        })
        .collect();
    commit::record(&t.db, "w", "test-model", 1, &rows, at)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_wave_surfaces_at_the_top_within_one_check() {
    for t in backends().await {
        let now = now_millis();
        let shoes = [
            "Sepatu lari diskon",
            "Tas kulit asli murah",
            "Kopi bubuk Aceh",
            "Kursi kantor ergonomis",
            "Madu hutan murni",
        ];
        // Four weeks of ordinary Indonesian ads.
        for d in 2..30 {
            let headlines: Vec<String> = (0..20)
                .map(|i| format!("{} nomor {i}", shoes[i % shoes.len()]))
                .collect();
            decided_at(
                &t,
                &format!("base{d}"),
                Market::Id,
                &headlines,
                now - d * DAY,
            )
            .await;
        }
        let first = store::check(&t.db, now).await.unwrap();
        assert_eq!(first.decisions_folded, 28 * 20, "{}", t.label);
        let (before, _) = store::entries(&t.db, Window::Day, "ID", 10).await.unwrap();
        assert!(before.iter().all(|e| e.value != "investasi"), "{}", t.label);

        // Today: the usual, and a wave posted through the API.
        let headlines: Vec<String> = (0..20)
            .map(|i| format!("{} nomor {i}", shoes[i % shoes.len()]))
            .collect();
        decided_at(&t, "today", Market::Id, &headlines, now).await;
        let app = app(&t);
        let (_, key) = apikeys::create(&t.db, &Actor::System, "radar ingest", Scope::Ingest)
            .await
            .unwrap();
        let wave: Vec<serde_json::Value> = (0..12)
            .map(|i| {
                serde_json::json!({
                    "external_id": format!("wave-{i}"),
                    "market": "ID",
                    "headline": format!("Investasi kripto, profit harian {i}%"),
                    "body": "Modal kecil, profit harian dijamin.",
                    "landing_url": format!("https://promo{i}.cuan-kilat.co.id/daftar"),
                    "advertiser_id": "adv-new",
                    "daily_budget_usd": 15
                })
            })
            .collect();
        let r = send(
            &app,
            Request::builder()
                .method("POST")
                .uri("/api/v1/ads")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::from(serde_json::Value::Array(wave).to_string()))
                .unwrap(),
        )
        .await;
        assert!(r.status.is_success(), "{}: {}", t.label, r.text());
        // The worker decides them (the shipped model through ONNX Runtime).
        let model =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
        let scorer = amso_core::engine::worker::Scorer::start(&model, 4).unwrap();
        let config = amso_core::engine::worker::WorkerConfig {
            worker_id: "radar".into(),
            batch_size: 64,
            lease: std::time::Duration::from_secs(60),
            idle: std::time::Duration::from_millis(5),
            audit_rate_approve: 0.02,
            audit_rate_reject: 0.05,
            learning_share: 0.0,
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let decided = amso_core::engine::worker::process_batch(
            &t.db,
            &amso_core::engine::serving::Models::new(scorer.clone()),
            &config,
            &mut rng,
            &mut Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(decided, 12, "{}", t.label);

        // One check later, the wave leads ID's radar: its terms, domain and advertiser.
        let second = store::check(&t.db, now_millis()).await.unwrap();
        assert_eq!(
            second.decisions_folded,
            20 + 12,
            "{}: only what is new is folded",
            t.label
        );
        let (top, _) = store::entries(&t.db, Window::Day, "ID", 100).await.unwrap();
        let wave_terms = [
            "investasi",
            "kripto",
            "profit",
            "harian",
            "investasi kripto",
            "profit harian",
            "dijamin",
            "modal",
            "kecil",
            "modal kecil",
            "kripto profit",
            "harian dijamin",
        ];
        assert!(
            top.iter()
                .take(5)
                .all(|e| wave_terms.contains(&e.value.as_str())
                    || e.value == "cuan-kilat.co.id"
                    || e.value == "adv-new"),
            "{}: {:?}",
            t.label,
            top.iter()
                .take(8)
                .map(|e| (&e.value, e.g2))
                .collect::<Vec<_>>()
        );
        assert!(
            top.iter()
                .any(|e| e.kind == Kind::Domain && e.value == "cuan-kilat.co.id"),
            "{}",
            t.label
        );
        assert!(
            top.iter()
                .any(|e| e.kind == Kind::Advertiser && e.value == "adv-new"),
            "{}",
            t.label
        );
        assert!(
            top.iter().all(|e| !e.value.starts_with("sepatu")),
            "{}: steady terms stay out",
            t.label
        );
        let investasi = top.iter().find(|e| e.value == "investasi").unwrap();
        assert_eq!((investasi.count_now, investasi.count_before), (12, 0));
        // All markets too.
        let (all, _) = store::entries(&t.db, Window::Week, "*", 100).await.unwrap();
        assert!(all.iter().any(|e| e.value == "investasi"), "{}", t.label);
        // Its detail: today's count and the samples are the wave's ads.
        let d = store::detail(&t.db, Kind::Term, "investasi", "ID", 35, now_millis())
            .await
            .unwrap();
        assert_eq!(d.trend.last().unwrap().1, 12);
        assert_eq!(d.markets, vec![("ID".to_string(), 12)]);
        assert!(!d.samples.is_empty());

        // The API, for a session that reads the radar.
        let ops = login(&app, "ops@amso.test", "ops-demo-pass").await;
        let r = send(&app, get("/api/v1/radar?market=ID&window=24h", Some(&ops))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", t.label);
        assert_eq!(r.json()["market"], "ID");
        assert!(
            r.json()["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["value"] == "investasi")
        );
        let r = send(&app, get("/api/v1/radar?window=1y", Some(&ops))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", t.label);
    }
}
