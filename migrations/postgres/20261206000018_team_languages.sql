-- A team across markets and time zones (src/access/users.rs, src/review/queues.rs).
-- Each user's IANA time zone: "today", "your day" and date windows are read in it.
alter table users add column time_zone text not null default 'UTC';
-- Set once the user, an admin or the CLI chose the zone; until then the browser proposes its own.
alter table users add column time_zone_chosen boolean not null default false;
-- The languages a reviewer reads, ISO 639-1 codes, comma-separated and sorted; empty: any.
alter table users add column languages text not null default '';

-- The ad's language, copied when the task opens, so claim-next can hand a reviewer items in
-- the languages they read straight off an index (null: the ad declared none; anyone may take it).
alter table review_tasks add column language text;
update review_tasks set language = (select a.language from ads a where a.id = review_tasks.ad_id)
    where state = 'open';
create index review_tasks_next_language on review_tasks (source, market, language, due_at, risk desc)
    where state = 'open';
