-- Backlog counts per queue × market (the overview, the queues page) read this index alone:
-- with market in it they no longer visit every open task's row, which at 75,000 open tasks
-- (10M decisions of history) cost SQLite 80-220 ms per overview. `review_tasks_queue` stays
-- for the queue lists, which it hands over in due order.
create index review_tasks_backlog on review_tasks (state, source, market, due_at);
