-- Rule hits by time: the rules list's hits in the last 24 hours and the weekly report's
-- hits of a week read a time range over every rule.
create index rule_hits_at on rule_hits (at);
