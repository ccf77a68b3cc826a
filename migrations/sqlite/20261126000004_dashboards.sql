-- Dashboards: rollups kept up to date in the same transactions as the decisions and
-- reviews they count, so no dashboard scans raw decisions; drift state and alerts; the
-- rates behind the cost of risk control.
--
-- `hour` is hours since the Unix epoch (UTC). Rows are keyed by the hour of the machine
-- decision for everything about the decision and its final human verdict (a cohort), and by
-- the hour a review finished for the reviewing work itself (handling time, SLA, appeals).
-- `category` in rollup_ads is the ad's top-scoring category; in rollup_categories every
-- category of every ad has its own row. Measures are sums; Horvitz–Thompson sums carry the
-- weight 1 / sampling probability. Column meanings are documented in src/rollup.rs.

create table rollup_ads (
    hour bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    decided double precision not null default 0,
    auto_approved double precision not null default 0,
    auto_rejected double precision not null default 0,
    routed double precision not null default 0,
    audit_samples double precision not null default 0,
    infer_ms double precision not null default 0,
    p_w double precision not null default 0,
    p_w2 double precision not null default 0,
    p_wy double precision not null default 0,
    r_w double precision not null default 0,
    r_w2 double precision not null default 0,
    r_wy double precision not null default 0,
    checked double precision not null default 0,
    overridden double precision not null default 0,
    fp_bw double precision not null default 0,
    fn_weapons double precision not null default 0,
    fn_drugs double precision not null default 0,
    fn_tobacco double precision not null default 0,
    fn_alcohol double precision not null default 0,
    fn_gambling double precision not null default 0,
    fn_adult double precision not null default 0,
    fn_scam double precision not null default 0,
    fn_health_claims double precision not null default 0,
    fn_counterfeit double precision not null default 0,
    fn_political double precision not null default 0,
    reviews double precision not null default 0,
    handling_ms double precision not null default 0,
    appeals_decided double precision not null default 0,
    appeals_overturned double precision not null default 0,
    sla_n double precision not null default 0,
    sla_within double precision not null default 0,
    primary key (hour, market, category, model_version)
);

create table rollup_categories (
    hour bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    h00 double precision not null default 0,
    h01 double precision not null default 0,
    h02 double precision not null default 0,
    h03 double precision not null default 0,
    h04 double precision not null default 0,
    h05 double precision not null default 0,
    h06 double precision not null default 0,
    h07 double precision not null default 0,
    h08 double precision not null default 0,
    h09 double precision not null default 0,
    h10 double precision not null default 0,
    h11 double precision not null default 0,
    h12 double precision not null default 0,
    h13 double precision not null default 0,
    h14 double precision not null default 0,
    h15 double precision not null default 0,
    h16 double precision not null default 0,
    h17 double precision not null default 0,
    h18 double precision not null default 0,
    h19 double precision not null default 0,
    cp_w double precision not null default 0,
    cp_w2 double precision not null default 0,
    cp_wy double precision not null default 0,
    cr_w double precision not null default 0,
    cr_w2 double precision not null default 0,
    cr_wy double precision not null default 0,
    cw00 double precision not null default 0,
    cw01 double precision not null default 0,
    cw02 double precision not null default 0,
    cw03 double precision not null default 0,
    cw04 double precision not null default 0,
    cw05 double precision not null default 0,
    cw06 double precision not null default 0,
    cw07 double precision not null default 0,
    cw08 double precision not null default 0,
    cw09 double precision not null default 0,
    cw10 double precision not null default 0,
    cw11 double precision not null default 0,
    cw12 double precision not null default 0,
    cw13 double precision not null default 0,
    cw14 double precision not null default 0,
    cw15 double precision not null default 0,
    cw16 double precision not null default 0,
    cw17 double precision not null default 0,
    cw18 double precision not null default 0,
    cw19 double precision not null default 0,
    cy00 double precision not null default 0,
    cy01 double precision not null default 0,
    cy02 double precision not null default 0,
    cy03 double precision not null default 0,
    cy04 double precision not null default 0,
    cy05 double precision not null default 0,
    cy06 double precision not null default 0,
    cy07 double precision not null default 0,
    cy08 double precision not null default 0,
    cy09 double precision not null default 0,
    cy10 double precision not null default 0,
    cy11 double precision not null default 0,
    cy12 double precision not null default 0,
    cy13 double precision not null default 0,
    cy14 double precision not null default 0,
    cy15 double precision not null default 0,
    cy16 double precision not null default 0,
    cy17 double precision not null default 0,
    cy18 double precision not null default 0,
    cy19 double precision not null default 0,
    cs00 double precision not null default 0,
    cs01 double precision not null default 0,
    cs02 double precision not null default 0,
    cs03 double precision not null default 0,
    cs04 double precision not null default 0,
    cs05 double precision not null default 0,
    cs06 double precision not null default 0,
    cs07 double precision not null default 0,
    cs08 double precision not null default 0,
    cs09 double precision not null default 0,
    cs10 double precision not null default 0,
    cs11 double precision not null default 0,
    cs12 double precision not null default 0,
    cs13 double precision not null default 0,
    cs14 double precision not null default 0,
    cs15 double precision not null default 0,
    cs16 double precision not null default 0,
    cs17 double precision not null default 0,
    cs18 double precision not null default 0,
    cs19 double precision not null default 0,
    primary key (hour, market, category, model_version)
);

