//! The authorization matrix: every server function, every HTTP route and every area page,
//! called by every kind of caller (logged out, each role, each API key scope), and by a
//! reviewer on an item outside their markets, on SQLite and PostgreSQL. It is generated from
//! the one table below, and it fails when a server function or route exists that the table
//! does not list, so nothing new ships without its row.

use crate::common::*;
use crate::review::decided;
use amso_core::access::apikeys::{self, Scope};
use amso_core::access::audit::Actor;
use amso_core::engine::decide::{Action, Route};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::{Area, Role};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::collections::BTreeSet;
use tower::ServiceExt;

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anon,
    Reviewer,
    Ops,
    Exec,
    Admin,
    IngestKey,
    KpisKey,
    RulesKey,
}
use Who::*;

const EVERYONE: &[Who] = &[
    Anon, Reviewer, Ops, Exec, Admin, IngestKey, KpisKey, RulesKey,
];
const QUEUES: &[Who] = &[Reviewer, Ops];
const DASHBOARDS: &[Who] = &[Ops, Exec, Admin];
const ADS: &[Who] = &[Ops, Admin];
const OPS: &[Who] = &[Ops];
const OPS_ADMIN: &[Who] = &[Ops, Admin];
const REPORTS: &[Who] = &[Exec, Ops, Admin];
const ADMIN: &[Who] = &[Admin];
const AUDIT: &[Who] = &[Ops, Admin];
const PEOPLE: &[Who] = &[Reviewer, Ops, Exec, Admin];

/// One row: a server function (`rpc name`) or a route (`METHOD /path`), who may call it,
/// and whether it reaches a review item (then a reviewer outside its market is refused).
struct Row {
    call: &'static str,
    allowed: &'static [Who],
    scoped: bool,
}

const fn row(call: &'static str, allowed: &'static [Who]) -> Row {
    Row {
        call,
        allowed,
        scoped: false,
    }
}

const fn scoped(call: &'static str, allowed: &'static [Who]) -> Row {
    Row {
        call,
        allowed,
        scoped: true,
    }
}

