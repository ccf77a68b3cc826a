-- Rollup changes a review makes, queued inside the review's transaction and folded into the
-- rollup tables in batches by one folder (see rollup::store::fold). Every reviewer's review
-- used to upsert the same hourly and daily rollup rows and hold their locks until it
-- committed, so reviews queued behind each other on a few hot rows.
create table rollup_queue (
    id bigserial primary key,
    delta text not null
);