-- Durations as counts per logarithmic bucket (kpi::duration_bucket), so that percentiles can
-- be read back: kind 'sla' (submitted → final human decision) or 'handling' (review time).
create table rollup_durations (
    hour bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    kind text not null,
    bucket integer not null,
    n double precision not null default 0,
    primary key (hour, market, category, model_version, kind, bucket)
);

-- Reviews and overrides by reviewer, reason and queue (at the hour the review finished).
create table rollup_overrides (
    hour bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    reviewer_id bigint not null,
    reason_code text not null,
    source text not null,
    reviews double precision not null default 0,
    overrides double precision not null default 0,
    primary key (hour, market, category, model_version, reviewer_id, reason_code, source)
);

create table rollup_languages (
    hour bigint not null,
    market text not null,
    language text not null,
    model_version text not null,
    decided double precision not null default 0,
    primary key (hour, market, language, model_version)
);


-- The same rollups per UTC day (`day` = days since the Unix epoch): dashboards read whole
-- days, and a 28-day window is then a few thousand rows whatever the traffic.
create table rollup_ads_daily (
    day bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    decided double precision not null default 0,
    auto_approved double precision not null default 0,
    auto_rejected double precision not null default 0,
    routed double precision not null default 0,
    audit_samples double precision not null default 0,
    infer_ms double precision not null default 0,
    p_w double precision not null default 0,
    p_w2 double precision not null default 0,
    p_wy double precision not null default 0,
    r_w double precision not null default 0,
    r_w2 double precision not null default 0,
    r_wy double precision not null default 0,
    checked double precision not null default 0,
    overridden double precision not null default 0,
    fp_bw double precision not null default 0,
    fn_weapons double precision not null default 0,
    fn_drugs double precision not null default 0,
    fn_tobacco double precision not null default 0,
    fn_alcohol double precision not null default 0,
    fn_gambling double precision not null default 0,
    fn_adult double precision not null default 0,
    fn_scam double precision not null default 0,
    fn_health_claims double precision not null default 0,
    fn_counterfeit double precision not null default 0,
    fn_political double precision not null default 0,
    reviews double precision not null default 0,
    handling_ms double precision not null default 0,
    appeals_decided double precision not null default 0,
    appeals_overturned double precision not null default 0,
    sla_n double precision not null default 0,
    sla_within double precision not null default 0,
    primary key (day, market, category, model_version)
);

create table rollup_categories_daily (
    day bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    h00 double precision not null default 0,
    h01 double precision not null default 0,
    h02 double precision not null default 0,
    h03 double precision not null default 0,
    h04 double precision not null default 0,
    h05 double precision not null default 0,
    h06 double precision not null default 0,
    h07 double precision not null default 0,
    h08 double precision not null default 0,
    h09 double precision not null default 0,
    h10 double precision not null default 0,
    h11 double precision not null default 0,
    h12 double precision not null default 0,
    h13 double precision not null default 0,
    h14 double precision not null default 0,
    h15 double precision not null default 0,
    h16 double precision not null default 0,
    h17 double precision not null default 0,
    h18 double precision not null default 0,
    h19 double precision not null default 0,
    cp_w double precision not null default 0,
    cp_w2 double precision not null default 0,
    cp_wy double precision not null default 0,
    cr_w double precision not null default 0,
    cr_w2 double precision not null default 0,
    cr_wy double precision not null default 0,
    cw00 double precision not null default 0,
    cw01 double precision not null default 0,
    cw02 double precision not null default 0,
    cw03 double precision not null default 0,
    cw04 double precision not null default 0,
    cw05 double precision not null default 0,
    cw06 double precision not null default 0,
    cw07 double precision not null default 0,
    cw08 double precision not null default 0,
    cw09 double precision not null default 0,
    cw10 double precision not null default 0,
    cw11 double precision not null default 0,
    cw12 double precision not null default 0,
    cw13 double precision not null default 0,
    cw14 double precision not null default 0,
    cw15 double precision not null default 0,
    cw16 double precision not null default 0,
    cw17 double precision not null default 0,
    cw18 double precision not null default 0,
    cw19 double precision not null default 0,
    cy00 double precision not null default 0,
    cy01 double precision not null default 0,
    cy02 double precision not null default 0,
    cy03 double precision not null default 0,
    cy04 double precision not null default 0,
    cy05 double precision not null default 0,
    cy06 double precision not null default 0,
    cy07 double precision not null default 0,
    cy08 double precision not null default 0,
    cy09 double precision not null default 0,
    cy10 double precision not null default 0,
    cy11 double precision not null default 0,
    cy12 double precision not null default 0,
    cy13 double precision not null default 0,
    cy14 double precision not null default 0,
    cy15 double precision not null default 0,
    cy16 double precision not null default 0,
    cy17 double precision not null default 0,
    cy18 double precision not null default 0,
    cy19 double precision not null default 0,
    cs00 double precision not null default 0,
    cs01 double precision not null default 0,
    cs02 double precision not null default 0,
    cs03 double precision not null default 0,
    cs04 double precision not null default 0,
    cs05 double precision not null default 0,
    cs06 double precision not null default 0,
    cs07 double precision not null default 0,
    cs08 double precision not null default 0,
    cs09 double precision not null default 0,
    cs10 double precision not null default 0,
    cs11 double precision not null default 0,
    cs12 double precision not null default 0,
    cs13 double precision not null default 0,
    cs14 double precision not null default 0,
    cs15 double precision not null default 0,
    cs16 double precision not null default 0,
    cs17 double precision not null default 0,
    cs18 double precision not null default 0,
    cs19 double precision not null default 0,
    primary key (day, market, category, model_version)
);

