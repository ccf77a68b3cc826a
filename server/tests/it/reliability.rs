//! Crash safety through the real binary, on SQLite and PostgreSQL: `amso bench --scenarios
//! reliability` kills a server with SIGKILL in the middle of decision batches and reviews
//! under ingest, restarts it, then lets two and three servers decide one queue together; every
//! loss or double count it reports must be zero. (Small sizes here; the README's figures come
//! from the same scenario at full size.)

use crate::common::*;
use serde_json::Value;
use std::process::Command;

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
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let out = Command::new(env!("CARGO_BIN_EXE_amso"))
            .args(["bench", "--scenarios", "reliability", "--ads", "1500"])
            .args(["--database-url", &t.url])
            .current_dir(root)
            .output()
            .expect("run amso bench");
        assert!(
            out.status.success(),
            "{}: {}",
            t.label,
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
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
            let integrity = &run["integrity"];
            for path in [
                "/queued",
                "/decided_twice",
                "/duplicate_ads",
                "/reviewed_twice",
                "/rollup_differences",
            ] {
                zero(integrity, path, &format!("{} {name}", t.label));
            }
            assert_eq!(
                integrity["ads"], integrity["decisions"],
                "{} {name}",
                t.label
            );
        }
    }
}
