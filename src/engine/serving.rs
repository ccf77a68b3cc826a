//! Which model scores which ad. The registry's champion of each market decides that market's
//! ads (a canary holds some markets, the previous champion the rest); a challenger, when one
//! is set, scores every ad beside it in shadow and never changes a decision. Every process
//! checks the registry's role events once a second and loads a version it has not loaded yet
//! from the database, so a promotion or a rollback reaches every `amso serve` within seconds
//! and without a restart. Markets without a champion (and a database whose registry is
//! empty) are decided by the model the server started with.

use super::model::CATEGORIES;
use super::model::registry::{self, Role};
use super::worker::{EngineError, Scorer};
use crate::platform::db::Db;
use crate::platform::time::Millis;
use crate::vocab::market::Market;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a process looks for role changes.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The scorers of one moment: a champion per market and the challenger.
#[derive(Clone, Debug)]
pub struct Plan {
    fallback: Scorer,
    by_market: BTreeMap<Market, Scorer>,
    /// Scores every ad in shadow (never the version deciding it).
    pub challenger: Option<Scorer>,
}

impl Plan {
    /// Decides every market with one scorer, no challenger (tests, benches, tools).
    pub fn fixed(scorer: Scorer) -> Plan {
        Plan {
            fallback: scorer,
            by_market: BTreeMap::new(),
            challenger: None,
        }
    }

    /// The scorer deciding `market`'s ads.
    pub fn scorer_for(&self, market: Market) -> &Scorer {
        self.by_market.get(&market).unwrap_or(&self.fallback)
    }
}

/// A process's models: shared by its workers, refreshed from the registry.
#[derive(Clone, Debug)]
pub struct Models {
    fallback: Scorer,
    state: Arc<tokio::sync::Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    checked: Option<Instant>,
    /// The newest role event seen.
    seen: Option<i64>,
    loaded: HashMap<String, Scorer>,
    plan: Option<Plan>,
}

impl Models {
    /// Models over `fallback`, the model the server started with.
    pub fn new(fallback: Scorer) -> Models {
        Models {
            fallback,
            state: Default::default(),
        }
    }

    /// The model the server started with.
    pub fn fallback(&self) -> &Scorer {
        &self.fallback
    }

    /// The plan now: read again from the registry when a second has passed and a role changed.
    pub async fn current(&self, db: &Db, now: Millis) -> Result<Plan, EngineError> {
        let mut state = self.state.lock().await;
        let fresh = state.checked.is_some_and(|t| t.elapsed() < CHECK_EVERY);
        if fresh && let Some(plan) = &state.plan {
            return Ok(plan.clone());
        }
        let (newest,): (Option<i64>,) = sqlx::query_as("select max(id) from model_events")
            .fetch_one(db.pool())
            .await?;
        state.checked = Some(Instant::now());
        if state.plan.is_some() && newest == state.seen {
            return Ok(state
                .plan
                .clone()
                .unwrap_or_else(|| Plan::fixed(self.fallback.clone())));
        }
        let events = registry::events(db).await?;
        let champions = registry::champions_at(&events, now);
        // The challenger: the version most recently made one, unless it moved on since.
        let mut latest: HashMap<&str, Role> = HashMap::new();
        for e in events.iter().filter(|e| e.at <= now) {
            latest.insert(&e.version, e.role);
        }
        let challenger = events
            .iter()
            .filter(|e| e.at <= now && e.role == Role::Challenger)
            .map(|e| e.version.as_str())
            .rfind(|v| latest.get(v) == Some(&Role::Challenger))
            .map(String::from);
        let mut by_market = BTreeMap::new();
        for (market, version) in &champions {
            if let Some(s) = self.load(db, &mut state, version).await {
                by_market.insert(*market, s);
            }
        }
        let challenger = match challenger {
            Some(v) => self.load(db, &mut state, &v).await,
            None => None,
        };
        let plan = Plan {
            fallback: self.fallback.clone(),
            by_market,
            challenger,
        };
        state.seen = newest;
        state.plan = Some(plan.clone());
        Ok(plan)
    }

    /// The scorer of `version`, loaded from the registry the first time; None (and a warning)
    /// when it cannot be loaded, so the market stays with the model the server started with.
    async fn load(&self, db: &Db, state: &mut State, version: &str) -> Option<Scorer> {
        if self.fallback.model_version == version {
            return Some(self.fallback.clone());
        }
        if let Some(s) = state.loaded.get(version) {
            return Some(s.clone());
        }
        let bytes = match registry::bytes(db, version).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%version, error = %e, "model version not loadable");
                return None;
            }
        };
        let label = format!("model version {version}");
        match tokio::task::spawn_blocking(move || Scorer::start_bytes(bytes, &label, 64)).await {
            Ok(Ok(s)) => {
                tracing::info!(%version, "model version loaded");
                state.loaded.insert(version.to_string(), s.clone());
                Some(s)
            }
            Ok(Err(e)) => {
                tracing::warn!(%version, error = %e, "model version not loadable");
                None
            }
            Err(e) => {
                tracing::warn!(%version, error = %e, "model version not loadable");
                None
            }
        }
    }
}

/// The 10 scores of an ad as 40 bytes (f32, little-endian): how shadow scores are kept.
pub fn pack(scores: &[f32; CATEGORIES]) -> Vec<u8> {
    scores.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// The scores packed by [`pack`]; None for bytes of another length.
pub fn unpack(bytes: &[u8]) -> Option<[f32; CATEGORIES]> {
    if bytes.len() != CATEGORIES * 4 {
        return None;
    }
    let mut out = [0f32; CATEGORIES];
    for (o, chunk) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Some(out)
}

/// Stores a challenger's scores of decided ads (one row per ad and version; a retried batch
/// changes nothing).
pub async fn store_shadow(
    db: &Db,
    version: &str,
    scored: &[(i64, [f32; CATEGORIES])],
    now: Millis,
) -> sqlx::Result<()> {
    for chunk in scored.chunks(200) {
        let mut sql =
            String::from("insert into shadow_scores (ad_id, version, scores, at) values ");
        sql.push_str(&crate::platform::db::values_list(
            db.backend(),
            chunk.len(),
            "(?,?,?,?)",
        ));
        sql.push_str(" on conflict do nothing");
        let mut q = sqlx::query(&sql);
        for (id, s) in chunk {
            q = q.bind(*id).bind(version).bind(pack(s)).bind(now);
        }
        let mut tx = db.begin_write().await?;
        q.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shadow_scores_pack_into_forty_bytes_and_back() {
        let s = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1e-6, 0.333, 0.999];
        let packed = super::pack(&s);
        assert_eq!(packed.len(), 40);
        assert_eq!(super::unpack(&packed), Some(s));
        assert_eq!(super::unpack(&packed[1..]), None);
    }
}
