//! A synthetic moderation history of any size, for benchmarks: ads, decisions, review tasks and
//! reviews written as raw rows many to a statement, with their rollups written in the same
//! transactions by the same code as the live path. Not realistic text (see `history` for
//! that), but realistic volumes, time order, audit sampling, overrides and a late drift.

use crate::platform::db::{Backend, Db, WriteTx};
use crate::platform::time::Millis;
use crate::rollup::{DecisionFacts, Delta, FinalVerdict, ReviewWork};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use std::time::Instant;

const DAY_MS: i64 = 86_400_000;

/// Rows written per transaction.
const CHUNK: usize = 20_000;

const REVIEWERS: i64 = 20;

/// One synthetic ad with everything written for it.
struct Synth {
    facts: DecisionFacts,
    truth: Option<Category>,
    review: Option<(FinalVerdict, ReviewWork)>,
    open_task: bool,
}

/// One ad decided at `decided_at`; `end` is the end of the history (now).
fn synth(rng: &mut StdRng, id: i64, decided_at: i64, end: i64) -> Synth {
    let market = Market::ALL[rng.gen_range(0..Market::ALL.len())];
    let submitted_at = decided_at - rng.gen_range(200..60_000);
    let mut scores = [0.0f32; 10];
    for s in &mut scores {
        *s = rng.r#gen::<f32>() * 0.1;
    }
    let c = Category::ALL[rng.gen_range(0..Category::ALL.len())];
    // Late drift: scam wording changes in Indonesia in the last five days.
    let drifting = market == Market::Id && c == Category::Scam && decided_at > end - 5 * DAY_MS;
    let violating = rng.gen_bool(if drifting { 0.3 } else { 0.08 });
    if violating {
        scores[c.index()] = if drifting {
            0.3 + 0.5 * rng.r#gen::<f32>()
        } else {
            0.55 + 0.45 * rng.r#gen::<f32>()
        };
    } else if rng.gen_bool(0.1) {
        scores[c.index()] = 0.2 + 0.5 * rng.r#gen::<f32>();
    }
    let rejects: Vec<Category> = Category::ALL
        .into_iter()
        .filter(|k| scores[k.index()] >= 0.8)
        .collect();
    let (action, p) = if !rejects.is_empty() {
        ("reject", 0.05)
    } else if scores.iter().any(|s| *s >= 0.2) {
        ("review", 1.0)
    } else {
        ("approve", 0.02)
    };
    let audit = action != "review" && rng.gen_bool(p);
    let reasons = if action == "review" { vec![c] } else { rejects };
    let facts = DecisionFacts {
        ad_id: id,
        market: market.code().to_string(),
        language: market.languages()[0].code().to_string(),
        model_version: "bench-model".into(),
        decided_at,
        submitted_at,
        scores,
        action: action.into(),
        reasons,
        audit_sample: audit,
        sampling_probability: p,
        latency_ms: 0.02 + rng.r#gen::<f64>() * 0.02,
        daily_budget_usd: (20.0 + rng.r#gen::<f64>() * 400.0).round(),
    };
    let truth = violating.then_some(c);
    let recent = decided_at > end - 36 * 3_600_000;
    let (mut review, mut open_task) = (None, false);
    if action == "review" && recent {
        open_task = true;
    } else if action == "review" || audit {
        // Reviewers agree with the truth 95% of the time.
        let reject = violating != rng.gen_bool(0.05);
        let started_at = (decided_at + rng.gen_range(60_000..20 * 3_600_000)).min(end - 60_000);
        let finished_at = started_at + rng.gen_range(30_000..300_000);
        let machine_reject = action == "reject";
        review = Some((
            FinalVerdict {
                reject,
                categories: if reject { vec![c] } else { vec![] },
            },
            ReviewWork {
                reviewer_id: 1 + rng.gen_range(0..REVIEWERS),
                source: if audit { "audit" } else { "uncertain" }.into(),
                reject,
                overrode: action != "review" && reject != machine_reject,
                reason_code: (action != "review" && reject != machine_reject).then(|| {
                    if reject {
                        "missed_violation"
                    } else {
                        "benign_context"
                    }
                    .to_string()
                }),
                status_before: match action {
                    "approve" => "auto_approved",
                    "reject" => "auto_rejected",
                    _ => "in_review",
                }
                .into(),
                started_at,
                finished_at,
                due_at: submitted_at + 24 * 3_600_000,
            },
        ));
    }
    Synth {
        facts,
        truth,
        review,
        open_task,
    }
}

fn status_of(s: &Synth) -> &'static str {
    match (&s.review, s.facts.action.as_str()) {
        (Some((v, w)), _) if w.source == "uncertain" => {
            if v.reject {
                "rejected"
            } else {
                "approved"
            }
        }
        (_, "approve") => "auto_approved",
        (_, "reject") => "auto_rejected",
        _ => "in_review",
    }
}

