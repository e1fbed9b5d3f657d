//! Call records and campaign results: the core's [`CallRecords`] port over D1 (`CALLS_DB`) and
//! KV. A record goes to D1 when its call ends; if D1 fails, to KV under `call:<id>`, from
//! where the scheduled handler ([`maintain`]) moves it to D1. Reading a record looks in D1,
//! then under `call:<id>` (the outbox, and records of versions before D1, which [`maintain`]
//! moves too). Pending outbound calls and campaigns stay in KV.

use serde::Deserialize;
use serde_json::json;

use ivr_core::api::campaigns::{
    self, Campaign, CampaignState, Counts, Member, NumberEntry, NumberState, QueuedNumber,
};
use ivr_core::api::erase::{self, Erased, Erasure};
use ivr_core::engine::{CallRecord, Session};
use ivr_core::error::ApiError;
use ivr_core::pipeline::keys::*;
use ivr_core::pipeline::ports::CallRecords;
use ivr_core::records::sql;

use crate::d1::{CallsDb, DbResult};
use crate::env::{console, Env};
use crate::kv::Kv;

/// The stores of what outlives a call. D1 is opened when first needed: most events never
/// touch it (only a call's end, and the call API's reads).
#[derive(Clone)]
pub struct Records {
    pub kv: Kv,
    env: Env,
    db: std::cell::OnceCell<Result<CallsDb, ApiError>>,
}

#[derive(Deserialize)]
struct RecordRow {
    record: String,
}

/// A row of [`sql::control_state`].
#[derive(Deserialize)]
struct ControlRow {
    state: CampaignState,
}

/// A row of [`sql::recent_calls_of`].
#[derive(Deserialize)]
struct RefRow {
    reference_id: String,
}

/// A row of [`sql::record_exists`].
#[derive(Deserialize)]
struct Found {}

#[derive(Deserialize)]
struct StateRow {
    state: NumberState,
    n: u32,
}

/// How many records one run of the scheduled handler moves from KV to D1, and how many old
/// rows it deletes: well within a scheduled invocation's limits (an assumption: 1000
/// subrequests per invocation on the paid plan, 50 on the free one; D1 calls count).
pub const MOVES_PER_RUN: u64 = 40;
const DELETES_PER_RUN: u32 = 5_000;

impl Records {
    pub fn open(kv: &Kv, env: &Env) -> Self {
        Records {
            kv: kv.clone(),
            env: env.clone(),
            db: std::cell::OnceCell::new(),
        }
    }

