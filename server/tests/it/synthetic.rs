//! The benchmarks' synthetic history writer (`amso_core::demo::synthetic`), at small size on
//! SQLite and PostgreSQL: it writes five tables with its own multi-row SQL, so what it writes
//! must be what the product itself would have: every decision with its ad, reviews on tasks
//! that exist, rollups equal to a recomputation from the raw rows, and dashboards that read it.

use crate::common::*;
use amso_core::dashboard::view::Selection;
use amso_core::dashboard::{filter, overview};
use amso_core::demo::synthetic;
use amso_core::engine::commit;
use amso_core::intake::ads;
use amso_core::platform::time::now_millis;
use amso_core::review;
use amso_core::rollup;
use amso_core::vocab::queue::Source;
use amso_core::vocab::role::Role;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[tokio::test]
async fn the_synthetic_history_is_what_the_product_would_write() {
    for t in backends().await {
        let end = now_millis();
        let mut progress = Vec::new();
        synthetic::write_history(&t.db, 3_000, 11, end, &mut |n| progress.push(n))
            .await
            .unwrap();
        assert_eq!(progress.last(), Some(&3_000), "{}", t.label);
        assert_eq!(ads::count(&t.db).await.unwrap(), 3_000, "{}", t.label);
        assert_eq!(commit::count(&t.db).await.unwrap(), 3_000, "{}", t.label);

        let (orphans,): (i64,) = sqlx::query_as(
            "select count(*) from reviews r left join review_tasks k on k.id = r.task_id where k.id is null",
        )
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert_eq!(orphans, 0, "{}: reviews without their task", t.label);
        let (reviews,): (i64,) = sqlx::query_as("select count(*) from reviews")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert!(reviews > 100, "{}: only {reviews} reviews", t.label);

        // One more decision, as the live benchmark commits it.
        let next = synthetic::max_ad_id(&t.db).await.unwrap() + 1;
        let mut rng = StdRng::seed_from_u64(3);
        synthetic::write_live_decision(&t.db, &mut rng, next, now_millis())
            .await
            .unwrap();
        assert_eq!(commit::count(&t.db).await.unwrap(), 3_001, "{}", t.label);

        for grain in [rollup::Grain::Hour, rollup::Grain::Day] {
            let stored = rollup::store::stored(&t.db, grain).await.unwrap();
            let mut recomputed = rollup::store::recompute(&t.db).await.unwrap();
            if grain == rollup::Grain::Day {
                recomputed = recomputed.daily();
            }
            let diff = stored.differences(&recomputed);
            assert!(
                diff.is_empty(),
                "{} {grain:?}: {} differences, first: {:?}",
                t.label,
                diff.len(),
                &diff[..diff.len().min(5)]
            );
        }

        let sel = Selection {
            window: "28d".into(),
            ..Selection::default()
        };
        let now = now_millis();
        let f = filter::resolve(&sel, now).unwrap();
        let o = overview::overview(&t.db, &f, now).await.unwrap();
        // The 28 whole UTC days end with today, so the oldest hours of the history fall
        // outside just after midnight: compare with the decisions in the window itself.
        let (in_window,): (i64,) = sqlx::query_as(
            "select count(*) from decisions where decided_at >= $1 and decided_at < $2",
        )
        .bind(f.window.from_ms)
        .bind(f.window.to_ms)
        .fetch_one(t.db.pool())
        .await
        .unwrap();
        assert!(
            in_window >= 2_700,
            "{}: {in_window} decisions in the window",
            t.label
        );
        assert_eq!(
            o.totals.decided, in_window as f64,
            "{}: the overview counts every decision of its window",
            t.label
        );
        assert!(o.totals.checked > 0.0, "{}", t.label);

        // The routed ads of the last 36 hours wait in the uncertain queue, listed in due order.
        let ops = review::Scope {
            user_id: 0,
            email: "ops@example.com".into(),
            role: Role::OpsHead,
            markets: Vec::new(),
        };
        let filter = review::queues::QueueFilter {
            limit: 50,
            ..Default::default()
        };
        let items = review::queues::list_queue(&t.db, &ops, Source::Uncertain, &filter, now)
            .await
            .unwrap();
        assert!(
            !items.is_empty(),
            "{}: the uncertain queue lists nothing",
            t.label
        );
        assert!(
            items.windows(2).all(|w| w[0].due_at <= w[1].due_at),
            "{}: not in due order",
            t.label
        );
        assert!(items.iter().all(|i| i.held_by.is_none() && i.task_id > 0));
    }
}
