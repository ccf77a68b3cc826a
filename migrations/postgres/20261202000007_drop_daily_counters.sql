-- daily_counters was written with every batch of decisions and read by nothing but a test: the
-- rollups count decisions per hour and day (rollup_ads, rollup_ads_daily).
drop table daily_counters;