    /// The database; an error when the binding is missing (records then wait in the outbox).
    pub fn db(&self) -> Result<&CallsDb, ApiError> {
        self.db
            .get_or_init(|| CallsDb::open(&self.env))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The D1 rows this request read and wrote so far, if it used D1.
    pub fn d1_rows(&self) -> Option<ivr_core::log::D1Rows> {
        self.db.get()?.as_ref().ok().map(CallsDb::counted)
    }

    /// Writes a record to D1 (one statement).
    pub async fn write_to_db(&self, record: &CallRecord) -> Result<(), ApiError> {
        let document = serde_json::to_string(record)
            .map_err(|e| ApiError::new(ivr_core::error::ErrorCode::InternalError, e.to_string()))?;
        self.db()?
            .batch(&[sql::write_record(record, &document, &self.mark_key())])
            .await
            .map(drop)
    }

    /// The key erasures mark numbers with, from the Telesign API key.
    fn mark_key(&self) -> Vec<u8> {
        let config = crate::env::config(&self.env);
        erase::mark_key(config.api_key.as_ref().map_or("", |key| key.as_str()))
    }

    /// A campaign's counts, from its numbers' rows.
    pub async fn campaign_counts(&self, campaign: &Campaign) -> Result<Counts, ApiError> {
        let rows: Vec<StateRow> = self.db()?.rows(&sql::number_states(&campaign.id)).await?;
        Ok(campaigns::counts(
            campaign.total,
            rows.into_iter()
                .flat_map(|r| std::iter::repeat_n(r.state, r.n as usize)),
        ))
    }
}

impl CallRecords for Records {
    async fn pending(&self, external_id: &str) -> Result<Option<Session>, ApiError> {
        self.kv.get_json(&pending_key(external_id)).await
    }
    async fn save_pending(&self, external_id: &str, session: &Session) -> Result<(), ApiError> {
        self.kv
            .put_json(&pending_key(external_id), session, PENDING_TTL_SECS)
            .await
    }
    async fn delete_pending(&self, external_id: &str) -> Result<(), ApiError> {
        self.kv
            .delete(&pending_key(external_id), "deleting the pending call")
            .await
    }
    async fn record(&self, reference_id: &str) -> Result<Option<CallRecord>, ApiError> {
        if let Ok(db) = self.db() {
            if let Ok(rows) = db.rows::<RecordRow>(&sql::record(reference_id)).await {
                if let Some(row) = rows.first() {
                    return ivr_core::json::read(row.record.as_bytes())
                        .map(Some)
                        .map_err(|e| {
                            ApiError::new(
                                ivr_core::error::ErrorCode::StoredDataUnreadable,
                                format!("the record of {reference_id}: {e}"),
                            )
                        });
                }
            }
        }
        // Not in D1 (or D1 failing): the outbox, or a record of an earlier version.
        self.kv.get_json(&record_key(reference_id)).await
    }
    /// A replayed `incoming_call` is checked on every call's first event: one indexed lookup in
    /// D1 and one KV read, not the record itself.
    async fn record_exists(&self, reference_id: &str) -> Result<bool, ApiError> {
        if let Ok(db) = self.db() {
            if let Ok(rows) = db.rows::<Found>(&sql::record_exists(reference_id)).await {
                if !rows.is_empty() {
                    return Ok(true);
                }
            }
        }
        Ok(self
            .kv
            .get_json::<serde::de::IgnoredAny>(&record_key(reference_id))
            .await?
            .is_some())
    }
    async fn save_record(&self, record: &CallRecord, ttl_secs: u64) -> Result<(), ApiError> {
        match self.write_to_db(record).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let line = json!({"level": "warn", "event": "record_outbox",
                                  "reference_id": record.reference_id, "error": e.message});
                console::warn(&line.to_string());
                self.kv
                    .put_json(&record_key(&record.reference_id), record, ttl_secs)
                    .await
            }
        }
    }
    async fn erase(
        &self,
        erasure: &Erasure,
        now_ms: u64,
        recent_ms: u64,
    ) -> Result<(Erased, Vec<String>), ApiError> {
        let db = self.db()?;
        let recent: Vec<String> = match erasure.number() {
            Some(number) => {
                let rows: Vec<RefRow> = db.rows(&sql::recent_calls_of(&number, recent_ms)).await?;
                rows.into_iter().map(|r| r.reference_id).collect()
            }
            None => Vec::new(),
        };
        let results = db
            .batch(&sql::erase(erasure, now_ms, &self.mark_key()))
            .await?;
        let changes = results.get(sql::ERASED_CALLS).map(|r| r.changes);
        let mut erased = Erased {
            records: changes.unwrap_or(0),
            ..Erased::default()
        };
        // The outbox and records of versions before D1, then outbound calls being dialled.
        let (outbox, pending) = match erasure {
            Erasure::Call(id) => (vec![record_key(id)], vec![pending_key(id)]),
            Erasure::Number(_) => (
                self.kv.list_all(RECORD_PREFIX).await?,
                self.kv.list_all(PENDING_PREFIX).await?,
            ),
        };
        for key in outbox {
            let record: Option<CallRecord> = self.kv.get_json(&key).await?;
            if record.is_some_and(|r| erasure.covers(&r)) {
                self.kv.delete(&key, "erasing a record").await?;
                erased.outbox += 1;
            }
        }
        for key in pending {
            let session: Option<Session> = self.kv.get_json(&key).await?;
            if session
                .is_some_and(|s| erasure.covers_session(&s) || matches!(erasure, Erasure::Call(_)))
            {
                self.kv.delete(&key, "erasing a pending call").await?;
                erased.pending += 1;
            }
        }
        Ok((erased, recent))
    }
    async fn claim_number(
        &self,
        campaign: &str,
        index: u32,
        to: &str,
        attempt: u32,
        now_ms: u64,
    ) -> Result<bool, ApiError> {
        let statement = sql::claim_number(campaign, index, to, attempt, now_ms);
        let results = self.db()?.batch(&[statement]).await?;
        Ok(results.first().is_some_and(|r| r.changes > 0))
    }
    async fn campaign_state(&self, campaign: &str) -> Result<CampaignState, ApiError> {
        let rows: Vec<ControlRow> = self.db()?.rows(&sql::control_state(campaign)).await?;
        Ok(rows.first().map_or(CampaignState::Running, |r| r.state))
    }
    async fn set_campaign_state(
        &self,
        campaign: &str,
        state: CampaignState,
        now_ms: u64,
    ) -> Result<(CampaignState, CampaignState), ApiError> {
        let results = self
            .db()?
            .batch(&sql::set_control(campaign, state, now_ms))
            .await?;
        let state_of = |result: Option<&DbResult>| -> Result<CampaignState, ApiError> {
            let rows: Vec<ControlRow> = match result {
                Some(result) => result.rows()?,
                None => Vec::new(),
            };
            Ok(rows.first().map_or(CampaignState::Running, |r| r.state))
        };
        Ok((state_of(results.first())?, state_of(results.last())?))
    }
    async fn release_number(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        redial_ms: Option<u64>,
    ) -> Result<(), ApiError> {
        self.db()?
            .batch(&[sql::release_number(campaign, entry, redial_ms)])
            .await
            .map(drop)
    }
    async fn due_redials(&self, now_ms: u64, limit: u32) -> Result<Vec<QueuedNumber>, ApiError> {
        self.db()?.rows(&sql::due_redials(now_ms, limit)).await
    }
    async fn clear_redials(&self, numbers: &[(String, u32)], now_ms: u64) -> Result<(), ApiError> {
        self.db()?
            .batch(&[sql::clear_redials(numbers, now_ms)])
            .await
            .map(drop)
    }
    async fn queued_numbers(
        &self,
        campaign: &str,
        after: Option<u32>,
        limit: u32,
    ) -> Result<Vec<QueuedNumber>, ApiError> {
        self.db()?
            .rows(&sql::queued_numbers(campaign, after, limit))
            .await
    }
    async fn queue_numbers(
        &self,
        campaign: &str,
        members: &[Member],
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let statements: Vec<_> = members
            .chunks(sql::QUEUE_CHUNK)
            .zip((0u32..).step_by(sql::QUEUE_CHUNK))
            .map(|(chunk, first)| sql::queue_numbers(campaign, first, chunk, now_ms))
            .collect();
        // A few statements per batch keep each call to D1 small.
        for batch in statements.chunks(10) {
            self.db()?.batch(batch).await?;
        }
        Ok(())
    }
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, ApiError> {
        self.kv.get_json(&campaign_key(id)).await
    }
    async fn save_campaign(&self, campaign: &Campaign, ttl_secs: u64) -> Result<(), ApiError> {
        self.kv
            .put_json(&campaign_key(&campaign.id), campaign, ttl_secs)
            .await
    }
    async fn number_entry(
        &self,
        campaign: &str,
        index: u32,
    ) -> Result<Option<NumberEntry>, ApiError> {
        let rows: Vec<NumberEntry> = self.db()?.rows(&sql::number(campaign, index)).await?;
        Ok(rows.into_iter().next())
    }
    async fn save_number_entry(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        _ttl_secs: u64,
    ) -> Result<(), ApiError> {
        self.db()?
            .batch(&[sql::save_number(campaign, entry)])
            .await
            .map(drop)
    }
}

