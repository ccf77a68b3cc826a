//! The database layer on SQLite and PostgreSQL: migrations, users, the audit log.

use crate::common::*;
use amso_core::access::audit::{self, Actor, NewEntry};
use amso_core::access::users::{self, NewUser, UserChange, UserError};
use amso_core::vocab::market::Market;
use amso_core::vocab::role::Role;

#[tokio::test]
async fn migrations_are_idempotent_and_readiness_follows_them() {
    for t in backends().await {
        assert!(t.db.is_ready().await.unwrap(), "{}", t.label);
        t.db.migrate().await.expect("second migrate is a no-op");
        let (n,): (i64,) = sqlx::query_as("select count(*) from markets")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(n, Market::ALL.len() as i64);
    }
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes() {
    for t in backends().await {
        audit::record(
            t.db.pool(),
            NewEntry {
                actor: &Actor::Cli,
                action: "test.append",
                object: "thing:1".into(),
                before: None,
                after: Some(serde_json::json!({"x": 1})),
                ip: None,
            },
        )
        .await
        .unwrap();
        let update = sqlx::query("update audit_log set actor = 'someone else'")
            .execute(t.db.pool())
            .await;
        let err = update.expect_err("update must be refused").to_string();
        assert!(err.contains("append-only"), "{}: {err}", t.label);
        let delete = sqlx::query("delete from audit_log")
            .execute(t.db.pool())
            .await;
        assert!(delete.is_err(), "{}: delete must be refused", t.label);
        let recent = audit::recent(t.db.pool(), Some("test."), 10).await.unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].actor, "cli");
    }
}

#[tokio::test]
async fn users_are_validated_updated_and_audited() {
    for t in backends().await {
        let actor = Actor::Cli;
        let new = |email: &str, role, markets: Vec<Market>| NewUser {
            email: email.into(),
            display_name: "Test User".into(),
            role,
            markets,
            password: "a-long-password".into(),
            demo_credentials: false,
            time_zone: None,
            languages: Vec::new(),
        };
        let user = users::create(
            &t.db,
            &actor,
            new(
                "T@Example.org",
                Role::Reviewer,
                vec![Market::Kr, Market::Ae],
            ),
        )
        .await
        .unwrap();
        assert_eq!(user.email, "t@example.org");
        assert_eq!(user.markets, vec![Market::Kr, Market::Ae]);
        assert!(matches!(
            users::create(&t.db, &actor, new("t@example.org", Role::Admin, vec![])).await,
            Err(UserError::DuplicateEmail(_))
        ));
        assert!(matches!(
            users::create(&t.db, &actor, new("r@example.org", Role::Reviewer, vec![])).await,
            Err(UserError::ReviewerWithoutMarkets)
        ));

        let changed = users::update(
            &t.db,
            &actor,
            None,
            user.id,
            UserChange {
                role: Some(Role::OpsHead),
                markets: Some(vec![]),
                password: Some("another-long-password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(changed.role, Role::OpsHead);
        assert!(changed.markets.is_empty());
        let (found, hash) = users::find_for_login(&t.db, "T@EXAMPLE.ORG")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, changed);
        assert!(amso_core::access::password::verify(
            "another-long-password",
            &hash
        ));

        let trail = audit::recent(t.db.pool(), Some("user."), 50).await.unwrap();
        let update = trail
            .iter()
            .find(|e| e.action == "user.update")
            .expect("update audited");
        assert!(
            update.before_json.as_deref().unwrap().contains("reviewer"),
            "{}",
            t.label
        );
        assert!(update.after_json.as_deref().unwrap().contains("ops_head"));
        assert!(
            update
                .after_json
                .as_deref()
                .unwrap()
                .contains("\"password\":\"changed\"")
        );
        assert!(
            !update
                .after_json
                .as_deref()
                .unwrap()
                .contains("another-long-password")
        );
    }
}

#[tokio::test]
async fn demo_accounts_are_flagged_until_their_password_changes() {
    for t in backends().await {
        let demo = users::enabled_demo_accounts(&t.db).await.unwrap();
        assert_eq!(demo.len(), 4, "{}", t.label);
        let admin = users::find_for_login(&t.db, "admin@amso.test")
            .await
            .unwrap()
            .unwrap()
            .0;
        users::update(
            &t.db,
            &Actor::Cli,
            None,
            admin.id,
            UserChange {
                password: Some("a-private-password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let demo = users::enabled_demo_accounts(&t.db).await.unwrap();
        assert_eq!(demo.len(), 3);
        assert!(!demo.contains(&"admin@amso.test".to_string()));
    }
}

/// On SQLite, a person's write waiting for the writer's turn goes ahead of batch writes that
/// queued before it: a reviewer waits for the batch already running, not for a queue of them.
#[tokio::test]
async fn people_write_before_queued_batches_on_sqlite() {
    use std::sync::{Arc, Mutex};
    let t = sqlite().await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let running = t.db.begin_batch_write().await.unwrap();
    let mut waiting = Vec::new();
    for name in ["batch 1", "batch 2", "person", "batch 3"] {
        let db = t.db.clone();
        let order = order.clone();
        waiting.push(tokio::spawn(async move {
            let tx = if name == "person" {
                db.begin_write().await.unwrap()
            } else {
                db.begin_batch_write().await.unwrap()
            };
            order.lock().unwrap().push(name);
            tx.commit().await.unwrap();
        }));
        // Each has started waiting before the next arrives.
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    running.commit().await.unwrap();
    for w in waiting {
        w.await.unwrap();
    }
    let order = order.lock().unwrap().clone();
    assert_eq!(order[0], "person", "{order:?}");
    assert_eq!(order.len(), 4, "{order:?}");
}
