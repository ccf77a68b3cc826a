//! The rules' scenarios: `rules` (rule evaluation per ad, and decision throughput with 200
//! live rules against none) and `backtest` (one rule over the ads of a large history, and
//! the radar's check and page over it).

use super::dashboards;
use super::engine::e2e_on;
use super::fixtures::bench_db;
use super::measure::latency_summary;
use crate::cli::common::CliError;
use amso_core::access::audit::Actor;
use amso_core::demo::corpus::CorpusAd;
use amso_core::engine::commit;
use amso_core::platform::db::Db;
use amso_core::platform::time::now_millis;
use amso_core::rules::matcher::{Facts, Mode, RuleSet, Source};
use amso_core::rules::spec::{Condition, ReviewTarget, RuleAction, RuleSpec};
use amso_core::rules::{backtest, spec, store};
use amso_core::vocab::market::Market;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Rules with term lists, with regular expressions and with domain lists.
const TERM_RULES: usize = 145;
const REGEX_RULES: usize = 50;
const DOMAIN_RULES: usize = 5;
/// Terms over all term lists.
const TERMS: usize = 20_000;

const SYLLABLES: [&str; 24] = [
    "ka", "ri", "to", "mu", "sel", "van", "dor", "pli", "qua", "zen", "bro", "fin", "lat", "mer",
    "nox", "pra", "sug", "tev", "ul", "wix", "yor", "gha", "jin", "kel",
];

fn word(rng: &mut StdRng) -> String {
    (0..rng.gen_range(3..5))
        .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
        .collect()
}

/// The 200 rules of the issue's figure: term lists totalling 20,000 terms (made-up words, a
/// few real ones so that some ads match), 50 regular expressions and 5 domain lists; every
/// third rule limited to a few markets; actions mixed.
pub fn bench_rules(seed: u64) -> Vec<RuleSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    let real = [
        "casino",
        "free spins",
        "crypto",
        "vodka",
        "replica",
        "diet pills",
        "guaranteed profit",
    ];
    let action = |i: usize| match i % 3 {
        0 => RuleAction::Reject(vec!["scam".into()]),
        1 => RuleAction::Review(ReviewTarget::default()),
        _ => RuleAction::Flag(format!("bench {i}")),
    };
    let markets = |i: usize| -> Option<Condition> {
        i.is_multiple_of(3).then(|| {
            Condition::Market(
                Market::ALL
                    .iter()
                    .skip(i % 7)
                    .take(3)
                    .map(|m| m.code().to_string())
                    .collect(),
            )
        })
    };
    let mut out = Vec::new();
    let per = TERMS / TERM_RULES;
    for i in 0..TERM_RULES {
        let n = if i == TERM_RULES - 1 {
            TERMS - per * (TERM_RULES - 1)
        } else {
            per
        };
        let mut terms: Vec<String> = (0..n).map(|_| word(&mut rng)).collect();
        if i < real.len() {
            terms[0] = real[i].to_string();
        }
        let mut all = vec![Condition::Terms(terms)];
        all.extend(markets(i));
        out.push(RuleSpec {
            name: format!("bench terms {i}"),
            description: String::new(),
            conditions: Condition::All(all),
            action: action(i),
            expires_at: None,
            emergency: false,
        });
    }
    for i in 0..REGEX_RULES {
        let pattern = format!(
            r"\b{}\w*\s+(?:{}|{})\d{{1,3}}\b",
            word(&mut rng),
            word(&mut rng),
            word(&mut rng)
        );
        out.push(RuleSpec {
            name: format!("bench regex {i}"),
            description: String::new(),
            conditions: Condition::All(vec![Condition::Regex(pattern)]),
            action: action(i),
            expires_at: None,
            emergency: false,
        });
    }
    for i in 0..DOMAIN_RULES {
        let domains: Vec<String> = (0..200)
            .map(|_| format!("{}.com", word(&mut rng)))
            .collect();
        out.push(RuleSpec {
            name: format!("bench domains {i}"),
            description: String::new(),
            conditions: Condition::Domain(domains),
            action: action(i),
            expires_at: None,
            emergency: false,
        });
    }
    out
}

/// Stores the rules and switches them on (asked by one person, approved by another).
async fn store_live(db: &Db, specs: &[RuleSpec]) -> Result<(), CliError> {
    let (asker, approver) = (
        Actor::User("bench-ops@example.com".into()),
        Actor::User("bench-admin@example.com".into()),
    );
    let now = now_millis();
    for s in specs {
        let id = store::create(db, s, &asker, now).await?;
        store::step(db, id, store::Step::RequestLive, &asker, now).await?;
        store::step(db, id, store::Step::Approve, &approver, now).await?;
    }
    Ok(())
}

/// Times `set` on every ad: the latency summary (in microseconds, written through the
/// milliseconds summary) and how many ads matched some rule.
fn time_set(set: &RuleSet, ads: &[CorpusAd]) -> (Value, usize) {
    let scores = [0.05f32; 10];
    let now = now_millis();
    let mut micros = Vec::with_capacity(ads.len());
    let mut matched = 0;
    for a in ads {
        let facts = Facts {
            market: a.market,
            language: Some(a.language.code()),
            headline: &a.headline,
            body: &a.body,
            landing_url: Some(&a.landing_url),
            advertiser: &a.advertiser_id,
            advertiser_first_seen: None,
            scores: &scores,
            daily_budget_usd: a.daily_budget_usd,
            now,
        };
        let t = Instant::now();
        let hits = set.matches(&facts);
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        matched += usize::from(!hits.is_empty());
    }
    (latency_summary(micros), matched)
}

