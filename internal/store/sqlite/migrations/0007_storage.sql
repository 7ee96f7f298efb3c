-- Event retention (events_retention) deletes by age in small batches; without an index each
-- batch, and the last empty one above all, would scan the whole table.
CREATE INDEX events_time ON events(time);
