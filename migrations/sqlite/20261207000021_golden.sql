-- Golden items (src/review/golden.rs): decided ads whose right answer an ops head has set,
-- handed to reviewers now and then to measure their accuracy against a known answer.
create table golden_items (
    ad_id bigint primary key references ads (id),
    verdict text not null check (verdict in ('approve', 'reject')),
    -- JSON list of the violated categories; empty for approve
    categories text not null default '[]',
    marked_by text not null,
    marked_at bigint not null
);

-- A golden item handed to one reviewer. Its id comes from review_tasks' own sequence, so it
-- reads like any other item's; it never enters review_tasks, so no queue, count or SLA sees it.
create table golden_tasks (
    id bigint primary key,
    ad_id bigint not null references ads (id),
    user_id bigint not null references users (id),
    source text not null,
    market text not null,
    created_at bigint not null,
    due_at bigint not null,
    claimed_at bigint not null,
    lease_expires_at bigint not null,
    state text not null default 'open' check (state in ('open', 'answered', 'dropped'))
);
create index golden_tasks_user on golden_tasks (user_id, state);
create index golden_tasks_ad on golden_tasks (ad_id, user_id);

-- A reviewer's answer to a golden item, scored against the answer set when it was handed.
-- Its id comes from the reviews' sequence (a reviewer's undo names it like any review); it is
-- never a verdict: no KPI, rollup or training row reads this table.
create table golden_answers (
    id bigint primary key,
    task_id bigint not null unique references golden_tasks (id),
    ad_id bigint not null references ads (id),
    user_id bigint not null references users (id),
    market text not null,
    verdict text not null,
    categories text not null,
    expected_verdict text not null,
    expected_categories text not null,
    correct integer not null check (correct in (0, 1)),
    started_at bigint not null,
    finished_at bigint not null
);
create index golden_answers_user on golden_answers (user_id, finished_at);
create index golden_answers_finished on golden_answers (finished_at);

-- The share of each reviewer's items that are golden.
alter table wellness_settings add column golden_rate double precision not null default 0.02;
