//! The weekly report on SQLite and PostgreSQL: the figures in the PDF (read back with
//! poppler's `pdftotext`), the XLSX (read back with Python's openpyxl) and the CSV equal the
//! KPIs API's for the same week; the PDF opens in poppler without a warning; text from ads,
//! advertisers and reviewers never becomes a formula; only the right people get reports; the
//! schedule renders a week once for two servers and mails the PDF through an SMTP server.

use crate::common::*;
use amso_core::access::apikeys::{self, Scope as KeyScope};
use amso_core::access::audit::Actor;
use amso_core::demo::accounts::DEMO_LOGINS;
use amso_core::demo::history::{HistoryParams, seed_history};
use amso_core::platform::time::now_millis;
use amso_core::report::{self, archive, week::IsoWeek};
use amso_core::vocab::role::Role;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

const HOSTILE_HEADLINE: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
const HOSTILE_ADVERTISER: &str = "+SUM(1,2)";
const HOSTILE_REVIEWER: &str = "@cmd|' /C calc'!A0";
const HOSTILE_REASON: &str = "-2+3 (reason label)";

fn scorer() -> amso_core::engine::worker::Scorer {
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default/model.onnx");
    amso_core::engine::worker::Scorer::start(&model, 16).unwrap()
}

fn python() -> String {
    std::env::var("AMSO_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn with_key(path: &str, secret: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(path)
        .header("authorization", format!("Bearer {secret}"))
        .body(axum::body::Body::empty())
        .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The week of the newest overridden review, with hostile text planted on its ad, reviewer
/// and reason.
async fn plant_hostile_override(t: &TestDb) -> IsoWeek {
    let (ad, reviewer, reason, decided_at): (i64, i64, Option<String>, i64) = sqlx::query_as(
        "select r.ad_id, r.reviewer_id, r.reason_code, d.decided_at from reviews r join decisions d on d.ad_id = r.ad_id \
         where r.override order by d.decided_at desc limit 1",
    )
    .fetch_one(t.db.pool())
    .await
    .expect("the demo history has overrides");
    sqlx::query("update ads set headline = $1, advertiser_id = $2 where id = $3")
        .bind(HOSTILE_HEADLINE)
        .bind(HOSTILE_ADVERTISER)
        .bind(ad)
        .execute(t.db.pool())
        .await
        .unwrap();
    sqlx::query("update users set display_name = $1 where id = $2")
        .bind(HOSTILE_REVIEWER)
        .bind(reviewer)
        .execute(t.db.pool())
        .await
        .unwrap();
    if let Some(code) = reason {
        sqlx::query("update reason_codes set label = $1 where code = $2")
            .bind(HOSTILE_REASON)
            .bind(code)
            .execute(t.db.pool())
            .await
            .unwrap();
    }
    let day = chrono::DateTime::from_timestamp_millis(decided_at)
        .unwrap()
        .date_naive();
    IsoWeek::of(day)
}

/// Parses the tidy CSV into (week, market, category, metric) → (value, low, high, n).
fn parse_csv(text: &str) -> BTreeMap<(String, String, String, String), [Option<f64>; 4]> {
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("week,market,category,metric,value,low,high,n")
    );
    let mut out = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 8, "tidy rows have 8 fields: {line}");
        let num = |s: &str| (!s.is_empty()).then(|| s.parse::<f64>().unwrap());
        out.insert(
            (f[0].into(), f[1].into(), f[2].into(), f[3].into()),
            [num(f[4]), num(f[5]), num(f[6]), num(f[7])],
        );
    }
    out
}

fn assert_same(label: &str, what: &str, api: &Value, file: Option<f64>) {
    match (api.as_f64(), file) {
        (None, None) => {}
        (Some(a), Some(b)) => assert!(close(a, b), "{label}: {what}: API {a} vs file {b}"),
        (a, b) => panic!("{label}: {what}: API {a:?} vs file {b:?}"),
    }
}

