-- A challenger's scores of every ad it scored in shadow beside the champion
-- (src/engine/serving.rs): ten float32 little-endian, 40 bytes. Never read by a decision.
create table shadow_scores (
    ad_id bigint not null references ads (id),
    version text not null,
    scores bytea not null,
    at bigint not null,
    primary key (ad_id, version)
);
create index shadow_scores_version_at on shadow_scores (version, at);

-- Promotions (src/engine/model/promotion.rs): asked by one person with the re-fitted
-- thresholds previewed, approved by a second; rollback restores the previous champions and
-- the thresholds from before.
create table model_promotions (
    id bigserial primary key,
    version text not null references model_versions (version),
    -- comma-separated market codes; empty: every market
    markets text not null,
    state text not null check (state in ('pending', 'done', 'refused', 'rolled_back')),
    requested_by text not null,
    requested_at bigint not null,
    decided_by text,
    decided_at bigint,
    -- the preview (evidence per market, every cell before and after), JSON
    preview text not null,
    -- per market, the champion before approval, JSON
    previous text,
    thresholds_before bigint,
    thresholds_after bigint
);

-- Trainings of candidates from human verdicts (src/engine/model/retrain.rs): one runs at a
-- time per database; progress and log are kept.
create table model_trainings (
    id bigserial primary key,
    state text not null check (state in ('running', 'done', 'failed', 'cancelled')),
    started_by text not null,
    started_at bigint not null,
    updated_at bigint not null,
    finished_at bigint,
    progress double precision not null,
    log text not null,
    version text
);
