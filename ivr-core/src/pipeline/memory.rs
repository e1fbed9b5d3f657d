//! The ports in memory, for host tests, benchmarks and fuzzing: a store that fails on demand
//! ([`Fault`]), an HTTP peer that answers from a script and keeps what it was sent, a queue that
//! keeps its messages, and a clock that only moves when slept on. Nothing here waits, so a future
//! of the pipeline over these completes in one poll ([`run`]).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::api::campaigns::{
    should_dial, Campaign, CampaignState, DialMessage, Member, NumberEntry, NumberState,
    QueuedNumber,
};
use crate::api::erase::{marks_of, Erased, Erasure};
use crate::engine::{CallOutcome, CallRecord, LookupOutcome, Session};
use crate::error::ApiError;
use crate::flow::{FetchRequest, FetchResponse};

use super::ports::{CallRecords, Clock, DialQueue, Http, HttpError, SessionStore, Sleep};

/// Runs a future whose I/O is all in memory. Panics if it would wait, which the ports here
/// never do.
pub fn run<T>(future: impl Future<Output = T>) -> T {
    match pin!(future)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("in-memory I/O never waits"),
    }
}

/// A campaign number's own vars and time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Own {
    pub vars: BTreeMap<String, String>,
    pub time_zone: Option<String>,
}

/// An operation of [`Memory`] that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ReadLookup,
    SaveLookup,
    ReadSession,
    SaveSession,
    DeleteSession,
    ReadRecord,
    SaveRecord,
    SavePending,
    DeletePending,
    ReadNumber,
    SaveNumber,
    Queue,
}

/// Sessions, records, pending calls, campaigns and the campaign queue, in memory.
#[derive(Debug, Default)]
pub struct Memory {
    pub sessions: RefCell<BTreeMap<String, Session>>,
    /// The outcomes of held lookups, by call and index.
    pub lookups: RefCell<BTreeMap<(String, u32), LookupOutcome>>,
    pub pending: RefCell<BTreeMap<String, Session>>,
    pub records: RefCell<BTreeMap<String, CallRecord>>,
    pub campaigns: RefCell<BTreeMap<String, Campaign>>,
    /// (campaign, index) to the number's result.
    pub numbers: RefCell<BTreeMap<(String, u32), NumberEntry>>,
    /// (campaign, index) to the number's own vars and time zone.
    pub number_own: RefCell<BTreeMap<(String, u32), Own>>,
    /// (campaign, index) to when the number, not answered, is dialled again.
    pub redials: RefCell<BTreeMap<(String, u32), u64>>,
    /// Messages sent to the queue, with their delay.
    pub queued: RefCell<Vec<(DialMessage, u32)>>,
    /// Campaigns' states (none: running).
    pub controls: RefCell<BTreeMap<String, CampaignState>>,
    /// The sessions play a call's Durable Object (its events one at a time, its storage counted
    /// as the object's), not KV.
    pub durable: Cell<bool>,
    /// How many storage operations of each kind the worker's stores would run for the port calls
    /// made so far (`KV read`, `D1 query`, ...): what a flow or a campaign costs.
    pub ops: RefCell<BTreeMap<&'static str, u64>>,
    /// The key numbers' erasure marks are made with (the worker derives its own from the Telesign
    /// API key).
    pub mark_key: Vec<u8>,
    /// Erasures' marks, with when they were made.
    pub erasures: RefCell<BTreeMap<String, u64>>,
    /// The operations that fail (with `store_unavailable`) until they are removed.
    pub faults: RefCell<Vec<Fault>>,
    /// Each session key's writes, by the time the pipeline stamped on them (`saved_ms`). As KV
    /// does, a write less than a second after the key's last one is refused; and one without a
    /// time, which the next write could not be spaced from.
    pub session_writes: RefCell<BTreeMap<String, Vec<u64>>>,
}

impl Memory {
    /// Makes `fault` fail from now on.
    pub fn fail(&self, fault: Fault) {
        self.faults.borrow_mut().push(fault);
    }

