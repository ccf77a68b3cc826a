//! A realistic moderation history for demos, dashboards and reports: the demo corpus
//! submitted over past days, decided by the real model and rules at the hour each ad came
//! in, then worked through the real review desk by a team of reviewers — with the machine's
//! mistakes caught by audits, appeals (some overturned), QA disagreements escalated to ops
//! heads, skewed handling times, a few slow or sloppy reviewers, and the most recent items
//! still waiting. Deterministic for a seed and model.

use crate::access::audit::Actor;
use crate::access::users::{self, NewUser, UserError};
use crate::demo::corpus::{CorpusParams, generate};
use crate::demo::lifecycle;
use crate::engine::commit::{self, Decided};
use crate::engine::decide::{Rule, Rules, decide, learning_sample};
use crate::engine::rules_store;
use crate::engine::serving::store_shadow;
use crate::engine::worker::{AdText, EngineError, Scorer};
use crate::intake::ads;
use crate::intake::validate::NewAd;
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::review::{self, DeskSettings, ReviewError, Scope, verdicts::Submission};
use crate::vocab::market::Market;
use crate::vocab::policy::Category;
use crate::vocab::queue::{HumanVerdict, Source};
use crate::vocab::role::Role;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;
/// Items that came in this recently are still waiting for a reviewer.
const BACKLOG: Millis = 36 * HOUR;
/// Share of older items nobody got to (they sit past their SLA).
const STRAGGLERS: f64 = 0.04;

