-- Who holds a review item now, out of the review_tasks rows: claiming, renewing and releasing
-- write this small table instead of updating the task, so the queue's indexes no longer fill
-- with dead entries ahead of its head under many reviewers (PostgreSQL slowed to 67
-- reviews/s with claim-next p95 over a second). One row per held item, one per reviewer.
create table review_claims (
    task_id bigint primary key references review_tasks (id),
    user_id bigint not null unique references users (id),
    claimed_at bigint not null,
    lease_expires_at bigint not null
);
insert into review_claims (task_id, user_id, claimed_at, lease_expires_at)
    select id, claimed_by, coalesce(claimed_at, 0), coalesce(lease_expires_at, 0)
    from review_tasks where state = 'open' and claimed_by is not null;
-- review_tasks.claimed_by, claimed_at and lease_expires_at are no longer written.
drop index review_tasks_one_claim;
