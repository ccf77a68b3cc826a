//! The HTTP server: one router with the pages and server functions (Leptos), the REST API
//! (one file per route family), health, metrics and the audit export, behind the session,
//! viewer and error middleware.

pub mod ads;
pub mod audit;
pub mod caller;
pub mod error;
pub mod kpis;
pub mod metrics;
pub mod middleware;
pub mod models;
pub mod radar;
pub mod reports;
pub mod rules;
pub mod session_store;
pub mod stream;

use self::error::{AppError, ErrorKind, json_api_errors, rpc_error_status};
use self::metrics::HttpMetrics;
use self::middleware::{bundle_caching, refuse_cross_site, resolve_viewer, security_headers};
use self::session_store::DbSessionStore;
use amso_app::ssr::AppState;
use amso_app::{App, shell};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware as mw;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "amso_session";

/// The router plus what serving it needs.
pub struct Server {
    pub router: Router,
    pub metrics: HttpMetrics,
    /// The live stream's feed (its connection counts).
    pub live: std::sync::Arc<stream::LiveFeed>,
}

/// The pages' routes, listed once per process. Listing renders the whole app; doing it while
/// other pages render (a second router built beside a serving one, as the tests do) now and
/// then left one of those renders waiting for ever.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application router over `state`.
pub fn build_router(state: AppState) -> Server {
    let http_metrics = HttpMetrics::default();
    let routes = page_routes();
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.config.session_idle_minutes,
        )));

    let metrics_for_route = http_metrics.clone();
    let live = stream::LiveFeed::new(state.db.clone(), &state.config);
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(ads::routes())
        .merge(kpis::routes())
        .merge(stream::routes(live.clone()))
        .merge(reports::routes())
        .merge(rules::routes())
        .merge(radar::routes())
        .merge(models::routes())
        .merge(audit::routes())
        .route(
            "/metrics",
            get(move |State(state): State<AppState>, headers: HeaderMap| {
                let m = metrics_for_route.clone();
                async move {
                    if !metrics::token_ok(&headers, state.config.metrics_token.as_deref()) {
                        return AppError::new(
                            ErrorKind::Unauthenticated,
                            "/metrics needs `Authorization: Bearer <AMSO_METRICS_TOKEN>`",
                        )
                        .into_response();
                    }
                    let mut text = m.render();
                    text.push_str(&metrics::drift(&state.db).await);
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response()
                }
            }),
        )
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(mw::from_fn(rpc_error_status))
        .layer(mw::from_fn(json_api_errors))
        .layer(mw::from_fn_with_state(state.clone(), resolve_viewer))
        .layer(session_layer)
        .layer(mw::from_fn_with_state(
            state.config.clone(),
            refuse_cross_site,
        ))
        .layer(mw::from_fn_with_state(
            state.config.clone(),
            security_headers,
        ))
        .layer(mw::from_fn_with_state(
            state.leptos_options.hash_files,
            bundle_caching,
        ))
        .layer(mw::from_fn_with_state(http_metrics.clone(), metrics::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages, JSON and the bundle go out brotli- or gzip-compressed to browsers that accept
        // it; the live stream and images are left alone (tower-http's default predicate). The
        // fastest level: compressing a multi-megabyte bundle on every request at brotli's
        // default level would cost seconds of CPU. A release build made with `--precompress`
        // has the bundle's .br and .gz beside it at the highest levels, served as they are
        // (already encoded, so this layer passes them by).
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    Server {
        router,
        metrics: http_metrics,
        live,
    }
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.is_ready().await {
        Ok(true) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(false) => AppError::new(
            ErrorKind::NotReady,
            "database is reachable but not fully migrated; run `amso migrate`",
        )
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            AppError::new(ErrorKind::NotReady, "database is not reachable").into_response()
        }
    }
}
