-- A campaign number's own time zone for its campaign's calling window (NULL: the window's), kept
-- so that a paused campaign queued again reads each number's window where it is called.
ALTER TABLE campaign_numbers ADD COLUMN time_zone TEXT;
-- When a number whose call was not answered is dialled again (its campaign's redial_after_secs
-- after the call; NULL: not waiting for a redial). The cron queues the numbers whose time has come.
ALTER TABLE campaign_numbers ADD COLUMN redial_ms INTEGER;
CREATE INDEX campaign_numbers_by_redial ON campaign_numbers (redial_ms) WHERE redial_ms IS NOT NULL;
