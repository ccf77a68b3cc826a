//! The review desk on SQLite and PostgreSQL: claims under leases (never one item twice),
//! expiry and skip, market scope, reasons for overrides, undo, QA, and appeals.

use crate::common::*;
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser};
use amso_core::engine::commit::{self, Decided};
use amso_core::engine::decide::{Action, Route, Verdict};
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::time::now_millis;
use amso_core::review::{self, DeskSettings, ReviewError, Scope, verdicts::Submission};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::{HumanVerdict, Source};
use amso_core::vocab::role::Role;
use std::collections::HashSet;

pub(crate) async fn reviewer(t: &TestDb, email: &str, role: Role, markets: Vec<Market>) -> Scope {
    let user = users::create(
        &t.db,
        &Actor::System,
        NewUser {
            email: email.into(),
            display_name: "Reviewer".into(),
            role,
            markets: markets.clone(),
            password: "a-long-password".into(),
            demo_credentials: false,
            time_zone: None,
            languages: Vec::new(),
        },
    )
    .await
    .unwrap();
    Scope {
        user_id: user.id,
        email: user.email,
        role,
        markets,
    }
}

/// Queues `n` ads in `market` and records the machine's `action` (and route) for each,
/// through the same code the worker uses. Returns the ad ids.
pub(crate) async fn decided(
    t: &TestDb,
    prefix: &str,
    n: usize,
    market: Market,
    action: Action,
    route: Option<Route>,
) -> Vec<i64> {
    let batch: Vec<_> = (0..n)
        .map(|i| {
            SubmittedAd {
                external_id: Some(format!("{prefix}-{i}")),
                market: Some(market.code().into()),
                headline: Some(format!("Casino night board game #{i}")),
                body: Some("Family fun with play money.".into()),
                daily_budget_usd: Some(40.0 + i as f64),
                ..Default::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    let now = now_millis();
    let stored = ads::submit(&t.db, "test", &batch, now).await.unwrap();
    let mut scores = [0.05f32; 10];
    scores[Category::Gambling.index()] = if action == Action::Reject { 0.9 } else { 0.5 };
    let rows: Vec<Decided> = stored
        .iter()
        .map(|s| Decided {
            ad_id: s.id,
            market,
            scores,
            verdict: Verdict {
                action,
                reasons: if action == Action::Approve {
                    vec![]
                } else {
                    vec![Category::Gambling]
                },
                route,
                audit_sample: route == Some(Route::Audit),
                sampling_probability: 1.0,
            },
            latency_ms: 1.0,
            submitted_at: now,
            daily_budget_usd: 40.0,
            language: None,
        })
        .collect();
    commit::record(&t.db, "w", "test-model", 1, &rows, now)
        .await
        .unwrap();
    stored.iter().map(|s| s.id).collect()
}

fn approve() -> Submission {
    Submission {
        verdict: HumanVerdict::Approve,
        categories: vec![],
        reason_code: None,
        reason_text: None,
    }
}

fn reject() -> Submission {
    Submission {
        verdict: HumanVerdict::Reject,
        categories: vec![Category::Gambling],
        reason_code: None,
        reason_text: None,
    }
}

async fn ad_status(t: &TestDb, id: i64) -> String {
    sqlx::query_as::<_, (String,)>("select status from ads where id = $1")
        .bind(id)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn concurrent_reviewers_never_hold_the_same_item() {
    for t in backends().await {
        decided(
            &t,
            "c",
            60,
            Market::Us,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await;
        let mut team = Vec::new();
        for i in 0..12 {
            team.push(
                reviewer(
                    &t,
                    &format!("r{i}@example.com"),
                    Role::Reviewer,
                    vec![Market::Us],
                )
                .await,
            );
        }
        let settings = DeskSettings::default();
        let mut handles = Vec::new();
        for scope in team {
            let db = t.db.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(id) = review::queues::claim_next(
                    &db,
                    &scope,
                    Source::Uncertain,
                    &settings,
                    None,
                    now_millis(),
                )
                .await
                .unwrap()
                {
                    mine.push(id);
                    review::verdicts::submit(
                        &db,
                        &scope,
                        id,
                        &approve(),
                        &settings,
                        false,
                        1.0,
                        now_millis(),
                    )
                    .await
                    .unwrap();
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(
            all.len(),
            60,
            "{}: every item handed out exactly once",
            t.label
        );
        assert_eq!(distinct.len(), 60, "{}", t.label);
        let (reviews,): (i64,) = sqlx::query_as("select count(*) from reviews")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(reviews, 60, "{}", t.label);
    }
}

#[tokio::test]
async fn expired_leases_are_reclaimed_and_skips_return_items() {
    for t in backends().await {
        let ids = decided(
            &t,
            "l",
            2,
            Market::Gb,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await;
        let a = reviewer(&t, "a@example.com", Role::Reviewer, vec![Market::Gb]).await;
        let b = reviewer(&t, "b@example.com", Role::Reviewer, vec![Market::Gb]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        let first = review::queues::claim_next(&t.db, &a, Source::Uncertain, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        // Asking again hands back the same item.
        assert_eq!(
            review::queues::claim_next(&t.db, &a, Source::Uncertain, &s, None, now)
                .await
                .unwrap(),
            Some(first)
        );
        let other = review::queues::claim_next(&t.db, &b, Source::Uncertain, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(first, other, "{}", t.label);
        // B submits; A's lease runs out; B gets A's item.
        review::verdicts::submit(&t.db, &b, other, &approve(), &s, false, 1.0, now)
            .await
            .unwrap();
        let later = now + s.lease_ms + 1;
        assert_eq!(
            review::queues::claim_next(&t.db, &b, Source::Uncertain, &s, None, later)
                .await
                .unwrap(),
            Some(first),
            "{}: an expired lease is reclaimed",
            t.label
        );
        // A can no longer submit it.
        let err = review::verdicts::submit(&t.db, &a, first, &approve(), &s, false, 1.0, later)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ReviewError::Conflict(_)),
            "{}: {err}",
            t.label
        );
        // B skips: the item goes back at once and A can take it.
        review::verdicts::skip(&t.db, &b, first, later)
            .await
            .unwrap();
        assert_eq!(
            review::queues::claim_next(&t.db, &a, Source::Uncertain, &s, None, later)
                .await
                .unwrap(),
            Some(first),
            "{}",
            t.label
        );
        let skips: (i64,) =
            sqlx::query_as("select count(*) from audit_log where action = 'review.skip'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(skips.0, 1);
        assert_eq!(ad_status(&t, ids[0]).await, "in_review", "{}", t.label);
    }
}

#[tokio::test]
async fn scope_reasons_overrides_and_undo() {
    for t in backends().await {
        let us = decided(&t, "s", 1, Market::Us, Action::Approve, Some(Route::Audit)).await;
        let gb_only = reviewer(&t, "gb@example.com", Role::Reviewer, vec![Market::Gb]).await;
        let us_rev = reviewer(&t, "us@example.com", Role::Reviewer, vec![Market::Us]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        // Outside the reviewer's markets: nothing to claim, and the item itself is refused.
        assert_eq!(
            review::queues::claim_next(&t.db, &gb_only, Source::Audit, &s, None, now)
                .await
                .unwrap(),
            None
        );
        let task = review::queues::claim_next(&t.db, &us_rev, Source::Audit, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            review::tasks::task_for(&t.db, &gb_only, task).await,
            Err(ReviewError::Forbidden(_))
        ));
        assert!(matches!(
            review::verdicts::submit(&t.db, &gb_only, task, &reject(), &s, true, 1.0, now).await,
            Err(ReviewError::Forbidden(_))
        ));
        // Reviewers do not work escalations.
        assert!(matches!(
            review::queues::claim_next(&t.db, &us_rev, Source::Escalation, &s, None, now).await,
            Err(ReviewError::Forbidden(_))
        ));
        // Overruling the machine's approval needs a reason.
        let err = review::verdicts::submit(&t.db, &us_rev, task, &reject(), &s, false, 1.0, now)
            .await
            .unwrap_err();
        assert!(matches!(err, ReviewError::Invalid(_)), "{}: {err}", t.label);
        let with_reason = Submission {
            reason_code: Some("missed_violation".into()),
            ..reject()
        };
        let done =
            review::verdicts::submit(&t.db, &us_rev, task, &with_reason, &s, false, 1.0, now)
                .await
                .unwrap();
        assert!(done.overrode_machine);
        assert_eq!(ad_status(&t, us[0]).await, "rejected");
        // Undo within the window restores the ad and hands the item back.
        let back = review::verdicts::undo(&t.db, &us_rev, done.review_id, &s, now + 1000)
            .await
            .unwrap();
        assert_eq!(back, task);
        assert_eq!(ad_status(&t, us[0]).await, "auto_approved", "{}", t.label);
        assert_eq!(
            review::queues::held(&t.db, &us_rev).await.unwrap(),
            Some((task, Source::Audit))
        );
        // Confirming the machine needs no reason; too late to undo after the window.
        let done =
            review::verdicts::submit(&t.db, &us_rev, task, &approve(), &s, false, 1.0, now + 2000)
                .await
                .unwrap();
        assert!(!done.overrode_machine);
        assert!(matches!(
            review::verdicts::undo(
                &t.db,
                &us_rev,
                done.review_id,
                &s,
                now + 2000 + s.undo_window_ms + 1
            )
            .await,
            Err(ReviewError::Conflict(_))
        ));
        let actions: Vec<(String,)> =
            sqlx::query_as("select action from audit_log where object = $1 order by id")
                .bind(format!("ad:{}", us[0]))
                .fetch_all(t.db.pool())
                .await
                .unwrap();
        let actions: Vec<String> = actions.into_iter().map(|a| a.0).collect();
        assert_eq!(
            actions,
            ["review.override", "review.undo", "review.submit"],
            "{}",
            t.label
        );
    }
}

#[tokio::test]
async fn appeals_skip_the_rejecter_and_settle_the_ad() {
    for t in backends().await {
        let ad = decided(
            &t,
            "p",
            1,
            Market::De,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await[0];
        let a = reviewer(&t, "a@example.com", Role::Reviewer, vec![Market::De]).await;
        let b = reviewer(&t, "b@example.com", Role::Reviewer, vec![Market::De]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        let task = review::queues::claim_next(&t.db, &a, Source::Uncertain, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        review::verdicts::submit(&t.db, &a, task, &reject(), &s, false, 1.0, now)
            .await
            .unwrap();
        assert_eq!(ad_status(&t, ad).await, "rejected");
        // Only rejected ads, and one open appeal at a time.
        review::appeals::file_appeal(
            &t.db,
            ad,
            "It is a board game with play money.",
            "apikey:test",
            now,
        )
        .await
        .unwrap();
        assert!(matches!(
            review::appeals::file_appeal(&t.db, ad, "again", "apikey:test", now).await,
            Err(ReviewError::Conflict(_))
        ));
        assert_eq!(ad_status(&t, ad).await, "appealed");
        assert_eq!(
            review::queues::claim_next(&t.db, &a, Source::Appeal, &s, None, now)
                .await
                .unwrap(),
            None,
            "{}: the rejecting reviewer never gets the appeal",
            t.label
        );
        let appeal = review::queues::claim_next(&t.db, &b, Source::Appeal, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        let overturn = Submission {
            reason_code: Some("appeal_evidence".into()),
            ..approve()
        };
        review::verdicts::submit(&t.db, &b, appeal, &overturn, &s, false, 1.0, now)
            .await
            .unwrap();
        assert_eq!(ad_status(&t, ad).await, "approved", "{}", t.label);
        let appeals = review::appeals::appeals_of(&t.db, ad).await.unwrap();
        assert_eq!(appeals.len(), 1);
        assert_eq!(appeals[0].status, "overturned");
        // An approved ad cannot be appealed.
        assert!(matches!(
            review::appeals::file_appeal(&t.db, ad, "why", "apikey:test", now).await,
            Err(ReviewError::Conflict(_))
        ));
    }
}

#[tokio::test]
async fn qa_disagreements_reach_the_ops_heads() {
    for t in backends().await {
        decided(
            &t,
            "q",
            1,
            Market::Fr,
            Action::Review,
            Some(Route::Restricted),
        )
        .await;
        let first = reviewer(&t, "first@example.com", Role::Reviewer, vec![Market::Fr]).await;
        let second = reviewer(&t, "second@example.com", Role::Reviewer, vec![Market::Fr]).await;
        let ops = reviewer(&t, "ops@example.com", Role::OpsHead, vec![]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        let task = review::queues::claim_next(&t.db, &first, Source::Restricted, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        // A draw under the QA rate samples this review for a blind second look.
        let out = review::verdicts::submit(&t.db, &first, task, &approve(), &s, false, 0.0, now)
            .await
            .unwrap();
        assert!(out.qa_sampled);
        assert_eq!(
            review::queues::claim_next(&t.db, &first, Source::Qa, &s, None, now)
                .await
                .unwrap(),
            None,
            "nobody second-reviews themselves"
        );
        let qa = review::queues::claim_next(&t.db, &second, Source::Qa, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        let out = review::verdicts::submit(&t.db, &second, qa, &reject(), &s, false, 0.0, now)
            .await
            .unwrap();
        assert!(out.escalated && !out.qa_sampled);
        let esc = review::queues::claim_next(&t.db, &ops, Source::Escalation, &s, None, now)
            .await
            .unwrap()
            .expect("the disagreement is escalated");
        let screen = review::tasks::task(&t.db, esc).await.unwrap().unwrap();
        assert!(screen.note.unwrap().contains("QA disagreement"));
        let (rows, kappa, pairs) = review::team::reviewer_stats(&t.db, now - 1, now + 1, None)
            .await
            .unwrap();
        assert_eq!(pairs, 1);
        // One disagreeing pair: observed and chance agreement are both zero.
        assert_eq!(kappa, Some(0.0));
        let f = rows
            .iter()
            .find(|r| r.email == "first@example.com")
            .unwrap();
        assert_eq!((f.qa_checked, f.qa_agreed), (1, 0), "{}", t.label);
    }
}

#[tokio::test]
async fn reviewers_are_held_to_their_markets_and_role_over_http() {
    use amso_core::demo::accounts::DEMO_LOGINS;
    use axum::http::StatusCode;
    for t in backends().await {
        let app = app(&t);
        // The demo reviewer carries US, GB and DE; this item is in Japan.
        let jp = decided(
            &t,
            "h",
            1,
            Market::Jp,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await[0];
        let (task,): (i64,) = sqlx::query_as("select id from review_tasks where ad_id = $1")
            .bind(jp)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        let demo = DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::Reviewer)
            .unwrap();
        let cookie = login(&app, demo.email, demo.password).await;
        let task = task.to_string();
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "list_review_queue",
                vec![
                    ("source", "uncertain"),
                    ("market", "JP"),
                    ("category", ""),
                    ("band", ""),
                    ("min_age_minutes", ""),
                ],
            ),
            ("get_review", vec![("task_id", &task)]),
            (
                "submit_review",
                vec![
                    ("task_id", &task),
                    ("verdict", "approve"),
                    ("reason_code", ""),
                    ("reason_text", ""),
                    ("next", "false"),
                ],
            ),
            ("start_review", vec![("source", "escalation")]),
            ("get_thresholds", vec![]),
            ("get_team_numbers", vec![("days", "7")]),
        ];
        for (name, form) in cases {
            let r = send(&app, rpc(name, &form, Some(&cookie))).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{}: {name}: {}",
                t.label,
                r.text()
            );
            assert_eq!(r.json()["kind"], "forbidden");
        }
        // Nothing in the reviewer's own markets: an empty queue, not an error.
        let r = send(
            &app,
            rpc("start_review", &[("source", "uncertain")], Some(&cookie)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json(), serde_json::Value::Null);
        // Logged out: 401.
        let r = send(&app, rpc("get_queue_overview", &[], None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn appeals_through_the_api() {
    use amso_core::access::apikeys::{self, Scope as KeyScope};
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    for t in backends().await {
        let app = app(&t);
        let (key, secret) = apikeys::create(&t.db, &Actor::Cli, "feed", KeyScope::Ingest)
            .await
            .unwrap();
        let batch = vec![
            SubmittedAd {
                external_id: Some("x1".into()),
                market: Some("US".into()),
                headline: Some("Casino night".into()),
                ..Default::default()
            }
            .validate()
            .unwrap(),
        ];
        let id = ads::submit(&t.db, &key.source(), &batch, now_millis())
            .await
            .unwrap()[0]
            .id;
        let appeal = |id: i64, body: &str| {
            Request::post(format!("/api/v1/ads/{id}/appeal"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let statement = r#"{"statement": "A board game, no real money."}"#;
        // Still queued: not appealable.
        let r = send(&app, appeal(id, statement)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}: {}", t.label, r.text());
        let mut scores = [0.01f32; 10];
        scores[Category::Gambling.index()] = 0.95;
        commit::record(
            &t.db,
            "w",
            "m",
            1,
            &[Decided {
                ad_id: id,
                market: Market::Us,
                scores,
                verdict: Verdict {
                    action: Action::Reject,
                    reasons: vec![Category::Gambling],
                    route: None,
                    audit_sample: false,
                    sampling_probability: 0.05,
                },
                latency_ms: 1.0,
                submitted_at: now_millis(),
                daily_budget_usd: 10.0,
                language: None,
            }],
            now_millis(),
        )
        .await
        .unwrap();
        let r = send(&app, appeal(id, r#"{"statment": "typo"}"#)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let r = send(&app, appeal(id, r#"{"statement": "   "}"#)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        let r = send(&app, appeal(id, statement)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["status"], "appealed");
        let r = send(&app, appeal(id, statement)).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "one open appeal per ad");
        let r = send(&app, appeal(id + 1000, statement)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = send(
            &app,
            Request::get(format!("/api/v1/ads/{id}"))
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.json()["status"], "appealed");
        assert_eq!(r.json()["appeals"][0]["status"], "open");
    }
}

#[tokio::test]
async fn demo_history_looks_like_a_real_operation() {
    use amso_core::demo::history::{HistoryParams, seed_history};
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
    let scorer = amso_core::engine::worker::Scorer::start(&model, 16).unwrap();
    for t in backends().await {
        let end = now_millis();
        let p = HistoryParams {
            ads: 3000,
            days: 14,
            seed: 7,
            end,
            audit_rate_approve: 0.02,
            audit_rate_reject: 0.05,
            qa_rate: 0.05,
            lifecycle: None,
        };
        let s = seed_history(&t.db, &scorer, &p).await.unwrap();
        assert_eq!(s.ads, 3000, "{}", t.label);
        assert!(
            s.reviews > 50 && s.appeals > 0 && s.open_items > 0,
            "{}: {s:?}",
            t.label
        );
        // The machine decided every ad at the hour it came in, never twice.
        let (undecided, late): (i64, i64) = sqlx::query_as(
            "select cast(sum(case when d.id is null then 1 else 0 end) as bigint), \
             cast(sum(case when d.decided_at - a.submitted_at > 3600000 then 1 else 0 end) as bigint) \
             from ads a left join decisions d on d.ad_id = a.id",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!((undecided, late), (0, 0), "{}", t.label);
        // Human work happened in the past, each action audited at its own time.
        let (future,): (i64,) =
            sqlx::query_as("select count(*) from audit_log where at > $1 and object like 'ad:%'")
                .bind(end)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(future, 0);
        let (audited,): (i64,) =
            sqlx::query_as("select count(*) from audit_log where action like 'review.%'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(audited as usize, s.reviews, "{}", t.label);
        // Not a perfect operation: reviewers overrule some automatic decisions.
        assert!(s.overrides > 0, "{}: {s:?}", t.label);
        // A second run refuses to pile onto existing data.
        assert!(seed_history(&t.db, &scorer, &p).await.is_err());
        // The closed loop: final verdicts come back as training rows `amso import` reads.
        let rows = review::timeline::final_labels(&t.db, 0).await.unwrap();
        assert!(!rows.is_empty());
        let jsonl: String = rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let (good, bad) = amso_core::intake::validate::read_jsonl(jsonl.as_bytes());
        assert!(bad.is_empty(), "{:?}", bad.first());
        assert_eq!(good.len(), rows.len());
        assert!(
            good.iter()
                .any(|(_, a)| a.labels.as_ref().is_some_and(|l| !l.is_empty()))
        );
        assert!(
            good.iter()
                .any(|(_, a)| a.labels.as_ref().is_some_and(|l| l.is_empty()))
        );
    }
}

#[tokio::test]
async fn live_queue_counts_stream_to_logged_in_reviewers() {
    use amso_core::demo::accounts::DEMO_LOGINS;
    use axum::http::{StatusCode, header};
    use futures_util::StreamExt;
    use tower::ServiceExt;
    for t in backends().await {
        let app = app(&t);
        decided(
            &t,
            "sse",
            2,
            Market::Us,
            Action::Review,
            Some(Route::Restricted),
        )
        .await;
        let r = send(&app, get("/api/v1/stream", None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let demo = DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::Reviewer)
            .unwrap();
        let cookie = login(&app, demo.email, demo.password).await;
        let res = app
            .clone()
            .oneshot(get("/api/v1/stream", Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
        let mut body = res.into_body().into_data_stream();
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
            .await
            .expect("an event arrives at once")
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&first);
        assert!(text.starts_with("event: queues"), "{text}");
        assert!(
            text.contains(r#""source":"restricted","open":2"#),
            "{}: {text}",
            t.label
        );
    }
}

#[tokio::test]
async fn the_audit_log_exports_as_safe_csv() {
    use amso_core::demo::accounts::DEMO_LOGINS;
    use axum::http::{StatusCode, header};
    for t in backends().await {
        let app = app(&t);
        let ad = decided(
            &t,
            "csv",
            1,
            Market::Us,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await[0];
        let r = reviewer(&t, "csv@example.com", Role::Reviewer, vec![Market::Us]).await;
        let s = DeskSettings::default();
        let task = review::queues::claim_next(&t.db, &r, Source::Uncertain, &s, None, now_millis())
            .await
            .unwrap()
            .unwrap();
        let hostile = Submission {
            reason_code: Some("other".into()),
            reason_text: Some("=HYPERLINK(\"http://evil.example\",\"click\")".into()),
            ..reject()
        };
        review::verdicts::submit(&t.db, &r, task, &hostile, &s, false, 1.0, now_millis())
            .await
            .unwrap();
        let login_as = |role: Role| DEMO_LOGINS.iter().find(|d| d.role == role).unwrap();
        let reviewer_cookie = login(
            &app,
            login_as(Role::Reviewer).email,
            login_as(Role::Reviewer).password,
        )
        .await;
        let r = send(&app, get("/admin/audit.csv", Some(&reviewer_cookie))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let ops = login_as(Role::OpsHead);
        let cookie = login(&app, ops.email, ops.password).await;
        let r = send(
            &app,
            get(
                &format!("/admin/audit.csv?prefix=review.&q=ad:{ad}"),
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = r.text();
        let mut lines = text.split("\r\n");
        assert_eq!(
            lines.next(),
            Some("id,at,actor,action,object,change,before,after,ip")
        );
        let row = lines.next().unwrap();
        assert!(
            row.contains(",csv@example.com,review.submit,"),
            "{}: {row}",
            t.label
        );
        // The reviewer's note cannot become a formula: no cell starts with `=`.
        assert!(!text.contains(",=") && !text.contains(",\"="), "{text}");
        assert!(text.contains("HYPERLINK"));
        assert_eq!(
            lines.filter(|l| !l.is_empty()).count(),
            0,
            "only this ad's review"
        );
    }
}

#[tokio::test]
async fn reason_codes_are_managed_and_retired_ones_refused() {
    for t in backends().await {
        let actor = Actor::User("ops@example.com".into());
        let now = now_millis();
        review::reasons::save_reason_code(
            &t.db,
            &actor,
            "counterfeit_brand",
            "Uses a brand it does not own",
            true,
            now,
        )
        .await
        .unwrap();
        assert!(matches!(
            review::reasons::save_reason_code(&t.db, &actor, "Bad Code!", "x", true, now).await,
            Err(ReviewError::Invalid(_))
        ));
        let codes = review::reasons::reason_codes(&t.db).await.unwrap();
        assert_eq!(codes.last().unwrap().code, "counterfeit_brand");
        // Retire one: it is no longer offered, and a review giving it is refused.
        review::reasons::save_reason_code(
            &t.db,
            &actor,
            "wrong_category",
            "Right action, wrong category",
            false,
            now,
        )
        .await
        .unwrap();
        assert!(
            !review::reasons::reason_codes(&t.db)
                .await
                .unwrap()
                .iter()
                .any(|r| r.code == "wrong_category")
        );
        decided(&t, "rc", 1, Market::Us, Action::Approve, Some(Route::Audit)).await;
        let r = reviewer(&t, "rc@example.com", Role::Reviewer, vec![Market::Us]).await;
        let s = DeskSettings::default();
        let task = review::queues::claim_next(&t.db, &r, Source::Audit, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        let retired = Submission {
            reason_code: Some("wrong_category".into()),
            ..reject()
        };
        assert!(matches!(
            review::verdicts::submit(&t.db, &r, task, &retired, &s, false, 1.0, now).await,
            Err(ReviewError::Invalid(_))
        ));
        let audited: (i64,) =
            sqlx::query_as("select count(*) from audit_log where action = 'settings.reason_code'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(audited.0, 2, "{}", t.label);
    }
}
