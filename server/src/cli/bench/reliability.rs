//! The `reliability` scenario: real `amso serve` processes, killed and restarted.
//!
//! 1. **kill -9**: one server decides ads arriving over HTTP while a reviewer works the queues
//!    through the server functions; when half the ads are acknowledged the server is killed
//!    with SIGKILL (mid-batch, mid-review) and started again on the same database; the
//!    clients retry what failed, as real ones do.
//! 2. **instances**: ads queued in the database are decided by two, then three servers at
//!    once.
//! 3. **database restart** (with `--pg-stop-cmd` and `--pg-start-cmd`): the database server is
//!    stopped and started again under ingest; readiness must follow it and the server recover
//!    by itself.
//!
//! After each: every acknowledged ad stored once, every ad decided exactly once, every
//! acknowledged review stored once, the rollups equal to a recomputation from the raw rows
//! ([`amso_core::engine::integrity`]).

use super::BenchArgs;
use super::fixtures::{bench_db, corpus, to_new};
use crate::cli::common::CliError;
use amso_core::access::apikeys::{self, Scope};
use amso_core::access::audit::Actor;
use amso_core::access::users::{self, NewUser};
use amso_core::engine::integrity;
use amso_core::intake::ads;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Role;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A batch claimed by a killed server is taken over after this lease (the product's default
/// is 60 s; the scenario shortens it so the run does not mostly wait).
const LEASE_SECONDS: &str = "5";
/// The longest wait for the ads to be decided after the last one arrived.
const DECIDE_TIMEOUT: Duration = Duration::from_secs(300);

/// One `amso serve` process.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `amso serve` (this binary) on a free port over `url`.
    fn start(url: &str, config: &Config, tmp: &Path, name: &str) -> Result<Server, CliError> {
        Server::launch(
            &std::env::current_exe()?,
            url,
            &config.model_path,
            tmp,
            name,
        )
    }

    /// Starts `amso serve` from `exe` on a free port over `url`, deciding with the model at
    /// `model_path`; its log goes to `tmp/NAME.log`.
    pub fn launch(
        exe: &Path,
        url: &str,
        model_path: &str,
        tmp: &Path,
        name: &str,
    ) -> Result<Server, CliError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(tmp.join(format!("{name}.log")))?;
        let child = Command::new(exe)
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("LEPTOS_OUTPUT_NAME", "amso")
            .env("AMSO_WORKERS", "2")
            .env("AMSO_LEASE_SECONDS", LEASE_SECONDS)
            .env("AMSO_MODEL_PATH", model_path)
            .env("AMSO_DEMO", "false")
            .env("AMSO_DRIFT_CHECK_SECONDS", "3600")
            .env("AMSO_REPORT_SCHEDULE", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Server { child, addr })
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&mut self) -> Result<f64, CliError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok((200, _, _)) = call(&self.addr, "GET", "/readyz", &[], "").await {
                return Ok(started.elapsed().as_secs_f64());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("amso serve exited at start: {status}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("amso serve did not become ready in 120 s".into())
    }

    /// SIGKILL: no shutdown, no flushing, transactions cut where they are.
    fn kill_hard(&mut self) -> Result<(), CliError> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for the clean shutdown.
    pub fn stop(mut self) -> Result<(), CliError> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    /// A server left running (a failed run) is killed, never orphaned.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 request over loopback: (status, response head, body).
pub async fn call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, payload) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("malformed HTTP reply"))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status"))?;
        Ok((status, head.to_string(), payload.to_string()))
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("timed out")))
}

/// Where the clients send their requests: the server running now.
type Target = Arc<Mutex<String>>;

fn target_of(t: &Target) -> String {
    t.lock().expect("not poisoned").clone()
}

