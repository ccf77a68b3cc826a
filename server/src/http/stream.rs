//! `GET /api/v1/stream`: server-sent events for the live pages.

use super::caller::logged_in;
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::dashboard::live::change_mark;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::review;
use amso_core::vocab::role::Area;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Extension, Router};

/// The stream route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream))
}

/// How often the live stream looks for new decisions and reviews.
const STREAM_TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// Queue sizes are recomputed every this many ticks (2 s).
const QUEUE_TICKS: u32 = 8;

/// What the stream last sent, and what it may send.
struct StreamState {
    db: Db,
    scope: review::Scope,
    queues: bool,
    kpis: bool,
    last_queues: Option<String>,
    last_change: Option<(i64, i64)>,
    tick: u32,
}

/// `GET /api/v1/stream`: server-sent events for live pages (session only). Sends `queues`
/// with the queue sizes in the caller's markets whenever they change (reviewers and ops
/// heads), and `kpis` within a second of any decision or review (roles that see dashboards).
async fn stream(State(state): State<AppState>, user: Option<Extension<CurrentUser>>) -> ApiResult {
    let user = logged_in(user.as_deref(), "follow live updates")?;
    let queues = Area::Queues.allows(user.role);
    let kpis = Area::Dashboards.allows(user.role);
    if !queues && !kpis {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "your role has no live pages to follow",
        ));
    }
    let start = StreamState {
        db: state.db.clone(),
        scope: review::Scope {
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            markets: user.markets.clone(),
        },
        queues,
        kpis,
        last_queues: None,
        last_change: None,
        tick: 0,
    };
    let events = futures_util::stream::unfold(start, |mut st| async move {
        loop {
            if st.tick > 0 {
                tokio::time::sleep(STREAM_TICK).await;
            }
            st.tick = st.tick.wrapping_add(1);
            if st.kpis
                && let Ok(mark) = change_mark(&st.db).await
            {
                let changed = st.last_change.is_some_and(|m| m != mark);
                st.last_change = Some(mark);
                if changed {
                    let event = Event::default()
                        .event("kpis")
                        .data(format!("{},{}", mark.0, mark.1));
                    return Some((Ok::<_, std::convert::Infallible>(event), st));
                }
            }
            if st.queues
                && (st.tick - 1) % QUEUE_TICKS == 0
                && let Ok(queues) = review::queues::summaries(&st.db, &st.scope, now_millis()).await
            {
                let key = queues
                    .iter()
                    .map(|q| format!("{}:{}:{}:{}", q.source, q.open, q.available, q.overdue))
                    .collect::<Vec<_>>()
                    .join(",");
                if st.last_queues.as_deref() != Some(key.as_str()) {
                    st.last_queues = Some(key);
                    let event = Event::default()
                        .event("queues")
                        .data(serde_json::to_string(&queues).unwrap_or_default());
                    return Some((Ok(event), st));
                }
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