async fn insert_rows(
    tx: &mut WriteTx,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Value>>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = rows[0].len();
    for chunk in rows.chunks((8_000 / width).max(1)) {
        // Nulls are written as `null`, not bound: PostgreSQL cannot coerce a parameter bound
        // as text into a bigint column.
        let mut sql = format!("insert into {table} ({columns}) values ");
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ",(" });
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(',');
                }
                if v.is_null() {
                    sql.push_str("null");
                } else {
                    n += 1;
                    tx.backend().push_placeholder(&mut sql, n);
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Value::Null => continue,
                    Value::Bool(b) => q.bind(*b),
                    Value::Number(x) if x.is_i64() => q.bind(x.as_i64()),
                    Value::Number(x) => q.bind(x.as_f64()),
                    Value::String(s) => q.bind(s.clone()),
                    other => q.bind(other.to_string()),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Headlines and bodies of synthetic ads: ordinary ad copy of ordinary length, so that
/// whatever reads ad text (rule backtests, the radar) is measured on realistic work.
const HEADLINES: [&str; 7] = [
    "Summer sale: running shoes 30% off",
    "Handmade ceramic mugs, free shipping",
    "Learn Spanish online with native teachers",
    "Fresh coffee beans roasted this week",
    "Ergonomic office chairs for your home",
    "Family holiday packages to the coast",
    "Budget phone plans with unlimited data",
];
const BODIES: [&str; 5] = [
    "Order before Friday for delivery next week. Returns are free within 30 days of purchase.",
    "Thousands of happy customers. Browse the full collection and find the size that fits you.",
    "Sign up today and get the first month at half price; cancel any time, no questions asked.",
    "Made by a small team in our own workshop. Every piece is checked by hand before it ships.",
    "Compare plans in two minutes and switch without losing your number. Support around the clock.",
];

/// The `ads` row of a synthetic ad (columns [`AD_COLUMNS`]).
fn ad_row(s: &Synth, source: &str) -> Vec<Value> {
    let f = &s.facts;
    let labels = s
        .truth
        .map_or_else(|| "[]".to_string(), |c| format!("[\"{}\"]", c.as_str()));
    vec![
        json!(f.ad_id),
        json!(source),
        json!(format!("{source}{}", f.ad_id)),
        json!(format!("adv-{}", f.ad_id % 5000)),
        json!(f.market),
        json!(f.language),
        json!(format!(
            "{} #{}",
            HEADLINES[(f.ad_id % 7) as usize],
            f.ad_id
        )),
        json!(BODIES[(f.ad_id % 5) as usize]),
        json!(f.daily_budget_usd),
        json!(labels),
        json!(f.submitted_at),
        json!(status_of(s)),
        json!(f.decided_at),
    ]
}

const AD_COLUMNS: &str = "id, source, external_id, advertiser_id, market, language, headline, body, daily_budget_usd, labels, submitted_at, status, decided_at";

/// The `decisions` row of a synthetic decision (columns [`DECISION_COLUMNS`]).
fn decision_row(f: &DecisionFacts, worker: &str) -> Vec<Value> {
    vec![
        json!(f.ad_id),
        json!(f.model_version),
        json!(1),
        json!(serde_json::to_string(&f.scores.to_vec()).unwrap_or_default()),
        json!(f.action),
        json!(
            serde_json::to_string(&f.reasons.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                .unwrap_or_default()
        ),
        if f.action == "review" {
            json!("uncertain")
        } else if f.audit_sample {
            json!("audit")
        } else {
            Value::Null
        },
        json!(f.audit_sample),
        json!(f.sampling_probability),
        json!(f.latency_ms),
        json!(f.decided_at),
        json!(worker),
    ]
}

const DECISION_COLUMNS: &str = "ad_id, model_version, thresholds_version, scores, action, reasons, route, audit_sample, sampling_probability, latency_ms, decided_at, worker";

/// The `review_tasks` row of a synthetic task: open, or done when it was closed.
fn task_row(
    id: i64,
    f: &DecisionFacts,
    source: &str,
    due_at: Millis,
    closed_at: Option<Millis>,
) -> Vec<Value> {
    vec![
        json!(id),
        json!(f.ad_id),
        json!(source),
        json!(f.market),
        json!(if closed_at.is_some() { "done" } else { "open" }),
        json!(f.decided_at),
        json!(due_at),
        json!(f.daily_budget_usd * 0.5),
        closed_at.map_or(Value::Null, |at| json!(at)),
    ]
}

/// Writes `n` synthetic decisions (and their reviews) over the 28 days ending `end`, telling
/// `progress` how many are written after each transaction. Returns the seconds taken.
pub async fn write_history(
    db: &Db,
    n: usize,
    seed: u64,
    end: Millis,
    progress: &mut dyn FnMut(usize),
) -> sqlx::Result<f64> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    {
        let mut tx = db.begin_write().await?;
        let users: Vec<Vec<Value>> = (1..=REVIEWERS)
            .map(|i| {
                json!([
                    format!("bench-reviewer-{i}@example.com"),
                    format!("Bench reviewer {i}"),
                    "reviewer",
                    "-",
                    end,
                    end
                ])
                .as_array()
                .cloned()
                .unwrap_or_default()
            })
            .collect();
        insert_rows(
            &mut tx,
            "users",
            "email, display_name, role, password_hash, created_at, updated_at",
            users,
        )
        .await?;
        tx.commit().await?;
    }
    let (first_user,): (i64,) =
        sqlx::query_as("select min(id) from users where email like 'bench-reviewer-%'")
            .fetch_one(db.pool())
            .await?;
    let mut written = 0;
    let mut review_id = 0i64;
    while written < n {
        let take = CHUNK.min(n - written);
        let batch: Vec<Synth> = (0..take)
            .map(|i| {
                // Decisions arrive in time order over the 28 days, as they would.
                let k = (written + i) as f64 / n as f64;
                let at = end - 28 * DAY_MS + (k * (28 * DAY_MS) as f64) as i64;
                synth(&mut rng, (written + i + 1) as i64, at, end)
            })
            .map(|mut s| {
                if let Some((_, w)) = &mut s.review {
                    w.reviewer_id += first_user - 1;
                }
                s
            })
            .collect();
        let mut ads = Vec::with_capacity(take);
        let mut decisions = Vec::with_capacity(take);
        let mut tasks = Vec::new();
        let mut reviews = Vec::new();
        let mut delta = Delta::default();
        for s in &batch {
            let f = &s.facts;
            ads.push(ad_row(s, "bench"));
            decisions.push(decision_row(f, "bench"));
            delta.decision(f);
            let source = if f.action == "review" {
                "uncertain"
            } else {
                "audit"
            };
            if s.open_task {
                review_id += 1;
                let due_at = f.submitted_at + 24 * 3_600_000;
                tasks.push(task_row(review_id, f, source, due_at, None));
            }
            if let Some((v, w)) = &s.review {
                review_id += 1;
                tasks.push(task_row(
                    review_id,
                    f,
                    source,
                    w.due_at,
                    Some(w.finished_at),
                ));
                let machine = f.action.clone();
                reviews.push(vec![
                    json!(review_id),
                    json!(review_id),
                    json!(f.ad_id),
                    json!(w.reviewer_id),
                    json!(w.source),
                    json!(f.market),
                    json!(if v.reject { "reject" } else { "approve" }),
                    json!(
                        serde_json::to_string(
                            &v.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>()
                        )
                        .unwrap_or_default()
                    ),
                    w.reason_code.as_ref().map_or(Value::Null, |r| json!(r)),
                    json!(machine),
                    json!(w.overrode),
                    json!(false),
                    json!(w.status_before),
                    json!(w.started_at),
                    json!(w.finished_at),
                ]);
                delta.verdict(f, v, 1.0);
                delta.work(f, w, 1.0);
            }
        }
        let mut tx = db.begin_write().await?;
        insert_rows(&mut tx, "ads", AD_COLUMNS, ads).await?;
        insert_rows(&mut tx, "decisions", DECISION_COLUMNS, decisions).await?;
        insert_rows(
            &mut tx,
            "review_tasks",
            "id, ad_id, source, market, state, created_at, due_at, risk, closed_at",
            tasks,
        )
        .await?;
        insert_rows(&mut tx, "reviews", "id, task_id, ad_id, reviewer_id, source, market, verdict, categories, reason_code, machine_action, override, bulk, status_before, started_at, finished_at", reviews).await?;
        delta.flush(&mut tx).await?;
        tx.commit().await?;
        written += take;
        progress(written);
    }
    let written = started.elapsed().as_secs_f64();
    // What autovacuum does in the background of a live server, done now: after a bulk load
    // PostgreSQL has neither statistics nor a visibility map, so it would plan the backlog
    // count for one row and fetch every open task from the heap.
    if db.backend() == Backend::Postgres {
        sqlx::query("vacuum analyze").execute(db.pool()).await?;
    }
    Ok(written)
}

/// The highest ad id there (0 for none): ads written after a history go above it.
pub async fn max_ad_id(db: &Db) -> sqlx::Result<i64> {
    let (last,): (Option<i64>,) = sqlx::query_as("select max(id) from ads")
        .fetch_one(db.pool())
        .await?;
    Ok(last.unwrap_or(0))
}

/// Commits one decision on a new ad `id` at `at`, with its rollups, as a worker would: what
/// the live stream's latency is timed against.
pub async fn write_live_decision(
    db: &Db,
    rng: &mut StdRng,
    id: i64,
    at: Millis,
) -> sqlx::Result<()> {
    // Decided now, so no review yet: what a worker's commit writes.
    let mut s = synth(rng, id, at, at);
    s.review = None;
    s.open_task = false;
    let mut delta = Delta::default();
    delta.decision(&s.facts);
    let mut tx = db.begin_write().await?;
    insert_rows(&mut tx, "ads", AD_COLUMNS, vec![ad_row(&s, "live")]).await?;
    insert_rows(
        &mut tx,
        "decisions",
        DECISION_COLUMNS,
        vec![decision_row(&s.facts, "live")],
    )
    .await?;
    delta.flush(&mut tx).await?;
    tx.commit().await
}
