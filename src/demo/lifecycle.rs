//! The demo's model history, written around the shipped model: an earlier champion that
//! decided the first week while the shipped model ran beside it in shadow; the shipped
//! model's promotion in every market (asked by one ops head, approved by another, with
//! thresholds re-fitted on that week's comparison); and a challenger trained on the human
//! verdicts of the weeks before the last three days, which has scored every ad since in
//! shadow. The challenger has seen the start of the ID `investasi` wave in its reviewers'
//! verdicts and the champion has not, so the comparison shows it doing better there.
//!
//! Everything is written with the instants it would have had: the registry's events, the
//! promotion, the thresholds version and the challenger's calibration maps; the history
//! stops to work the queues before the promotion and before the challenger's training, so
//! both rest only on the reviews finished by then.

use super::history::HistoryError;
use crate::access::audit::Actor;
use crate::access::users::{self, NewUser};
use crate::demo::corpus::{CorpusParams, generate_without_waves};
use crate::engine::model::card::{self, ModelCard};
use crate::engine::model::registry::{self, Role, Source};
use crate::engine::model::train::TrainParams;
use crate::engine::model::{promotion, retrain};
use crate::engine::worker::Scorer;
use crate::intake::validate::NewAd;
use crate::platform::db::Db;
use crate::platform::time::{Millis, to_datetime};
use crate::vocab::role::Role as UserRole;
use rand::Rng;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Demo histories this large or larger get a model lifecycle: smaller ones have too little
/// comparison in some market's first week for the promotion to be allowed.
pub const MIN_ADS: usize = 40_000;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;
/// How long the earlier champion decided, from the start of the history.
pub const EARLIER_SPAN: Millis = 7 * DAY;
/// The challenger was trained this long before the end of the history.
pub const CHALLENGER_AGE: Millis = 3 * DAY;
/// Corpus ads drawn for the challenger's training rows (before the last week is dropped): as
/// many as the shipped model learnt from, so the two agree outside the wave and the ads they
/// split on are the wave's. With a third of this the challenger also missed adult, gambling
/// and health ads the champion caught, and where the humans sided varied with the hour the
/// history was written (43–88% over six runs).
const CHALLENGER_CORPUS_ADS: usize = 80_000;
/// Histories shorter than this get no lifecycle (the phases would overlap).
pub const MIN_DAYS: u32 = 14;
/// The learning share while a challenger runs in the demo: large (50% on top of the review
/// volume, against the product's default of 0.5%), as a team would set it to learn a wave
/// quickly, so the comparison of the last days rests on enough labels.
pub const LEARNING_SHARE: f64 = 0.5;
/// The challenger's held-out span: the last labelled day before its training (a week would
/// hold out the whole wave it is meant to learn).
const CHALLENGER_HELDOUT: Millis = DAY;
/// Corpus ads the earlier champion was trained on (before held-out ones are set aside).
const EARLIER_ADS: usize = 12_000;

/// Registers the earlier champion (trained on a corpus drawn before the history, champion of
/// every market two days before it starts) and the shipped model at `shipped` (in shadow from
/// a day before it starts). Answers the earlier champion's scorer.
pub async fn begin(
    db: &Db,
    shipped: &Path,
    seed: u64,
    start: Millis,
) -> Result<Scorer, HistoryError> {
    let earlier_at = start - 2 * DAY;
    let (bytes, card) = tokio::task::spawn_blocking(move || earlier_model(seed, earlier_at))
        .await
        .map_err(|e| HistoryError::Lifecycle(e.to_string()))??;
    let card_json = serde_json::to_string(&card).unwrap_or_default();
    let earlier = registry::register(
        db,
        &bytes,
        Some(&card_json),
        Source::Import,
        &Actor::System,
        earlier_at,
    )
    .await?;
    registry::set_role(
        db,
        &earlier,
        Role::Champion,
        &[],
        &Actor::System,
        earlier_at,
        Some("the model in production before the shipped one"),
    )
    .await?;
    let shipped_bytes = std::fs::read(shipped)
        .map_err(|e| HistoryError::Lifecycle(format!("{}: {e}", shipped.display())))?;
    let shipped_card = std::fs::read_to_string(shipped.with_file_name("card.json")).ok();
    let version = registry::register(
        db,
        &shipped_bytes,
        shipped_card.as_deref(),
        Source::Shipped,
        &Actor::System,
        start - DAY,
    )
    .await?;
    registry::set_role(
        db,
        &version,
        Role::Challenger,
        &[],
        &Actor::System,
        start - DAY,
        Some("in shadow before its promotion"),
    )
    .await?;
    let label = format!("model version {earlier}");
    Ok(Scorer::start_bytes(bytes, &label, 64)?)
}

