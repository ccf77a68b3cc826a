//! Loading the thresholds and policy matrix in force.

use crate::engine::decide::{Band, Rule, Rules};
use crate::platform::db::Db;
use crate::vocab::market::Market;
use crate::vocab::policy::Category;

/// The newest thresholds version and the current policy matrix, with the audit rates.
pub async fn load(db: &Db, audit_rate_approve: f64, audit_rate_reject: f64) -> sqlx::Result<Rules> {
    let (version,): (i64,) =
        sqlx::query_as("select coalesce(max(version), 0) from threshold_versions")
            .fetch_one(db.pool())
            .await?;
    let bands: Vec<(String, String, f64, f64)> = sqlx::query_as(
        "select market, category, approve_below, reject_at from thresholds where version = $1",
    )
    .bind(version)
    .fetch_all(db.pool())
    .await?;
    let policy: Vec<(String, String, String)> =
        sqlx::query_as("select market, category, rule from policy_matrix")
            .fetch_all(db.pool())
            .await?;
    let key = |m: &str, c: &str| Some((m.parse::<Market>().ok()?, c.parse::<Category>().ok()?));
    Ok(Rules {
        thresholds_version: version,
        bands: bands
            .into_iter()
            .filter_map(|(m, c, a, r)| {
                Some((
                    key(&m, &c)?,
                    Band {
                        approve_below: a,
                        reject_at: r,
                    },
                ))
            })
            .collect(),
        policy: policy
            .into_iter()
            .filter_map(|(m, c, r)| Some((key(&m, &c)?, Rule::parse(&r)?)))
            .collect(),
        audit_rate_approve,
        audit_rate_reject,
    })
}
