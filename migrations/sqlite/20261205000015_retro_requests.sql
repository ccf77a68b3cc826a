-- Retroactive rejection by a live reject rule (src/rules/retro.rs): one person asks, a second
-- person approves (or anyone who writes rules refuses); approval rejects the rule's new matches
-- among the ads still auto-approved in [until_at - days, until_at).
create table rule_retro_requests (
    id integer primary key autoincrement,
    rule_id bigint not null references rules (id),
    -- the version counted; a newer version refuses approval
    version bigint not null,
    days bigint not null,
    until_at bigint not null,
    -- new matches counted when asked
    matched bigint not null,
    -- the rule's reject categories, comma-separated
    categories text not null,
    state text not null check (state in ('pending', 'done', 'refused')),
    requested_by text not null,
    requested_at bigint not null,
    decided_by text,
    decided_at bigint,
    -- ads rejected on approval
    rejected bigint
);
create index rule_retro_requests_rule on rule_retro_requests (rule_id, id);
