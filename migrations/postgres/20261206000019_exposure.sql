-- Exposure limits (src/review/exposure.rs): per category, how many items one reviewer may be
-- shown in their local day; past it, claim-next hands them none of that category until their
-- next day. Defaults for the categories reviewers find hardest to look at all day.
create table exposure_caps (
    category text primary key,
    daily_cap bigint not null check (daily_cap >= 0),
    updated_by text not null,
    updated_at bigint not null
);
insert into exposure_caps (category, daily_cap, updated_by, updated_at) values
    ('adult', 150, 'default', 0), ('weapons', 200, 'default', 0), ('drugs', 250, 'default', 0);

-- Every item handed to a reviewer, once per category the machine flagged on it: what the caps
-- and the ops heads' exposure table count.
create table exposures (
    user_id bigint not null references users (id),
    task_id bigint not null,
    category text not null,
    shown_at bigint not null,
    primary key (user_id, task_id, category)
);
create index exposures_user_at on exposures (user_id, shown_at);

-- Per reviewer: items of a capped category handed in a row (a calmer item, a break or a
-- quarter of an hour away ends the run). Its row is also what serialises one person's claims.
create table exposure_runs (
    user_id bigint primary key references users (id),
    run bigint not null,
    last_at bigint not null
);

-- A break prompt after this many items of capped categories in a row.
create table wellness_settings (
    id integer primary key check (id = 1),
    break_after bigint not null check (break_after >= 1),
    updated_by text not null,
    updated_at bigint not null
);
insert into wellness_settings (id, break_after, updated_by, updated_at) values (1, 25, 'default', 0);
