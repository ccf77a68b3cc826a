//! Shared set-up for the HTTP tests: the real router over a real SQLite file and, when the
//! test command started one, a real PostgreSQL database.

use amso_app::ssr::AppState;
use amso_core::demo::accounts::ensure_demo_users;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_server::build_router;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use tower::ServiceExt;

/// A migrated database with the demo users, on one backend.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// One fresh database per backend available to this run. PostgreSQL is mandatory when
/// `AMSO_TEST_REQUIRE_POSTGRES` is set (the test command sets it).
pub async fn backends() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    match std::env::var("AMSO_TEST_POSTGRES_URL") {
        Ok(admin_url) => out.push(postgres(&admin_url).await),
        Err(_) if std::env::var_os("AMSO_TEST_REQUIRE_POSTGRES").is_some() => {
            panic!("AMSO_TEST_REQUIRE_POSTGRES is set but AMSO_TEST_POSTGRES_URL is not")
        }
        Err(_) => eprintln!("note: AMSO_TEST_POSTGRES_URL not set; PostgreSQL cases skipped"),
    }
    out
}

async fn prepare(url: String, label: &'static str, dir: Option<tempfile::TempDir>) -> TestDb {
    let db = Db::connect(&url, 5).await.expect("connect");
    db.migrate().await.expect("migrate");
    ensure_demo_users(&db).await.expect("demo users");
    TestDb {
        db,
        url,
        label,
        _dir: dir,
    }
}

/// A fresh SQLite file in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("amso.db").display());
    prepare(url, "sqlite", Some(dir)).await
}

/// A fresh database on the PostgreSQL server behind `admin_url`.
pub async fn postgres(admin_url: &str) -> TestDb {
    let admin = Db::connect(admin_url, 1)
        .await
        .expect("connect to test PostgreSQL");
    let name = format!("amso_t_{:016x}", rand::random::<u64>());
    sqlx::query(&format!("create database {name}"))
        .execute(admin.pool())
        .await
        .expect("create test database");
    admin.close().await;
    let base = admin_url.rsplit_once('/').expect("URL has a database").0;
    prepare(format!("{base}/{name}"), "postgres", None).await
}

/// The default configuration with `DATABASE_URL` pointing at `url`.
pub fn config(url: &str) -> Config {
    let url = url.to_string();
    Config::from_lookup(move |name| (name == "DATABASE_URL").then(|| url.clone())).unwrap()
}

/// The configuration with `DATABASE_URL` pointing at `url` and `vars` set.
pub fn config_with(url: &str, vars: &[(&str, &str)]) -> Config {
    let url = url.to_string();
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |name| {
        if name == "DATABASE_URL" {
            return Some(url.clone());
        }
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// `req` as if it came from the client address `ip`.
pub fn from_address(mut req: Request<Body>, ip: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

/// The application router over `db`.
pub fn app(t: &TestDb) -> Router {
    app_with(t, config(&t.url))
}

/// The application router over `db` with `config`.
pub fn app_with(t: &TestDb, config: Config) -> Router {
    app_with_options(
        t,
        config,
        LeptosOptions::builder().output_name("amso").build(),
    )
}

/// The application router over `db` with `config`, serving the site `leptos_options` says.
pub fn app_with_options(t: &TestDb, config: Config, leptos_options: LeptosOptions) -> Router {
    build_router(AppState {
        leptos_options,
        db: t.db.clone(),
        config: Arc::new(config),
        scorer: None,
    })
    .router
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The session cookie this response sets, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("amso_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// The raw `Set-Cookie` header for the session.
    pub fn session_set_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("amso_session="))
            .map(str::to_string)
    }
}

/// Sends one request through the router.
///
/// A request that has not answered in 60 s fails the test with its method and path: a hang
/// must not eat the whole suite's time limit.
pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let what = format!("{} {}", req.method(), req.uri());
    let exchange = async {
        let res = app
            .clone()
            .oneshot(req)
            .await
            .expect("router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .expect("read body");
        Reply {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), exchange)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within 60 s"))
}

/// A GET with an optional cookie.
pub fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

/// A server-function call with a form-encoded body and an optional cookie.
pub fn rpc(name: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Request<Body> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::post(format!("/rpc/{name}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Logs in and returns the session cookie.
pub async fn login(app: &Router, email: &str, password: &str) -> String {
    let reply = send(
        app,
        rpc("login", &[("email", email), ("password", password)], None),
    )
    .await;
    assert!(
        reply.status.is_success() || reply.status.is_redirection(),
        "login as {email} failed: {} {}",
        reply.status,
        reply.text()
    );
    reply
        .session_cookie()
        .expect("login sets the session cookie")
}

/// Posts ads through each of `servers` in turn (an ingest `key`), every 150 ms for `for_ms`;
/// `body(n)` is the n-th ad's JSON. Every post must be accepted.
pub async fn post_through(
    servers: &[amso_server::cli::bench::reliability::Server],
    key: &str,
    for_ms: i64,
    label: &str,
    body: impl Fn(usize) -> String,
) {
    let auth = format!("Bearer {key}");
    let started = amso_core::platform::time::now_millis();
    let mut n = 0;
    while amso_core::platform::time::now_millis() - started < for_ms {
        for s in servers {
            n += 1;
            let (status, _, text) = amso_server::cli::bench::reliability::call(
                &s.addr,
                "POST",
                "/api/v1/ads",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                &body(n),
            )
            .await
            .unwrap();
            assert!((200..300).contains(&status), "{label}: {status} {text}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

/// Waits (a minute at most) until no ad is left queued.
pub async fn wait_until_decided(t: &TestDb) {
    let deadline = amso_core::platform::time::now_millis() + 60_000;
    loop {
        let (queued,): (i64,) = sqlx::query_as("select count(*) from ads where status = 'queued'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        if queued == 0 || amso_core::platform::time::now_millis() > deadline {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The server process of a worker id (`host-pid-tag`): its pid.
pub fn process_of(worker: &str) -> String {
    worker
        .split('-')
        .rev()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}
