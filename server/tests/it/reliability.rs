//! Crash safety through the real binary, on SQLite and PostgreSQL: `amso bench --scenarios
//! reliability` kills a server with SIGKILL in the middle of decision batches and reviews
//! under ingest, restarts it, then lets two and three servers decide one queue together; every
//! loss or double count it reports must be zero. (Small sizes here; the README's figures come
//! from the same scenario at full size.) A second test stops and starts a PostgreSQL server of
//! its own under ingest.

use crate::common::*;
use serde_json::Value;
use std::process::Command;

/// `amso bench --scenarios reliability` at a small size over `url`, with `extra` options.
fn run_reliability(url: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_amso"))
        .args(["bench", "--scenarios", "reliability", "--ads", "1500"])
        .args(["--database-url", url])
        .args(extra)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run amso bench");
    assert!(
        out.status.success(),
        "{url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every ad decided once, no ad or review doubled, the rollups exact.
fn intact(integrity: &Value, what: &str) {
    for path in [
        "/queued",
        "/decided_twice",
        "/duplicate_ads",
        "/reviewed_twice",
        "/rollup_differences",
    ] {
        zero(integrity, path, what);
    }
    assert_eq!(integrity["ads"], integrity["decisions"], "{what}");
}

fn zero(v: &Value, path: &str, what: &str) {
    let n = v.pointer(path).and_then(Value::as_i64);
    assert_eq!(n, Some(0), "{what}: {path} is {n:?} in {v:#}");
}

#[tokio::test]
async fn killed_and_restarted_servers_lose_nothing_and_decide_nothing_twice() {
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        eprintln!(
            "note: ORT_DYLIB_PATH not set; the reliability run is skipped (scripts/test.sh sets it)"
        );
        return;
    }
    for t in backends().await {
        t.db.close().await;
        let report = run_reliability(&t.url, &[]);
        let r = &report["reliability"];
        let kill = &r["kill9"];
        assert!(
            kill["ads_acknowledged"].as_i64().unwrap() >= 1500,
            "{kill:#}"
        );
        assert!(
            kill["reviews_acknowledged"].as_i64().unwrap() > 0,
            "{}: the reviewer never got to work: {kill:#}",
            t.label
        );
        for path in ["/ads_lost", "/reviews_lost"] {
            zero(kill, path, t.label);
        }
        for (name, run) in std::iter::once(("kill9", kill)).chain(
            r["instances"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), v)),
        ) {
            intact(&run["integrity"], &format!("{} {name}", t.label));
        }
    }
}

/// A PostgreSQL cluster of this test's own (it is stopped and started again), run as the
/// `postgres` user; `None` where the test command did not say where PostgreSQL lives.
struct Cluster {
    bin: String,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let bin = std::env::var("AMSO_TEST_PG_BIN").ok()?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = dir.path().display().to_string();
        let c = Cluster { bin, dir, port };
        let sh = |cmd: &str| {
            let ok = Command::new("sh")
                .args(["-c", cmd])
                .status()
                .unwrap()
                .success();
            assert!(ok, "`{cmd}` failed");
        };
        sh(&format!(
            "chmod 755 {path} && mkdir {path}/data && chown postgres {path}/data"
        ));
        sh(&format!(
            "runuser -u postgres -- {}/initdb -D {path}/data -U amso --auth=trust -E UTF8 >/dev/null",
            c.bin
        ));
        sh(&c.start_cmd());
        Some(c)
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.path().display())
    }

    fn start_cmd(&self) -> String {
        format!(
            "runuser -u postgres -- {}/pg_ctl -D {} -w -l {}/log start -o '-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off' >/dev/null",
            self.bin,
            self.data(),
            self.data(),
            self.port,
            self.data()
        )
    }

    fn stop_cmd(&self) -> String {
        format!(
            "runuser -u postgres -- {}/pg_ctl -D {} -w -m fast stop >/dev/null",
            self.bin,
            self.data()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &format!("{} 2>/dev/null", self.stop_cmd())])
            .status();
    }
}

#[tokio::test]
async fn a_database_restart_under_ingest_is_survived() {
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        eprintln!("note: ORT_DYLIB_PATH not set; the database restart run is skipped");
        return;
    }
    let Some(cluster) = Cluster::start() else {
        eprintln!("note: AMSO_TEST_PG_BIN not set; the database restart run is skipped");
        return;
    };
    let url = format!("postgres://amso@127.0.0.1:{}/postgres", cluster.port);
    let report = run_reliability(
        &url,
        &[
            "--pg-stop-cmd",
            &cluster.stop_cmd(),
            "--pg-start-cmd",
            &cluster.start_cmd(),
        ],
    );
    let restart = &report["reliability"]["database_restart"];
    assert!(
        restart["readyz_503_seconds_after_stop"].as_f64().is_some(),
        "/readyz never answered 503 while the database was down: {restart:#}"
    );
    assert!(
        restart["readyz_200_seconds_after_start"].as_f64().is_some(),
        "/readyz never recovered: {restart:#}"
    );
    assert_eq!(restart["server_kept_running"], true, "{restart:#}");
    intact(&restart["integrity"], "database restart");
}