/// The matrix. The role table in README ("Roles") says the same in words.
const MATRIX: &[Row] = &[
    // Who is logged in (nobody, for an API key).
    row("rpc get_viewer", EVERYONE),
    row("rpc set_my_time_zone", PEOPLE),
    // Ads (ops heads and admins).
    row("rpc list_ads", ADS),
    row("rpc get_ad_detail", ADS),
    // Audit log.
    row("rpc list_audit", AUDIT),
    row("GET /admin/audit.csv", AUDIT),
    // Dashboards.
    row("rpc get_overview", DASHBOARDS),
    row("rpc list_model_versions", DASHBOARDS),
    row("rpc get_quality", DASHBOARDS),
    row("rpc get_drift", DASHBOARDS),
    row("rpc get_cost", DASHBOARDS),
    row("rpc save_cost_rates", OPS_ADMIN),
    row("rpc get_overrides", DASHBOARDS),
    row("rpc get_band_in_force", DASHBOARDS),
    row("rpc simulate_thresholds", DASHBOARDS),
    // Applying thresholds is the Thresholds area's: ops heads only, also from the simulator.
    row("rpc apply_thresholds", OPS),
    // Refitting the calibration maps changes every estimate: ops heads, like thresholds.
    row("rpc refit_calibration", OPS),
    // API keys.
    row("rpc list_api_keys", ADMIN),
    row("rpc create_api_key", ADMIN),
    row("rpc revoke_api_key", ADMIN),
    // Reports.
    row("rpc get_reports", REPORTS),
    row("rpc archive_report", REPORTS),
    row("rpc retry_report_delivery", OPS_ADMIN),
    // The review desk.
    row("rpc get_queue_overview", QUEUES),
    row("rpc start_review", QUEUES),
    scoped("rpc get_review", QUEUES),
    scoped("rpc submit_review", QUEUES),
    scoped("rpc escalate_review", QUEUES),
    scoped("rpc skip_review", QUEUES),
    row("rpc undo_review", QUEUES),
    scoped("rpc renew_review", QUEUES),
    row("rpc list_review_queue", QUEUES),
    scoped("rpc bulk_review", QUEUES),
    row("rpc get_team_numbers", OPS),
    row("rpc get_exposure", OPS),
    row("rpc set_exposure_cap", OPS),
    row("rpc set_break_after", OPS),
    row("rpc take_break", QUEUES),
    row("rpc get_golden_accuracy", QUEUES),
    row("rpc get_golden_set", OPS),
    row("rpc get_ad_golden", OPS),
    row("rpc mark_golden", OPS),
    row("rpc unmark_golden", OPS),
    row("rpc set_golden_rate", OPS),
    row("rpc import_golden", OPS),
    row("rpc list_reason_codes", QUEUES),
    scoped("rpc open_review", QUEUES),
    // Thresholds & policy (with SLAs and reason codes).
    row("rpc get_sla", OPS),
    row("rpc set_sla", OPS),
    row("rpc list_all_reason_codes", OPS),
    row("rpc save_reason_code", OPS),
    row("rpc get_thresholds", OPS),
    row("rpc update_cell", OPS),
    // Rules: executives read; ops heads and admins write (a second one approves live).
    row("rpc get_radar", DASHBOARDS),
    row("rpc get_radar_detail", DASHBOARDS),
    row("rpc list_rules", DASHBOARDS),
    row("rpc get_rule", DASHBOARDS),
    row("rpc backtest_progress", DASHBOARDS),
    row("rpc save_rule", OPS_ADMIN),
    row("rpc rule_step", OPS_ADMIN),
    row("rpc start_backtest", OPS_ADMIN),
    row("rpc cancel_backtest", OPS_ADMIN),
    row("rpc rule_retro", OPS_ADMIN),
    row("rpc request_retro_reject", OPS_ADMIN),
    row("rpc list_retro_requests", DASHBOARDS),
    row("rpc decide_retro_request", OPS_ADMIN),
    // Models: the registry and its history, read by the dashboard roles.
    row("rpc list_models", DASHBOARDS),
    row("rpc get_model_history", DASHBOARDS),
    row("rpc compare_models", DASHBOARDS),
    row("rpc list_promotions", DASHBOARDS),
    row("rpc shadow_model", OPS_ADMIN),
    row("rpc preview_promotion", OPS_ADMIN),
    row("rpc request_promotion", OPS_ADMIN),
    row("rpc decide_promotion", OPS_ADMIN),
    row("rpc rollback_model", OPS_ADMIN),
    row("rpc list_trainings", DASHBOARDS),
    row("rpc start_training", OPS_ADMIN),
    row("rpc cancel_training", OPS_ADMIN),
    // Users.
    row("rpc list_users", ADMIN),
    row("rpc create_user", ADMIN),
    row("rpc update_user", ADMIN),
    // HTTP routes.
    row("GET /healthz", EVERYONE),
    row("GET /readyz", EVERYONE),
    row("GET /metrics", EVERYONE),
    row("POST /api/v1/ads", &[IngestKey]),
    row("GET /api/v1/ads/{id}", &[IngestKey, Ops, Admin]),
    row("POST /api/v1/ads/{id}/appeal", &[IngestKey]),
    row("GET /api/v1/kpis", &[KpisKey, Ops, Exec, Admin]),
    row("GET /api/v1/reports/weekly", &[KpisKey, Exec, Ops, Admin]),
    row(
        "GET /api/v1/reports/archive/{id}",
        &[KpisKey, Exec, Ops, Admin],
    ),
    row("GET /api/v1/stream", &[Reviewer, Ops, Exec, Admin]),
    // Rules: read by executives too, written by ops heads, admins and `rules` keys.
    row("GET /api/v1/radar", &[KpisKey, RulesKey, Ops, Exec, Admin]),
    row("GET /api/v1/models", &[KpisKey, Ops, Exec, Admin]),
    row("GET /api/v1/models/history", &[KpisKey, Ops, Exec, Admin]),
    row("GET /api/v1/models/compare", &[KpisKey, Ops, Exec, Admin]),
    row("GET /api/v1/rules", &[RulesKey, Ops, Exec, Admin]),
    row("POST /api/v1/rules", &[RulesKey, Ops, Admin]),
    row("GET /api/v1/rules/{id}", &[RulesKey, Ops, Exec, Admin]),
    row("PUT /api/v1/rules/{id}", &[RulesKey, Ops, Admin]),
    row("POST /api/v1/rules/{id}/backtest", &[RulesKey, Ops, Admin]),
    row("POST /api/v1/rules/{id}/retro", &[RulesKey, Ops, Admin]),
    row(
        "GET /api/v1/rules/{id}/retro",
        &[RulesKey, Ops, Exec, Admin],
    ),
    row(
        "POST /api/v1/rules/retro-requests/{id}/{decision}",
        &[RulesKey, Ops, Admin],
    ),
    row("POST /api/v1/rules/{id}/{step}", &[RulesKey, Ops, Admin]),
    // Logging in replaces the caller's session and logging out ends it: last. Both are open
    // to anyone (an API key is simply ignored).
    row("rpc login", EVERYONE),
    row("rpc logout", EVERYONE),
];

