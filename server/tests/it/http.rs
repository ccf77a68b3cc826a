//! The HTTP surface through the real router, on SQLite and PostgreSQL.

use crate::common::*;
use amso_core::demo::accounts::DEMO_LOGINS;
use amso_core::vocab::role::Role;
use axum::http::{StatusCode, header};
use std::sync::Arc;
use std::time::Duration;

fn demo(role: Role) -> (&'static str, &'static str) {
    let d = DEMO_LOGINS.iter().find(|d| d.role == role).unwrap();
    (d.email, d.password)
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    for t in backends().await {
        let app = app(&t);
        let r = send(&app, get("/healthz", None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", t.label);
        assert_eq!(r.json()["status"], "ok");
        let r = send(&app, get("/readyz", None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["status"], "ready");
        let r = send(&app, get("/metrics", None)).await;
        assert_eq!(r.status, StatusCode::OK);
        let text = r.text();
        assert!(
            text.contains(
                r#"amso_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("amso_http_request_duration_seconds_bucket"));
    }
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let t = sqlite().await;
    let app = app(&t);
    t.db.close().await;
    let r = send(&app, get("/readyz", None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["kind"], "not_ready");
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_roles_are_enforced_on_the_server() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Admin);
        let r = send(
            &app,
            rpc("login", &[("email", email), ("password", password)], None),
        )
        .await;
        assert!(!r.status.is_server_error(), "{}: {}", t.label, r.text());
        let set_cookie = r.session_set_cookie().expect("cookie");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        let admin = r.session_cookie().unwrap();

        let r = send(&app, rpc("list_users", &[], Some(&admin))).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert_eq!(r.json().as_array().unwrap().len(), 4);

        let (email, password) = demo(Role::Reviewer);
        let reviewer = login(&app, email, password).await;
        let r = send(&app, rpc("list_users", &[], Some(&reviewer))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", t.label);
        assert_eq!(r.json()["kind"], "forbidden");

        let r = send(&app, rpc("list_users", &[], None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["kind"], "unauthenticated");

        // Pages: the same rules, with the page's own "no access" view.
        let r = send(&app, get("/admin/users", Some(&reviewer))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = send(&app, get("/admin/users", Some(&admin))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("Users"));
    }
}

#[tokio::test]
async fn login_rotates_the_session_id() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::OpsHead);
        let first = login(&app, email, password).await;
        let r = send(
            &app,
            rpc(
                "login",
                &[("email", email), ("password", password)],
                Some(&first),
            ),
        )
        .await;
        let second = r.session_cookie().expect("a new cookie at login");
        assert_ne!(
            first, second,
            "{}: session id must change at login",
            t.label
        );
        let r = send(&app, rpc("get_viewer", &[], Some(&first))).await;
        assert_eq!(
            r.json(),
            serde_json::Value::Null,
            "{}: old id still valid",
            t.label
        );
        let r = send(&app, rpc("get_viewer", &[], Some(&second))).await;
        assert_eq!(r.json()["email"], email);
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_rate_limited() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Executive);
        for _ in 0..5 {
            let r = send(
                &app,
                rpc(
                    "login",
                    &[("email", email), ("password", "wrong-guess")],
                    None,
                ),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", t.label);
            assert_eq!(r.json()["error"], "wrong email or password");
            assert!(r.session_cookie().is_none());
        }
        // The sixth attempt is refused even with the right password.
        let r = send(
            &app,
            rpc("login", &[("email", email), ("password", password)], None),
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", t.label);
        assert_eq!(r.json()["kind"], "rate_limited");
        // Other accounts are unaffected.
        let (email, password) = demo(Role::Admin);
        login(&app, email, password).await;
        // Unknown emails are refused the same way as wrong passwords.
        let r = send(
            &app,
            rpc(
                "login",
                &[("email", "nobody@amso.test"), ("password", "whatever-pass")],
                None,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn logout_kills_the_session_on_the_server() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Executive);
        let cookie = login(&app, email, password).await;
        let r = send(&app, get("/reports", Some(&cookie))).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = send(&app, rpc("logout", &[], Some(&cookie))).await;
        assert!(
            !r.status.is_server_error() && !r.status.is_client_error(),
            "{}",
            r.text()
        );
        // The old cookie, replayed, is worthless.
        let r = send(&app, get("/reports", Some(&cookie))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", t.label);
        assert_eq!(r.headers[header::LOCATION], "/login?next=/reports");
        let r = send(&app, rpc("get_viewer", &[], Some(&cookie))).await;
        assert_eq!(r.json(), serde_json::Value::Null);
    }
}

#[tokio::test]
async fn logged_out_page_visits_redirect_to_login() {
    let t = sqlite().await;
    let app = app(&t);
    let r = send(&app, get("/admin/users?tab=all", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/login?next=/admin/users%3Ftab%3Dall"
    );
    let r = send(&app, get("/", None)).await;
    assert_eq!(r.headers[header::LOCATION], "/login");
    let r = send(&app, get("/login", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Log in to AMSO"));
}

#[tokio::test]
async fn sessions_survive_a_server_restart() {
    for t in backends().await {
        let cookie = {
            let first = app(&t);
            let (email, password) = demo(Role::Admin);
            login(&first, email, password).await
        };
        // A new router (as after a restart) over the same database.
        let second = app(&t);
        let r = send(&second, rpc("get_viewer", &[], Some(&cookie))).await;
        assert_eq!(r.json()["role"], "admin", "{}", t.label);
    }
}

#[tokio::test]
async fn disabling_a_user_ends_their_session() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Reviewer);
        let reviewer = login(&app, email, password).await;
        let (a_email, a_password) = demo(Role::Admin);
        let admin = login(&app, a_email, a_password).await;
        let users = send(&app, rpc("list_users", &[], Some(&admin)))
            .await
            .json();
        let id = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .to_string();
        let r = send(
            &app,
            rpc(
                "update_user",
                &[
                    ("id", &id),
                    ("display_name", "Rina Reviewer"),
                    ("role", "reviewer"),
                    ("markets", "US"),
                    ("disabled", "true"),
                    ("password", ""),
                ],
                Some(&admin),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["disabled"], true);
        let r = send(&app, rpc("get_viewer", &[], Some(&reviewer))).await;
        assert_eq!(r.json(), serde_json::Value::Null, "{}", t.label);
        let r = send(
            &app,
            rpc("login", &[("email", email), ("password", password)], None),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn admins_create_users_and_bad_input_gets_a_json_4xx() {
    for t in backends().await {
        let app = app(&t);
        let (email, password) = demo(Role::Admin);
        let admin = login(&app, email, password).await;
        let new = [
            ("email", "Kai@Example.com"),
            ("display_name", "Kai"),
            ("role", "reviewer"),
            ("markets", "JP,KR"),
            ("password", "kai-initial-pass"),
        ];
        let r = send(&app, rpc("create_user", &new, Some(&admin))).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        assert_eq!(r.json()["email"], "kai@example.com");
        assert_eq!(r.json()["markets"], serde_json::json!(["JP", "KR"]));
        login(&app, "kai@example.com", "kai-initial-pass").await;

        let r = send(&app, rpc("create_user", &new, Some(&admin))).await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        let mut bad = new;
        bad[0].1 = "other@example.com";
        bad[3].1 = "JP,XX";
        let r = send(&app, rpc("create_user", &bad, Some(&admin))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.json()["error"].as_str().unwrap().contains("XX"));

        bad[3].1 = "JP";
        bad[4].1 = "short";
        let r = send(&app, rpc("create_user", &bad, Some(&admin))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Missing fields: a malformed request, answered as a JSON 4xx.
        let r = send(
            &app,
            rpc("create_user", &[("email", "x@y.z")], Some(&admin)),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        assert_eq!(r.json()["kind"], "invalid");

        // Admins cannot lock themselves out.
        let me = send(&app, rpc("get_viewer", &[], Some(&admin)))
            .await
            .json();
        let r = send(
            &app,
            rpc(
                "update_user",
                &[
                    ("id", &me["id"].to_string()),
                    ("display_name", "Ada"),
                    ("role", "reviewer"),
                    ("markets", "US"),
                    ("disabled", "false"),
                    ("password", ""),
                ],
                Some(&admin),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_ads_table_filters_by_submission_day() {
    use amso_core::intake::validate::SubmittedAd;
    for t in backends().await {
        let app = app(&t);
        let day = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
        };
        let ads: Vec<_> = ["2026-11-01", "2026-11-02", "2026-11-02", "2026-11-03"]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    SubmittedAd {
                        external_id: Some(format!("d{i}")),
                        market: Some("US".into()),
                        headline: Some("Garden chairs".into()),
                        ..Default::default()
                    }
                    .validate()
                    .unwrap(),
                    day(d),
                )
            })
            .collect();
        let items: Vec<_> = ads.iter().map(|(a, t)| (a, *t)).collect();
        amso_core::intake::ads::submit_timed(&t.db, "test", &items)
            .await
            .unwrap();
        let (email, password) = demo(Role::OpsHead);
        let cookie = login(&app, email, password).await;
        let list = |from: &'static str, to: &'static str| {
            rpc(
                "list_ads",
                &[
                    ("query[market]", "US"),
                    ("query[page]", "1"),
                    ("query[from]", from),
                    ("query[to]", to),
                ],
                Some(&cookie),
            )
        };
        let total = |r: Reply| r.json()["total"].as_i64().unwrap();
        assert_eq!(total(send(&app, list("", "")).await), 4, "{}", t.label);
        assert_eq!(
            total(send(&app, list("2026-11-02", "2026-11-02")).await),
            2,
            "{}",
            t.label
        );
        assert_eq!(total(send(&app, list("2026-11-02", "")).await), 3);
        assert_eq!(total(send(&app, list("", "2026-11-01")).await), 1);
        // A filter that cannot be read is a malformed request, as on the dashboards.
        let r = send(&app, list("yesterday", "")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let r = send(&app, list("0001-01-01", "")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

        // The dates are the viewer's days: at UTC+14 noon UTC is 02:00 the next day.
        let zone = send(
            &app,
            rpc(
                "set_my_time_zone",
                &[("time_zone", "Pacific/Kiritimati")],
                Some(&cookie),
            ),
        )
        .await;
        assert_eq!(zone.status, StatusCode::OK, "{}", zone.text());
        assert_eq!(
            total(send(&app, list("2026-11-03", "2026-11-03")).await),
            2,
            "{}",
            t.label
        );
        assert_eq!(total(send(&app, list("2026-11-04", "")).await), 1);
        assert_eq!(total(send(&app, list("", "2026-11-01")).await), 0);
    }
}

/// One error at the HTTP edge: a body over the size limit and a method a route does not have
/// answer JSON like every other error, and a filter that cannot be read gives the same status
/// and kind through the KPIs API and through the page's server function.
#[tokio::test]
async fn errors_have_one_shape_and_one_status_whichever_way_they_come() {
    use amso_core::access::apikeys::{self, Scope};
    use amso_core::access::audit::Actor;
    use axum::body::Body;
    use axum::http::Request;
    for t in backends().await {
        let app = app(&t);
        let (_, ingest) = apikeys::create(&t.db, &Actor::Cli, "feed", Scope::Ingest)
            .await
            .unwrap();
        let huge = format!("[{}]", "0,".repeat(1_500_000) + "0");
        let r = send(
            &app,
            Request::post("/api/v1/ads")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {ingest}"))
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", t.label);
        assert_eq!(r.json()["kind"], "too_large", "{}: {}", t.label, r.text());
        assert!(r.json()["error"].as_str().is_some_and(|e| !e.is_empty()));

        let r = send(
            &app,
            Request::delete("/api/v1/kpis").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", t.label);
        assert_eq!(r.json()["kind"], "not_found", "{}: {}", t.label, r.text());

        let (email, password) = demo(Role::Executive);
        let cookie = login(&app, email, password).await;
        let api = send(&app, get("/api/v1/kpis?from=yesterday", Some(&cookie))).await;
        let form = [
            ("sel[window]", "custom"),
            ("sel[from]", "yesterday"),
            ("sel[to]", ""),
            ("sel[market]", ""),
            ("sel[category]", ""),
            ("sel[model]", ""),
        ];
        let page = send(&app, rpc("get_overview", &form, Some(&cookie))).await;
        assert_eq!(
            api.status,
            StatusCode::BAD_REQUEST,
            "{}: {}",
            t.label,
            api.text()
        );
        assert_eq!(page.status, api.status, "{}: {}", t.label, page.text());
        assert_eq!(page.json()["kind"], "invalid");
        assert_eq!(api.json()["kind"], "invalid");
        assert!(
            page.json().get("status").is_none(),
            "the body is only error and kind: {}",
            page.text()
        );
    }
}

/// What `path` answers to a browser that accepts `encodings`, read whole.
async fn fetch_encoded(app: &axum::Router, path: &str, encodings: &str) -> Reply {
    let mut req = get(path, None);
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, encodings.parse().unwrap());
    send(app, req).await
}

fn encoding(r: &Reply) -> Option<&str> {
    r.headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
}

/// The bundle goes out as built: its precompressed brotli file to a browser that takes brotli
/// (the highest level, not the on-the-fly fastest), the plain file to one that takes nothing;
/// hashed names are cached for a year, unhashed ones revalidated.
#[tokio::test]
async fn the_bundle_goes_out_precompressed_and_hashed_names_are_cached_for_good() {
    use std::io::{Read, Write};
    let t = sqlite().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    let wasm: Vec<u8> = (0..200_000u32)
        .map(|i| (i % 251) as u8 ^ (i / 977) as u8)
        .collect();
    let mut packed = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut packed, 4096, 11, 22);
        w.write_all(&wasm).unwrap();
    }
    std::fs::write(site.path().join("pkg/amso.0f3a9c.wasm"), &wasm).unwrap();
    std::fs::write(site.path().join("pkg/amso.0f3a9c.wasm.br"), &packed).unwrap();
    for hashed in [true, false] {
        let options = leptos::config::LeptosOptions::builder()
            .output_name("amso")
            .site_root(site.path().to_string_lossy().to_string())
            .hash_files(hashed)
            .build();
        let app = app_with_options(&t, config(&t.url), options);
        let br = fetch_encoded(&app, "/pkg/amso.0f3a9c.wasm", "gzip, deflate, br").await;
        assert_eq!(br.status, StatusCode::OK);
        assert_eq!(encoding(&br), Some("br"));
        assert_eq!(
            br.body.as_ref(),
            packed.as_slice(),
            "the file built, as it is"
        );
        let mut back = Vec::new();
        brotli::Decompressor::new(&br.body[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, wasm);
        let cache = br.headers[header::CACHE_CONTROL].to_str().unwrap();
        if hashed {
            assert_eq!(cache, "public, max-age=31536000, immutable");
        } else {
            assert_eq!(cache, "no-cache");
        }
        let plain = send(&app, get("/pkg/amso.0f3a9c.wasm", None)).await;
        assert_eq!(encoding(&plain), None);
        assert_eq!(plain.body.len(), wasm.len());
        // Pages are never cached that way.
        let page = send(&app, get("/login", None)).await;
        assert!(
            page.headers
                .get(header::CACHE_CONTROL)
                .is_none_or(|v| v != cache)
        );
    }
}

/// Pages and JSON go out brotli-compressed to a browser that accepts it, gzip to one that
/// only takes gzip, as they are to one that takes neither; the body decodes to the page; the
/// live stream is never compressed (it must flush event by event).
#[tokio::test]
async fn pages_and_json_are_compressed_for_browsers_that_accept_it() {
    use std::io::Read;
    let t = sqlite().await;
    let app = app(&t);
    let plain = send(&app, get("/login", None)).await;
    assert_eq!(encoding(&plain), None);
    assert!(plain.text().contains("<html"), "{}", plain.text());

    let br = fetch_encoded(&app, "/login", "gzip, deflate, br").await;
    assert_eq!(br.status, StatusCode::OK);
    assert_eq!(encoding(&br), Some("br"));
    let mut page = String::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_string(&mut page)
        .expect("a brotli body");
    assert!(
        page.contains("<html") && page.contains("Log in to AMSO"),
        "{page}"
    );
    assert!(
        br.body.len() < plain.body.len(),
        "{} against {}",
        br.body.len(),
        plain.body.len()
    );

    let gz = fetch_encoded(&app, "/api/v1/kpis", "gzip").await;
    assert_eq!(gz.status, StatusCode::UNAUTHORIZED);
    assert_eq!(encoding(&gz), Some("gzip"));
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut json)
        .expect("a gzip body");
    let error: serde_json::Value = serde_json::from_str(&json).expect("a JSON error");
    assert_eq!(error["kind"], "unauthenticated", "{json}");

    let (email, password) = demo(Role::OpsHead);
    let cookie = login(&app, email, password).await;
    let mut req = get("/api/v1/stream", Some(&cookie));
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, "br, gzip".parse().unwrap());
    let stream = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers().get(header::CONTENT_ENCODING).is_none());
}

/// Routers built while others serve (as every test here does) never leave a page unfinished:
/// listing the routes for each new router used to strand one render in thirty for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_finish_while_new_routers_are_built_beside_them() {
    let t = Arc::new(sqlite().await);
    let (email, password) = demo(Role::Executive);
    let cookie = login(&app(&t), email, password).await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (t, cookie) = (t.clone(), cookie.clone());
        clients.push(tokio::spawn(async move {
            let mut served = app(&t);
            let mut unfinished = 0;
            for i in 0..24 {
                if i % 3 == 0 {
                    served = app(&t);
                }
                let page = send(&served, get("/reports", Some(&cookie)));
                match tokio::time::timeout(Duration::from_secs(10), page).await {
                    Ok(r) => assert_eq!(r.status, StatusCode::OK),
                    Err(_) => unfinished += 1,
                }
            }
            unfinished
        }));
    }
    let mut unfinished = 0;
    for c in clients {
        unfinished += c.await.expect("client");
    }
    assert_eq!(unfinished, 0, "pages left unfinished out of 192");
}
