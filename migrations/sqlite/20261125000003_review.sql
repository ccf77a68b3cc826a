-- Human review: per-market SLA settings, the managed list of reason codes, review tasks
-- (one queue per source, claimed under a lease), reviews, and advertiser appeals.

create table market_settings (
    market text primary key references markets (code),
    -- hours from submission (or appeal, or escalation) to a final human decision
    sla_hours double precision not null check (sla_hours > 0),
    updated_at bigint not null
);
insert into market_settings (market, sla_hours, updated_at) values
    ('US', 24, 0), ('GB', 24, 0), ('DE', 24, 0), ('FR', 24, 0), ('BR', 36, 0),
    ('ID', 36, 0), ('JP', 24, 0), ('KR', 24, 0), ('AE', 12, 0), ('SG', 24, 0);

create table reason_codes (
    code text primary key,
    label text not null,
    position integer not null,
    active integer not null default 1
);
insert into reason_codes (code, label, position) values
    ('missed_violation', 'Violation the machine missed', 1),
    ('benign_context', 'Sensitive words used in a benign context', 2),
    ('obfuscated', 'Obfuscated violation (spelling, spacing, look-alike letters)', 3),
    ('licensed_advertiser', 'Restricted offer from a licensed advertiser', 4),
    ('misleading_claim', 'Misleading or unverifiable claim', 5),
    ('wrong_category', 'Right action, wrong category', 6),
    ('landing_page', 'Landing page does not match the ad', 7),
    ('appeal_evidence', 'Advertiser supplied evidence on appeal', 8),
    ('other', 'Other (explained in the note)', 9);

create table review_tasks (
    id integer primary key autoincrement,
    ad_id bigint not null references ads (id),
    source text not null check (source in ('uncertain', 'restricted', 'audit', 'appeal', 'escalation', 'qa')),
    market text not null references markets (code),
    state text not null default 'open' check (state in ('open', 'done', 'escalated', 'cancelled')),
    created_at bigint not null,
    due_at bigint not null,
    -- top category score × declared daily budget: what a wrong call could cost
    risk double precision not null,
    claimed_by bigint references users (id),
    claimed_at bigint,
    lease_expires_at bigint,
    -- appeals never go to the reviewer who rejected the ad; QA never to the first reviewer
    excluded_reviewer bigint references users (id),
    -- the escalation note or the advertiser's appeal statement
    note text,
    -- for QA: the review being checked again
    qa_of bigint,
    closed_at bigint
);
-- One open task per ad and source.
create unique index review_tasks_open_per_ad on review_tasks (ad_id, source) where state = 'open';
-- A reviewer holds at most one open item; one row has one holder, so no item has two.
create unique index review_tasks_one_claim on review_tasks (claimed_by) where state = 'open' and claimed_by is not null;
create index review_tasks_queue on review_tasks (state, source, due_at);
-- The next item of a queue in one market, most urgent and riskiest first.
create index review_tasks_next on review_tasks (source, market, due_at, risk desc) where state = 'open';
create index review_tasks_ad on review_tasks (ad_id);

create table reviews (
    id integer primary key autoincrement,
    -- one review per task, guaranteed by the database
    task_id bigint not null unique references review_tasks (id),
    ad_id bigint not null references ads (id),
    reviewer_id bigint not null references users (id),
    source text not null,
    market text not null,
    verdict text not null check (verdict in ('approve', 'reject')),
    -- JSON array of violated categories
    categories text not null,
    reason_code text references reason_codes (code),
    reason_text text,
    -- the machine's action on the ad (approve, reject or review)
    machine_action text not null,
    override integer not null,
    bulk integer not null default 0,
    -- the ad's status before this review, so that an undo can restore it
    status_before text not null,
    started_at bigint not null,
    finished_at bigint not null
);
create index reviews_reviewer_finished on reviews (reviewer_id, finished_at);
create index reviews_finished on reviews (finished_at);
create index reviews_ad on reviews (ad_id);

create table appeals (
    id integer primary key autoincrement,
    ad_id bigint not null references ads (id),
    statement text not null,
    filed_at bigint not null,
    filed_by text not null,
    status text not null default 'open' check (status in ('open', 'upheld', 'overturned')),
    -- the ad's status when the appeal was filed
    status_before text not null,
    decided_at bigint,
    decided_by bigint references users (id),
    review_id bigint references reviews (id)
);
-- One open appeal per ad.
create unique index appeals_one_open on appeals (ad_id) where status = 'open';
