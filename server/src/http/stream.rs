//! `GET /api/v1/stream`: server-sent events for the live pages.
//!
//! One poller per process reads the change mark (4 times a second) and the queue sizes per
//! market (every 2 s) while anyone is connected, and every connection is fed from it: the
//! database sees the same load for one viewer as for five hundred. Connections are capped per
//! process and per user, and each re-checks its session every 15 s, ending when the user
//! logs out, is disabled, or loses the role or markets it was opened with.

use super::caller::logged_in;
use super::error::{ApiResult, AppError, ErrorKind};
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::{sessions, users};
use amso_core::dashboard::live::change_mark;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::review::{self, queues::MarketQueue};
use amso_core::vocab::role::Area;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Extension, Router};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tower_sessions::Session;

/// How often the poller reads the change mark.
const TICK: Duration = Duration::from_millis(250);
/// Queue sizes are re-read every this many ticks (2 s).
const QUEUE_TICKS: u32 = 8;
/// How often a connection re-checks its session and user.
pub const SESSION_RECHECK: Duration = Duration::from_secs(15);

/// What the poller last read.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    mark: Option<(i64, i64)>,
    queues: Option<Arc<Vec<MarketQueue>>>,
}

/// The process's live feed: the poller's output and the connection counts.
#[derive(Debug)]
pub struct LiveFeed {
    db: Db,
    tx: watch::Sender<Snapshot>,
    polling: Mutex<bool>,
    connections: Mutex<Connections>,
    max: usize,
    max_per_user: usize,
}

#[derive(Debug, Default)]
struct Connections {
    total: usize,
    per_user: HashMap<i64, usize>,
}

/// A connection's place under the caps, given back when the connection ends.
struct Slot {
    feed: Arc<LiveFeed>,
    user_id: i64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.feed.connections.lock().expect("not poisoned");
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_user.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_user.remove(&self.user_id);
            }
        }
    }
}

impl LiveFeed {
    /// A feed over `db` with the caps of `config`; it polls only while someone listens.
    pub fn new(db: Db, config: &Config) -> Arc<LiveFeed> {
        Arc::new(LiveFeed {
            db,
            tx: watch::channel(Snapshot::default()).0,
            polling: Mutex::new(false),
            connections: Mutex::new(Connections::default()),
            max: config.stream_max,
            max_per_user: config.stream_max_per_user,
        })
    }

    /// Live connections now: (all, this user's).
    pub fn connections(&self, user_id: i64) -> (usize, usize) {
        let c = self.connections.lock().expect("not poisoned");
        (c.total, c.per_user.get(&user_id).copied().unwrap_or(0))
    }

    fn admit(self: &Arc<Self>, user_id: i64) -> Result<Slot, AppError> {
        let mut c = self.connections.lock().expect("not poisoned");
        let mine = c.per_user.get(&user_id).copied().unwrap_or(0);
        if c.total >= self.max || mine >= self.max_per_user {
            let why = if mine >= self.max_per_user {
                format!(
                    "you already follow live updates in {mine} tabs; close one (at most {})",
                    self.max_per_user
                )
            } else {
                "the server follows as many live pages as it can; try again shortly".into()
            };
            return Err(AppError::new(ErrorKind::RateLimited, why).retry_after(10));
        }
        c.total += 1;
        *c.per_user.entry(user_id).or_default() += 1;
        Ok(Slot {
            feed: self.clone(),
            user_id,
        })
    }

    fn subscribe(self: &Arc<Self>) -> watch::Receiver<Snapshot> {
        let rx = self.tx.subscribe();
        let mut polling = self.polling.lock().expect("not poisoned");
        if !*polling {
            *polling = true;
            tokio::spawn(self.clone().poll());
        }
        rx
    }

    async fn poll(self: Arc<Self>) {
        let mut tick: u32 = 0;
        loop {
            if self.tx.receiver_count() == 0 {
                let mut polling = self.polling.lock().expect("not poisoned");
                if self.tx.receiver_count() == 0 {
                    *polling = false;
                    return;
                }
            }
            let mark = change_mark(&self.db).await.ok();
            let queues = if tick.is_multiple_of(QUEUE_TICKS) {
                review::queues::market_summaries(&self.db, None, &[], now_millis())
                    .await
                    .ok()
                    .map(Arc::new)
            } else {
                None
            };
            self.tx.send_if_modified(|s| {
                let mut changed = false;
                if mark.is_some() && s.mark != mark {
                    s.mark = mark;
                    changed = true;
                }
                if let Some(q) = queues
                    && s.queues.as_deref() != Some(&*q)
                {
                    s.queues = Some(q);
                    changed = true;
                }
                changed
            });
            tick = tick.wrapping_add(1);
            tokio::time::sleep(TICK).await;
        }
    }
}

