-- The calls of a campaign (GET /calls?campaign=<id>, GET /campaigns/<id>/numbers): their
-- external ids are `cmp_<campaign>_<index>`, read as a range of this index.
CREATE INDEX calls_by_external_id ON calls (external_id);
-- Each number's own vars (JSON), written with the number when its campaign starts (NULL when it
-- has none): a paused campaign is queued again from these rows.
ALTER TABLE campaign_numbers ADD COLUMN vars TEXT;
-- Whether a campaign dials (POST /campaigns/<id>/pause, /resume, /cancel): `running`, `paused` or
-- `cancelled` (final). No row: running. The consumer claims each number in a statement that reads
-- it, so a pause takes effect at the next number, whatever the queue holds.
CREATE TABLE campaign_control (
  campaign_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  changed_ms INTEGER NOT NULL
) WITHOUT ROWID;
