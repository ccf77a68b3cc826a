//! A team across languages and time zones, on SQLite and PostgreSQL: claim-next hands each
//! reviewer the languages they read, an item nobody reads waits and is flagged, and users
//! carry a checked time zone and languages through the core, HTTP and the CLI.

use crate::common::*;
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser, UserError};
use amso_core::engine::commit::{self, Decided};
use amso_core::engine::decide::{Action, Route, Verdict};
use amso_core::intake::ads;
use amso_core::intake::validate::SubmittedAd;
use amso_core::platform::time::{local_days, now_millis, to_rfc3339};
use amso_core::review::{self, DeskSettings, Scope, verdicts::Submission};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::{HumanVerdict, Source};
use amso_core::vocab::role::Role;
use axum::http::StatusCode;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) async fn member(t: &TestDb, email: &str, languages: &[&str]) -> Scope {
    let user = users::create(
        &t.db,
        &Actor::System,
        NewUser {
            email: email.into(),
            display_name: email.split('@').next().unwrap().into(),
            role: Role::Reviewer,
            markets: vec![Market::Jp],
            password: "a-long-password".into(),
            demo_credentials: false,
            time_zone: Some("Asia/Tokyo".into()),
            languages: languages.iter().map(|l| l.to_string()).collect(),
        },
    )
    .await
    .unwrap();
    Scope {
        user_id: user.id,
        email: user.email,
        role: Role::Reviewer,
        markets: vec![Market::Jp],
    }
}

