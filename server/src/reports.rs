//! The weekly report outside the pages: `GET /api/v1/reports/weekly` and the archive's files,
//! the weekly schedule that renders and archives the week just ended, and the mail that
//! carries its PDF (lettre, SMTP).

use crate::web::json_error;
use amso_app::ssr::{AppState, CurrentUser};
use amso_core::access::apikeys::Scope;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::{Millis, now_millis};
use amso_core::report::{self, Format, ReportError, archive, build::Request, week::IsoWeek};
use amso_core::vocab::role::Area;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router, routing::get};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The report routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/weekly", get(weekly))
        .route("/api/v1/reports/archive/{id}", get(archived))
}

/// Query of `GET /api/v1/reports/weekly`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct WeeklyQuery {
    /// `2026-W47`; default the last complete week.
    week: String,
    /// `pdf` (default), `xlsx` or `csv`.
    format: String,
    /// Comma-separated market codes; default every market.
    markets: String,
    /// IANA time zone; default the configured reporting time zone.
    tz: String,
}

/// Who may read reports: an API key with the `kpis` scope, or a role that sees dashboards.
async fn allowed(
    state: &AppState,
    headers: &HeaderMap,
    user: Option<&CurrentUser>,
) -> Result<(), Response> {
    match crate::api::caller(state, headers, user).await {
        Ok(crate::api::Caller::Key(k)) if k.scope == Scope::Kpis => Ok(()),
        Ok(crate::api::Caller::User(u)) if Area::Reports.allows(u.role) => Ok(()),
        Ok(_) => Err(json_error(
            StatusCode::FORBIDDEN,
            "reports need an API key with the kpis scope, or a role that sees dashboards",
            "forbidden",
        )),
        Err(r) => Err(r),
    }
}

fn invalid(e: ReportError) -> Response {
    match e {
        ReportError::Invalid(m) => json_error(StatusCode::BAD_REQUEST, &m, "invalid"),
        other => {
            tracing::error!(error = %other, "report failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                "internal",
            )
        }
    }
}

/// The format a query asks for (default PDF).
fn format_of(asked: &str) -> Result<Format, ReportError> {
    if asked.is_empty() { "pdf" } else { asked }.parse()
}