/// What the calls need: logins, keys, and an item in and out of the reviewer's markets.
struct Fixture {
    cookies: Vec<(Who, String)>,
    ingest_key: String,
    kpis_key: String,
    rules_key: String,
    /// A review item in the US (the demo reviewer works US, GB, DE) and one in Japan.
    in_scope: (i64, i64),
    out_of_scope: (i64, i64),
    user_id: i64,
}

impl Fixture {
    fn cookie(&self, who: Who) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, c)| c.as_str())
    }
}

/// The form arguments of a server function, naming `task` and `ad` where it needs them.
fn rpc_args(name: &str, f: &Fixture, (task, ad): (i64, i64)) -> Vec<(String, String)> {
    let sel = |extra: &[(&str, &str)]| {
        let v: Vec<(String, String)> = [
            ("sel[window]", "7d"),
            ("sel[from]", ""),
            ("sel[to]", ""),
            ("sel[market]", ""),
            ("sel[category]", ""),
            ("sel[model]", ""),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        v
    };
    let task = task.to_string();
    let ad = ad.to_string();
    let user = f.user_id.to_string();
    let pairs: Vec<(&str, &str)> = match name {
        "get_viewer"
        | "logout"
        | "list_model_versions"
        | "list_api_keys"
        | "get_queue_overview"
        | "list_reason_codes"
        | "get_sla"
        | "list_all_reason_codes"
        | "get_thresholds"
        | "refit_calibration"
        | "list_users" => vec![],
        "login" => vec![
            ("email", "matrix-target@example.com"),
            ("password", "a-long-password"),
        ],
        "set_my_time_zone" => vec![("time_zone", "UTC")],
        "list_ads" => vec![("query[page]", "1")],
        "get_ad_detail" => vec![("id", &ad)],
        "list_audit" => vec![("prefix", ""), ("q", ""), ("limit", "5")],
        "get_overview" | "get_quality" | "get_cost" | "get_overrides" => {
            return sel(&[]);
        }
        "get_drift" => return sel(&[("ref_from", ""), ("ref_to", "")]),
        "save_cost_rates" => vec![
            ("rates[markets][0][0]", "US"),
            ("rates[markets][0][1]", "40"),
            ("rates[markets][0][2]", "300"),
            ("rates[cpu_hour_usd]", "0.05"),
            ("rates[days_lost_per_false_reject]", "1"),
            ("rates[risk_weights][0][0]", "scam"),
            ("rates[risk_weights][0][1]", "50"),
        ],
        "get_band_in_force" => vec![("market", "US"), ("category", "scam")],
        "simulate_thresholds" => vec![("market", "US"), ("category", "scam")],
        "apply_thresholds" => vec![
            ("market", "US"),
            ("category", "scam"),
            ("approve_below", "0.3"),
            ("reject_at", "0.9"),
        ],
        "update_cell" => vec![
            ("market", "US"),
            ("category", "scam"),
            ("approve_below", "0.3"),
            ("reject_at", "0.9"),
            ("rule", "allowed"),
        ],
        "create_api_key" => vec![("name", "matrix"), ("scope", "kpis")],
        "revoke_api_key" | "retry_report_delivery" => vec![("id", "999999")],
        "get_reports" | "archive_report" => vec![("week", "2026-W47"), ("markets", "")],
        "start_review" => vec![("source", "uncertain")],
        "get_review" | "skip_review" | "renew_review" | "open_review" => vec![("task_id", &task)],
        "submit_review" => vec![
            ("task_id", &task),
            ("verdict", "approve"),
            ("reason_code", ""),
            ("reason_text", ""),
            ("next", "false"),
        ],
        "escalate_review" => vec![("task_id", &task), ("note", "needs a second look")],
        "undo_review" => vec![("review_id", "999999")],
        "list_review_queue" => vec![
            ("source", "uncertain"),
            ("market", ""),
            ("category", ""),
            ("band", ""),
            ("min_age_minutes", ""),
        ],
        "bulk_review" => vec![
            ("task_ids[0]", &task),
            ("verdict", "approve"),
            ("reason_code", "benign_context"),
            ("reason_text", ""),
        ],
        "get_team_numbers" => vec![("days", "7")],
        "get_exposure" | "take_break" => vec![],
        "set_exposure_cap" => vec![("category", "adult"), ("daily_cap", "150")],
        "set_break_after" => vec![("break_after", "25")],
        "get_golden_accuracy" => vec![("days", "7")],
        "get_golden_set" => vec![],
        "get_ad_golden" => vec![("ad_id", &ad)],
        "mark_golden" => vec![("ad_id", &ad), ("verdict", "approve")],
        "unmark_golden" => vec![("ad_id", "999999")],
        "set_golden_rate" => vec![("rate", "0.02")],
        "import_golden" => vec![("text", "")],
        "list_rules" | "list_models" | "list_promotions" | "rollback_model" | "list_trainings" => {
            vec![]
        }
        "start_training" => vec![("days", "0"), ("with_corpus", "false")],
        "cancel_training" => vec![("id", "999999")],
        "compare_models" => vec![("a", "x"), ("b", "y"), ("market", "")],
        "shadow_model" => vec![("version", "no-such-version")],
        "preview_promotion" | "request_promotion" => {
            vec![("version", "no-such-version"), ("markets", "ID")]
        }
        "decide_promotion" => vec![("id", "999999"), ("approve", "false")],
        "get_model_history" => vec![("at", "")],
        "get_radar" => vec![("window", "24h"), ("market", "ID")],
        "get_radar_detail" => vec![("kind", "term"), ("value", "investasi"), ("market", "ID")],
        "get_rule" | "backtest_progress" | "cancel_backtest" => vec![("id", "999999")],
        "save_rule" => vec![
            ("id", "0"),
            ("form[name]", "matrix"),
            ("form[markets]", "US"),
            ("form[action]", "flag"),
            ("form[flag_label]", "matrix"),
        ],
        "rule_step" => vec![("id", "999999"), ("step", "archive")],
        "start_backtest" => vec![("id", "999999"), ("days", "7")],
        "rule_retro" => vec![("id", "999999"), ("days", "7"), ("dry_run", "true")],
        "request_retro_reject" => vec![("id", "999999"), ("days", "7")],
        "list_retro_requests" => vec![("id", "999999")],
        "decide_retro_request" => vec![("request", "999999"), ("approve", "false")],
        "set_sla" => vec![("market", "US"), ("hours", "24")],
        "save_reason_code" => vec![
            ("code", "matrix_code"),
            ("label", "Matrix"),
            ("active", "true"),
        ],
        "create_user" => vec![
            ("email", "matrix@example.com"),
            ("display_name", "Matrix"),
            ("role", "executive"),
            ("markets", ""),
            ("password", "matrix-password"),
        ],
        "update_user" => vec![
            ("id", &user),
            ("display_name", "Matrix User"),
            ("role", "executive"),
            ("markets", ""),
            ("disabled", "false"),
            ("password", ""),
        ],
        other => panic!("the matrix has no arguments for server function `{other}`"),
    };
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The request for `row` by `who`, about the item `(task, ad)`.
fn request(row: &Row, who: Who, f: &Fixture, item: (i64, i64)) -> Request<Body> {
    let cookie = f.cookie(who);
    let mut req = if let Some(name) = row.call.strip_prefix("rpc ") {
        let args = rpc_args(name, f, item);
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        rpc(name, &form, cookie)
    } else {
        let (method, path) = row.call.split_once(' ').unwrap();
        let path = path
            .replace("{id}", &item.1.to_string())
            .replace("{step}", "background")
            .replace("{decision}", "refuse");
        let rule = r#"{"name":"matrix","conditions":{"market":["US"]},"action":{"flag":"matrix"}}"#;
        let (path, body) = match (method, path.as_str()) {
            ("POST", "/api/v1/ads") => (
                path.clone(),
                r#"{"external_id":"matrix-1","market":"US","headline":"Matrix","body":"Hello"}"#,
            ),
            ("POST", "/api/v1/rules") | ("PUT", _) => (path.clone(), rule),
            ("POST", _) => (path.clone(), r#"{"statement":"please look again"}"#),
            (_, "/api/v1/kpis") => (format!("{path}?from=2026-11-01&to=2026-11-07"), ""),
            (_, "/api/v1/reports/weekly") => (format!("{path}?week=2026-W47&format=csv"), ""),
            (_, p) if p.starts_with("/api/v1/reports/archive/") => {
                (format!("{path}?format=csv"), "")
            }
            _ => (path.clone(), ""),
        };
        let mut b = Request::builder().method(method).uri(path);
        if method == "POST" || method == "PUT" {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::from(body)).unwrap()
    };
    let key = match who {
        IngestKey => Some(&f.ingest_key),
        KpisKey => Some(&f.kpis_key),
        RulesKey => Some(&f.rules_key),
        _ => None,
    };
    if let Some(k) = key {
        req.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {k}").parse().unwrap(),
        );
    }
    req
}

/// The status of one call (a stream is only opened, not read to its end).
async fn status_of(app: &axum::Router, req: Request<Body>) -> StatusCode {
    app.clone().oneshot(req).await.unwrap().status()
}

/// Whether a call on an item outside the caller's markets was refused: 403 or 404, or (for
/// a bulk decision, which reports per item) a 200 that decided nothing.
async fn refused_out_of_scope(app: &axum::Router, req: Request<Body>) -> Result<(), String> {
    let r = send(app, req).await;
    match r.status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Ok(()),
        StatusCode::OK if r.json()["decided"] == 0 => Ok(()),
        s => Err(format!("{s}: {}", r.text())),
    }
}

async fn fixture(t: &TestDb, app: &axum::Router) -> Fixture {
    let mut cookies = Vec::new();
    for (who, role) in [
        (Reviewer, Role::Reviewer),
        (Ops, Role::OpsHead),
        (Exec, Role::Executive),
        (Admin, Role::Admin),
    ] {
        let d = amso_core::demo::accounts::DEMO_LOGINS
            .iter()
            .find(|d| d.role == role)
            .unwrap();
        cookies.push((who, login(app, d.email, d.password).await));
    }
    let (_, ingest_key) = apikeys::create(&t.db, &Actor::System, "matrix ingest", Scope::Ingest)
        .await
        .unwrap();
    let (_, kpis_key) = apikeys::create(&t.db, &Actor::System, "matrix kpis", Scope::Kpis)
        .await
        .unwrap();
    let (_, rules_key) = apikeys::create(&t.db, &Actor::System, "matrix rules", Scope::Rules)
        .await
        .unwrap();
    let mut items = Vec::new();
    for (market, prefix) in [(Market::Us, "in"), (Market::Jp, "out")] {
        let ad = decided(t, prefix, 1, market, Action::Review, Some(Route::Uncertain)).await[0];
        let (task,): (i64,) = sqlx::query_as("select id from review_tasks where ad_id = $1")
            .bind(ad)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        items.push((task, ad));
    }
    let user =
        crate::review::reviewer(t, "matrix-target@example.com", Role::Executive, vec![]).await;
    Fixture {
        cookies,
        ingest_key,
        kpis_key,
        rules_key,
        in_scope: items[0],
        out_of_scope: items[1],
        user_id: user.user_id,
    }
}

#[tokio::test]
async fn every_function_and_route_answers_every_caller_as_the_matrix_says() {
    for t in backends().await {
        let app = app(&t);
        let f = fixture(&t, &app).await;
        let mut wrong = Vec::new();
        // Pages first (the last rows log everyone out): each area opens for the roles that may use it and shows "no access" (403)
        // to the others; logged-out visitors go to the login page.
        for area in Area::ALL {
            for (who, role) in [
                (Reviewer, Some(Role::Reviewer)),
                (Ops, Some(Role::OpsHead)),
                (Exec, Some(Role::Executive)),
                (Admin, Some(Role::Admin)),
                (Anon, None),
            ] {
                let status = status_of(&app, get(area.path(), f.cookie(who))).await;
                let expected = match role {
                    None => StatusCode::SEE_OTHER,
                    Some(r) if area.allows(r) => StatusCode::OK,
                    Some(_) => StatusCode::FORBIDDEN,
                };
                if status != expected {
                    wrong.push(format!(
                        "page {}: {who:?} got {status}, not {expected}",
                        area.path()
                    ));
                }
            }
        }
        for row in MATRIX {
            for who in EVERYONE.iter().copied() {
                let status = status_of(&app, request(row, who, &f, f.in_scope)).await;
                // Without a session, a page-like path sends the caller to the login page.
                let refused = status == StatusCode::UNAUTHORIZED
                    || status == StatusCode::FORBIDDEN
                    || (f.cookie(who).is_none() && status == StatusCode::SEE_OTHER);
                let allowed = row.allowed.contains(&who);
                if allowed == refused || status.is_server_error() {
                    wrong.push(format!(
                        "{}: {who:?} got {status} (allowed: {allowed})",
                        row.call
                    ));
                }
            }
            if row.scoped
                && let Err(got) =
                    refused_out_of_scope(&app, request(row, Reviewer, &f, f.out_of_scope)).await
            {
                wrong.push(format!(
                    "{}: a reviewer outside the item's market got {got}",
                    row.call
                ));
            }
        }
        assert!(wrong.is_empty(), "{}:\n{}", t.label, wrong.join("\n"));
    }
}

#[test]
fn every_server_function_has_a_row() {
    let listed: BTreeSet<&str> = MATRIX
        .iter()
        .filter_map(|r| r.call.strip_prefix("rpc "))
        .collect();
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/rpc/").to_string())
        .collect();
    let missing: Vec<_> = registered
        .iter()
        .filter(|p| !listed.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "server functions without a row in the authorization matrix: {missing:?}"
    );
    let stale: Vec<_> = listed
        .iter()
        .filter(|l| !registered.contains(**l))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for server functions that do not exist: {stale:?}"
    );
}

#[test]
fn every_route_has_a_row() {
    let listed: BTreeSet<&str> = MATRIX
        .iter()
        .filter(|r| !r.call.starts_with("rpc "))
        .map(|r| r.call.split_once(' ').unwrap().1)
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split(".route(").skip(1) {
            if let Some(path) = part.trim_start().strip_prefix('"') {
                routes.insert(path.split('"').next().unwrap().to_string());
            }
        }
    }
    assert!(routes.len() >= 10, "the route scan found {routes:?}");
    let missing: Vec<_> = routes
        .iter()
        .filter(|r| !listed.contains(r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
}
