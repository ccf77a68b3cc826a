//! `/api/v1/rules`: moderation rules for ops tooling (an API key with the `rules` scope) and
//! for logged-in users whose role reads rules; writing takes an ops head or an admin (or a
//! `rules` key), and approving a rule live takes a person other than the one who asked.

use super::caller::{Caller, caller};
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::access::audit::Actor;
use amso_core::platform::time::now_millis;
use amso_core::rules::{backtest, retro, spec, store};
use amso_core::vocab::role::Area;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;

/// Largest rule body: a term list of 100,000 terms fits.
pub const MAX_BODY: usize = 16 << 20;

/// The rules routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/rules", get(list).post(create))
        .route("/api/v1/rules/{id}", get(show).put(edit))
        .route("/api/v1/rules/{id}/backtest", post(run_backtest))
        .route("/api/v1/rules/{id}/retro", get(list_retro).post(run_retro))
        .route(
            "/api/v1/rules/retro-requests/{id}/{decision}",
            post(decide_retro),
        )
        .route("/api/v1/rules/{id}/{step}", post(step))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// What a caller may do with rules.
enum Access {
    Read,
    Write(Actor),
}

async fn access(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<(Access, bool), AppError> {
    Ok(match caller(state, headers, user).await? {
        Caller::Key(k) if k.scope == Scope::Rules => {
            (Access::Write(Actor::User(format!("key:{}", k.name))), true)
        }
        Caller::User(u) if u.role.writes_rules() => (Access::Write(Actor::User(u.email)), false),
        Caller::User(u) if Area::Rules.allows(u.role) => (Access::Read, false),
        _ => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "rules need an API key with the rules scope, or an ops head's or admin's login",
            ));
        }
    })
}

fn writer(a: Access) -> Result<Actor, AppError> {
    match a {
        Access::Write(actor) => Ok(actor),
        Access::Read => Err(AppError::new(
            ErrorKind::Forbidden,
            "only ops heads and admins change rules",
        )),
    }
}

fn rule_id(id: &str) -> Result<i64, AppError> {
    id.parse()
        .map_err(|_| AppError::malformed("the rule id must be a number"))
}

fn read_spec(body: &[u8]) -> Result<spec::RuleSpec, AppError> {
    let text =
        std::str::from_utf8(body).map_err(|_| AppError::malformed("the body is not UTF-8"))?;
    spec::parse(text).map_err(|e| AppError::malformed(e.to_string()))
}

/// `GET /api/v1/rules`: every rule.
async fn list(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
) -> ApiResult {
    access(&state, &headers, user.as_deref()).await?;
    let rules = store::list(&state.db, now_millis()).await?;
    Ok(Json(json!({ "rules": rules })).into_response())
}

/// `POST /api/v1/rules`: a new rule (the JSON rule form) as a draft; answers its id.
async fn create(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let actor = writer(access(&state, &headers, user.as_deref()).await?.0)?;
    let spec = read_spec(&body)?;
    let id = store::create(&state.db, &spec, &actor, now_millis()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "version": 1, "state": "draft" })),
    )
        .into_response())
}

/// `GET /api/v1/rules/{id}`: one rule with its versions and last backtest.
async fn show(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    access(&state, &headers, user.as_deref()).await?;
    let id = rule_id(&id)?;
    let rule = store::get(&state.db, id, now_millis())
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, format!("no rule {id}")))?;
    Ok(Json(rule).into_response())
}

/// `PUT /api/v1/rules/{id}`: a new version; the rule goes back to draft.
async fn edit(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let actor = writer(access(&state, &headers, user.as_deref()).await?.0)?;
    let id = rule_id(&id)?;
    let spec = read_spec(&body)?;
    let version = store::edit(&state.db, id, &spec, &actor, now_millis()).await?;
    Ok(Json(json!({ "id": id, "version": version, "state": "draft" })).into_response())
}