/// What history to write.
#[derive(Clone, Debug)]
pub struct HistoryParams {
    pub ads: usize,
    pub days: u32,
    pub seed: u64,
    /// The history ends here (normally now).
    pub end: Millis,
    pub audit_rate_approve: f64,
    pub audit_rate_reject: f64,
    pub qa_rate: f64,
    /// The model file `scorer` runs: when given, the history has a model lifecycle around it
    /// ([`super::lifecycle`]: an earlier champion for the first week, the shipped model's
    /// promotion, a challenger in shadow for the last days). None: the shipped model decides
    /// throughout and the registry is left alone.
    pub lifecycle: Option<std::path::PathBuf>,
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct HistorySummary {
    pub ads: usize,
    pub reviewers: usize,
    pub reviews: usize,
    pub overrides: usize,
    pub appeals: usize,
    pub escalations_decided: usize,
    pub open_items: i64,
}

/// Why the history could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("the database already holds ads; demo history is only written to an empty one")]
    NotEmpty,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Registry(#[from] crate::engine::model::registry::RegistryError),
    #[error(transparent)]
    Promotion(#[from] crate::engine::model::promotion::PromotionError),
    #[error(transparent)]
    Retrain(#[from] crate::engine::model::retrain::RetrainError),
    #[error(transparent)]
    Train(#[from] crate::engine::model::card::TrainError),
    #[error(transparent)]
    Runtime(#[from] crate::engine::model::runtime::RuntimeError),
    #[error("the demo's model history: {0}")]
    Lifecycle(String),
}

/// A member of the demo review team and how they work.
struct Reviewer {
    scope: Scope,
    /// The languages they read (empty: any), as claim-next matches them.
    reads: Vec<String>,
    /// Chance of getting a call right.
    accuracy: f64,
    /// Median seconds per item.
    median_s: f64,
    busy_until: Millis,
}

/// (name, market, accuracy, median seconds, languages read): two per market; Indonesia and
/// Brazil are understaffed and less accurate, a few people are slow, and in Indonesia, Japan
/// and Korea only one of the two reads English. The Japanese, Korean and Emirati reviewers'
/// names are written in their own scripts (their e-mail addresses in `NATIVE`'s Latin form).
const TEAM: [(&str, Market, f64, f64, &str); 20] = [
    ("Jordan Lee", Market::Us, 0.97, 45.0, "en,es"),
    ("Maya Patel", Market::Us, 0.96, 60.0, "en"),
    ("Oliver Hughes", Market::Gb, 0.97, 50.0, "en"),
    ("Amelia Clarke", Market::Gb, 0.95, 70.0, "en,fr"),
    ("Lukas Becker", Market::De, 0.97, 55.0, "de,en"),
    ("Lena Wagner", Market::De, 0.96, 65.0, "de,en"),
    ("Camille Martin", Market::Fr, 0.96, 60.0, "fr,en"),
    ("Hugo Bernard", Market::Fr, 0.95, 75.0, "fr,en"),
    ("Ana Souza", Market::Br, 0.92, 80.0, "pt,en,es"),
    ("Pedro Lima", Market::Br, 0.88, 240.0, "pt,en"),
    ("Putri Wijaya", Market::Id, 0.91, 90.0, "id,en"),
    ("Budi Santoso", Market::Id, 0.85, 120.0, "id"),
    ("田中 結衣", Market::Jp, 0.97, 55.0, "ja,en"),
    ("佐藤 陽翔", Market::Jp, 0.96, 200.0, "ja"),
    ("김민지", Market::Kr, 0.96, 50.0, "ko,en"),
    ("박지수", Market::Kr, 0.95, 60.0, "ko"),
    ("عمر حداد", Market::Ae, 0.95, 70.0, "ar,en"),
    ("ليلى ناصر", Market::Ae, 0.96, 65.0, "ar,en,fr"),
    ("Wei Ling Tan", Market::Sg, 0.97, 50.0, "en,zh,ms"),
    ("Arjun Nair", Market::Sg, 0.96, 55.0, "en,ta"),
];

/// The Latin form of the names written in another script, for their e-mail addresses.
const NATIVE: [(&str, &str); 6] = [
    ("田中 結衣", "yui.tanaka"),
    ("佐藤 陽翔", "haruto.sato"),
    ("김민지", "minji.kim"),
    ("박지수", "jisoo.park"),
    ("عمر حداد", "omar.haddad"),
    ("ليلى ناصر", "layla.nasser"),
];

/// Where each market's demo reviewers sit.
fn zone_of(market: Market) -> &'static str {
    match market {
        Market::Us => "America/Los_Angeles",
        Market::Gb => "Europe/London",
        Market::De => "Europe/Berlin",
        Market::Fr => "Europe/Paris",
        Market::Br => "America/Sao_Paulo",
        Market::Id => "Asia/Jakarta",
        Market::Jp => "Asia/Tokyo",
        Market::Kr => "Asia/Seoul",
        Market::Ae => "Asia/Dubai",
        Market::Sg => "Asia/Singapore",
    }
}

fn scope_of(u: &users::User) -> Scope {
    Scope {
        user_id: u.id,
        email: u.email.clone(),
        role: u.role,
        markets: u.markets.clone(),
    }
}

/// The team: the demo accounts' reviewer plus two reviewers per market (with passwords
/// nobody knows: they exist to have done the work).
async fn team(db: &Db, rng: &mut StdRng) -> Result<(Vec<Reviewer>, Option<Scope>), HistoryError> {
    let existing = users::list(db).await?;
    let mut out = Vec::new();
    for (name, market, accuracy, median_s, languages) in TEAM {
        let local = NATIVE
            .iter()
            .find(|(native, _)| *native == name)
            .map_or_else(
                || name.to_lowercase().replace(' ', "."),
                |(_, l)| l.to_string(),
            );
        let email = format!("{local}@reviewers.amso.test");
        let user = match existing.iter().find(|u| u.email == email) {
            Some(u) => u.clone(),
            None => {
                let password: String = (0..24)
                    .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
                    .collect();
                users::create(
                    db,
                    &Actor::System,
                    NewUser {
                        email,
                        display_name: name.into(),
                        role: Role::Reviewer,
                        markets: vec![market],
                        password,
                        demo_credentials: false,
                        time_zone: Some(zone_of(market).into()),
                        languages: languages.split(',').map(str::to_string).collect(),
                    },
                )
                .await?
            }
        };
        out.push(Reviewer {
            scope: scope_of(&user),
            reads: user.languages.clone(),
            accuracy,
            median_s,
            busy_until: 0,
        });
    }
    for u in &existing {
        if u.role == Role::Reviewer && u.email == "reviewer@amso.test" {
            out.push(Reviewer {
                scope: scope_of(u),
                reads: u.languages.clone(),
                accuracy: 0.96,
                median_s: 50.0,
                busy_until: 0,
            });
        }
    }
    let ops = existing
        .iter()
        .find(|u| u.role == Role::OpsHead && !u.disabled)
        .map(scope_of);
    Ok((out, ops))
}

/// What a careful human would decide: reject for a category the market prohibits, or a
/// restricted one from an advertiser without a licence.
fn truth(rules: &Rules, market: Market, labels: &[Category], licensed: bool) -> Vec<Category> {
    labels
        .iter()
        .copied()
        .filter(|c| match rules.policy.get(&(market, *c)) {
            Some(Rule::Prohibited) => true,
            Some(Rule::Restricted) => !licensed,
            _ => false,
        })
        .collect()
}

/// A draw from a log-normal distribution with this median and spread.
fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.r#gen::<f64>().max(1e-12);
    let u2: f64 = rng.r#gen();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

/// Writes the history into an empty database.
pub async fn seed_history(
    db: &Db,
    scorer: &Scorer,
    p: &HistoryParams,
) -> Result<HistorySummary, HistoryError> {
    let (existing,): (i64,) = sqlx::query_as("select count(*) from ads")
        .fetch_one(db.pool())
        .await?;
    if existing > 0 {
        return Err(HistoryError::NotEmpty);
    }
    let mut rng = StdRng::seed_from_u64(p.seed ^ 0x005e_ed0f_4157);
    let (team, ops) = team(db, &mut rng).await?;
    let mut summary = HistorySummary {
        reviewers: team.len(),
        ..Default::default()
    };

    // Ads, submitted when the corpus says.
    let corpus = generate(&CorpusParams {
        ads: p.ads,
        days: p.days,
        seed: p.seed,
        end: p.end,
    });
    let news: Vec<(NewAd, Millis)> = corpus
        .iter()
        .filter_map(|a| Some((a.to_submitted(false).validate().ok()?, a.submitted_at)))
        .collect();
    let mut stored = Vec::with_capacity(news.len());
    for chunk in news.chunks(2000) {
        let items: Vec<(&NewAd, Millis)> = chunk.iter().map(|(a, t)| (a, *t)).collect();
        stored.extend(ads::submit_timed(db, "demo", &items).await?);
    }
    summary.ads = stored.len();
    let by_external: HashMap<&str, &crate::demo::corpus::CorpusAd> =
        corpus.iter().map(|a| (a.external_id.as_str(), a)).collect();
    let mut desk = Desk {
        team,
        ops,
        settings: DeskSettings {
            lease_ms: 5 * 60 * 1000,
            qa_rate: p.qa_rate,
            undo_window_ms: 0,
        },
        facts: HashMap::new(),
        appeal_considered: HashSet::new(),
    };

    // The machine decides hour by hour, as the ads arrive. With a lifecycle: the earlier
    // champion for the first week (the shipped model in shadow beside it), then the shipped
    // model once that week's reviews have let it be promoted, and for the last days a
    // challenger trained on the reviews until then, in shadow with its learning share.
    let start = p.end - i64::from(p.days) * DAY;
    let promote_at = start + lifecycle::EARLIER_SPAN;
    let challenge_at = p.end - lifecycle::CHALLENGER_AGE;
    let lifecycle = p
        .lifecycle
        .as_deref()
        .filter(|_| p.days >= lifecycle::MIN_DAYS);
    let mut earlier = match lifecycle {
        Some(path) => Some(lifecycle::begin(db, path, p.seed, start).await?),
        None => None,
    };
    let mut challenger: Option<Scorer> = None;
    let mut rules = rules_store::load(db, p.audit_rate_approve, p.audit_rate_reject).await?;
    let mut i = 0;
    while i < stored.len() {
        let hour = news[i].1 / HOUR;
        if earlier.is_some() && hour * HOUR >= promote_at {
            let span = (promote_at, promote_at);
            work_queues(db, &mut desk, &rules, p, span, &mut rng, &mut summary).await?;
            lifecycle::promote(db, &scorer.model_version, promote_at).await?;
            rules = rules_store::load(db, p.audit_rate_approve, p.audit_rate_reject).await?;
            earlier = None;
        }
        if lifecycle.is_some() && challenger.is_none() && hour * HOUR >= challenge_at {
            let span = (challenge_at, challenge_at);
            work_queues(db, &mut desk, &rules, p, span, &mut rng, &mut summary).await?;
            challenger = Some(lifecycle::challenger(db, p.seed, start, challenge_at).await?);
        }
        let mut j = i;
        while j < stored.len() && news[j].1 / HOUR == hour {
            j += 1;
        }
        let texts: Vec<AdText> = news[i..j]
            .iter()
            .map(|(a, _)| AdText {
                headline: a.headline.clone(),
                body: a.body.clone(),
                landing_url: a.landing_url.clone(),
            })
            .collect();
        let deciding = earlier.as_ref().unwrap_or(scorer);
        let shadowing = if earlier.is_some() {
            Some(scorer)
        } else {
            challenger.as_ref()
        };
        let shadow = match shadowing {
            Some(s) => Some(s.score(texts.clone()).await?),
            None => None,
        };
        let scores = deciding.score(texts).await?;
        let mut rows = Vec::with_capacity(j - i);
        for (k, s) in scores.into_iter().enumerate() {
            let (ad, submitted_at) = &news[i + k];
            let id = stored[i + k].id;
            let src = by_external.get(ad.external_id.as_str());
            desk.facts.insert(
                id,
                (
                    ad.market,
                    src.map(|c| c.labels.clone()).unwrap_or_default(),
                    rng.gen_bool(0.7),
                ),
            );
            rows.push(Decided {
                ad_id: id,
                market: ad.market,
                verdict: decide(&rules, ad.market, &s, rng.r#gen::<f64>()),
                scores: s,
                latency_ms: lognormal(&mut rng, 3.0, 0.4),
                submitted_at: *submitted_at,
                daily_budget_usd: ad.daily_budget_usd,
                language: ad.language.map(|l| l.code().to_string()),
            });
        }
        // Moments after the hour's last ad, and within the hour, so that no ad of the hour
        // waited more than an hour (the last ad near the hour's end would push past it).
        let last = news[j - 1].1;
        let decided_at = (last + 1500).min((hour + 1) * HOUR - 1).max(last);
        if let Some(shadow) = &shadow {
            let champion: Vec<_> = rows.iter().map(|r| r.scores).collect();
            let mut verdicts: Vec<_> = rows.iter().map(|r| r.verdict.clone()).collect();
            let draws: Vec<f64> = rows.iter().map(|_| rng.r#gen::<f64>()).collect();
            learning_sample(
                &mut verdicts,
                &champion,
                shadow,
                lifecycle::LEARNING_SHARE,
                &draws,
            );
            for (row, verdict) in rows.iter_mut().zip(verdicts) {
                row.verdict = verdict;
            }
        }
        commit::record(
            db,
            "demo-history",
            &deciding.model_version,
            rules.thresholds_version,
            &rows,
            decided_at,
        )
        .await?;
        if let (Some(shadow), Some(shadowing)) = (shadow, shadowing) {
            let scored: Vec<_> = stored[i..j].iter().map(|a| a.id).zip(shadow).collect();
            store_shadow(db, &shadowing.model_version, &scored, decided_at).await?;
        }
        i = j;
    }
    let span = (p.end - BACKLOG, p.end - 60_000);
    work_queues(db, &mut desk, &rules, p, span, &mut rng, &mut summary).await?;
    golden_week(db, &desk, &rules, p).await?;

    // The reviews' rollup changes, as the server's folder would have written them.
    crate::rollup::store::fold(db).await?;
    let (open,): (i64,) = sqlx::query_as("select count(*) from review_tasks where state = 'open'")
        .fetch_one(db.pool())
        .await?;
    summary.open_items = open;
    // Drift checks as the server would have run them each day of the last ten, so that the
    // alerts carry the day the drift was first seen.
    for days_ago in (0..10).rev() {
        crate::dashboard::drift_alerts::check_drift(db, p.end - days_ago * 86_400_000).await?;
    }
    // Calibration maps as the server fits them, so that the estimates read from the start.
    crate::dashboard::estimates::refit_all(db, p.end, &crate::access::audit::Actor::System).await?;
    // The radar as the server's check keeps it.
    crate::radar::store::check(db, p.end).await?;
    Ok(summary)
}

/// The demo review team at work, and what the history has told it so far.
struct Desk {
    team: Vec<Reviewer>,
    /// Who decides escalations.
    ops: Option<Scope>,
    settings: DeskSettings,
    /// Ground truth per decided ad: (market, labels, licensed).
    facts: HashMap<i64, (Market, Vec<Category>, bool)>,
    /// Rejected ads whose advertisers have had their chance to appeal.
    appeal_considered: HashSet<i64>,
}

/// An open task as the demo desk reads it: id, ad, source, market, created, the reviewer kept
/// from it, language.
type OpenTask = (i64, i64, String, String, i64, Option<i64>, Option<String>);

/// People work the queues, oldest first, in rounds: first the items that came in before
/// `cutoff`, then the appeals, QA second reviews and escalations those create; a review that
/// would finish at or after `until` waits for a later call.
async fn work_queues(
    db: &Db,
    desk: &mut Desk,
    rules: &Rules,
    p: &HistoryParams,
    (cutoff, until): (Millis, Millis),
    rng: &mut StdRng,
    summary: &mut HistorySummary,
) -> Result<(), HistoryError> {
    for round in 0..4 {
        let open: Vec<OpenTask> = sqlx::query_as(
            "select id, ad_id, source, market, created_at, excluded_reviewer, language from review_tasks \
             where state = 'open' and created_at < $1 order by created_at, id",
        )
        .bind(cutoff)
        .fetch_all(db.pool())
        .await?;
        for (task, ad_id, source, market, created_at, excluded, language) in open {
            let (Ok(source), Ok(market)) = (source.parse::<Source>(), market.parse::<Market>())
            else {
                continue;
            };
            if round == 0 && rng.gen_bool(STRAGGLERS) {
                continue;
            }
            let Some((_, labels, licensed)) = desk.facts.get(&ad_id).cloned() else {
                continue;
            };
            let machine: Option<(String, String)> =
                sqlx::query_as("select action, reasons from decisions where ad_id = $1")
                    .bind(ad_id)
                    .fetch_optional(db.pool())
                    .await?;
            let (machine_action, machine_reasons) = machine.unwrap_or_default();
            let flagged: Vec<Category> = serde_json::from_str::<Vec<String>>(&machine_reasons)
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect();
            let wait = lognormal(rng, 1.5 * HOUR as f64, 0.9) as Millis;
            let (scope, accuracy, start, handling) =
                if source == Source::Escalation {
                    let Some(ops) = &desk.ops else { continue };
                    let handling = lognormal(rng, 180_000.0, 0.6) as Millis;
                    (ops.clone(), 0.99, created_at + wait, handling)
                } else {
                    let candidates: Vec<usize> =
                        desk.team
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| {
                                r.scope.markets.contains(&market)
                                    && Some(r.scope.user_id) != excluded
                                    && language.as_deref().filter(|l| !l.is_empty()).is_none_or(
                                        |l| r.reads.is_empty() || r.reads.iter().any(|x| x == l),
                                    )
                            })
                            .map(|(i, _)| i)
                            .collect();
                    if candidates.is_empty() {
                        continue;
                    }
                    let r = &mut desk.team[candidates[rng.gen_range(0..candidates.len())]];
                    let start = (created_at + wait).max(r.busy_until);
                    let handling = lognormal(rng, r.median_s * 1000.0, 0.6) as Millis;
                    r.busy_until = start + handling;
                    (r.scope.clone(), r.accuracy, start, handling)
                };
            let finish = start + handling.max(4000);
            if finish >= until {
                continue;
            }
            let violated = truth(rules, market, &labels, licensed);
            let mut reject = !violated.is_empty();
            if !rng.gen_bool(accuracy) {
                reject = !reject;
            }
            let categories = if !reject {
                Vec::new()
            } else if !violated.is_empty() {
                violated.clone()
            } else if !flagged.is_empty() {
                flagged.clone()
            } else {
                vec![Category::Scam]
            };
            let verdict = if reject {
                HumanVerdict::Reject
            } else {
                HumanVerdict::Approve
            };
            let reason_code = if source == Source::Appeal && !reject {
                Some("appeal_evidence")
            } else if verdict.overrides(&machine_action) {
                Some(if reject {
                    ["missed_violation", "obfuscated", "misleading_claim"][rng.gen_range(0..3)]
                } else {
                    ["benign_context", "wrong_category"][rng.gen_range(0..2)]
                })
            } else if source == Source::Restricted && !reject {
                Some("licensed_advertiser")
            } else {
                None
            };
            // Someone who took part in the ad's earlier calls (an appeal's rejecter, an
            // escalation's first reader) may not take it: it waits for another.
            match review::queues::claim(db, &scope, task, &desk.settings, start).await {
                Err(ReviewError::Forbidden(_)) => continue,
                other => other?,
            }
            let done = review::verdicts::submit(
                db,
                &scope,
                task,
                &Submission {
                    verdict,
                    categories,
                    reason_code: reason_code.map(str::to_string),
                    reason_text: None,
                },
                &desk.settings,
                false,
                rng.r#gen::<f64>(),
                finish,
            )
            .await?;
            summary.reviews += 1;
            summary.overrides += usize::from(done.overrode_machine);
            summary.escalations_decided += usize::from(source == Source::Escalation);
        }
        if round == 0 {
            summary.appeals += file_appeals(db, desk, rules, p, rng).await?;
        }
    }
    Ok(())
}

/// Golden items per market: ads of the history whose right answer an ops head set
/// (reviewed items, the answer the policy gives), and the last week's golden answers of every
/// reviewer, right as often as they are (a random stream of its own, so the rest of the
/// history is the same with or without this).
const GOLDEN_PER_MARKET: usize = 8;

/// A golden item of the demo: ad, market, language, the queue it is handed in, and the
/// categories its right answer names (none: approve).
type GoldenPick = (i64, Market, Option<String>, Source, Vec<Category>);

async fn golden_week(
    db: &Db,
    desk: &Desk,
    rules: &Rules,
    p: &HistoryParams,
) -> Result<(), HistoryError> {
    let mut rng = StdRng::seed_from_u64(p.seed ^ 0x0901_d0e5);
    let ops = Actor::User(
        crate::demo::accounts::DEMO_LOGINS
            .iter()
            .find(|d| d.role == Role::OpsHead)
            .map_or("ops@amso.test", |d| d.email)
            .to_string(),
    );
    let mut golden: Vec<GoldenPick> = Vec::new();
    for market in Market::ALL {
        let reviewed: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "select t.ad_id, t.source, a.language from review_tasks t join ads a on a.id = t.ad_id \
             where t.market = $1 and t.state = 'done' and t.source in ('uncertain', 'restricted') \
             and t.created_at < $2 order by t.id",
        )
        .bind(market.code())
        .bind(p.end - 7 * DAY)
        .fetch_all(db.pool())
        .await?;
        let mut picked = 0;
        let mut i = 0;
        while picked < GOLDEN_PER_MARKET && !reviewed.is_empty() && i < 10 * GOLDEN_PER_MARKET {
            i += 1;
            let (ad, source, language) = &reviewed[rng.gen_range(0..reviewed.len())];
            let (Some((_, labels, licensed)), Ok(source)) =
                (desk.facts.get(ad), source.parse::<Source>())
            else {
                continue;
            };
            if golden.iter().any(|g| g.0 == *ad) {
                continue;
            }
            let right = truth(rules, market, labels, *licensed);
            let verdict = if right.is_empty() {
                HumanVerdict::Approve
            } else {
                HumanVerdict::Reject
            };
            review::golden::mark(db, &ops, *ad, verdict, &right, p.end - 8 * DAY).await?;
            golden.push((*ad, market, language.clone(), source, right));
            picked += 1;
        }
    }
    for r in &desk.team {
        let mine: Vec<&GoldenPick> = golden
            .iter()
            .filter(|g| {
                r.scope.markets.contains(&g.1)
                    && g.2
                        .as_deref()
                        .filter(|l| !l.is_empty())
                        .is_none_or(|l| r.reads.is_empty() || r.reads.iter().any(|x| x == l))
            })
            .collect();
        let answers = rng.gen_range(6..=12).min(mine.len());
        let mut order: Vec<usize> = (0..mine.len()).collect();
        for k in 0..answers {
            let pick = rng.gen_range(k..order.len());
            order.swap(k, pick);
            let (ad, _, _, source, right) = mine[order[k]];
            let reject = right.is_empty() != rng.gen_bool(r.accuracy);
            let submission = Submission {
                verdict: if reject {
                    HumanVerdict::Reject
                } else {
                    HumanVerdict::Approve
                },
                categories: if !reject {
                    Vec::new()
                } else if right.is_empty() {
                    vec![Category::Scam]
                } else {
                    right.clone()
                },
                reason_code: None,
                reason_text: None,
            };
            let handed = p.end - rng.gen_range(HOUR..6 * DAY);
            let answered = handed + lognormal(&mut rng, r.median_s * 1000.0, 0.6) as Millis;
            match review::golden::answer_at(
                db,
                &r.scope,
                *ad,
                *source,
                &submission,
                handed,
                answered,
            )
            .await
            {
                Ok(_) | Err(ReviewError::Invalid(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Advertisers appeal rejections: often when the rejection was wrong, sometimes when it
/// was right.
async fn file_appeals(
    db: &Db,
    desk: &mut Desk,
    rules: &Rules,
    p: &HistoryParams,
    rng: &mut StdRng,
) -> Result<usize, HistoryError> {
    let rejected: Vec<(i64, i64)> = sqlx::query_as(
        "select a.id, coalesce(max(r.finished_at), max(d.decided_at)) from ads a \
         join decisions d on d.ad_id = a.id left join reviews r on r.ad_id = a.id \
         where a.status in ('rejected', 'auto_rejected') group by a.id order by a.id",
    )
    .fetch_all(db.pool())
    .await?;
    let statements = [
        "Our product is fully compliant; please look again.",
        "This is a licensed business; the licence number is on the landing page.",
        "The wording was misunderstood: this is not what the ad offers.",
        "We removed the claim you objected to on the landing page.",
    ];
    let mut filed = 0;
    for (ad_id, rejected_at) in rejected {
        if !desk.appeal_considered.insert(ad_id) {
            continue;
        }
        let Some((market, labels, licensed)) = desk.facts.get(&ad_id) else {
            continue;
        };
        let wrong = truth(rules, *market, labels, *licensed).is_empty();
        if !rng.gen_bool(if wrong { 0.35 } else { 0.04 }) {
            continue;
        }
        let at = rejected_at + (lognormal(rng, 20.0 * HOUR as f64, 0.8) as Millis).min(4 * DAY);
        if at >= p.end - BACKLOG / 2 && rng.gen_bool(0.5) || at >= p.end {
            continue;
        }
        let statement = statements[rng.gen_range(0..statements.len())];
        match review::appeals::file_appeal(db, ad_id, statement, "apikey:demo", at).await {
            Ok(_) => filed += 1,
            Err(ReviewError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filed)
}
