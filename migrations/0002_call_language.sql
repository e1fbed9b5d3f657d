-- The language each call was spoken in last (a flow's own, or the one a `set_language` step
-- switched it to), for GET /calls?language= and GET /flows/<name>/stats?language=. NULL in the
-- records of calls that ended before languages.
ALTER TABLE calls ADD COLUMN language TEXT;
CREATE INDEX calls_by_flow_language ON calls (flow, language, ended_ms);
