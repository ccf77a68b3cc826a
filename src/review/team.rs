//! The team's numbers: each reviewer's reviews, overrides, handling time and agreement.

use crate::metrics::kpi::{cohens_kappa, median};
use crate::platform::db::{Db, Flag};
use crate::platform::time::Millis;
use serde::Serialize;

/// One reviewer's work over a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReviewerDay {
    pub reviewer_id: i64,
    pub email: String,
    pub name: String,
    pub reviews: i64,
    pub overrides: i64,
    pub median_handling_ms: Option<Millis>,
    /// Of their reviews that a QA second reviewer checked: how many were agreed with.
    pub qa_checked: i64,
    pub qa_agreed: i64,
    /// Of their audit-sample reviews: how many agreed with the machine.
    pub audits: i64,
    pub audits_agreed: i64,
}

type StatsRow = (i64, String, String, String, String, String, Flag, i64, i64);

/// Each reviewer's work with reviews finished in [from, to), optionally just one reviewer;
/// with the inter-reviewer agreement (Cohen's kappa over QA pairs) of the same period.
pub async fn reviewer_stats(
    db: &Db,
    from: Millis,
    to: Millis,
    only: Option<i64>,
) -> sqlx::Result<(Vec<ReviewerDay>, Option<f64>, i64)> {
    let rows: Vec<StatsRow> = sqlx::query_as(
        "select r.reviewer_id, u.email, u.display_name, r.source, r.verdict, r.machine_action, r.override, r.started_at, r.finished_at \
         from reviews r join users u on u.id = r.reviewer_id where r.finished_at >= $1 and r.finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    // QA pairs: the first review (by its reviewer) and the second opinion on it.
    let pairs: Vec<(i64, String, String)> = sqlx::query_as(
        "select f.reviewer_id, f.verdict, s.verdict from reviews s join review_tasks t on t.id = s.task_id \
         join reviews f on f.id = t.qa_of where s.source = 'qa' and s.finished_at >= $1 and s.finished_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut by: std::collections::BTreeMap<i64, (ReviewerDay, Vec<Millis>)> = Default::default();
    for (id, email, name, source, verdict, machine, overrode, started, finished) in rows {
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let (day, times) = by.entry(id).or_insert_with(|| {
            (
                ReviewerDay {
                    reviewer_id: id,
                    email: email.clone(),
                    name: name.clone(),
                    ..Default::default()
                },
                Vec::new(),
            )
        });
        day.reviews += 1;
        day.overrides += i64::from(overrode.0);
        times.push((finished - started).max(0));
        if source == "audit" {
            day.audits += 1;
            day.audits_agreed += i64::from(verdict == machine);
        }
    }
    for (first_reviewer, first, second) in &pairs {
        if let Some((day, _)) = by.get_mut(first_reviewer) {
            day.qa_checked += 1;
            day.qa_agreed += i64::from(first == second);
        }
    }
    let kappa = cohens_kappa(
        &pairs
            .iter()
            .map(|(_, a, b)| (a == "reject", b == "reject"))
            .collect::<Vec<_>>(),
    );
    Ok((
        by.into_values()
            .map(|(mut day, mut times)| {
                day.median_handling_ms = median(&mut times);
                day
            })
            .collect(),
        kappa,
        pairs.len() as i64,
    ))
}