/// `POST /api/v1/rules/{id}/{background|request-live|approve|archive}`.
async fn step(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
) -> ApiResult {
    let (access, is_key) = access(&state, &headers, user.as_deref()).await?;
    let actor = writer(access)?;
    let id = rule_id(&id)?;
    let step = store::Step::parse(&step).ok_or_else(|| {
        AppError::new(
            ErrorKind::NotFound,
            "steps: background, request-live, approve, archive",
        )
    })?;
    if step == store::Step::Approve && is_key {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "a person approves a rule live, not an API key",
        ));
    }
    let to = store::step(&state.db, id, step, &actor, now_millis()).await?;
    Ok(Json(json!({ "id": id, "state": to })).into_response())
}

/// Query of the backtest route.
#[derive(Debug, serde::Deserialize)]
struct BacktestQuery {
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    28
}

/// `POST /api/v1/rules/{id}/backtest?days=28`: runs the rule's current version over the
/// window and keeps the result with the version.
async fn run_backtest(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<BacktestQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    writer(access(&state, &headers, user.as_deref()).await?.0)?;
    let id = rule_id(&id)?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed("days must be a whole number"));
    };
    let result = run_and_keep(&state.db, id, q.days).await?;
    Ok(Json(result).into_response())
}

/// Query of the retroaction route.
#[derive(Debug, serde::Deserialize)]
struct RetroQuery {
    #[serde(default = "default_retro_days")]
    days: u32,
    #[serde(default)]
    dry_run: bool,
    /// `reopen` (the default) or `reject` (asks a second person to approve).
    #[serde(default)]
    action: Option<String>,
}

fn default_retro_days() -> u32 {
    7
}

/// `POST /api/v1/rules/{id}/retro?days=7&dry_run=true`: a live rule over the ads
/// auto-approved in the window; unless a dry run, the matches are reopened into review. With
/// `action=reject` a reject rule asks for its matches to be rejected instead: the answer is
/// the pending request (202), which a second person approves.
async fn run_retro(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<RetroQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let actor = writer(access(&state, &headers, user.as_deref()).await?.0)?;
    let id = rule_id(&id)?;
    let Ok(Query(q)) = query else {
        return Err(AppError::malformed(
            "days is a whole number, dry_run true or false, action reopen or reject",
        ));
    };
    match q.action.as_deref().unwrap_or("reopen") {
        "reopen" => {
            let r = retro::run(&state.db, id, q.days, q.dry_run, &actor, now_millis()).await?;
            Ok(Json(r).into_response())
        }
        "reject" if !q.dry_run => {
            let r = retro::request_reject(&state.db, id, q.days, &actor, now_millis()).await?;
            Ok((StatusCode::ACCEPTED, Json(r)).into_response())
        }
        "reject" => Err(AppError::malformed(
            "a rejection request counts first by itself: leave dry_run out (or count with action=reopen)",
        )),
        _ => Err(AppError::malformed("action is reopen or reject")),
    }
}

/// `GET /api/v1/rules/{id}/retro`: the rule's requests to reject retroactively.
async fn list_retro(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    access(&state, &headers, user.as_deref()).await?;
    let id = rule_id(&id)?;
    let requests = retro::requests(&state.db, id).await?;
    Ok(Json(json!({ "requests": requests })).into_response())
}

/// `POST /api/v1/rules/retro-requests/{id}/{approve|refuse}`: a second person approves a
/// retroactive rejection (a person, never an API key), or anyone who writes rules refuses it.
async fn decide_retro(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
) -> ApiResult {
    let (access, is_key) = access(&state, &headers, user.as_deref()).await?;
    let actor = writer(access)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::malformed("the request id must be a number"))?;
    let approve = match decision.as_str() {
        "approve" if is_key => {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                "a person approves a retroactive rejection, not an API key",
            ));
        }
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(AppError::new(
                ErrorKind::NotFound,
                "decisions: approve, refuse",
            ));
        }
    };
    let r = retro::decide(&state.db, id, approve, &actor, now_millis()).await?;
    Ok(Json(r).into_response())
}

/// Backtests a rule's current version and keeps the result with it.
pub async fn run_and_keep(
    db: &amso_core::platform::db::Db,
    id: i64,
    days: u32,
) -> Result<backtest::Backtest, AppError> {
    let cancel = std::sync::atomic::AtomicBool::new(false);
    backtest::run_and_keep(db, id, days, now_millis(), &|_| {}, &cancel)
        .await?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, format!("no rule {id}")))
}