const READ_XLSX: &str = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "markets": {}, "hostile": [], "formulas": 0}
ws = wb["Markets"]
head = [c.value for c in ws[1]]
out["freeze"] = ws.freeze_panes
out["filter"] = ws.auto_filter.ref
out["formats"] = {head[i]: ws.cell(row=2, column=i + 1).number_format for i in range(len(head))}
for row in ws.iter_rows(min_row=2, values_only=True):
    out["markets"][row[0]] = dict(zip(head, row))
for ws in wb.worksheets:
    for row in ws.iter_rows():
        for c in row:
            if c.data_type == "f":
                out["formulas"] += 1
            if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                out["hostile"].append([ws.title, c.value, c.data_type])
print(json.dumps(out))
"#;

#[tokio::test]
async fn report_files_equal_the_kpis_api() {
    let scorer = scorer();
    for t in backends().await {
        seed_history(
            &t.db,
            &scorer,
            &HistoryParams {
                ads: 2500,
                days: 28,
                seed: 21,
                end: now_millis(),
                audit_rate_approve: 0.02,
                audit_rate_reject: 0.05,
                qa_rate: 0.05,
                lifecycle: None,
            },
        )
        .await
        .unwrap();
        let week = plant_hostile_override(&t).await;
        let w = week.window(report::UTC);
        let app = app(&t);
        let (_, key) = apikeys::create(&t.db, &Actor::Cli, "board", KeyScope::Kpis)
            .await
            .unwrap();
        let api = send(
            &app,
            with_key(&format!("/api/v1/kpis?from={}&to={}", w.from, w.to), &key),
        )
        .await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.text());
        let api = api.json();
        let fetch = |format: &str| {
            let app = app.clone();
            let key = key.clone();
            let path = format!("/api/v1/reports/weekly?week={week}&format={format}");
            async move { send(&app, with_key(&path, &key)).await }
        };

        // CSV: every headline figure of the week, in total and per market.
        let csv = fetch("csv").await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        let rows = parse_csv(&csv.text());
        let wk = week.to_string();
        let at = |market: &str, metric: &str| {
            rows.get(&(wk.clone(), market.into(), "ALL".into(), metric.into()))
                .copied()
                .unwrap_or_else(|| panic!("{}: no CSV row {market} {metric}", t.label))
        };
        let mut markets: Vec<(String, &Value)> = vec![("ALL".into(), &api["totals"])];
        for m in api["markets"].as_array().unwrap() {
            markets.push((m["market"].as_str().unwrap().to_string(), m));
        }
        for (market, j) in &markets {
            let label = format!("{} {market}", t.label);
            assert_same(&label, "decided", &j["decided"], at(market, "decided")[0]);
            assert_same(
                &label,
                "automation",
                &j["automation_rate"],
                at(market, "automation_rate")[0],
            );
            assert_same(
                &label,
                "override",
                &j["override_rate"],
                at(market, "override_rate")[0],
            );
            assert_same(
                &label,
                "appeals",
                &j["appeal_overturn_rate"],
                at(market, "appeal_overturn_rate")[0],
            );
            assert_same(
                &label,
                "sla p95",
                &j["sla_p95_seconds"],
                at(market, "sla_p95_seconds")[0],
            );
            assert_same(
                &label,
                "cost",
                &j["cost_usd"]["total"],
                at(market, "cost_total_usd")[0],
            );
            assert_same(
                &label,
                "cost/1k",
                &j["cost_usd"]["per_1k_ads"],
                at(market, "cost_per_1k_ads_usd")[0],
            );
            let p = at(market, "precision");
            if j["precision"]["value"].is_null() {
                assert_eq!(p[0], None, "{label}");
            } else {
                for (i, k) in ["value", "low", "high", "n"].iter().enumerate() {
                    assert_same(&label, k, &j["precision"][k], p[i]);
                }
            }
            let r = at(market, "recall");
            assert_same(&label, "recall", &j["recall"]["value"], r[0]);
            // The model-assisted figures are the API's `estimates`, interval and all.
            let e = &j["estimates"];
            for (metric, field) in [
                ("precision_model_assisted", "precision"),
                ("recall_model_assisted", "recall"),
                ("cost_per_1k_ads_model_assisted_usd", "cost_per_1k_ads"),
            ] {
                let row = at(market, metric);
                for (i, k) in ["value", "low", "high"].iter().enumerate() {
                    assert_same(&label, &format!("{metric} {k}"), &e[field][k], row[i]);
                }
            }
        }
        assert!(
            api["totals"]["decided"].as_f64().unwrap() > 0.0,
            "{}",
            t.label
        );

        // XLSX, read back by a second reader.
        let xlsx = fetch("xlsx").await;
        assert_eq!(xlsx.status, StatusCode::OK, "{}", xlsx.text());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.xlsx");
        std::fs::write(&path, &xlsx.body).unwrap();
        let out = Command::new(python())
            .args(["-c", READ_XLSX])
            .arg(&path)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "openpyxl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let x: Value = serde_json::from_slice(&out.stdout).unwrap();
        let sheets: Vec<&str> = x["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for s in [
            "Summary",
            "Markets",
            "Categories",
            "Rules",
            "Overrides",
            "Drift",
            "Cost",
        ] {
            assert!(sheets.contains(&s), "{}: sheet {s} in {sheets:?}", t.label);
        }
        assert_eq!(x["freeze"], "A2", "{}", t.label);
        assert!(
            x["filter"].as_str().is_some_and(|f| f.starts_with("A1:")),
            "{}",
            t.label
        );
        assert_eq!(x["formats"]["Automation rate"], "0.0%");
        assert_eq!(x["formats"]["Cost per 1,000 ads"], "$#,##0.00");
        assert_eq!(x["formulas"], 0, "{}: no formulas anywhere", t.label);
        for (market, j) in &markets {
            let row = &x["markets"][market.as_str()];
            let label = format!("{} xlsx {market}", t.label);
            assert_same(&label, "decided", &j["decided"], row["Decided"].as_f64());
            assert_same(
                &label,
                "automation",
                &j["automation_rate"],
                row["Automation rate"].as_f64(),
            );
            assert_same(
                &label,
                "override",
                &j["override_rate"],
                row["Override rate"].as_f64(),
            );
            assert_same(
                &label,
                "precision",
                &j["precision"]["value"],
                row["Precision"].as_f64(),
            );
            assert_same(
                &label,
                "cost/1k",
                &j["cost_usd"]["per_1k_ads"],
                row["Cost per 1,000 ads"].as_f64(),
            );
        }
        // The hostile text is there, as plain strings.
        let hostile: Vec<String> = x["hostile"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                assert_eq!(h[2], "s", "{}: {h} is a string cell", t.label);
                h[1].as_str().unwrap().to_string()
            })
            .collect();
        for v in [HOSTILE_HEADLINE, HOSTILE_ADVERTISER, HOSTILE_REVIEWER] {
            assert!(
                hostile.iter().any(|h| h == v),
                "{}: {v} kept as text in {hostile:?}",
                t.label
            );
        }

        // PDF: poppler opens it without a word, and its text carries the same figures.
        let pdf = fetch("pdf").await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        let pdf_path = dir.path().join("report.pdf");
        std::fs::write(&pdf_path, &pdf.body).unwrap();
        let info = Command::new("pdfinfo")
            .arg(&pdf_path)
            .output()
            .expect("poppler-utils installed");
        assert!(info.status.success());
        assert!(
            info.stderr.is_empty(),
            "pdfinfo: {}",
            String::from_utf8_lossy(&info.stderr)
        );
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("Pages:           5"), "{info}");
        assert!(info.contains("A4"), "{info}");
        let fonts = Command::new("pdffonts").arg(&pdf_path).output().unwrap();
        let fonts = String::from_utf8_lossy(&fonts.stdout);
        assert!(
            fonts.lines().skip(2).all(|l| l.contains(" yes yes yes ")),
            "embedded, subset, unicode: {fonts}"
        );
        let text = Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf_path)
            .arg("-")
            .output()
            .unwrap();
        assert!(
            text.stderr.is_empty(),
            "pdftotext: {}",
            String::from_utf8_lossy(&text.stderr)
        );
        let text = String::from_utf8_lossy(&text.stdout).to_string();
        assert!(text.contains(&format!("Week {week}")), "{}", t.label);
        assert!(
            text.contains("Rules this week"),
            "{}: the rules page",
            t.label
        );
        let totals = &api["totals"];
        for needle in [
            amso_core::metrics::format::int(totals["decided"].as_f64().unwrap()),
            amso_core::metrics::format::pct(totals["automation_rate"].as_f64()),
            amso_core::metrics::format::pct(totals["override_rate"].as_f64()),
            amso_core::metrics::format::pct(totals["precision"]["value"].as_f64()),
        ] {
            assert!(text.contains(&needle), "{}: PDF has {needle}", t.label);
        }
        for (market, j) in markets.iter().skip(1) {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{market} ")) && l.contains('%'))
                .unwrap_or_else(|| panic!("{}: market row {market} in the PDF", t.label));
            for needle in [
                amso_core::metrics::format::int(j["decided"].as_f64().unwrap()),
                amso_core::metrics::format::pct(j["override_rate"].as_f64()),
                amso_core::metrics::format::pct(j["automation_rate"].as_f64()),
            ] {
                assert!(
                    line.contains(&needle),
                    "{}: {market} row {line:?} has {needle}",
                    t.label
                );
            }
        }
    }
}