create table rollup_durations_daily (
    day bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    kind text not null,
    bucket integer not null,
    n double precision not null default 0,
    primary key (day, market, category, model_version, kind, bucket)
);

create table rollup_overrides_daily (
    day bigint not null,
    market text not null,
    category text not null,
    model_version text not null,
    reviewer_id bigint not null,
    reason_code text not null,
    source text not null,
    reviews double precision not null default 0,
    overrides double precision not null default 0,
    primary key (day, market, category, model_version, reviewer_id, reason_code, source)
);

create table rollup_languages_daily (
    day bigint not null,
    market text not null,
    language text not null,
    model_version text not null,
    decided double precision not null default 0,
    primary key (day, market, language, model_version)
);

-- The overrides drill-down: newest overridden reviews first.
create index reviews_overridden on reviews (finished_at) where override;

-- The drift band each market × category was last seen in, and every rise into watch or
-- drifted, with its time and the windows compared.
create table drift_state (
    market text not null,
    category text not null,
    band text not null,
    psi double precision not null,
    checked_at bigint not null,
    primary key (market, category)
);

create table drift_alerts (
    id integer primary key autoincrement,
    at bigint not null,
    market text not null,
    category text not null,
    band text not null check (band in ('watch', 'drifted')),
    previous_band text not null,
    psi double precision not null,
    current_from bigint not null,
    current_to bigint not null,
    reference_from bigint not null,
    reference_to bigint not null
);
create index drift_alerts_at on drift_alerts (at);

-- Rates behind the cost of risk control. Per market: reviewer cost per hour and how many
-- reviews a day the team there can do; globally: named rates (see kpi::CostRates).
alter table market_settings add column reviewer_hourly_usd double precision not null default 25;
alter table market_settings add column review_capacity_per_day double precision not null default 400;
update market_settings set reviewer_hourly_usd = 38 where market = 'US';
update market_settings set reviewer_hourly_usd = 32 where market = 'GB';
update market_settings set reviewer_hourly_usd = 34 where market = 'DE';
update market_settings set reviewer_hourly_usd = 31 where market = 'FR';
update market_settings set reviewer_hourly_usd = 12 where market = 'BR';
update market_settings set reviewer_hourly_usd = 8 where market = 'ID';
update market_settings set reviewer_hourly_usd = 30 where market = 'JP';
update market_settings set reviewer_hourly_usd = 26 where market = 'KR';
update market_settings set reviewer_hourly_usd = 22 where market = 'AE';
update market_settings set reviewer_hourly_usd = 27 where market = 'SG';

create table cost_rates (
    name text primary key,
    value double precision not null check (value >= 0),
    updated_at bigint not null
);
insert into cost_rates (name, value, updated_at) values
    ('cpu_hour_usd', 0.05, 0),
    ('days_lost_per_false_reject', 3, 0),
    ('risk_weight.weapons', 100, 0),
    ('risk_weight.drugs', 100, 0),
    ('risk_weight.tobacco', 30, 0),
    ('risk_weight.alcohol', 20, 0),
    ('risk_weight.gambling', 60, 0),
    ('risk_weight.adult', 50, 0),
    ('risk_weight.scam', 160, 0),
    ('risk_weight.health_claims', 80, 0),
    ('risk_weight.counterfeit', 60, 0),
    ('risk_weight.political', 40, 0);