    /// Lets every operation succeed again.
    pub fn heal(&self) {
        self.faults.borrow_mut().clear();
    }

    fn count(&self, op: &'static str) {
        *self.ops.borrow_mut().entry(op).or_default() += 1;
    }

    fn check(&self, op: Fault) -> Result<(), ApiError> {
        if self.faults.borrow().contains(&op) {
            Err(ApiError::store_unavailable(format!(
                "injected fault: {op:?}"
            )))
        } else {
            Ok(())
        }
    }

    /// A session operation's name, in KV or in a Durable Object's storage.
    fn session_op(&self, kv: &'static str, object: &'static str) -> &'static str {
        if self.durable.get() {
            object
        } else {
            kv
        }
    }

    /// A number's row as `records::sql::queued_numbers` reads it (none once erased).
    fn queued_number(&self, key: &(String, u32), entry: &NumberEntry) -> Option<QueuedNumber> {
        let own = self.number_own.borrow();
        let own = own.get(key);
        Some(QueuedNumber {
            campaign: key.0.clone(),
            index: key.1,
            to: entry.to.clone()?,
            vars: own
                .filter(|o| !o.vars.is_empty())
                .and_then(|o| serde_json::to_string(&o.vars).ok()),
            time_zone: own.and_then(|o| o.time_zone.clone()),
            attempts: entry.attempts,
        })
    }
}

/// KV's own limit: one write a second to a key (`KV_WRITE_SPACING_MS` adds a margin to it).
const KV_WRITES_PER_KEY_MS: u64 = 1_000;

impl SessionStore for Memory {
    fn one_event_at_a_time(&self) -> bool {
        self.durable.get()
    }
    fn one_write_a_second_per_key(&self) -> bool {
        !self.durable.get()
    }
    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
        self.count(self.session_op("KV read", "DO storage read"));
        self.check(Fault::ReadSession)?;
        Ok(self.sessions.borrow().get(reference_id).cloned())
    }
    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        self.count(self.session_op("KV write", "DO storage write"));
        self.check(Fault::SaveSession)?;
        let mut writes = self.session_writes.borrow_mut();
        let times = writes.entry(session.reference_id.clone()).or_default();
        if !self.durable.get() {
            let Some(at) = session.saved_ms else {
                return Err(ApiError::internal("a session written without saved_ms"));
            };
            if times
                .last()
                .is_some_and(|&last| at < last + KV_WRITES_PER_KEY_MS)
            {
                return Err(ApiError::store_unavailable(
                    "KV PUT failed: 429 Too Many Requests (one write a second per key)",
                ));
            }
        }
        times.extend(session.saved_ms);
        let mut sessions = self.sessions.borrow_mut();
        sessions.insert(session.reference_id.clone(), session.clone());
        Ok(())
    }
    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        self.count(self.session_op("KV delete", "DO storage delete"));
        self.check(Fault::DeleteSession)?;
        self.sessions.borrow_mut().remove(reference_id);
        Ok(())
    }
    async fn lookup(
        &self,
        reference_id: &str,
        index: u32,
    ) -> Result<Option<LookupOutcome>, ApiError> {
        self.count("KV read");
        self.check(Fault::ReadLookup)?;
        let lookups = self.lookups.borrow();
        Ok(lookups.get(&(reference_id.to_owned(), index)).cloned())
    }
    async fn save_lookup(
        &self,
        reference_id: &str,
        outcome: &LookupOutcome,
    ) -> Result<(), ApiError> {
        self.count("KV write");
        self.check(Fault::SaveLookup)?;
        let key = (reference_id.to_owned(), outcome.index);
        self.lookups.borrow_mut().insert(key, outcome.clone());
        Ok(())
    }
    async fn delete_lookups(&self, reference_id: &str, indexes: &[u32]) -> Result<(), ApiError> {
        let mut lookups = self.lookups.borrow_mut();
        for index in indexes {
            lookups.remove(&(reference_id.to_owned(), *index));
        }
        Ok(())
    }
    async fn erase_lookups(&self, reference_id: &str) -> Result<u64, ApiError> {
        let mut lookups = self.lookups.borrow_mut();
        let before = lookups.len();
        lookups.retain(|(id, _), _| id != reference_id);
        Ok((before - lookups.len()) as u64)
    }
}

