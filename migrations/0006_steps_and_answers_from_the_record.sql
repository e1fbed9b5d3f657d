-- A call's steps and answers are read from its record rather than written as rows of their own:
-- D1 bills every row written, and the record (the `calls` row's `record` column) holds both
-- already, so a call's record is now one row instead of one per step and per answer.
-- `call_steps` and `call_answers` stay, as views with the columns the tables had, for the stats
-- (ivr-core/src/records/stats.rs) and for queries of your own; a record and its steps and answers
-- now go together, whatever deletes it. Writes to the views are ignored (the triggers at the end):
-- a worker of a version before this one, still running while this is applied, goes on writing
-- its records, its statements for the old tables doing nothing.
DROP TABLE call_steps;
DROP TABLE call_answers;

-- Every step a call entered, in order (`seq` from 0): when it entered and left (NULL unless the
-- record has a time for every step: records of sessions written before steps were timed) and the
-- step entered next (NULL for the last, which is left when the call ended).
CREATE VIEW call_steps AS
SELECT c.reference_id AS reference_id, v.key AS seq, v.value AS step,
  CASE WHEN json_array_length(c.record, '$.visited_ms') = json_array_length(c.record, '$.visited')
    THEN json_extract(c.record, '$.visited_ms[' || v.key || ']') END AS entered_ms,
  CASE WHEN json_array_length(c.record, '$.visited_ms') = json_array_length(c.record, '$.visited')
    THEN coalesce(json_extract(c.record, '$.visited_ms[' || (v.key + 1) || ']'), c.ended_ms) END AS left_ms,
  json_extract(c.record, '$.visited[' || (v.key + 1) || ']') AS next_step
FROM calls c, json_each(c.record, '$.visited') v;

-- Every entry the caller made, in order: digits (terminators removed; a sensitive entry's mask)
-- and what became of it (accepted, refused, invalid, no_input, repeat, interrupted).
CREATE VIEW call_answers AS
SELECT c.reference_id AS reference_id, a.key AS seq, json_extract(a.value, '$.step') AS step,
  json_extract(a.value, '$.digits') AS digits, json_extract(a.value, '$.result') AS result,
  json_extract(a.value, '$.at_ms') AS at_ms
FROM calls c, json_each(c.record, '$.answers') a;

-- What a version before this one writes to the old tables: nothing now (see the top).
CREATE TRIGGER call_steps_insert INSTEAD OF INSERT ON call_steps BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER call_steps_delete INSTEAD OF DELETE ON call_steps BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER call_answers_insert INSTEAD OF INSERT ON call_answers BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER call_answers_delete INSTEAD OF DELETE ON call_answers BEGIN SELECT RAISE(IGNORE); END;
