-- The model registry (src/engine/model/registry.rs): every model version with its ONNX bytes,
-- so every server on one database has them, and the events that gave versions their roles,
-- so which version was champion in which market at any past instant is answerable.
create table model_versions (
    version text primary key,
    onnx bytea not null,
    -- hex sha-256 of onnx
    sha256 text not null,
    size_bytes bigint not null,
    -- the model card, JSON (src/engine/model/card.rs); null for an imported model without one
    card text,
    source text not null check (source in ('shipped', 'import', 'train')),
    created_by text not null,
    created_at bigint not null
);

-- One row per role change. A champion row names a market, or none for every market; a
-- version's role now is its latest row, the champion of a market at T the latest champion row
-- at or before T for that market or for every market.
create table model_events (
    id bigserial primary key,
    version text not null references model_versions (version),
    role text not null check (role in ('candidate', 'challenger', 'champion', 'retired')),
    market text,
    at bigint not null,
    actor text not null,
    note text
);
create index model_events_at on model_events (at);
