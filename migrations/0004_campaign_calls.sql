-- The calls of a campaign (GET /calls?campaign=<id>, GET /campaigns/<id>/numbers): their
-- external ids are `cmp_<campaign>_<index>`, read as a range of this index.
CREATE INDEX calls_by_external_id ON calls (external_id);
-- Each number's own vars (JSON), written with the number when its campaign starts (NULL when it
-- has none): a paused campaign is queued again from these rows.
ALTER TABLE campaign_numbers ADD COLUMN vars TEXT;
