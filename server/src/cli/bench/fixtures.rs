//! What the scenarios run on: a database (a fresh SQLite file, or the one given), the demo
//! corpus.

use crate::cli::common::CliError;
use amso_core::demo::corpus::{CorpusAd, CorpusParams, generate};
use amso_core::intake::validate::NewAd;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use std::path::Path;

/// The demo corpus of `n` ads over the last week.
pub async fn bench_db(url: Option<&str>, tmp: &Path, name: &str) -> Result<(Db, String), CliError> {
    let url = match url {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}", tmp.join(format!("{name}.db")).display()),
    };
    let db = Db::connect(&url, 8).await?;
    db.migrate().await?;
    Ok((db, amso_core::platform::db::redact(&url)))
}

pub fn corpus(n: usize) -> Vec<CorpusAd> {
    generate(&CorpusParams {
        ads: n,
        days: 7,
        seed: 99,
        end: now_millis(),
    })
}

pub fn to_new(a: &CorpusAd, prefix: &str) -> NewAd {
    let mut submitted = a.to_submitted(false);
    submitted.external_id = Some(format!("{prefix}-{}", a.external_id));
    submitted.validate().expect("demo ads are valid")
}