#[tokio::test]
async fn reports_reach_the_right_people_only() {
    let t = sqlite().await;
    let app = app(&t);
    let path = "/api/v1/reports/weekly?week=2026-W47&format=csv";
    assert_eq!(
        send(&app, get(path, None)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, ingest) = apikeys::create(&t.db, &Actor::Cli, "feed", KeyScope::Ingest)
        .await
        .unwrap();
    let r = send(&app, with_key(path, &ingest)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["kind"], "forbidden");
    let login_as = |role: Role| DEMO_LOGINS.iter().find(|d| d.role == role).unwrap();
    let rev = login_as(Role::Reviewer);
    let cookie = login(&app, rev.email, rev.password).await;
    assert_eq!(
        send(&app, get(path, Some(&cookie))).await.status,
        StatusCode::FORBIDDEN
    );
    let r = send(
        &app,
        rpc(
            "get_reports",
            &[("week", ""), ("markets", "")],
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let exec = login_as(Role::Executive);
    let cookie = login(&app, exec.email, exec.password).await;
    let r = send(&app, get(path, Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("amso-weekly-2026-W47.csv")
    );
    for bad in [
        "/api/v1/reports/weekly?week=2026-W60",
        "/api/v1/reports/weekly?week=last",
        "/api/v1/reports/weekly?format=docx",
        "/api/v1/reports/weekly?markets=XX",
        "/api/v1/reports/weekly?tz=Mars/Base",
    ] {
        let r = send(&app, get(bad, Some(&cookie))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
        assert_eq!(r.json()["kind"], "invalid");
    }
    let r = send(
        &app,
        rpc(
            "get_reports",
            &[("week", "2026-W47"), ("markets", "US,GB")],
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["report"]["markets_in_scope"],
        serde_json::json!(["US", "GB"])
    );
    let r = send(&app, get("/api/v1/reports/archive/999", Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A tiny SMTP server that accepts every message and hands each one's data over a channel.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = socket.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(data.take().unwrap());
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn the_schedule_renders_once_for_two_servers_and_mails_the_pdf() {
    let scorer = scorer();
    for t in backends().await {
        seed_history(
            &t.db,
            &scorer,
            &HistoryParams {
                ads: 600,
                days: 14,
                seed: 5,
                end: now_millis(),
                audit_rate_approve: 0.02,
                audit_rate_reject: 0.05,
                qa_rate: 0.05,
                lifecycle: None,
            },
        )
        .await
        .unwrap();
        let (port, mut inbox) = smtp_sink().await;
        let mut config = config(&t.url);
        config.report_schedule = "mon 07:00".into();
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        config.report_recipients = vec!["board@example.com".into(), "cto@example.com".into()];
        // Two servers: two connection pools on one database, ticking at the same moment.
        let other = amso_core::platform::db::Db::connect(&t.url, 5)
            .await
            .unwrap();
        let now = now_millis();
        let (a, b) = tokio::join!(
            amso_server::jobs::report_schedule::schedule_tick(&t.db, &config, "server-a", now),
            amso_server::jobs::report_schedule::schedule_tick(&other, &config, "server-b", now),
        );
        let rendered = a.unwrap().len() + b.unwrap().len();
        assert_eq!(rendered, 1, "{}: one server renders the week", t.label);
        let runs = archive::list(&t.db, 10).await.unwrap();
        assert_eq!(runs.len(), 1, "{}", t.label);
        let run = &runs[0];
        let due = config.report_schedule().unwrap().latest_due(now);
        assert_eq!(run.week, due.to_string());
        assert_eq!(
            (
                run.origin.as_str(),
                run.state.as_str(),
                run.delivery.as_str()
            ),
            ("schedule", "ready", "pending")
        );
        assert!(
            run.pdf_bytes > 1000 && run.xlsx_bytes > 1000 && run.csv_bytes > 100,
            "{run:?}"
        );
        assert!(run.data_through.is_some() && run.decisions == Some(600));
        // A later tick owes nothing.
        assert!(
            amso_server::jobs::report_schedule::schedule_tick(
                &other,
                &config,
                "server-b",
                now + 60_000
            )
            .await
            .unwrap()
            .is_empty()
        );

        // The mail goes out once, with the PDF attached.
        let sent_at = now_millis();
        let (x, y) = tokio::join!(
            amso_server::jobs::report_schedule::deliver_tick(&t.db, &config, sent_at),
            amso_server::jobs::report_schedule::deliver_tick(&other, &config, sent_at),
        );
        assert_eq!(x.unwrap() + y.unwrap(), 1, "{}", t.label);
        let mail = tokio::time::timeout(std::time::Duration::from_secs(5), inbox.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            mail.contains(&format!("Subject: AMSO weekly moderation report {due}")),
            "{mail}"
        );
        assert!(mail.contains("board@example.com") && mail.contains("cto@example.com"));
        assert!(
            mail.contains("application/pdf") && mail.contains(&format!("amso-weekly-{due}.pdf"))
        );
        assert!(inbox.try_recv().is_err(), "one mail only");
        let run = &archive::list(&t.db, 10).await.unwrap()[0];
        assert_eq!(run.delivery, "sent");

        // After a downtime the schedule catches up the weeks it missed.
        let schedule = config.report_schedule().unwrap();
        let later = now + 3 * 7 * 86_400_000;
        let owed = archive::owed_weeks(&t.db, &schedule, later).await.unwrap();
        assert_eq!(
            owed,
            vec![due.plus(1), due.plus(2), due.plus(3)],
            "{}",
            t.label
        );

        // A delivery that fails is retried and shown, then marked failed.
        config.smtp_url = Some("smtp://127.0.0.1:9".into());
        let manual = archive::start_manual(&t.db, due, report::UTC, "", "ops@amso.test", now)
            .await
            .unwrap();
        report::build::fill_run(
            &t.db,
            manual,
            &report::build::Request {
                week: due,
                tz: report::UTC,
                markets: vec![],
            },
            &["board@example.com".into()],
            now,
        )
        .await
        .unwrap();
        let mut at = now_millis();
        for attempt in 1..=archive::MAX_DELIVERY_ATTEMPTS {
            assert_eq!(
                amso_server::jobs::report_schedule::deliver_tick(&t.db, &config, at)
                    .await
                    .unwrap(),
                0
            );
            let run = archive::list(&t.db, 10)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.id == manual)
                .unwrap();
            assert_eq!(run.delivery_attempts, attempt, "{}", t.label);
            assert!(
                run.delivery_error.is_some(),
                "{}: the failure is recorded",
                t.label
            );
            let expected = if attempt < archive::MAX_DELIVERY_ATTEMPTS {
                "pending"
            } else {
                "failed"
            };
            assert_eq!(run.delivery, expected, "{}", t.label);
            at += 3_600_000;
        }
        assert!(archive::retry_delivery(&t.db, manual, at).await.unwrap());
        other.close().await;
    }
}