/// Labelled corpus ads (a seed of their own) from the four weeks before `at`, without the
/// campaign waves: the data the models before the history learnt from.
fn corpus_before(seed: u64, at: Millis, ads: usize) -> Vec<NewAd> {
    generate_without_waves(&CorpusParams {
        ads,
        days: 28,
        seed: seed ^ 0x0e4a_11e4,
        end: at,
    })
    .iter()
    .filter_map(|a| a.to_submitted(true).validate().ok())
    .collect()
}

/// The earlier champion: the default trainer on [`corpus_before`] the history (every fifth
/// ad held out).
fn earlier_model(seed: u64, at: Millis) -> Result<(Vec<u8>, ModelCard), HistoryError> {
    let ads = corpus_before(seed, at, EARLIER_ADS);
    let training: Vec<(&NewAd, f32)> = ads
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(_, a)| (a, 1.0))
        .collect();
    let heldout: Vec<&NewAd> = ads.iter().step_by(5).collect();
    let params = TrainParams {
        buckets: 1 << 16,
        epochs: 4,
        ..Default::default()
    };
    let (weights, card) = card::train_split(
        &training,
        &heldout,
        &format!("demo corpus drawn before the history ({} ads)", ads.len()),
        "every fifth ad held out",
        &params,
        |_, _| {},
        &AtomicBool::new(false),
    )?
    .ok_or_else(|| HistoryError::Lifecycle("the earlier model's training stopped".into()))?;
    let card = card.dated(to_datetime(at));
    Ok((card::onnx_bytes(&weights, &card), card))
}

/// Finds or creates a demo-only ops head (a password nobody knows).
async fn ops_head(db: &Db, name: &str) -> Result<Actor, HistoryError> {
    let email = format!("{}@ops.amso.test", name.to_lowercase().replace(' ', "."));
    if !users::list(db).await?.iter().any(|u| u.email == email) {
        let password: String = (0..24)
            .map(|_| rand::thread_rng().sample(rand::distributions::Alphanumeric) as char)
            .collect();
        users::create(
            db,
            &Actor::System,
            NewUser {
                email: email.clone(),
                display_name: name.into(),
                role: UserRole::OpsHead,
                markets: Vec::new(),
                password,
                demo_credentials: false,
                time_zone: None,
                languages: Vec::new(),
            },
        )
        .await?;
    }
    Ok(Actor::User(email))
}

/// The shipped model's promotion in every market at `at`: asked an hour before by one ops
/// head, approved by another, on the week of comparison its shadow scores give.
pub async fn promote(db: &Db, version: &str, at: Millis) -> Result<(), HistoryError> {
    let asker = ops_head(db, "Sofia Reyes").await?;
    let approver = ops_head(db, "Marcus Webb").await?;
    let asked = promotion::request(db, version, &[], &asker, at - HOUR).await?;
    promotion::decide(db, asked.id, true, &approver, at).await?;
    Ok(())
}

/// The challenger: trained at `at` on the human verdicts finished from `start` until then
/// (the last day of them held out) and the corpus the earlier champion learnt from, as a team
/// retrains on its old data plus what its reviewers decided since; registered and put in shadow at that instant. Answers its
/// scorer.
pub async fn challenger(
    db: &Db,
    seed: u64,
    start: Millis,
    at: Millis,
) -> Result<Scorer, HistoryError> {
    let verdicts = retrain::verdicts_between(db, start, at).await?;
    let since = crate::platform::time::to_rfc3339(start);
    let trained = tokio::task::spawn_blocking(move || {
        retrain::train_holding_out(
            &verdicts,
            &corpus_before(seed, start, CHALLENGER_CORPUS_ADS),
            &since,
            CHALLENGER_HELDOUT,
            &TrainParams::default(),
            |_, _| {},
            &AtomicBool::new(false),
        )
    })
    .await
    .map_err(|e| HistoryError::Lifecycle(e.to_string()))??
    .ok_or_else(|| HistoryError::Lifecycle("the challenger's training stopped".into()))?;
    let trained = retrain::Trained {
        card: trained.card.dated(to_datetime(at)),
        ..trained
    };
    let analyst = ops_head(db, "Sofia Reyes").await?;
    let version = retrain::register(db, &trained, &analyst, at).await?;
    registry::set_role(
        db,
        &version,
        Role::Challenger,
        &[],
        &analyst,
        at,
        Some("trained on the verdicts of the weeks before"),
    )
    .await?;
    let bytes = card::onnx_bytes(&trained.weights, &trained.card);
    Ok(Scorer::start_bytes(
        bytes,
        &format!("model version {version}"),
        64,
    )?)
}