/// Ads in JP routed to the uncertain queue, `n` per language (`None`: no language declared);
/// returns ad id → language.
pub(crate) async fn queued(
    t: &TestDb,
    category: Category,
    per_language: &[(Option<&str>, usize)],
) -> BTreeMap<i64, String> {
    let mut batch = Vec::new();
    for (language, n) in per_language {
        for i in 0..*n {
            batch.push(
                SubmittedAd {
                    external_id: Some(format!(
                        "{}-{}-{i}",
                        category.as_str(),
                        language.unwrap_or("none")
                    )),
                    market: Some("JP".into()),
                    language: language.map(str::to_string),
                    headline: Some(format!("Casino night board game #{i}")),
                    body: Some("Family fun with play money.".into()),
                    daily_budget_usd: Some(40.0 + i as f64),
                    ..Default::default()
                }
                .validate()
                .unwrap(),
            );
        }
    }
    let now = now_millis();
    let stored = ads::submit(&t.db, "test", &batch, now).await.unwrap();
    let mut scores = [0.05f32; 10];
    scores[category.index()] = 0.5;
    let rows: Vec<Decided> = stored
        .iter()
        .map(|s| Decided {
            ad_id: s.id,
            market: Market::Jp,
            scores,
            verdict: Verdict {
                action: Action::Review,
                reasons: vec![category],
                route: Some(Route::Uncertain),
                audit_sample: false,
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
    stored
        .iter()
        .zip(&batch)
        .map(|(s, ad)| {
            (
                s.id,
                ad.language
                    .map(|l| l.code().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Claims and approves until claim-next has nothing more for `scope`; the ads it was handed.
async fn work_through(t: &TestDb, scope: &Scope) -> Vec<i64> {
    work_some(t, scope, usize::MAX).await
}

/// Claims and approves up to `most` items (fewer when claim-next runs dry).
async fn work_some(t: &TestDb, scope: &Scope, most: usize) -> Vec<i64> {
    let settings = DeskSettings::default();
    let mut ads = Vec::new();
    while ads.len() < most
        && let Some(task) = review::queues::claim_next(
            &t.db,
            scope,
            Source::Uncertain,
            &settings,
            None,
            now_millis(),
        )
        .await
        .unwrap()
    {
        let (ad,): (i64,) = sqlx::query_as("select ad_id from review_tasks where id = $1")
            .bind(task)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        ads.push(ad);
        let approve = Submission {
            verdict: HumanVerdict::Approve,
            categories: vec![],
            reason_code: None,
            reason_text: None,
        };
        review::verdicts::submit(
            &t.db,
            scope,
            task,
            &approve,
            &settings,
            false,
            1.0,
            now_millis(),
        )
        .await
        .unwrap();
        assert!(ads.len() <= 100, "claim-next keeps handing out items");
    }
    ads
}

fn languages_of(ads: &[i64], language: &BTreeMap<i64, String>) -> BTreeSet<String> {
    ads.iter().map(|a| language[a].clone()).collect()
}

#[tokio::test]
async fn claim_next_hands_each_reviewer_the_languages_they_read() {
    for t in backends().await {
        let language = queued(
            &t,
            Category::Gambling,
            &[(Some("ja"), 4), (Some("en"), 3), (None, 2), (Some("ko"), 2)],
        )
        .await;
        // Every task carries its ad's language.
        let (mismatched,): (i64,) = sqlx::query_as(
            "select count(*) from review_tasks t join ads a on a.id = t.ad_id \
             where coalesce(t.language, '') <> coalesce(a.language, '')",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(mismatched, 0, "{}", t.label);

        let ja = member(&t, "yui@example.com", &["ja"]).await;
        let en = member(&t, "sam@example.com", &["en"]).await;
        // Nobody in JP reads Korean yet: flagged, first.
        let backlog = review::queues::language_backlog(&t.db, &[Market::Jp], now_millis())
            .await
            .unwrap();
        assert_eq!(backlog[0].language.as_deref(), Some("ko"), "{}", t.label);
        assert!(backlog[0].readers.is_empty(), "{}", t.label);
        assert_eq!(backlog[0].open, 2, "{}", t.label);
        let ja_row = backlog
            .iter()
            .find(|b| b.language.as_deref() == Some("ja"))
            .unwrap();
        assert_eq!(ja_row.readers, vec!["yui".to_string()], "{}", t.label);
        let undeclared = backlog.iter().find(|b| b.language.is_none()).unwrap();
        assert_eq!(
            undeclared.readers.len(),
            2,
            "{}: anyone takes these",
            t.label
        );

        // The queue card counts, for each of them, what claim-next would hand them.
        let available = |scope: Scope| {
            let db = t.db.clone();
            async move {
                review::queues::summaries(&db, &scope, now_millis())
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|q| q.source == Source::Uncertain)
                    .map(|q| (q.open, q.available))
                    .unwrap()
            }
        };
        assert_eq!(available(ja.clone()).await, (11, 6), "{}", t.label);
        assert_eq!(available(en.clone()).await, (11, 5), "{}", t.label);

        let yui = work_through(&t, &ja).await;
        assert_eq!(yui.len(), 6, "{}: 4 Japanese and 2 undeclared", t.label);
        assert_eq!(
            languages_of(&yui, &language),
            BTreeSet::from(["".to_string(), "ja".to_string()]),
            "{}",
            t.label
        );
        let sam = work_through(&t, &en).await;
        assert_eq!(sam.len(), 3, "{}", t.label);
        assert_eq!(
            languages_of(&sam, &language),
            BTreeSet::from(["en".to_string()]),
            "{}",
            t.label
        );
        // The Korean items waited; a reviewer with no languages set takes anything.
        let any = member(&t, "kai@example.com", &[]).await;
        let kai = work_through(&t, &any).await;
        assert_eq!(
            languages_of(&kai, &language),
            BTreeSet::from(["ko".to_string()]),
            "{}",
            t.label
        );
        let backlog = review::queues::language_backlog(&t.db, &[Market::Jp], now_millis())
            .await
            .unwrap();
        assert!(backlog.is_empty(), "{}: {backlog:?}", t.label);
    }
}

#[tokio::test]
async fn time_zones_and_languages_are_checked_and_nothing_half_saved() {
    for t in backends().await {
        let new = |zone: Option<&str>, languages: &[&str]| NewUser {
            email: "mina@example.com".into(),
            display_name: "Mina".into(),
            role: Role::Reviewer,
            markets: vec![Market::Kr],
            password: "a-long-password".into(),
            demo_credentials: false,
            time_zone: zone.map(str::to_string),
            languages: languages.iter().map(|l| l.to_string()).collect(),
        };
        let e = users::create(&t.db, &Actor::Cli, new(Some("Asia/Seoull"), &["ko"]))
            .await
            .unwrap_err();
        assert!(matches!(e, UserError::InvalidTimeZone(_)), "{e}");
        assert!(e.to_string().starts_with("time_zone:"), "{e}");
        let e = users::create(&t.db, &Actor::Cli, new(Some("Asia/Seoul"), &["ko", "jp"]))
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("languages: `jp`"), "{e}");
        let before = users::list(&t.db).await.unwrap().len();
        let mina = users::create(&t.db, &Actor::Cli, new(Some("Asia/Seoul"), &["KO", "en"]))
            .await
            .unwrap();
        assert_eq!(users::list(&t.db).await.unwrap().len(), before + 1);
        assert_eq!(mina.time_zone, "Asia/Seoul");
        assert!(mina.time_zone_chosen);
        assert_eq!(mina.languages, vec!["en", "ko"]);
        // A bad change leaves the user as they were.
        let e = users::update(
            &t.db,
            &Actor::Cli,
            None,
            mina.id,
            users::UserChange {
                display_name: Some("Mina K".into()),
                languages: Some(vec!["english".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(e.to_string().starts_with("languages:"), "{e}");
        let stored = users::find(&t.db, mina.id).await.unwrap().unwrap();
        assert_eq!(stored, mina, "{}", t.label);
    }
}

#[tokio::test]
async fn a_person_sets_their_own_zone_and_their_day_follows_it() {
    for t in backends().await {
        let app = app(&t);
        let cookie = login(&app, "reviewer@amso.test", "reviewer-demo-pass").await;
        let viewer = send(&app, rpc("get_viewer", &[], Some(&cookie)))
            .await
            .json();
        assert_eq!(viewer["time_zone"], "UTC", "{}", t.label);
        assert_eq!(viewer["time_zone_chosen"], false, "{}", t.label);

        let bad = send(
            &app,
            rpc(
                "set_my_time_zone",
                &[("time_zone", "Asia/Tokio")],
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
        assert!(
            bad.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("time_zone:"),
            "{}: {}",
            t.label,
            bad.text()
        );
        let long = "A".repeat(65);
        let too_long = send(
            &app,
            rpc("set_my_time_zone", &[("time_zone", &long)], Some(&cookie)),
        )
        .await;
        assert_eq!(
            too_long.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            t.label
        );

        let ok = send(
            &app,
            rpc(
                "set_my_time_zone",
                &[("time_zone", "Asia/Tokyo")],
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}: {}", t.label, ok.text());
        let viewer = send(&app, rpc("get_viewer", &[], Some(&cookie)))
            .await
            .json();
        assert_eq!(viewer["time_zone"], "Asia/Tokyo", "{}", t.label);
        assert_eq!(viewer["time_zone_chosen"], true, "{}", t.label);

        let before = now_millis();
        let overview = send(&app, rpc("get_queue_overview", &[], Some(&cookie)))
            .await
            .json();
        let after = now_millis();
        assert_eq!(overview["time_zone"], "Asia/Tokyo", "{}", t.label);
        let tokyo = "Asia/Tokyo".parse().unwrap();
        let expected: BTreeSet<String> = [before, after]
            .iter()
            .map(|at| to_rfc3339(local_days(*at, tokyo, 1).0))
            .collect();
        assert!(
            expected.contains(overview["day_from"].as_str().unwrap()),
            "{}: {} not in {expected:?}",
            t.label,
            overview["day_from"]
        );
        assert!(
            overview["day_from"]
                .as_str()
                .unwrap()
                .ends_with("T15:00:00Z"),
            "{}: Tokyo midnight is 15:00 UTC",
            t.label
        );
        assert_eq!(overview["reads"], serde_json::json!(["de", "en"]));

        // The change is audited as the person's own.
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from audit_log where action = 'user.update' and actor = $1 \
             and after_json like '%Asia/Tokyo%'",
        )
        .bind("reviewer@amso.test")
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(n, 1, "{}", t.label);

        // An admin creates a user with a zone and languages; a bad code is a 400 naming
        // the field.
        let admin = login(&app, "admin@amso.test", "admin-demo-pass").await;
        let form = |languages: &'static str| {
            vec![
                ("email", "aya@example.com"),
                ("display_name", "Aya"),
                ("role", "reviewer"),
                ("markets", "JP"),
                ("password", "a-long-password-1"),
                ("time_zone", "Asia/Tokyo"),
                ("languages", languages),
            ]
        };
        let bad = send(&app, rpc("create_user", &form("ja,jp"), Some(&admin))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
        assert!(bad.text().contains("languages: `jp`"), "{}", bad.text());
        let made = send(&app, rpc("create_user", &form("ja, en"), Some(&admin))).await;
        assert_eq!(made.status, StatusCode::OK, "{}: {}", t.label, made.text());
        let made = made.json();
        assert_eq!(made["time_zone"], "Asia/Tokyo");
        assert_eq!(made["languages"], serde_json::json!(["en", "ja"]));
    }
}

#[tokio::test]
async fn the_cli_adds_and_lists_users_with_zones_and_languages() {
    let t = sqlite().await;
    let amso = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_amso"))
            .args(args)
            .env("DATABASE_URL", &t.url)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .unwrap()
    };
    let out = amso(&[
        "user",
        "add",
        "--email",
        "yui@example.com",
        "--role",
        "reviewer",
        "--markets",
        "JP",
        "--time-zone",
        "Asia/Tokyo",
        "--languages",
        "ja,en",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = amso(&[
        "user",
        "add",
        "--email",
        "bad@example.com",
        "--role",
        "reviewer",
        "--markets",
        "JP",
        "--time-zone",
        "Tokyo",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("time_zone: `Tokyo`"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let set = amso(&[
        "user",
        "set",
        "--email",
        "yui@example.com",
        "--languages",
        "ja",
    ]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let out = amso(&["user", "list", "--json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let yui = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "yui@example.com")
        .expect("listed");
    assert_eq!(yui["time_zone"], "Asia/Tokyo");
    assert_eq!(yui["languages"], serde_json::json!(["ja"]));
    assert_eq!(yui["markets"], serde_json::json!(["JP"]));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u["email"] != "bad@example.com"),
        "nothing half-saved"
    );
}

#[tokio::test]
async fn exposure_caps_hold_under_concurrent_claims_and_lose_nothing() {
    for t in backends().await {
        let adult = queued(&t, Category::Adult, &[(Some("ja"), 8)]).await;
        let calm = queued(&t, Category::Gambling, &[(Some("ja"), 2)]).await;
        let now = now_millis();
        let e = review::exposure::set_cap(&t.db, &Actor::Cli, Category::Adult, Some(-1), now)
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("daily_cap must be"), "{e}");
        review::exposure::set_cap(&t.db, &Actor::Cli, Category::Adult, Some(3), now)
            .await
            .unwrap();
        review::exposure::set_break_after(&t.db, &Actor::Cli, 2, now)
            .await
            .unwrap();
        let (audited,): (i64,) = sqlx::query_as(
            "select count(*) from audit_log where action in ('settings.exposure_cap', 'settings.break_after')",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 2, "{}: the refused cap wrote nothing", t.label);

        // One reviewer claiming from eight tabs at once is shown at most three adult items.
        let yui = member(&t, "yui@example.com", &["ja"]).await;
        let settings = DeskSettings::default();
        let mut tabs = Vec::new();
        for _ in 0..8 {
            let (db, scope) = (t.db.clone(), yui.clone());
            tabs.push(tokio::spawn(async move {
                review::queues::claim_next(
                    &db,
                    &scope,
                    Source::Uncertain,
                    &settings,
                    None,
                    now_millis(),
                )
                .await
            }));
        }
        for tab in tabs {
            tab.await.unwrap().unwrap();
        }
        let shown = |user: i64| {
            let db = t.db.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as(
                    "select count(*) from exposures where user_id = $1 and category = 'adult'",
                )
                .bind(user)
                .fetch_one(db.pool())
                .await
                .unwrap();
                n
            }
        };
        let after_tabs = shown(yui.user_id).await;
        assert!((1..=3).contains(&after_tabs), "{}: {after_tabs}", t.label);

        // Working on, she gets adult items up to the cap, then the calmer ones, then nothing.
        let worked = work_through(&t, &yui).await;
        assert_eq!(shown(yui.user_id).await, 3, "{}", t.label);
        let adult_worked = worked.iter().filter(|a| adult.contains_key(a)).count();
        let calm_worked = worked.iter().filter(|a| calm.contains_key(a)).count();
        assert_eq!(calm_worked, 2, "{}: the calm items still came", t.label);
        assert!(adult_worked <= 3, "{}", t.label);
        // Past the cap she may not pick one from the list either.
        let (open_adult,): (i64,) = sqlx::query_as(
            "select min(t.id) from review_tasks t join decisions d on d.ad_id = t.ad_id \
             where t.state = 'open' and d.reasons like '%\"adult\"%'",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        let refused = review::queues::claim(&t.db, &yui, open_adult, &settings, now_millis())
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("limit of 3"), "{refused}");
        // A calm item ended her run.
        assert_eq!(
            review::exposure::run_of(&t.db, yui.user_id, now_millis())
                .await
                .unwrap(),
            0,
            "{}",
            t.label
        );

        // Nothing is lost: a colleague is handed the rest, in order.
        let haruto = member(&t, "haruto@example.com", &["ja"]).await;
        let rest = work_some(&t, &haruto, 2).await;
        assert_eq!(rest.len(), 2, "{}", t.label);
        assert_eq!(
            review::exposure::run_of(&t.db, haruto.user_id, now_millis())
                .await
                .unwrap(),
            2,
            "{}: two adult items in a row",
            t.label
        );
        review::exposure::take_break(&t.db, haruto.user_id, now_millis())
            .await
            .unwrap();
        assert_eq!(
            review::exposure::run_of(&t.db, haruto.user_id, now_millis())
                .await
                .unwrap(),
            0,
            "{}",
            t.label
        );
        // Lifting the cap hands him the rest.
        review::exposure::set_cap(&t.db, &Actor::Cli, Category::Adult, None, now_millis())
            .await
            .unwrap();
        let more = work_through(&t, &haruto).await;
        let (left,): (i64,) =
            sqlx::query_as("select count(*) from review_tasks where state = 'open'")
                .fetch_one(t.db.pool())
                .await
                .unwrap();
        assert_eq!(left, 0, "{}: every item decided", t.label);
        assert_eq!(adult_worked + rest.len() + more.len(), 8, "{}", t.label);
        // The ops heads' table counts both, in their own zones.
        let team = review::exposure::team_exposure(&t.db, now_millis())
            .await
            .unwrap();
        let row = team.iter().find(|r| r.user_id == yui.user_id).unwrap();
        assert_eq!(row.today.get(&Category::Adult), Some(&3), "{}", t.label);
        assert_eq!(row.week.get(&Category::Gambling), Some(&2), "{}", t.label);
        assert_eq!(row.time_zone, "Asia/Tokyo");
    }
}

#[tokio::test]
async fn a_csv_report_can_start_with_a_byte_order_mark_for_excel() {
    let t = sqlite().await;
    let app = app(&t);
    let cookie = login(&app, "ops@amso.test", "ops-demo-pass").await;
    let plain = send(
        &app,
        get("/api/v1/reports/weekly?format=csv", Some(&cookie)),
    )
    .await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    assert!(!plain.body.starts_with(b"\xEF\xBB\xBF"));
    let marked = send(
        &app,
        get("/api/v1/reports/weekly?format=csv&bom=true", Some(&cookie)),
    )
    .await;
    assert_eq!(marked.status, StatusCode::OK);
    assert!(marked.body.starts_with(b"\xEF\xBB\xBF"));
    let first_line = |b: &[u8]| b.split(|c| *c == b'\n').next().unwrap().to_vec();
    assert_eq!(first_line(&marked.body[3..]), first_line(&plain.body));
    let pdf = send(
        &app,
        get("/api/v1/reports/weekly?format=pdf&bom=true", Some(&cookie)),
    )
    .await;
    assert!(pdf.body.starts_with(b"%PDF"), "a PDF is left as it is");
}