/// Posts `ads` in batches of 100 with the ingest key, retrying a batch until it is
/// acknowledged (resubmitting is idempotent by external id). Returns the acknowledged ids.
async fn ingest(target: Target, secret: String, ads: Vec<Value>, acked: Arc<Mutex<Vec<String>>>) {
    let auth = format!("Bearer {secret}");
    for batch in ads.chunks(100) {
        loop {
            let reply = post_ads(&target_of(&target), &auth, batch).await;
            if let Ok((202, _, payload)) = reply
                && let Ok(v) = serde_json::from_str::<Value>(&payload)
            {
                let ids = v["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r.get("id").is_some())
                    .filter_map(|r| r["external_id"].as_str().map(str::to_string));
                acked.lock().expect("not poisoned").extend(ids);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Paced (at most 4,000 ads a second), so decisions and reviews are under way when
        // the server is killed.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A form-encoded body.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A server function call with a form body, as the pages make it.
async fn rpc(
    addr: &str,
    name: &str,
    body: &str,
    cookie: Option<&str>,
) -> std::io::Result<(u16, String, String)> {
    let mut headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    ];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    call(addr, "POST", &format!("/rpc/{name}"), &headers, body).await
}

/// Posts a batch of ads with the ingest key `auth` (`Bearer …`).
async fn post_ads(
    addr: &str,
    auth: &str,
    batch: &[Value],
) -> std::io::Result<(u16, String, String)> {
    let body = Value::Array(batch.to_vec()).to_string();
    let headers = [
        ("Authorization", auth),
        ("Content-Type", "application/json"),
    ];
    call(addr, "POST", "/api/v1/ads", &headers, &body).await
}

/// The form of an approving verdict on `task`.
fn approval(task: i64) -> String {
    form(&[
        ("task_id", &task.to_string()),
        ("verdict", "approve"),
        ("reason_code", "benign_context"),
        ("reason_text", ""),
        ("next", "false"),
    ])
}

/// Logs in once; the session cookie (`amso_session=…`), or `None` when refused or down.
async fn login_once(addr: &str, email: &str, password: &str) -> Option<String> {
    let body = form(&[("email", email), ("password", password)]);
    let Ok((200, head, _)) = rpc(addr, "login", &body, None).await else {
        return None;
    };
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find(|l| l.starts_with("amso_session="))
        .map(|l| l.split(';').next().unwrap_or_default().to_string())
}

/// A reviewer working the uncertain and restricted queues through the server functions until
/// `stop`, retrying through the restart. Returns the ids of the reviews acknowledged.
async fn review_loop(
    target: Target,
    email: String,
    password: String,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
) -> Vec<i64> {
    let mut acked = Vec::new();
    let mut cookie: Option<String> = None;
    let mut held: Option<i64> = None;
    while !stop.load(Ordering::Relaxed) {
        let addr = target_of(&target);
        let Some(c) = cookie.clone() else {
            cookie = login_once(&addr, &email, &password).await;
            if cookie.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        let task = match held {
            Some(t) => t,
            None => {
                let mut next = None;
                for source in ["uncertain", "restricted"] {
                    let body = form(&[("source", source)]);
                    match rpc(&addr, "start_review", &body, Some(&c)).await {
                        Ok((200, _, payload)) => {
                            next = serde_json::from_str::<Value>(&payload)
                                .ok()
                                .and_then(|v| v.as_i64());
                            if next.is_some() {
                                break;
                            }
                        }
                        Ok((401, _, _)) => cookie = None,
                        _ => {}
                    }
                }
                match next {
                    Some(t) => t,
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
        };
        held = Some(task);
        match rpc(&addr, "submit_review", &approval(task), Some(&c)).await {
            Ok((200, _, payload)) => {
                if let Some(id) = serde_json::from_str::<Value>(&payload)
                    .ok()
                    .and_then(|v| v["review_id"].as_i64())
                {
                    acked.push(id);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                held = None;
            }
            // Decided already (the answer was lost in the crash) or no longer ours.
            Ok((409 | 404 | 403, _, _)) => held = None,
            Ok((401, _, _)) => cookie = None,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    acked
}

/// Waits until no ad is queued; returns the seconds it took.
async fn all_decided(db: &Db) -> Result<f64, CliError> {
    let started = Instant::now();
    while started.elapsed() < DECIDE_TIMEOUT {
        if integrity::queued(db).await? == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("ads still queued after {} s", DECIDE_TIMEOUT.as_secs()).into())
}

/// The corpus as API request items, their external ids prefixed so every run is new.
fn as_requests(corpus: &[amso_core::demo::corpus::CorpusAd], prefix: &str) -> Vec<Value> {
    corpus
        .iter()
        .map(|a| {
            let mut s = a.to_submitted(false);
            s.external_id = Some(format!("{prefix}-{}", a.external_id));
            serde_json::to_value(s).expect("an ad serializes")
        })
        .collect()
}

/// Runs a shell command (stopping or starting the database server) to completion.
fn shell(cmd: &str) -> Result<(), CliError> {
    let status = Command::new("sh").args(["-c", cmd]).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{cmd}` failed: {status}").into())
    }
}

/// Polls `/readyz` until it answers `want`; the seconds it took, or `None` after `limit`.
async fn readiness_turns(addr: &str, want: u16, limit: Duration) -> Option<f64> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok((status, _, _)) = call(addr, "GET", "/readyz", &[], "").await
            && status == want
        {
            return Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The database server stopped and started again under ingest: `/readyz` must turn 503 while
/// it is down and 200 when it is back, the server must keep running, and every ad sent must
/// be decided once.
async fn outage(
    db: &Db,
    url: &str,
    config: &Config,
    tmp: &Path,
    (stop_cmd, start_cmd): (&str, &str),
    secret: &str,
    ads: Vec<Value>,
) -> Result<Value, CliError> {
    let mut server = Server::start(url, config, tmp, "outage")?;
    server.ready().await?;
    let target: Target = Arc::new(Mutex::new(server.addr.clone()));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let total = ads.len();
    let ingest_task = tokio::spawn(ingest(target, secret.to_string(), ads, acked.clone()));
    while acked.lock().expect("not poisoned").len() < total / 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shell(stop_cmd)?;
    let not_ready_after = readiness_turns(&server.addr, 503, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    shell(start_cmd)?;
    let ready_again_after = readiness_turns(&server.addr, 200, Duration::from_secs(60)).await;
    ingest_task.await.map_err(|e| e.to_string())?;
    let decided_seconds = all_decided(db).await?;
    let survived = server.child.try_wait()?.is_none();
    server.stop()?;
    Ok(json!({
        "ads_acknowledged": acked.lock().expect("not poisoned").len(),
        "readyz_503_seconds_after_stop": not_ready_after,
        "readyz_200_seconds_after_start": ready_again_after,
        "server_kept_running": survived,
        "all_decided_seconds_after_last_ad": decided_seconds,
        "integrity": integrity::check(db).await?,
    }))
}

/// Runs the scenario over `url` (a fresh SQLite file when `None`).
pub async fn reliability(
    args: &BenchArgs,
    config: &Config,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "reliability").await?;
    let url = url.map_or_else(
        || format!("sqlite://{}", tmp.join("reliability.db").display()),
        str::to_string,
    );
    let run = now_millis();
    let (key, secret) = apikeys::create(
        &db,
        &Actor::Cli,
        &format!("reliability {run}"),
        Scope::Ingest,
    )
    .await?;
    let email = format!("reliability-{run}@example.com");
    let password = "reliability-password".to_string();
    users::create(
        &db,
        &Actor::Cli,
        NewUser {
            email: email.clone(),
            display_name: "Reliability reviewer".into(),
            role: Role::Reviewer,
            markets: Market::ALL.to_vec(),
            password: password.clone(),
            demo_credentials: false,
            time_zone: None,
            languages: Vec::new(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let corpus = corpus(args.ads);
    let ads = as_requests(&corpus, &format!("rel{run}"));

    // 1. kill -9 in the middle of decisions and reviews, then a restart.
    eprintln!(
        "reliability: {} ads over HTTP, a reviewer at work, kill -9 half way …",
        ads.len()
    );
    let mut first = Server::start(&url, config, tmp, "first")?;
    first.ready().await?;
    let target: Target = Arc::new(Mutex::new(first.addr.clone()));
    let acked_ads = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let ingest_task = tokio::spawn(ingest(
        target.clone(),
        secret.clone(),
        ads.clone(),
        acked_ads.clone(),
    ));
    let reviewed = Arc::new(AtomicUsize::new(0));
    let reviewer = tokio::spawn(review_loop(
        target.clone(),
        email,
        password,
        stop.clone(),
        reviewed.clone(),
    ));
    // Killed once half the ads are in and the reviewer is at work (or after 60 s).
    let waiting = Instant::now();
    while (acked_ads.lock().expect("not poisoned").len() < ads.len() / 2
        || reviewed.load(Ordering::Relaxed) < 3)
        && waiting.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill_hard()?;
    let at_kill = integrity::check(&db).await?;
    let mut second = Server::start(&url, config, tmp, "second")?;
    let restart_seconds = second.ready().await?;
    *target.lock().expect("not poisoned") = second.addr.clone();
    ingest_task.await.map_err(|e| e.to_string())?;
    let decided_seconds = all_decided(&db).await?;
    // Let the reviewer work the restarted server a little, then stop.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let acked_reviews = reviewer.await.map_err(|e| e.to_string())?;
    second.stop()?;
    // A batch resent after the crash may name ads acknowledged before it: count each once.
    let acked: Vec<String> = acked_ads
        .lock()
        .expect("not poisoned")
        .iter()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let ads_found = integrity::ads_stored(&db, &key.source(), &acked).await?;
    let reviews_found = integrity::reviews_stored(&db, &acked_reviews).await?;
    let after = integrity::check(&db).await?;
    let kill9 = json!({
        "ads_acknowledged": acked.len(),
        "ads_lost": acked.len() as i64 - ads_found,
        "decided_when_killed": at_kill.decisions,
        "reviews_acknowledged": acked_reviews.len(),
        "reviews_when_killed": at_kill.reviews,
        "reviews_lost": acked_reviews.len() as i64 - reviews_found,
        "restart_ready_seconds": restart_seconds,
        "all_decided_seconds_after_last_ad": decided_seconds,
        "integrity": after,
    });

    // 2. Several servers deciding one queue together.
    let mut instances = serde_json::Map::new();
    for n in [2usize, 3] {
        eprintln!(
            "reliability: {} ads queued, decided by {n} servers at once …",
            args.ads
        );
        let prefix = format!("inst{n}-{run}");
        let queued: Vec<_> = corpus.iter().map(|a| to_new(a, &prefix)).collect();
        for chunk in queued.chunks(1000) {
            ads::submit(&db, "reliability", chunk, now_millis()).await?;
        }
        let started = Instant::now();
        let mut servers = Vec::new();
        for i in 0..n {
            servers.push(Server::start(
                &url,
                config,
                tmp,
                &format!("instance-{n}-{i}"),
            )?);
        }
        for s in &mut servers {
            s.ready().await?;
        }
        all_decided(&db).await?;
        let seconds = started.elapsed().as_secs_f64();
        for s in servers {
            s.stop()?;
        }
        instances.insert(
            format!("{n}_servers"),
            json!({
                "ads": queued.len(),
                "seconds_from_start": seconds,
                "ads_per_second_including_start": queued.len() as f64 / seconds,
                "integrity": integrity::check(&db).await?,
            }),
        );
    }
    // 3. The database server restarted under load (PostgreSQL, when the commands are given).
    let outage = match (&args.pg_stop_cmd, &args.pg_start_cmd) {
        (Some(stop_cmd), Some(start_cmd)) => {
            eprintln!("reliability: the database stopped and started under ingest …");
            let ads = as_requests(&corpus, &format!("outage{run}"));
            outage(
                &db,
                &url,
                config,
                tmp,
                (stop_cmd.as_str(), start_cmd.as_str()),
                &secret,
                ads,
            )
            .await?
        }
        _ => Value::Null,
    };
    db.close().await;
    Ok(json!({
        "database": shown,
        "kill9": kill9,
        "instances": instances,
        "database_restart": outage,
        "note": "every *_lost, decided_twice, duplicate_ads, reviewed_twice and rollup_differences must be 0; \
                 batch leases shortened to 5 s so a killed server's batch is taken over quickly",
    }))
}

/// Latencies of one kind of call, and how many failed.
#[derive(Default)]
struct Timings {
    ms: Vec<f64>,
    errors: usize,
}

/// Logs in (retrying a busy server) and returns the session cookie.
async fn login_cookie(addr: &str, email: &str, password: &str) -> Option<String> {
    for _ in 0..50 {
        if let Some(cookie) = login_once(addr, email, password).await {
            return Some(cookie);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// One reviewer for `duration`: claim the next uncertain or restricted item, submit, pause
/// `think`; the latency of every claim-next and submit, and every failed call.
async fn paced_reviewer(
    addr: String,
    cookie: String,
    duration: Duration,
    think: Duration,
) -> (Timings, Timings) {
    let (mut claims, mut submits) = (Timings::default(), Timings::default());
    let started = Instant::now();
    while started.elapsed() < duration {
        let mut task = None;
        for source in ["uncertain", "restricted"] {
            let t = Instant::now();
            let reply = rpc(
                &addr,
                "start_review",
                &form(&[("source", source)]),
                Some(&cookie),
            )
            .await;
            match reply {
                Ok((200, _, payload)) => {
                    claims.ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    task = serde_json::from_str::<Value>(&payload)
                        .ok()
                        .and_then(|v| v.as_i64());
                    if task.is_some() {
                        break;
                    }
                }
                _ => claims.errors += 1,
            }
        }
        if let Some(task) = task {
            let t = Instant::now();
            match rpc(&addr, "submit_review", &approval(task), Some(&cookie)).await {
                Ok((200, _, _)) => submits.ms.push(t.elapsed().as_secs_f64() * 1000.0),
                _ => submits.errors += 1,
            }
        }
        tokio::time::sleep(think).await;
    }
    (claims, submits)
}

/// A dashboard following the live stream for `duration`: the events it received, or an
/// error when it could not connect.
async fn follow_stream(addr: String, cookie: String, duration: Duration) -> Result<usize, String> {
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET /api/v1/stream HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut events = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let started = Instant::now();
    let mut head_seen = false;
    while started.elapsed() < duration {
        let left = duration.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return Err("the stream closed".into()),
            Ok(Ok(n)) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                if !head_seen {
                    if !text.starts_with("HTTP/1.1 200") {
                        return Err(text.lines().next().unwrap_or_default().to_string());
                    }
                    head_seen = true;
                }
                events += text.matches("event: ").count();
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => break,
        }
    }
    Ok(events)
}

fn summary(t: &Timings) -> Value {
    let mut ms = t.ms.clone();
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| (!ms.is_empty()).then(|| ms[((ms.len() as f64 - 1.0) * p).round() as usize]);
    json!({ "n": ms.len(), "errors": t.errors, "p50_ms": q(0.5), "p95_ms": q(0.95), "p99_ms": q(0.99) })
}

/// The `load` scenario: one `amso serve` while ads arrive at `rate` a second for `duration`,
/// `reviewers` people each claim and submit an item a second, and ten dashboards follow the
/// live stream; latencies as the clients see them, and every failed call.
pub async fn load(
    config: &Config,
    url: Option<&str>,
    tmp: &Path,
    reviewers: usize,
    rate: usize,
    duration: Duration,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "load").await?;
    let url = url.map_or_else(
        || format!("sqlite://{}", tmp.join("load.db").display()),
        str::to_string,
    );
    let run = now_millis();
    let (_, secret) =
        apikeys::create(&db, &Actor::Cli, &format!("load {run}"), Scope::Ingest).await?;
    // A backlog to start from: a minute of ads, decided before the clock starts.
    let corpus = corpus(rate * duration.as_secs() as usize * 2);
    let (backlog, live) = corpus.split_at(rate * duration.as_secs() as usize);
    let queued: Vec<_> = backlog
        .iter()
        .map(|a| to_new(a, &format!("load{run}")))
        .collect();
    for chunk in queued.chunks(1000) {
        ads::submit(&db, "load", chunk, now_millis()).await?;
    }
    let mut people = Vec::new();
    for i in 0..reviewers + 10 {
        let role = if i < reviewers {
            Role::Reviewer
        } else {
            Role::OpsHead
        };
        let email = format!("load-{run}-{i}@example.com");
        users::create(
            &db,
            &Actor::Cli,
            NewUser {
                email: email.clone(),
                display_name: format!("Load {i}"),
                role,
                markets: if role == Role::Reviewer {
                    vec![Market::ALL[i % Market::ALL.len()]]
                } else {
                    vec![]
                },
                password: "load-password-long".into(),
                demo_credentials: false,
                time_zone: None,
                languages: Vec::new(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        people.push(email);
    }
    let mut server = Server::start(&url, config, tmp, "load")?;
    server.ready().await?;
    all_decided(&db).await?;
    let addr = server.addr.clone();
    let mut cookies = Vec::new();
    for email in &people {
        cookies.push(
            login_cookie(&addr, email, "load-password-long")
                .await
                .ok_or("a load-test user could not log in")?,
        );
    }
    eprintln!(
        "load: {rate} ads/s for {} s, {reviewers} reviewers, 10 live dashboards …",
        duration.as_secs()
    );
    let ads = as_requests(live, &format!("loadlive{run}"));
    // Ingest: a batch of rate/10 ads every 100 ms.
    let ingest = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut t = Timings::default();
            let auth = format!("Bearer {secret}");
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            for batch in ads.chunks((rate / 10).max(1)) {
                tick.tick().await;
                let started = Instant::now();
                let reply = post_ads(&addr, &auth, batch).await;
                match reply {
                    Ok((202, _, _)) => t.ms.push(started.elapsed().as_secs_f64() * 1000.0),
                    _ => t.errors += 1,
                }
            }
            t
        })
    };
    let mut desks = Vec::new();
    for cookie in &cookies[..reviewers] {
        desks.push(tokio::spawn(paced_reviewer(
            addr.clone(),
            cookie.clone(),
            duration,
            Duration::from_secs(1),
        )));
    }
    let mut dashboards = Vec::new();
    for cookie in &cookies[reviewers..] {
        dashboards.push(tokio::spawn(follow_stream(
            addr.clone(),
            cookie.clone(),
            duration,
        )));
    }
    let ingest = ingest.await.map_err(|e| e.to_string())?;
    let (mut claims, mut submits) = (Timings::default(), Timings::default());
    for d in desks {
        let (c, s) = d.await.map_err(|e| e.to_string())?;
        claims.ms.extend(c.ms);
        claims.errors += c.errors;
        submits.ms.extend(s.ms);
        submits.errors += s.errors;
    }
    let mut events = 0;
    let mut stream_errors = Vec::new();
    for d in dashboards {
        match d.await.map_err(|e| e.to_string())? {
            Ok(n) => events += n,
            Err(e) => stream_errors.push(e),
        }
    }
    let decided_after = all_decided(&db).await?;
    server.stop()?;
    let check = integrity::check(&db).await?;
    db.close().await;
    Ok(json!({
        "database": shown,
        "seconds": duration.as_secs(),
        "ingest_batches": summary(&ingest),
        "ads_per_second_offered": rate,
        "reviewers": reviewers,
        "claim_next": summary(&claims),
        "submit": summary(&submits),
        "reviews_per_second": submits.ms.len() as f64 / duration.as_secs_f64(),
        "dashboards_following": 10,
        "stream_events": events,
        "stream_errors": stream_errors,
        "backlog_decided_seconds_after_the_last_ad": decided_after,
        "integrity": check,
    }))
}
