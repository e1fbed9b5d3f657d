-- Call records and campaign results in D1 (binding CALLS_DB). Applied by
--   npx wrangler d1 migrations apply CALLS_DB --local    (scripts/setup.sh does this)
--   npx wrangler d1 migrations apply CALLS_DB --remote   (before the first deploy; README, Deploy)
-- and by the test harness (scripts/harness/worker.mjs). Statements: ivr-core/src/records/sql.rs.

-- One row per finished call. `record` is the call record as GET /calls/<id> answers it (JSON);
-- the other columns are what the filters of GET /calls and the stats read.
CREATE TABLE calls (
  reference_id TEXT PRIMARY KEY,
  flow TEXT,
  direction TEXT,
  from_number TEXT,
  to_number TEXT,
  external_id TEXT,
  outcome TEXT NOT NULL,
  status TEXT,
  started_ms INTEGER,
  ended_ms INTEGER NOT NULL,
  duration INTEGER,
  record TEXT NOT NULL
);
-- Newest first, with the keyset cursor (ended_ms, reference_id); per flow for the stats.
CREATE INDEX calls_by_end ON calls (ended_ms, reference_id);
CREATE INDEX calls_by_flow ON calls (flow, ended_ms);
CREATE INDEX calls_by_from ON calls (from_number, ended_ms);
CREATE INDEX calls_by_to ON calls (to_number, ended_ms);

-- Every step a call entered, in order: when it entered and left (NULL in records of sessions
-- written before steps were timed) and the step entered next (NULL for the last one).
CREATE TABLE call_steps (
  reference_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  entered_ms INTEGER,
  left_ms INTEGER,
  next_step TEXT,
  PRIMARY KEY (reference_id, seq)
) WITHOUT ROWID;

-- Every entry the caller made: digits (terminators removed) and what became of it
-- (accepted, refused, invalid, no_input, repeat, interrupted).
CREATE TABLE call_answers (
  reference_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  digits TEXT NOT NULL,
  result TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (reference_id, seq)
) WITHOUT ROWID;

-- The result of each number of a campaign (the campaign itself is in KV, campaign:<id>).
-- `rank` orders the states (queued 0, dialing 1, answered 2, completed/failed 3): a write never
-- lowers it, and a final one is never replaced.
CREATE TABLE campaign_numbers (
  campaign_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  to_number TEXT,
  state TEXT NOT NULL,
  rank INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  reference_id TEXT,
  outcome TEXT,
  status TEXT,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, idx)
);
CREATE INDEX campaign_numbers_by_update ON campaign_numbers (updated_ms);
