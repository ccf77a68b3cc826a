//! Golden items on SQLite and PostgreSQL, through the HTTP surface a reviewer and an ops head
//! use: marked with a checked answer, handed in the ordinary queue looking like any other
//! item, scored, undoable, never a verdict (no review row, no label), accuracy per reviewer
//! (everyone's for ops heads, one's own for a reviewer), never handed twice.

use crate::common::*;
use crate::team::{member, queued};
use amso_core::platform::time::now_millis;
use amso_core::review::timeline::final_labels;
use amso_core::vocab::policy::Category;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

async fn count(t: &TestDb, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(t.db.pool()).await.unwrap();
    n
}

/// The keys of a review screen and of its ad: what tells one kind of item from another.
fn shape(screen: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect();
    (keys(screen), keys(&screen["ad"]))
}

#[tokio::test]
async fn golden_items_look_like_any_other_are_scored_and_never_count_as_verdicts() {
    for t in backends().await {
        let app = app(&t);
        let ads: Vec<i64> = queued(&t, Category::Gambling, &[(Some("ja"), 6)])
            .await
            .into_keys()
            .collect();
        let ops = login(&app, "ops@amso.test", "ops-demo-pass").await;
        let mark = |ad: i64, verdict: &'static str, category: Option<&'static str>| {
            let ad = ad.to_string();
            let mut form = vec![
                ("ad_id".to_string(), ad),
                ("verdict".into(), verdict.into()),
            ];
            if let Some(c) = category {
                form.push(("categories[0]".into(), c.into()));
            }
            form
        };
        let call = |name: &'static str, form: Vec<(String, String)>, cookie: String| {
            let app = app.clone();
            async move {
                let form: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                send(&app, rpc(name, &form, Some(&cookie))).await
            }
        };

        // Bad answers: each a 422 naming the field, nothing saved.
        let bad = call(
            "mark_golden",
            mark(ads[0], "reject", Some("casino")),
            ops.clone(),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.label);
        assert!(
            bad.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("categories:"),
            "{}",
            bad.text()
        );
        let bad = call("mark_golden", mark(ads[0], "reject", None), ops.clone()).await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            bad.text()
        );
        let bad = call("mark_golden", mark(ads[0], "maybe", None), ops.clone()).await;
        assert!(
            bad.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("verdict:"),
            "{}",
            bad.text()
        );
        let bad = call(
            "set_golden_rate",
            vec![("rate".into(), "-0.1".into())],
            ops.clone(),
        )
        .await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            bad.text()
        );
        assert!(
            bad.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("golden_rate"),
            "{}",
            bad.text()
        );
        assert_eq!(
            count(&t, "select count(*) from golden_items").await,
            0,
            "{}",
            t.label
        );

        // Three golden items: one to approve, two to reject for gambling; every claim golden.
        for form in [
            mark(ads[0], "approve", None),
            mark(ads[1], "reject", Some("gambling")),
            mark(ads[2], "reject", Some("gambling")),
        ] {
            let r = call("mark_golden", form, ops.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{}: {}", t.label, r.text());
        }
        let r = call(
            "set_golden_rate",
            vec![("rate".into(), "1".into())],
            ops.clone(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let reviews_before = count(&t, "select count(*) from reviews").await;
        let labels_before = final_labels(&t.db, 0).await.unwrap().len();

        let b = member(&t, "golden-b@example.com", &["ja"]).await;
        let cookie = login(&app, &b.email, "a-long-password").await;
        let start = || {
            call(
                "start_review",
                vec![("source".into(), "uncertain".into())],
                cookie.clone(),
            )
        };
        let mut golden_shape = None;
        let mut right = 0;
        for round in 0..3 {
            let task = start()
                .await
                .json()
                .as_i64()
                .expect("a golden item is handed");
            assert_eq!(
                count(
                    &t,
                    &format!("select count(*) from review_tasks where id = {task}")
                )
                .await,
                0,
                "{}: a golden item never enters the queues",
                t.label
            );
            let (ad,): (i64,) = sqlx::query_as("select ad_id from golden_tasks where id = $1")
                .bind(task)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
            let screen = call(
                "get_review",
                vec![("task_id".into(), task.to_string())],
                cookie.clone(),
            )
            .await;
            assert_eq!(screen.status, StatusCode::OK, "{}", screen.text());
            assert!(
                !screen.text().to_lowercase().contains("golden"),
                "{}",
                screen.text()
            );
            let screen = screen.json();
            assert_eq!(screen["held"], true, "{}", t.label);
            assert_eq!(screen["ad"]["status"], "in_review", "{}", t.label);
            let actions: Vec<&str> = screen["ad"]["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e[2].as_str().unwrap())
                .collect();
            assert!(
                actions
                    .iter()
                    .all(|a| matches!(*a, "submitted" | "decided")),
                "{actions:?}"
            );
            golden_shape = Some(shape(&screen));

            // Approve the approve item, reject the first reject item, approve the other (wrong).
            let expected: (String,) =
                sqlx::query_as("select verdict from golden_items where ad_id = $1")
                    .bind(ad)
                    .fetch_one(t.db.pool())
                    .await
                    .unwrap();
            let verdict = if ad == ads[1] { "reject" } else { "approve" };
            let mut form = vec![
                ("task_id".to_string(), task.to_string()),
                ("verdict".into(), verdict.into()),
                ("reason_code".into(), String::new()),
                ("reason_text".into(), String::new()),
                ("next".into(), "false".into()),
            ];
            if verdict == "reject" {
                form.push(("categories[0]".into(), "gambling".into()));
            }
            let done = call("submit_review", form.clone(), cookie.clone()).await;
            assert_eq!(done.status, StatusCode::OK, "{}: {}", t.label, done.text());
            let review_id = done.json()["review_id"].as_i64().unwrap();
            assert_eq!(
                count(
                    &t,
                    &format!("select count(*) from reviews where id = {review_id}")
                )
                .await,
                0,
                "{}",
                t.label
            );
            if round == 0 {
                // Undo takes the answer back and hands the item back, as for any review.
                let undone = call(
                    "undo_review",
                    vec![("review_id".into(), review_id.to_string())],
                    cookie.clone(),
                )
                .await;
                assert_eq!(undone.status, StatusCode::OK, "{}", undone.text());
                assert_eq!(undone.json().as_i64(), Some(task), "{}", t.label);
                assert_eq!(count(&t, "select count(*) from golden_answers").await, 0);
                let again = call("submit_review", form, cookie.clone()).await;
                assert_eq!(again.status, StatusCode::OK, "{}", again.text());
            }
            right += i32::from(verdict == expected.0);
        }
        assert_eq!(right, 2, "{}", t.label);

        // The golden set is spent for this reviewer: the next item is an ordinary one, and its
        // screen has exactly the golden screen's shape.
        let task = start().await.json().as_i64().expect("an ordinary item");
        assert_eq!(
            count(
                &t,
                &format!("select count(*) from review_tasks where id = {task}")
            )
            .await,
            1,
            "{}",
            t.label
        );
        let screen = call(
            "get_review",
            vec![("task_id".into(), task.to_string())],
            cookie.clone(),
        )
        .await
        .json();
        assert_eq!(Some(shape(&screen)), golden_shape, "{}", t.label);

        // Never a verdict: no review row, no training label.
        assert_eq!(
            count(&t, "select count(*) from reviews").await,
            reviews_before,
            "{}",
            t.label
        );
        assert_eq!(
            final_labels(&t.db, 0).await.unwrap().len(),
            labels_before,
            "{}",
            t.label
        );
        assert_eq!(
            count(&t, "select count(*) from golden_answers").await,
            3,
            "{}",
            t.label
        );

        // Accuracy: the reviewer sees their own row, the ops head everyone's.
        let own = call(
            "get_golden_accuracy",
            vec![("days".into(), "7".into())],
            cookie.clone(),
        )
        .await
        .json();
        let rows = own["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{}", t.label);
        assert_eq!(rows[0]["overall"]["answered"], 3, "{}", t.label);
        assert_eq!(rows[0]["overall"]["right"], 2, "{}", t.label);
        // Below five answers a rate is not given.
        assert!(rows[0]["overall"]["rate"].is_null(), "{}", t.label);
        let gambling = rows[0]["by_category"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == "gambling")
            .unwrap();
        assert_eq!(
            (
                gambling[1]["answered"].as_i64(),
                gambling[1]["right"].as_i64()
            ),
            (Some(2), Some(1))
        );
        let team = call(
            "get_golden_accuracy",
            vec![("days".into(), "7".into())],
            ops.clone(),
        )
        .await
        .json();
        assert!(
            team["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == "golden-b"),
            "{}",
            t.label
        );
        let set = call("get_golden_set", vec![], ops.clone()).await.json();
        assert_eq!(set["rate"], 1.0, "{}", t.label);
        assert_eq!(set["items"].as_array().unwrap().len(), 3, "{}", t.label);
        let refused = call("get_golden_set", vec![], cookie.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", t.label);
    }
}

#[tokio::test]
async fn golden_items_import_from_an_export_labels_file_line_by_line() {
    for t in backends().await {
        let ads: Vec<i64> = queued(&t, Category::Gambling, &[(Some("ja"), 3)])
            .await
            .into_keys()
            .collect();
        let mut externals = Vec::new();
        for id in &ads {
            let (e,): (String,) = sqlx::query_as("select external_id from ads where id = $1")
                .bind(id)
                .fetch_one(t.db.pool())
                .await
                .unwrap();
            externals.push(e);
        }
        let file = format!(
            "{{\"external_id\":\"{}\",\"labels\":[]}}\nnot json\n{{\"external_id\":\"{}\",\"labels\":[\"casino\"]}}\n\
             {{\"external_id\":\"nobody\",\"labels\":[]}}\n{{\"external_id\":\"{}\",\"labels\":[\"gambling\"]}}\n",
            externals[0], externals[1], externals[2]
        );
        let (marked, refused) = amso_core::review::golden::import_labels(
            &t.db,
            &amso_core::access::audit::Actor::Cli,
            &file,
            now_millis(),
        )
        .await
        .unwrap();
        assert_eq!(marked, 2, "{}", t.label);
        let lines: Vec<usize> = refused.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![2, 3, 4], "{}: {refused:?}", t.label);
        assert!(refused[1].1.contains("casino"), "{refused:?}");
        assert_eq!(
            count(&t, "select count(*) from golden_items").await,
            2,
            "{}",
            t.label
        );
    }
}