/// Rule evaluation per ad, and decision throughput without rules and with the 200.
pub async fn rules(
    model_path: &Path,
    ads: &[CorpusAd],
    workers: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let specs = bench_rules(5);
    let compiled_at = Instant::now();
    let sources: Vec<Source<'_>> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| Source {
            id: i as i64 + 1,
            version: 1,
            mode: Mode::Live,
            spec,
        })
        .collect();
    let set = RuleSet::compile(&sources)?;
    let compile_ms = compiled_at.elapsed().as_secs_f64() * 1000.0;
    let (evaluation, matched) = time_set(&set, ads);
    // The same ads against the term and domain rules alone and the patterns alone.
    let is_regex = |s: &RuleSpec| matches!(&s.conditions, Condition::All(c) if matches!(c.first(), Some(Condition::Regex(_))));
    let only = |regex: bool| -> Result<Value, CliError> {
        let kept: Vec<Source<'_>> = sources
            .iter()
            .filter(|s| is_regex(s.spec) == regex)
            .copied()
            .collect();
        Ok(time_set(&RuleSet::compile(&kept)?, ads).0)
    };
    let terms_only = only(false)?;
    let regex_only = only(true)?;

    // Without rules, with them, and without again: on SQLite each run gets a fresh file, so
    // the second does not pay for a larger database; on a given database (PostgreSQL) the
    // runs share it, and the two runs without rules bracket the one with them.
    let mut runs = Vec::new();
    let mut hits = 0;
    let mut shown_db = String::new();
    for (i, with_rules) in [false, true, false].into_iter().enumerate() {
        let (db, shown) = bench_db(url, tmp, &format!("rules-{i}")).await?;
        if with_rules {
            store_live(&db, &specs).await?;
        }
        eprintln!(
            "rules: {} ads decided with {} live rules …",
            ads.len(),
            if with_rules { specs.len() } else { 0 }
        );
        runs.push(e2e_on(&db, &shown, model_path, ads, workers).await?);
        if with_rules {
            let (n,): (i64,) = sqlx::query_as("select count(*) from rule_hits")
                .fetch_one(db.pool())
                .await?;
            hits = n;
            // Later runs on the same database run without them.
            for (id,) in sqlx::query_as::<_, (i64,)>("select id from rules where state = 'live'")
                .fetch_all(db.pool())
                .await?
            {
                store::step(&db, id, store::Step::Archive, &Actor::System, now_millis()).await?;
            }
        }
        shown_db = shown;
        db.close().await;
    }
    let (none, with, none_again) = (runs[0].clone(), runs[1].clone(), runs[2].clone());
    let rate = |v: &Value| v["ads_per_second"].as_f64().unwrap_or(0.0);
    Ok(json!({
        "database": shown_db,
        "rules": specs.len(),
        "terms": TERMS,
        "regexes": REGEX_RULES,
        "domain_lists": DOMAIN_RULES,
        "compile_ms": compile_ms,
        "evaluation_per_ad_microseconds": evaluation,
        "evaluation_terms_and_domains_only_microseconds": terms_only,
        "evaluation_patterns_only_microseconds": regex_only,
        "ads_matching_some_rule": matched,
        "throughput_without_rules": none,
        "throughput_with_rules": with,
        "throughput_without_rules_again": none_again,
        "rule_hits_recorded": hits,
        "throughput_ratio": rate(&with) / ((rate(&none) + rate(&none_again)) / 2.0).max(1e-9),
    }))
}

/// One rule backtested over the history (written first when the database is empty), and
/// the radar's check and page over the same history.
pub async fn backtest_scenario(
    decisions: usize,
    rounds: usize,
    url: Option<&str>,
    tmp: &Path,
) -> Result<Value, CliError> {
    let (db, shown) = bench_db(url, tmp, "backtest").await?;
    let existing = commit::count(&db).await?;
    if existing == 0 {
        eprintln!("backtest: writing {decisions} decisions of history …");
        dashboards::write_history(&db, decisions, 11).await?;
    }
    let decided = commit::count(&db).await?;
    let rule = spec::parse(
        r#"{"name": "bench backtest", "description": "free shipping offers in three markets",
            "conditions": {"all": [{"market": ["US", "GB", "DE"]}, {"terms": ["free shipping", "half price", "ceramic"]}]},
            "action": {"reject": ["counterfeit"]}}"#,
    )?;
    let now = now_millis();
    let mut timings = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = backtest::run(
            &db,
            backtest::Tested {
                rule_id: 0,
                version: 1,
                spec: &rule,
            },
            28,
            now,
            &|_| {},
            &AtomicBool::new(false),
        )
        .await?;
        timings.push(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    let r = last.expect("three runs");
    eprintln!("backtest: the radar's first check over the history …");
    let t = Instant::now();
    let check = amso_core::radar::store::check(&db, now).await?;
    let first_check = t.elapsed().as_secs_f64();
    let t = Instant::now();
    amso_core::radar::store::check(&db, now).await?;
    let quiet_check = t.elapsed().as_secs_f64();
    // What the radar page reads, per window and market, `rounds` times.
    let mut page_ms = Vec::new();
    for _ in 0..rounds {
        for window in amso_core::radar::Window::ALL {
            for market in ["*", "ID", "US"] {
                let t = Instant::now();
                amso_core::radar::store::entries(&db, window, market, 50).await?;
                page_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    db.close().await;
    Ok(json!({
        "database": shown,
        "decisions": decided,
        "backtest_seconds": timings,
        "ads_scanned": r.ads_scanned,
        "hits": r.hits,
        "radar_first_check_seconds": first_check,
        "radar_first_check": check,
        "radar_check_with_nothing_new_seconds": quiet_check,
        "radar_page": latency_summary(page_ms),
    }))
}
