-- Foundation: markets, users and their market scopes, login sessions, the audit log.
-- Timestamps are milliseconds since the Unix epoch (UTC).

create table markets (
    code text primary key,
    name text not null
);

insert into markets (code, name) values
    ('US', 'United States'), ('GB', 'United Kingdom'), ('DE', 'Germany'), ('FR', 'France'),
    ('BR', 'Brazil'), ('ID', 'Indonesia'), ('JP', 'Japan'), ('KR', 'South Korea'),
    ('AE', 'United Arab Emirates'), ('SG', 'Singapore');

create table users (
    id integer primary key autoincrement,
    email text not null unique,
    display_name text not null,
    role text not null check (role in ('reviewer', 'ops_head', 'executive', 'admin')),
    password_hash text not null,
    -- flags are integers 0/1 here: sqlx's Any driver cannot read SQLite's BOOLEAN
    disabled integer not null default 0 check (disabled in (0, 1)),
    -- set for the users the demo seed creates; production refuses to start while any is enabled
    demo_credentials integer not null default 0 check (demo_credentials in (0, 1)),
    created_at bigint not null,
    updated_at bigint not null
);

create table user_markets (
    user_id integer not null references users (id) on delete cascade,
    market text not null references markets (code),
    primary key (user_id, market)
);

create table sessions (
    id text primary key,
    data text not null,
    expires_at bigint not null
);
create index sessions_expires_at on sessions (expires_at);

create table audit_log (
    id integer primary key autoincrement,
    at bigint not null,
    actor text not null,
    action text not null,
    object text not null,
    before_json text,
    after_json text,
    ip text
);
create index audit_log_action_object_at on audit_log (action, object, at);
create index audit_log_at on audit_log (at);

-- The audit log is append-only: the database itself refuses to change history.
create trigger audit_log_no_update before update on audit_log
begin
    select raise(abort, 'audit_log is append-only');
end;

create trigger audit_log_no_delete before delete on audit_log
begin
    select raise(abort, 'audit_log is append-only');
end;