/// The stream route, fed by `feed`.
pub fn routes(feed: Arc<LiveFeed>) -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream).layer(Extension(feed)))
}

/// What one connection knows and last sent.
struct Follower {
    db: Db,
    rx: watch::Receiver<Snapshot>,
    session_id: Option<String>,
    user: users::User,
    scope: review::Scope,
    queues: bool,
    kpis: bool,
    last_mark: Option<(i64, i64)>,
    last_queues: Option<String>,
    next_check: tokio::time::Instant,
    _slot: Slot,
}

impl Follower {
    /// Whether the session is still live and its user still as the stream was opened.
    async fn still_allowed(&self) -> bool {
        let Some(id) = &self.session_id else {
            return false;
        };
        match sessions::user_of(&self.db, id, now_millis()).await {
            Ok(Some(user_id)) if user_id == self.user.id => {}
            Ok(_) => return false,
            // The database is briefly away: keep the stream; the next check decides.
            Err(_) => return true,
        }
        match users::find(&self.db, self.user.id).await {
            Ok(Some(u)) => {
                !u.disabled && u.role == self.user.role && u.markets == self.user.markets
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }

    fn queue_event(&mut self, rows: &[MarketQueue]) -> Option<Event> {
        let queues = review::queues::for_scope(rows, &self.scope);
        let key = queues
            .iter()
            .map(|q| format!("{}:{}:{}:{}", q.source, q.open, q.available, q.overdue))
            .collect::<Vec<_>>()
            .join(",");
        if self.last_queues.as_deref() == Some(key.as_str()) {
            return None;
        }
        self.last_queues = Some(key);
        Some(
            Event::default()
                .event("queues")
                .data(serde_json::to_string(&queues).unwrap_or_default()),
        )
    }

    /// The next event to send, or `None` when the stream must end.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            let snapshot = self.rx.borrow_and_update().clone();
            if self.kpis
                && let Some(mark) = snapshot.mark
            {
                let changed = self.last_mark.is_some_and(|m| m != mark);
                self.last_mark = Some(mark);
                if changed {
                    return Some(
                        Event::default()
                            .event("kpis")
                            .data(format!("{},{}", mark.0, mark.1)),
                    );
                }
            }
            if self.queues
                && let Some(rows) = &snapshot.queues
                && let Some(event) = self.queue_event(rows)
            {
                return Some(event);
            }
            tokio::select! {
                changed = self.rx.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep_until(self.next_check) => {}
            }
            if tokio::time::Instant::now() >= self.next_check {
                if !self.still_allowed().await {
                    return None;
                }
                self.next_check = tokio::time::Instant::now() + SESSION_RECHECK;
            }
        }
    }
}

/// `GET /api/v1/stream`: server-sent events for live pages (session only). Sends `queues`
/// with the queue sizes in the caller's markets whenever they change (reviewers and ops
/// heads), and `kpis` within a second of any decision or review (roles that see dashboards).
async fn stream(
    State(state): State<AppState>,
    Extension(feed): Extension<Arc<LiveFeed>>,
    session: Session,
    user: Option<Extension<CurrentUser>>,
) -> ApiResult {
    let user = logged_in(user.as_deref(), "follow live updates")?;
    let queues = Area::Queues.allows(user.role);
    let kpis = Area::Dashboards.allows(user.role);
    if !queues && !kpis {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "your role has no live pages to follow",
        ));
    }
    let slot = feed.admit(user.id)?;
    let follower = Follower {
        db: state.db.clone(),
        rx: feed.subscribe(),
        session_id: session.id().map(|id| id.to_string()),
        scope: review::Scope {
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            markets: user.markets.clone(),
        },
        user: user.clone(),
        queues,
        kpis,
        last_mark: None,
        last_queues: None,
        next_check: tokio::time::Instant::now() + SESSION_RECHECK,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(follower, |mut f| async move {
        let event = f.next_event().await?;
        Some((Ok::<_, std::convert::Infallible>(event), f))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
