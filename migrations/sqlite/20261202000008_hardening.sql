-- Login attempts, written before the password is checked so that a burst of parallel
-- guesses counts every one of them (the audit log keeps the human-readable trail).
-- outcome: pending (being checked), ok, failed, refused (turned away by a limit; these do
-- not extend a lockout).
create table login_attempts (
    id integer primary key autoincrement,
    email text not null,
    ip text,
    at bigint not null,
    outcome text not null check (outcome in ('pending', 'ok', 'failed', 'refused'))
);
create index login_attempts_email_at on login_attempts (email, at);
create index login_attempts_ip_at on login_attempts (ip, at);

-- Everyone kept from a review item besides excluded_reviewer: an appeal goes to nobody who
-- took part in the rejection (the first reviewer and any QA reviewer who agreed).
create table review_task_exclusions (
    task_id bigint not null references review_tasks (id),
    user_id bigint not null references users (id),
    primary key (task_id, user_id)
);

-- Sessions are stored under a hash of their id (a leaked table opens no session) and name
-- their user, so a password change can end the user's other sessions. Sessions stored under
-- plain ids can no longer be found: everyone logs in again once.
delete from sessions;
alter table sessions add column user_id bigint;
create index sessions_user_id on sessions (user_id);
