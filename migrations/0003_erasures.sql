-- Erasures (DELETE /calls/<id>, DELETE /calls?number=): one mark per erased call (`call:<id>`)
-- or number (`number:<an HMAC of its E.164 form, keyed from the Telesign API key>`: the number
-- itself is not kept), with when it was
-- erased. A record is written only if no mark of its call or numbers is at or after the call's
-- start, so a call live during its erasure (or a record waiting in the outbox) is not kept.
-- Marks are deleted with the records, after CALL_RECORD_RETENTION_DAYS.
CREATE TABLE erasures (
  mark TEXT PRIMARY KEY,
  erased_ms INTEGER NOT NULL
) WITHOUT ROWID;