/// A file as a download.
fn download(format: Format, name: &str, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Parses what a caller asked for, against the configured time zone.
pub fn request_of(
    config: &Config,
    week: &str,
    markets: &str,
    tz: &str,
    now: Millis,
) -> Result<Request, ReportError> {
    let tz = if tz.trim().is_empty() {
        config.report_tz()
    } else {
        report::week::time_zone(tz)?
    };
    let week = if week.trim().is_empty() {
        IsoWeek::last_complete(now, tz)
    } else {
        week.parse()?
    };
    Ok(Request {
        week,
        tz,
        markets: Request::parse_markets(markets)?,
    })
}

/// `GET /api/v1/reports/weekly?week=2026-W47&format=pdf|xlsx|csv&markets=US,GB&tz=UTC`.
async fn weekly(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    query: Result<Query<WeeklyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = allowed(&state, &headers, user.as_deref()).await {
        return r;
    }
    let Ok(Query(q)) = query else {
        return json_error(StatusCode::BAD_REQUEST, "bad query string", "invalid");
    };
    let now = now_millis();
    let format = match format_of(&q.format) {
        Ok(f) => f,
        Err(e) => return invalid(e),
    };
    let req = match request_of(&state.config, &q.week, &q.markets, &q.tz, now) {
        Ok(r) => r,
        Err(e) => return invalid(e),
    };
    let built = match report::build::build(&state.db, &req, now).await {
        Ok(r) => r,
        Err(e) => return invalid(e),
    };
    match report::build::render_async(std::sync::Arc::new(built), format).await {
        Ok(bytes) => download(format, &format.file_name(&req.week), bytes),
        Err(e) => invalid(e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ArchivedQuery {
    format: String,
}

/// `GET /api/v1/reports/archive/{id}?format=pdf|xlsx|csv`: a kept rendering.
async fn archived(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<ArchivedQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = allowed(&state, &headers, user.as_deref()).await {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "the report id must be a number",
            "invalid",
        );
    };
    let Ok(Query(q)) = query else {
        return json_error(StatusCode::BAD_REQUEST, "bad query string", "invalid");
    };
    let format = match format_of(&q.format) {
        Ok(f) => f,
        Err(e) => return invalid(e),
    };
    match archive::file(&state.db, id, format).await {
        Ok(Some((week, bytes))) => download(format, &format.file_name(&week), bytes),
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            "no such report in the archive",
            "not_found",
        ),
        Err(e) => invalid(e.into()),
    }
}

/// One pass of the schedule: renders and archives every week it owes (normally none; the
/// week just ended once it is due; missed weeks after a downtime). Returns the weeks this
/// server rendered.
pub async fn schedule_tick(
    db: &Db,
    config: &Config,
    instance: &str,
    now: Millis,
) -> Result<Vec<IsoWeek>, ReportError> {
    let Some(schedule) = config.report_schedule() else {
        return Ok(Vec::new());
    };
    let recipients = if config.smtp_url.is_some() {
        config.report_recipients.clone()
    } else {
        Vec::new()
    };
    let mut rendered = Vec::new();
    for week in archive::owed_weeks(db, &schedule, now).await? {
        let Some(id) = archive::claim_scheduled(db, week, schedule.tz, instance, now).await? else {
            continue;
        };
        let req = Request {
            week,
            tz: schedule.tz,
            markets: Vec::new(),
        };
        match report::build::fill_run(db, id, &req, &recipients, now).await {
            Ok(()) => {
                tracing::info!(%week, "weekly report rendered and archived");
                rendered.push(week);
            }
            Err(e) => tracing::error!(%week, error = %e, "weekly report failed"),
        }
    }
    Ok(rendered)
}

/// Sends every mail that is due; returns how many went out.
pub async fn deliver_tick(db: &Db, config: &Config, now: Millis) -> Result<usize, ReportError> {
    let Some(url) = &config.smtp_url else {
        return Ok(0);
    };
    let mut sent = 0;
    while let Some((id, week, recipients, pdf, attempts)) = archive::claim_delivery(db, now).await?
    {
        match send_pdf(url, &config.report_from, &recipients, &week, pdf).await {
            Ok(()) => {
                archive::delivered(db, id, now_millis()).await?;
                tracing::info!(%week, %recipients, "weekly report mailed");
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(%week, attempt = attempts, error = %e, "mailing the weekly report failed");
                archive::delivery_failed(db, id, attempts, &e, now).await?;
            }
        }
    }
    Ok(sent)
}

/// Mails the PDF to a comma-separated recipient list through the SMTP server at `url`.
pub async fn send_pdf(
    url: &str,
    from: &str,
    recipients: &str,
    week: &str,
    pdf: Vec<u8>,
) -> Result<(), String> {
    let from: Mailbox = from.parse().map_err(|e| format!("sender {from:?}: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(format!("AMSO weekly moderation report {week}"));
    for r in recipients
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        builder = builder.to(r
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient {r:?}: {e}"))?);
    }
    let pdf_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    let message = builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(format!(
                    "The AMSO weekly moderation report for {week} is attached (PDF). \
                     The XLSX and CSV are on the Reports page."
                )))
                .singlepart(Attachment::new(format!("amso-weekly-{week}.pdf")).body(pdf, pdf_type)),
        )
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("SMTP settings: {e}"))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    transport.send(message).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs the schedule and the deliveries every `report_check_seconds`, for as long as the
/// server runs.
pub async fn run_every(db: Db, config: std::sync::Arc<Config>, instance: String) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(
        config.report_check_seconds.max(1),
    ));
    loop {
        every.tick().await;
        let now = now_millis();
        if let Err(e) = schedule_tick(&db, &config, &instance, now).await {
            tracing::warn!(error = %e, "report schedule check failed");
        }
        if let Err(e) = deliver_tick(&db, &config, now).await {
            tracing::warn!(error = %e, "report delivery check failed");
        }
    }
}

/// `amso report`: writes one format of a week's report to a file.
pub async fn cli(
    db: &Db,
    config: &Config,
    week: &str,
    format: &str,
    markets: &str,
    tz: &str,
    out: &std::path::Path,
) -> Result<(), ReportError> {
    let now = now_millis();
    let format: Format = format.parse()?;
    let req = request_of(config, week, markets, tz, now)?;
    let started = std::time::Instant::now();
    let built = report::build::build(db, &req, now).await?;
    let bytes = report::build::render_async(std::sync::Arc::new(built), format).await?;
    std::fs::write(out, &bytes)
        .map_err(|e| ReportError::Invalid(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "wrote the {} report for {} ({}) to {} ({} bytes, {} ms)",
        format.as_str().to_uppercase(),
        req.week,
        req.tz.name(),
        out.display(),
        bytes.len(),
        started.elapsed().as_millis()
    );
    Ok(())
}
