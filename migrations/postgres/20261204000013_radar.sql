-- The emerging-risk radar (src/radar): per UTC day × market, the ads carrying each term,
-- registrable landing domain and advertiser (the most frequent values of each day only),
-- with the human reviews they got; cursors of what was folded in; and the last check's
-- ranked entries, which pages read.
create table radar_counts (
    day bigint not null,
    market text not null,
    kind text not null check (kind in ('term', 'domain', 'advertiser')),
    value text not null,
    ads bigint not null,
    model_high bigint not null default 0,
    reviewed bigint not null default 0,
    rejected bigint not null default 0,
    gap bigint not null default 0,
    -- up to five recent ad ids, JSON
    samples text not null default '[]',
    primary key (day, market, kind, value)
);
create index radar_counts_value on radar_counts (kind, value, day);

create table radar_totals (
    day bigint not null,
    market text not null,
    ads bigint not null,
    primary key (day, market)
);

create table radar_cursor (
    name text primary key,
    last_id bigint not null
);

create table radar_entries (
    time_window text not null,
    market text not null,
    rank bigint not null,
    kind text not null,
    value text not null,
    count_now bigint not null,
    count_before bigint not null,
    share_now double precision not null,
    share_before double precision not null,
    lift double precision not null,
    g2 double precision not null,
    reviewed bigint not null,
    rejected bigint not null,
    model_high_share double precision not null,
    gap bigint not null,
    score double precision not null,
    computed_at bigint not null,
    primary key (time_window, market, rank)
);
