//! The holes a security review found, each pinned by a test on SQLite and PostgreSQL: blind
//! QA, appeals kept from everyone who rejected, cross-site requests, login abuse, the login
//! redirect, the live stream's caps and session checks, `/metrics`, the security headers,
//! sessions, the production guard, overflowing numbers and dates, and scope leaks.

use crate::common::*;
use crate::review::{decided, reviewer};
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, UserChange};
use amso_core::demo::accounts::DEMO_LOGINS;
use amso_core::engine::decide::{Action, Route};
use amso_core::platform::time::now_millis;
use amso_core::review::{self, DeskSettings, verdicts::Submission};
use amso_core::vocab::market::Market;
use amso_core::vocab::policy::Category;
use amso_core::vocab::queue::{HumanVerdict, Source};
use amso_core::vocab::role::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt;
use std::time::Duration;
use tower::ServiceExt;

fn demo(role: Role) -> (&'static str, &'static str) {
    let d = DEMO_LOGINS.iter().find(|d| d.role == role).unwrap();
    (d.email, d.password)
}

fn reject_with(text: &str) -> Submission {
    Submission {
        verdict: HumanVerdict::Reject,
        categories: vec![Category::Gambling],
        reason_code: None,
        reason_text: Some(text.into()),
    }
}

/// A request with `headers` added.
fn with_headers(mut req: Request<Body>, headers: &[(&str, &str)]) -> Request<Body> {
    for (k, v) in headers {
        req.headers_mut().insert(
            header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    req
}

#[tokio::test]
async fn blind_qa_reveals_nothing_of_the_first_review() {
    for t in backends().await {
        let app = app(&t);
        decided(
            &t,
            "blind",
            1,
            Market::Fr,
            Action::Review,
            Some(Route::Restricted),
        )
        .await;
        let first = reviewer(&t, "first@example.com", Role::Reviewer, vec![Market::Fr]).await;
        reviewer(&t, "second@example.com", Role::Reviewer, vec![Market::Fr]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        let task = review::queues::claim_next(&t.db, &first, Source::Restricted, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        let out = review::verdicts::submit(
            &t.db,
            &first,
            task,
            &reject_with("casino-lure-note"),
            &s,
            false,
            0.0,
            now,
        )
        .await
        .unwrap();
        assert!(out.qa_sampled);

        let second = login(&app, "second@example.com", "a-long-password").await;
        let r = send(
            &app,
            rpc("start_review", &[("source", "qa")], Some(&second)),
        )
        .await;
        let qa = r.json().as_i64().expect("a QA item");
        let r = send(
            &app,
            rpc("get_review", &[("task_id", &qa.to_string())], Some(&second)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        let screen = r.json();
        let text = r.text();
        assert_eq!(screen["blind"], true);
        assert_eq!(screen["ad"]["status"], "in_review", "{}", t.label);
        for leak in [
            "first@example.com",
            "casino-lure-note",
            "\"status\":\"rejected\"",
        ] {
            assert!(
                !text.contains(leak),
                "{}: the QA screen shows {leak}: {text}",
                t.label
            );
        }
        // Nor does the first review's own item, opened by id.
        let r = send(
            &app,
            rpc(
                "get_review",
                &[("task_id", &task.to_string())],
                Some(&second),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert!(
            !r.text().contains("casino-lure-note"),
            "{}: {}",
            t.label,
            r.text()
        );
        // Once the second verdict is in, the record is whole again.
        let r = send(
            &app,
            rpc(
                "submit_review",
                &[
                    ("task_id", &qa.to_string()),
                    ("verdict", "reject"),
                    ("categories[0]", "gambling"),
                    ("reason_code", ""),
                    ("reason_text", ""),
                    ("next", "false"),
                ],
                Some(&second),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        let r = send(
            &app,
            rpc("get_review", &[("task_id", &qa.to_string())], Some(&second)),
        )
        .await;
        assert_eq!(r.json()["blind"], false, "{}", t.label);
        assert!(r.text().contains("first@example.com"));
    }
}

#[tokio::test]
async fn appeals_skip_everyone_who_took_part_in_the_rejection() {
    for t in backends().await {
        let ad = decided(
            &t,
            "ap",
            1,
            Market::De,
            Action::Review,
            Some(Route::Uncertain),
        )
        .await[0];
        let a = reviewer(&t, "a@example.com", Role::Reviewer, vec![Market::De]).await;
        let b = reviewer(&t, "b@example.com", Role::Reviewer, vec![Market::De]).await;
        let c = reviewer(&t, "c@example.com", Role::Reviewer, vec![Market::De]).await;
        let s = DeskSettings::default();
        let now = now_millis();
        let task = review::queues::claim_next(&t.db, &a, Source::Uncertain, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        let out =
            review::verdicts::submit(&t.db, &a, task, &reject_with("no"), &s, false, 0.0, now)
                .await
                .unwrap();
        assert!(out.qa_sampled);
        // b checks it blind and agrees: b took part in the rejection too.
        let qa = review::queues::claim_next(&t.db, &b, Source::Qa, &s, None, now)
            .await
            .unwrap()
            .unwrap();
        review::verdicts::submit(
            &t.db,
            &b,
            qa,
            &reject_with("agree"),
            &s,
            false,
            1.0,
            now + 1,
        )
        .await
        .unwrap();
        review::appeals::file_appeal(&t.db, ad, "It is a board game.", "apikey:test", now + 2)
            .await
            .unwrap();
        for (who, scope) in [("the first reviewer", &a), ("the agreeing QA reviewer", &b)] {
            assert_eq!(
                review::queues::claim_next(&t.db, scope, Source::Appeal, &s, None, now + 3)
                    .await
                    .unwrap(),
                None,
                "{}: {who} was handed the appeal",
                t.label
            );
            let listed = review::queues::list_queue(
                &t.db,
                scope,
                Source::Appeal,
                &review::queues::QueueFilter {
                    limit: 50,
                    ..Default::default()
                },
                now + 3,
            )
            .await
            .unwrap();
            assert!(
                listed.is_empty(),
                "{}: {who} sees the appeal listed",
                t.label
            );
        }
        let appeal_task: (i64,) = sqlx::query_as(
            "select id from review_tasks where ad_id = $1 and source = 'appeal' and state = 'open'",
        )
        .bind(ad)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert!(
            review::queues::claim(&t.db, &a, appeal_task.0, &s, now + 3)
                .await
                .is_err(),
            "{}: picking it from the list is refused too",
            t.label
        );
        assert_eq!(
            review::queues::claim_next(&t.db, &c, Source::Appeal, &s, None, now + 3)
                .await
                .unwrap(),
            Some(appeal_task.0)
        );
    }
}

#[tokio::test]
async fn cross_site_requests_are_refused_login_included() {
    for t in backends().await {
        let app = app_with(
            &t,
            config_with(&t.url, &[("AMSO_ALLOWED_ORIGINS", "https://amso.example")]),
        );
        let (email, password) = demo(Role::Admin);
        let form = format!("email={}&password={password}", email.replace('@', "%40"));
        let login_from = |headers: &[(&str, &str)], content_type: &str| {
            let req = Request::post("/rpc/login")
                .header(header::HOST, "amso.local:3000")
                .header(header::CONTENT_TYPE, content_type)
                .header(header::ACCEPT, "application/json")
                .body(Body::from(form.clone()))
                .unwrap();
            with_headers(req, headers)
        };
        // The confirmed attack: another site's text/plain form posting correct credentials.
        let r = send(
            &app,
            login_from(&[("origin", "https://evil.example")], "text/plain"),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["kind"], "forbidden");
        assert!(r.session_cookie().is_none());
        let form_type = "application/x-www-form-urlencoded";
        for headers in [
            &[("origin", "null")][..],
            &[("origin", "https://amso.local:3000.evil.example")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
        ] {
            let r = send(&app, login_from(headers, form_type)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {headers:?}", t.label);
        }
        // Its own pages, an allowed origin (a proxy), and programs without browser headers.
        for headers in [
            &[
                ("origin", "http://amso.local:3000"),
                ("sec-fetch-site", "same-origin"),
            ][..],
            &[("origin", "https://amso.example")],
            &[("sec-fetch-site", "same-origin")],
            &[],
        ] {
            let r = send(&app, login_from(headers, form_type)).await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{}: {headers:?}: {}",
                t.label,
                r.text()
            );
        }
        // A state change once logged in: refused cross-site, whatever the cookie.
        let cookie = login(&app, email, password).await;
        let req = with_headers(
            rpc(
                "create_user",
                &[
                    ("email", "mallory@example.com"),
                    ("display_name", "Mallory"),
                    ("role", "admin"),
                    ("markets", ""),
                    ("password", "mallory-password"),
                ],
                Some(&cookie),
            ),
            &[("origin", "https://evil.example")],
        );
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", t.label);
        assert!(
            users::find_for_login(&t.db, "mallory@example.com")
                .await
                .unwrap()
                .is_none()
        );
        // Reading stays open to links from elsewhere.
        let r = send(
            &app,
            with_headers(
                get("/reports", Some(&cookie)),
                &[("sec-fetch-site", "cross-site")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn overlong_emails_are_refused_before_anything_is_stored() {
    for t in backends().await {
        let app = app(&t);
        let long = format!("{}@example.com", "a".repeat(3000));
        let r = send(
            &app,
            rpc(
                "login",
                &[("email", &long), ("password", "whatever-pass")],
                None,
            ),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {}",
            t.label,
            r.text()
        );
        assert_eq!(r.json()["kind"], "invalid");
        let (longest,): (Option<i64>,) = sqlx::query_as("select max(length(actor)) from audit_log")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert!(longest.unwrap_or(0) <= 300, "{}: {longest:?}", t.label);
        let (attempts,): (i64,) = sqlx::query_as("select count(*) from login_attempts")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(attempts, 0, "{}", t.label);
    }
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_stopped() {
    for t in backends().await {
        let app = app_with(
            &t,
            config_with(&t.url, &[("AMSO_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")]),
        );
        for i in 0..4 {
            let email = format!("user{i}@example.com");
            let req = rpc(
                "login",
                &[("email", &email), ("password", "Winter2026!")],
                None,
            );
            let r = send(&app, from_address(req, "203.0.113.7")).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", t.label);
        }
        let (email, password) = demo(Role::Executive);
        let req = rpc("login", &[("email", email), ("password", password)], None);
        let r = send(&app, from_address(req, "203.0.113.7")).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}: {}",
            t.label,
            r.text()
        );
        let wait: u64 = r.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&wait), "{wait}");
        // Another address is not affected.
        let req = rpc("login", &[("email", email), ("password", password)], None);
        let r = send(&app, from_address(req, "198.51.100.2")).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
    }
}

#[tokio::test]
async fn a_parallel_burst_gets_no_more_guesses_than_the_limit() {
    for t in backends().await {
        let app = app(&t);
        let (email, _) = demo(Role::Executive);
        let guesses = (0..16).map(|i| {
            let app = app.clone();
            async move {
                let guess = format!("guess-number-{i}");
                send(
                    &app,
                    rpc("login", &[("email", email), ("password", &guess)], None),
                )
                .await
                .status
            }
        });
        let statuses = futures_util::future::join_all(guesses).await;
        let checked = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        assert!(
            checked <= 5,
            "{}: {checked} of 16 parallel guesses were checked (limit 5): {statuses:?}",
            t.label
        );
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
        );
    }
}

#[tokio::test]
async fn nobody_can_lock_an_owner_out_of_their_account() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::OpsHead);
        let from = |ip: &str, pw: &str| {
            from_address(
                rpc("login", &[("email", email), ("password", pw)], None),
                ip,
            )
        };
        // The owner logs in from their usual address.
        assert_eq!(
            send(&app, from("192.0.2.10", password)).await.status,
            StatusCode::OK
        );
        // Someone else fails over and over from elsewhere, locking the account for everyone…
        for _ in 0..5 {
            let r = send(&app, from("203.0.113.66", "not-the-password")).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        for _ in 0..20 {
            let r = send(&app, from("203.0.113.66", password)).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", t.label);
        }
        // …except the owner at an address the account knows.
        let r = send(&app, from("192.0.2.10", password)).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        // Turned-away attempts never count as failures, so they cannot extend the lock.
        let (failed,): (i64,) = sqlx::query_as(
            "select count(*) from login_attempts where email = $1 and outcome = 'failed'",
        )
        .bind(email)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(failed, 5, "{}", t.label);
    }
}

#[tokio::test]
async fn the_login_redirect_stays_on_this_site_and_never_panics() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Executive);
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/ok\r\nSet-Cookie: x=1",
            "//evil.example",
        ] {
            let req = Request::post("/rpc/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .body(Body::from(format!(
                    "email={}&password={password}&next={}",
                    email.replace('@', "%40"),
                    next.bytes()
                        .map(|b| format!("%{b:02X}"))
                        .collect::<String>()
                )))
                .unwrap();
            let r = send(&app, req).await;
            assert!(
                r.status.is_redirection() || r.status.is_success(),
                "{}: {next:?} gave {}",
                t.label,
                r.status
            );
            let location = r
                .headers
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_else(|| r.json().as_str().unwrap().to_string());
            assert_eq!(location, "/reports", "{}: {next:?}", t.label);
        }
    }
}

#[tokio::test]
async fn live_streams_are_capped_and_end_with_the_session() {
    for t in backends().await {
        let app = app_with(
            &t,
            config_with(&t.url, &[("AMSO_STREAM_MAX_PER_USER", "2")]),
        );
        let (email, password) = demo(Role::OpsHead);
        let cookie = login(&app, email, password).await;
        let open = || app.clone().oneshot(get("/api/v1/stream", Some(&cookie)));
        let one = open().await.unwrap();
        let two = open().await.unwrap();
        assert_eq!(
            (one.status(), two.status()),
            (StatusCode::OK, StatusCode::OK)
        );
        let three = send(&app, get("/api/v1/stream", Some(&cookie))).await;
        assert_eq!(three.status, StatusCode::TOO_MANY_REQUESTS, "{}", t.label);
        assert!(three.headers.contains_key(header::RETRY_AFTER));
        drop(two);
        let again = open().await.unwrap();
        assert_eq!(
            again.status(),
            StatusCode::OK,
            "a closed stream frees its place"
        );
        drop(again);

        // Logging out ends the stream at its next session check.
        let r = send(&app, rpc("logout", &[], Some(&cookie))).await;
        assert!(!r.status.is_server_error());
        let mut body = one.into_body().into_data_stream();
        let ended = tokio::time::timeout(Duration::from_secs(40), async {
            while let Some(chunk) = body.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "{}: the stream outlived its session",
            t.label
        );
    }
}

#[tokio::test]
async fn metrics_have_bounded_labels_and_an_optional_token() {
    for t in backends().await {
        let app = app(&t);
        for i in 0..25 {
            let req = Request::builder()
                .method(format!("MADEUP{i}").as_str())
                .uri("/healthz")
                .body(Body::empty())
                .unwrap();
            send(&app, req).await;
        }
        let text = send(&app, get("/metrics", None)).await.text();
        assert!(!text.contains("MADEUP"), "{}", t.label);
        let series = text
            .lines()
            .filter(|l| l.starts_with("amso_http_requests_total{"))
            .count();
        assert!(series <= 3, "{}: {series} series:\n{text}", t.label);

        let guarded = app_with(
            &t,
            config_with(&t.url, &[("AMSO_METRICS_TOKEN", "scrape-me")]),
        );
        let r = send(&guarded, get("/metrics", None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let req = with_headers(
            get("/metrics", None),
            &[("authorization", "Bearer scrape-me")],
        );
        let r = send(&guarded, req).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("amso_http_requests_total"));
    }
}

#[tokio::test]
async fn pages_carry_a_nonce_policy_and_the_other_security_headers() {
    let t = sqlite().await;
    let app = app(&t);
    let r = send(&app, get("/login", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce")
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
    assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    let html = r.text();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert!(r.headers.contains_key("permissions-policy"));
    assert!(!r.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    let again = send(&app, get("/login", None)).await;
    assert!(
        !again.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains(&nonce),
        "a nonce is used once"
    );
    let secure = app_with(&t, config_with(&t.url, &[("AMSO_COOKIE_SECURE", "true")]));
    let r = send(&secure, get("/login", None)).await;
    assert!(
        r.headers[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

/// The value of the session cookie `name=value`.
fn cookie_value(cookie: &str) -> &str {
    cookie.split_once('=').unwrap().1
}

#[tokio::test]
async fn sessions_slide_on_use_end_on_password_change_and_are_stored_hashed() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Reviewer);
        let phone = login(&app, email, password).await;
        let laptop = login(&app, email, password).await;
        // Stored under a hash: the cookie's value is nowhere in the table.
        let (plain,): (i64,) = sqlx::query_as("select count(*) from sessions where id = $1")
            .bind(cookie_value(&phone))
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(plain, 0, "{}", t.label);
        let key = amso_core::access::sessions::key_of(cookie_value(&phone));
        let r = send(&app, rpc("get_viewer", &[], Some(&phone))).await;
        assert_eq!(r.json()["email"], email, "{}", t.label);

        // Idle expiry is idle: a request well into the session moves its end forward.
        let soon = now_millis() + 5_000;
        let (data,): (String,) = sqlx::query_as("select data from sessions where id = $1")
            .bind(&key)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        // Edited as text: the record's 128-bit id does not survive a trip through f64.
        let record: serde_json::Value = serde_json::from_str(&data).unwrap();
        let seen = record["data"]["seen_at"].as_i64().expect("use is noted");
        let aged = data.replace(&format!("\"seen_at\":{seen}"), "\"seen_at\":0");
        assert_ne!(aged, data);
        sqlx::query("update sessions set data = $1, expires_at = $2 where id = $3")
            .bind(aged)
            .bind(soon)
            .bind(&key)
            .execute(t.db.pool())
            .await
            .unwrap();
        let r = send(&app, rpc("get_viewer", &[], Some(&phone))).await;
        assert_eq!(r.json()["email"], email);
        let (expires,): (i64,) = sqlx::query_as("select expires_at from sessions where id = $1")
            .bind(&key)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert!(
            expires > now_millis() + 59 * 60_000,
            "{}: a used session still ends {} s from now",
            t.label,
            (expires - now_millis()) / 1000
        );

        // An administrator sets a new password: every session of the account ends.
        let (a_email, a_password) = demo(Role::Admin);
        let admin = login(&app, a_email, a_password).await;
        let user = users::find_for_login(&t.db, email)
            .await
            .unwrap()
            .unwrap()
            .0;
        let id = user.id.to_string();
        let r = send(
            &app,
            rpc(
                "update_user",
                &[
                    ("id", &id),
                    ("display_name", "Rina Reviewer"),
                    ("role", "reviewer"),
                    ("markets", "US,GB,DE"),
                    ("disabled", "false"),
                    ("password", "a-brand-new-password"),
                ],
                Some(&admin),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        for cookie in [&phone, &laptop] {
            let r = send(&app, rpc("get_viewer", &[], Some(cookie))).await;
            assert_eq!(r.json(), serde_json::Value::Null, "{}", t.label);
        }
        let r = send(&app, rpc("get_viewer", &[], Some(&admin))).await;
        assert_eq!(r.json()["email"], a_email, "the admin's own session stays");
    }
}

#[tokio::test]
async fn production_refuses_a_demo_password_set_again() {
    for t in backends().await {
        let prod = app_with(&t, config_with(&t.url, &[("AMSO_ENV", "production")]));
        let (email, password) = demo(Role::Executive);
        let user = users::find_for_login(&t.db, email)
            .await
            .unwrap()
            .unwrap()
            .0;
        // Changed, then set back to the published one (as a script might).
        for (pw, flagged) in [("a-private-password", false), (password, true)] {
            let after = users::update(
                &t.db,
                &Actor::System,
                None,
                user.id,
                UserChange {
                    password: Some(pw.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(after.demo_credentials, flagged, "{}", t.label);
        }
        let r = send(
            &prod,
            rpc("login", &[("email", email), ("password", password)], None),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {}", t.label, r.text());
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("demo password")
        );
        // Development still lets the demo accounts in.
        let dev = app(&t);
        login(&dev, email, password).await;
    }
}

#[tokio::test]
async fn overflowing_numbers_and_far_dates_answer_400() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::OpsHead);
        let cookie = login(&app, email, password).await;
        let page = i64::MAX.to_string();
        let requests = [
            rpc("list_ads", &[("query[page]", &page)], Some(&cookie)),
            rpc(
                "list_review_queue",
                &[
                    ("source", "uncertain"),
                    ("market", ""),
                    ("category", ""),
                    ("band", ""),
                    ("min_age_minutes", "153722867280912930"),
                ],
                Some(&cookie),
            ),
            get("/api/v1/kpis?from=0001-01-01&to=0001-01-02", Some(&cookie)),
            get(
                "/api/v1/reports/weekly?week=0001-W01&format=csv",
                Some(&cookie),
            ),
        ];
        for req in requests {
            let what = req.uri().to_string();
            let r = send(&app, req).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{}: {what}: {}",
                t.label,
                r.text()
            );
        }
        let r = send(
            &app,
            get("/api/v1/ads/99999999999999999999999", Some(&cookie)),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
    }
}

#[tokio::test]
async fn reviewers_see_only_their_markets_and_only_ops_heads_apply_thresholds() {
    for t in backends().await {
        let app = app(&t);
        // One advertiser in two markets: the reviewer works GB only.
        for (market, prefix) in [(Market::Gb, "gb"), (Market::Jp, "jp")] {
            let ids = decided(
                &t,
                prefix,
                2,
                market,
                Action::Review,
                Some(Route::Uncertain),
            )
            .await;
            sqlx::query("update ads set advertiser_id = 'adv-shared' where id in ($1, $2)")
                .bind(ids[0])
                .bind(ids[1])
                .execute(t.db.pool())
                .await
                .unwrap();
        }
        reviewer(&t, "gb@example.com", Role::Reviewer, vec![Market::Gb]).await;
        let cookie = login(&app, "gb@example.com", "a-long-password").await;
        let r = send(
            &app,
            rpc("start_review", &[("source", "uncertain")], Some(&cookie)),
        )
        .await;
        let task = r.json().as_i64().expect("a GB item");
        let r = send(
            &app,
            rpc(
                "get_review",
                &[("task_id", &task.to_string())],
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        let history = &r.json()["history"];
        assert_eq!(history["ads"], 1, "{}: {history}", t.label);
        assert_eq!(
            history["recent"].as_array().unwrap().len(),
            1,
            "{}",
            t.label
        );

        let (email, password) = demo(Role::Admin);
        let admin = login(&app, email, password).await;
        let apply = |cookie: &str| {
            rpc(
                "apply_thresholds",
                &[
                    ("market", "US"),
                    ("category", "gambling"),
                    ("approve_below", "0.2"),
                    ("reject_at", "0.9"),
                ],
                Some(cookie),
            )
        };
        let r = send(&app, apply(&admin)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {}", t.label, r.text());
        let (email, password) = demo(Role::OpsHead);
        let ops = login(&app, email, password).await;
        let r = send(&app, apply(&ops)).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
    }
}