/// Moves up to `limit` records kept in KV under `prefix` into D1, each deleted from KV only
/// after D1 took it; answers how many moved and whether more may be left.
pub async fn move_to_db(
    records: &Records,
    prefix: &str,
    limit: u64,
) -> Result<(u64, bool), ApiError> {
    let keys = records.kv.list(prefix, limit).await?;
    let full = keys.len() as u64 >= limit;
    let mut moved = 0;
    for key in keys {
        if let Some(record) = records.kv.get_json::<CallRecord>(&key).await? {
            records.write_to_db(&record).await?;
            moved += 1;
        }
        records.kv.delete(&key, "deleting a moved record").await?;
    }
    Ok((moved, full))
}

/// The scheduled handler's work: records waiting in the outbox (and records of versions before
/// D1) moved to D1, then rows older than `CALL_RECORD_RETENTION_DAYS` deleted. A record is
/// deleted from KV only after D1 took it.
pub async fn maintain(records: &Records, now_ms: u64, retention_days: u64) -> Result<(), ApiError> {
    let (moved, _) = move_to_db(records, RECORD_PREFIX, MOVES_PER_RUN).await?;
    let before_ms = now_ms.saturating_sub(retention_days * 86_400_000);
    records
        .db()?
        .batch(&sql::retention(before_ms, DELETES_PER_RUN))
        .await?;
    let line = json!({"level": "info", "event": "records_maintained", "moved": moved,
                      "deleted_before_ms": before_ms});
    console::log(&line.to_string());
    Ok(())
}
