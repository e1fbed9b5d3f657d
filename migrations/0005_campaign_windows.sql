-- A campaign number's own time zone for its campaign's calling window (NULL: the window's), kept
-- so that a paused campaign queued again reads each number's window where it is called.
ALTER TABLE campaign_numbers ADD COLUMN time_zone TEXT;
