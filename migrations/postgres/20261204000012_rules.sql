-- Moderation rules written by operations heads (src/rules): every edit is a new version, the
-- decision worker evaluates the current version of every background and live rule, and what
-- fired on each ad is kept in rule_hits with the version that fired.
create table rules (
    id bigserial primary key,
    name text not null,
    -- who wrote it (an email, "cli" or an API key's name)
    owner text not null,
    state text not null check (state in ('draft', 'background', 'pending_live', 'live', 'expired', 'archived')),
    -- the current version: the one evaluated in background or live
    version bigint not null,
    -- who asked for it to go live; another person approves
    requested_by text,
    approved_by text,
    expires_at bigint,
    -- when it last went to background (its shadow results count from here) and live
    background_since bigint,
    live_since bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create index rules_state on rules (state);

create table rule_versions (
    rule_id bigint not null references rules (id),
    version bigint not null,
    -- the rule as written (src/rules/spec.rs), JSON
    spec text not null,
    created_by text not null,
    created_at bigint not null,
    -- the last backtest of this version, JSON (src/rules/backtest.rs)
    backtest text,
    primary key (rule_id, version)
);

-- One row per rule that matched an ad when the worker decided it (mode live or background),
-- or when a retroaction reopened it (mode retro).
create table rule_hits (
    ad_id bigint not null references ads (id),
    rule_id bigint not null references rules (id),
    version bigint not null,
    mode text not null check (mode in ('live', 'background', 'retro')),
    -- what the rule's action is: reject, review or flag
    action text not null,
    market text not null,
    at bigint not null,
    primary key (rule_id, ad_id, mode)
);
create index rule_hits_ad on rule_hits (ad_id);
create index rule_hits_rule_at on rule_hits (rule_id, at);

-- API keys gain the `rules` scope (ops tooling managing rules).
alter table api_keys drop constraint api_keys_scope_check;
alter table api_keys add constraint api_keys_scope_check check (scope in ('ingest', 'kpis', 'rules'));