impl CallRecords for Memory {
    async fn pending(&self, external_id: &str) -> Result<Option<Session>, ApiError> {
        self.count("KV read");
        Ok(self.pending.borrow().get(external_id).cloned())
    }
    async fn save_pending(&self, external_id: &str, session: &Session) -> Result<(), ApiError> {
        self.count("KV write");
        self.check(Fault::SavePending)?;
        let mut pending = self.pending.borrow_mut();
        pending.insert(external_id.to_owned(), session.clone());
        Ok(())
    }
    async fn delete_pending(&self, external_id: &str) -> Result<(), ApiError> {
        self.count("KV delete");
        self.check(Fault::DeletePending)?;
        self.pending.borrow_mut().remove(external_id);
        Ok(())
    }
    async fn record(&self, reference_id: &str) -> Result<Option<CallRecord>, ApiError> {
        self.count("D1 query");
        self.check(Fault::ReadRecord)?;
        let record = self.records.borrow().get(reference_id).cloned();
        if record.is_none() {
            // The worker then looks in KV, where records wait while D1 refuses them.
            self.count("KV read");
        }
        Ok(record)
    }
    async fn save_record(&self, record: &CallRecord, _ttl_secs: u64) -> Result<(), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveRecord)?;
        // As the statement of `records::sql::write_record` decides.
        let started = record.started_ms.unwrap_or(record.ended_ms);
        let erasures = self.erasures.borrow();
        let erased = marks_of(record, &self.mark_key)
            .iter()
            .any(|mark| erasures.get(mark).is_some_and(|at| *at >= started));
        if !erased {
            let mut records = self.records.borrow_mut();
            records.insert(record.reference_id.clone(), record.clone());
        }
        Ok(())
    }
    async fn erase(
        &self,
        erasure: &Erasure,
        now_ms: u64,
        recent_ms: u64,
    ) -> Result<(Erased, Vec<String>), ApiError> {
        self.check(Fault::SaveRecord)?;
        self.erasures
            .borrow_mut()
            .insert(erasure.mark(&self.mark_key), now_ms);
        let mut erased = Erased::default();
        let mut recent = Vec::new();
        self.records.borrow_mut().retain(|id, record| {
            let covered = erasure.covers(record);
            if covered {
                erased.records += 1;
                if record.ended_ms >= recent_ms {
                    recent.push(id.clone());
                }
            }
            !covered
        });
        self.pending.borrow_mut().retain(|_, session| {
            let covered = erasure.covers_session(session);
            erased.pending += u64::from(covered);
            !covered
        });
        if let Some(number) = erasure.number() {
            let mut vars = self.number_own.borrow_mut();
            for (key, entry) in self.numbers.borrow_mut().iter_mut() {
                if entry.to.as_deref() == Some(number.as_str()) {
                    if entry.state == NumberState::Queued {
                        entry.state = NumberState::Failed;
                        entry.outcome = Some(CallOutcome::Erased);
                        entry.updated_ms = now_ms;
                    }
                    entry.to = None;
                    vars.remove(key);
                }
            }
        }
        Ok((erased, recent))
    }
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, ApiError> {
        self.count("KV read");
        Ok(self.campaigns.borrow().get(id).cloned())
    }
    async fn claim_number(
        &self,
        campaign: &str,
        index: u32,
        to: &str,
        attempt: u32,
        now_ms: u64,
    ) -> Result<bool, ApiError> {
        self.count("D1 query");
        self.check(Fault::ReadNumber)?;
        // As the statement of `records::sql::claim_number` decides.
        let running = self
            .controls
            .borrow()
            .get(campaign)
            .is_none_or(|s| *s == CampaignState::Running);
        let mut numbers = self.numbers.borrow_mut();
        let key = (campaign.to_owned(), index);
        if !running || !should_dial(numbers.get(&key), attempt) {
            return Ok(false);
        }
        let entry = numbers
            .entry(key)
            .or_insert_with(|| NumberEntry::queued(index, to, now_ms));
        if entry.to.is_none() {
            // Erased.
            return Ok(false);
        }
        entry.state = NumberState::Dialing;
        entry.attempts = attempt + 1;
        entry.updated_ms = now_ms;
        self.redials
            .borrow_mut()
            .remove(&(campaign.to_owned(), index));
        Ok(true)
    }
    async fn campaign_state(&self, campaign: &str) -> Result<CampaignState, ApiError> {
        self.count("D1 query");
        let controls = self.controls.borrow();
        Ok(controls
            .get(campaign)
            .copied()
            .unwrap_or(CampaignState::Running))
    }
    async fn set_campaign_state(
        &self,
        campaign: &str,
        state: CampaignState,
        now_ms: u64,
    ) -> Result<(CampaignState, CampaignState), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveNumber)?;
        let mut controls = self.controls.borrow_mut();
        let now = controls
            .entry(campaign.to_owned())
            .or_insert(CampaignState::Running);
        let before = *now;
        if *now != CampaignState::Cancelled {
            *now = state;
        }
        if *now == CampaignState::Cancelled {
            for ((id, _), entry) in self.numbers.borrow_mut().iter_mut() {
                if id == campaign && entry.state == NumberState::Queued {
                    entry.state = NumberState::Failed;
                    entry.outcome = Some(CallOutcome::Cancelled);
                    entry.updated_ms = now_ms;
                }
            }
        }
        Ok((before, *now))
    }
    async fn release_number(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        redial_ms: Option<u64>,
    ) -> Result<(), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveNumber)?;
        let mut numbers = self.numbers.borrow_mut();
        let key = (campaign.to_owned(), entry.index);
        let row = numbers.get_mut(&key);
        if let Some(row) =
            row.filter(|r| r.state == NumberState::Dialing && r.attempts == entry.attempts)
        {
            row.state = NumberState::Queued;
            row.outcome = entry.outcome;
            row.status.clone_from(&entry.status);
            row.updated_ms = entry.updated_ms;
            let mut redials = self.redials.borrow_mut();
            match redial_ms {
                Some(at) => redials.insert(key, at),
                None => redials.remove(&key),
            };
        }
        Ok(())
    }
    async fn due_redials(&self, now_ms: u64, limit: u32) -> Result<Vec<QueuedNumber>, ApiError> {
        self.count("D1 query");
        let mut due: Vec<(u64, (String, u32))> = self
            .redials
            .borrow()
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(key, at)| (*at, key.clone()))
            .collect();
        due.sort();
        let numbers = self.numbers.borrow();
        Ok(due
            .into_iter()
            .filter_map(|(_, key)| {
                let entry = numbers.get(&key)?;
                (entry.state == NumberState::Queued).then_some(())?;
                self.queued_number(&key, entry)
            })
            .take(limit as usize)
            .collect())
    }
    async fn clear_redials(&self, numbers: &[(String, u32)], now_ms: u64) -> Result<(), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveNumber)?;
        let mut redials = self.redials.borrow_mut();
        for key in numbers {
            if redials.get(key).is_some_and(|at| *at <= now_ms) {
                redials.remove(key);
            }
        }
        Ok(())
    }
    async fn queued_numbers(
        &self,
        campaign: &str,
        after: Option<u32>,
        limit: u32,
    ) -> Result<Vec<QueuedNumber>, ApiError> {
        let numbers = self.numbers.borrow();
        let redials = self.redials.borrow();
        Ok(numbers
            .iter()
            .filter(|((id, index), e)| {
                id == campaign
                    && e.state == NumberState::Queued
                    && !redials.contains_key(&(id.clone(), *index))
                    && e.to.is_some()
                    && after.is_none_or(|a| *index > a)
            })
            .take(limit as usize)
            .filter_map(|(key, e)| self.queued_number(key, e))
            .collect())
    }
    async fn queue_numbers(
        &self,
        campaign: &str,
        members: &[Member],
        now_ms: u64,
    ) -> Result<(), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveNumber)?;
        let mut numbers = self.numbers.borrow_mut();
        let mut own = self.number_own.borrow_mut();
        for (index, member) in (0u32..).zip(members) {
            if !member.vars.is_empty() || member.time_zone.is_some() {
                let number = Own {
                    vars: member.vars.clone(),
                    time_zone: member.time_zone.clone(),
                };
                own.insert((campaign.to_owned(), index), number);
            }
            numbers
                .entry((campaign.to_owned(), index))
                .or_insert_with(|| NumberEntry::queued(index, &member.to.e164(), now_ms));
        }
        Ok(())
    }
    async fn save_campaign(&self, campaign: &Campaign, _ttl_secs: u64) -> Result<(), ApiError> {
        self.count("KV write");
        let mut campaigns = self.campaigns.borrow_mut();
        campaigns.insert(campaign.id.clone(), campaign.clone());
        Ok(())
    }
    async fn number_entry(
        &self,
        campaign: &str,
        index: u32,
    ) -> Result<Option<NumberEntry>, ApiError> {
        self.count("D1 query");
        self.check(Fault::ReadNumber)?;
        let numbers = self.numbers.borrow();
        Ok(numbers.get(&(campaign.to_owned(), index)).cloned())
    }
    async fn save_number_entry(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        _ttl_secs: u64,
    ) -> Result<(), ApiError> {
        self.count("D1 batch");
        self.check(Fault::SaveNumber)?;
        let mut numbers = self.numbers.borrow_mut();
        numbers.insert((campaign.to_owned(), entry.index), entry.clone());
        Ok(())
    }
}

