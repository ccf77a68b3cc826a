-- An open task whose ad declares no language carries '' rather than null (src/review/tasks.rs):
-- claim-next then finds those items with the same equality lookup as any language, off the
-- (source, market, language, due_at, risk) index, where `language is null` let PostgreSQL's
-- generic plan walk a market's whole queue.
update review_tasks set language = '' where language is null and state = 'open';
