//! The weekly report's schedule: renders and archives each week once it is due (claimed once
//! across servers, caught up after downtime), then mails the PDF to the recipients.

use super::mail::send_pdf;
use amso_core::platform::config::Config;
use amso_core::platform::db::Db;
use amso_core::platform::time::{Millis, now_millis};
use amso_core::report::{self, ReportError, archive, build::Request, week::IsoWeek};

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
