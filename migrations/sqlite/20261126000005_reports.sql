-- The weekly report's archive: each rendering of a week (by the schedule or by a person),
-- its three files, where its figures came from, and the delivery of its PDF by mail.
create table report_runs (
    id integer primary key autoincrement,
    week text not null,
    -- 'schedule' (at most one per week, whatever the number of servers) or 'manual'
    origin text not null check (origin in ('schedule', 'manual')),
    time_zone text not null,
    -- comma-separated market codes, empty for every market
    markets text not null default '',
    state text not null check (state in ('rendering', 'ready', 'failed')),
    -- the server that claimed the rendering, and when (a stale claim is taken over)
    claimed_by text not null,
    claimed_at bigint not null,
    generated_by text not null,
    generated_at bigint,
    -- the newest decision and the number of decisions in the database when rendered
    data_through bigint,
    decisions bigint,
    pdf blob,
    xlsx blob,
    csv blob,
    error text,
    delivery text not null default 'none' check (delivery in ('none', 'pending', 'sent', 'failed')),
    recipients text not null default '',
    delivery_attempts integer not null default 0,
    delivery_next_at bigint,
    delivery_error text,
    delivered_at bigint
);
create unique index report_runs_scheduled_week on report_runs (week) where origin = 'schedule';
create index report_runs_recent on report_runs (claimed_at);
create index report_runs_delivery on report_runs (delivery, delivery_next_at);
