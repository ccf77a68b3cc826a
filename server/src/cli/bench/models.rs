//! The model lifecycle's figures: decision throughput with a challenger scoring every ad in
//! shadow against the champion alone, and training a candidate on labelled ads.

use super::engine::e2e_on;
use super::fixtures::bench_db;
use crate::cli::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::demo::corpus::CorpusAd;
use amso_core::engine::model::registry::{self, Role, Source};
use amso_core::engine::model::retrain::{self, Verdict};
use amso_core::engine::model::train::TrainParams;
use amso_core::engine::model::{CATEGORIES, Weights};
use amso_core::platform::time::now_millis;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// A challenger of the shipped model's size (random weights): it costs what a real one costs.
fn same_size_challenger() -> Vec<u8> {
    let params = TrainParams::default();
    let w = Weights {
        buckets: params.buckets,
        dim: params.dim,
        categories: CATEGORIES,
        embedding: (0..params.buckets as usize * params.dim)
            .map(|i| ((i as f32) * 0.618).sin() * 0.05)
            .collect(),
        out_w: (0..params.dim * CATEGORIES)
            .map(|i| ((i as f32) * 0.37).cos())
            .collect(),
        out_b: vec![-2.0; CATEGORIES],
        idf: None,
    };
    amso_core::engine::model::onnx::to_onnx(
        &w,
        &[
            ("amso.model_version", "bench-challenger".to_string()),
            ("amso.buckets", params.buckets.to_string()),
        ],
    )
}

/// Decisions without a challenger, with one, and without again (fresh databases on SQLite).
pub async fn challenger(
    model_path: &Path,
    ads: &[CorpusAd],
    workers: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let mut runs = Vec::new();
    for (i, with) in [false, true, false].into_iter().enumerate() {
        let (db, shown) = bench_db(url, tmp, &format!("challenger-{i}")).await?;
        registry::ensure_running(&db, model_path, now_millis()).await?;
        if with {
            let v = registry::register(
                &db,
                &same_size_challenger(),
                None,
                Source::Import,
                &Actor::System,
                now_millis(),
            )
            .await?;
            registry::set_role(
                &db,
                &v,
                Role::Challenger,
                &[],
                &Actor::System,
                now_millis(),
                None,
            )
            .await?;
        } else {
            // A challenger of an earlier run on the same database is retired.
            for v in registry::list(&db, now_millis()).await? {
                if v.role == Some(Role::Challenger) {
                    registry::set_role(
                        &db,
                        &v.version,
                        Role::Retired,
                        &[],
                        &Actor::System,
                        now_millis(),
                        None,
                    )
                    .await?;
                }
            }
        }
        eprintln!(
            "challenger: {} ads decided {} a challenger …",
            ads.len(),
            if with { "with" } else { "without" }
        );
        let mut run = e2e_on(&db, &shown, model_path, ads, workers).await?;
        if with {
            let (n,): (i64,) = sqlx::query_as("select count(*) from shadow_scores")
                .fetch_one(db.pool())
                .await?;
            run["shadow_scores"] = json!(n);
        }
        runs.push(run);
        db.close().await;
    }
    let rate = |v: &Value| v["ads_per_second"].as_f64().unwrap_or(0.0);
    let alone = (rate(&runs[0]) + rate(&runs[2])) / 2.0;
    Ok(json!({
        "champion_only": runs[0],
        "with_challenger": runs[1],
        "champion_only_again": runs[2],
        "throughput_ratio": rate(&runs[1]) / alone.max(1e-9),
    }))
}

/// Training a candidate on `rows` labelled ads (the demo corpus, weight 1, spread over 28
/// days so the last week is held out), default parameters.
pub fn train(rows: usize, epochs: usize) -> Result<Value, CliError> {
    let ads = amso_core::demo::corpus::generate(&amso_core::demo::corpus::CorpusParams {
        ads: rows,
        days: 28,
        seed: 99,
        end: now_millis(),
    });
    let verdicts: Vec<Verdict> = ads
        .iter()
        .filter_map(|a| {
            Some(Verdict {
                at: a.submitted_at,
                ad: a.to_submitted(true).validate().ok()?,
                weight: 1.0,
            })
        })
        .collect();
    let params = TrainParams {
        epochs,
        ..Default::default()
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let trained = retrain::train(&verdicts, &[], "the bench", &params, |_, _| {}, &cancel)?
        .ok_or("cancelled")?;
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "rows": verdicts.len(),
        "train_rows": trained.card.data.train_rows,
        "heldout_rows": trained.card.data.heldout_rows,
        "epochs": epochs,
        "seconds": secs,
        "heldout_macro_roc_auc": trained.card.heldout.macro_roc_auc,
        "heldout_macro_pr_auc": trained.card.heldout.macro_pr_auc,
    }))
}