impl DialQueue for Memory {
    async fn send_batch(&self, messages: &[DialMessage]) -> Result<(), ApiError> {
        self.count("queue send");
        self.check(Fault::Queue)?;
        let mut queued = self.queued.borrow_mut();
        queued.extend(messages.iter().map(|m| (m.clone(), 0)));
        Ok(())
    }
    async fn send_later(&self, message: &DialMessage, delay_secs: u32) -> Result<(), ApiError> {
        self.count("queue send");
        self.check(Fault::Queue)?;
        self.queued.borrow_mut().push((message.clone(), delay_secs));
        Ok(())
    }
}

/// A clock that stands still until slept on.
#[derive(Debug, Default)]
pub struct ManualClock {
    pub now_ms: Cell<u64>,
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }
}

impl ManualClock {
    /// Moves the clock on by `ms`.
    pub fn advance(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get() + ms);
    }
}

impl Sleep for ManualClock {
    async fn sleep_ms(&self, ms: u64) {
        self.advance(ms);
    }
}

/// An HTTP peer that answers from a script, in order, and keeps every request it got. When the
/// script runs out it answers with `otherwise`.
pub struct ScriptedHttp {
    pub script: RefCell<VecDeque<Result<FetchResponse, HttpError>>>,
    pub otherwise: Result<FetchResponse, HttpError>,
    pub requests: RefCell<Vec<FetchRequest>>,
}

impl ScriptedHttp {
    /// A peer that always answers `answer`.
    pub fn always(answer: Result<FetchResponse, HttpError>) -> Self {
        Self {
            script: RefCell::default(),
            otherwise: answer,
            requests: RefCell::default(),
        }
    }

    /// Answers `answer` to the next request not yet answered by the script.
    pub fn then(self, answer: Result<FetchResponse, HttpError>) -> Self {
        self.script.borrow_mut().push_back(answer);
        self
    }
}

impl Http for ScriptedHttp {
    async fn send(
        &self,
        request: &FetchRequest,
        _timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        let next = self.script.borrow_mut().pop_front();
        next.unwrap_or_else(|| self.otherwise.clone())
    }
}
