-- Rollup changes a review makes, queued inside the review's transaction and folded into the
-- rollup tables in batches by one folder (see rollup::store::fold). Every review used to
-- upsert a dozen hourly and daily rollup rows inside its own transaction.
create table rollup_queue (
    id integer primary key autoincrement,
    delta text not null
);
