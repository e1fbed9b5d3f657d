//! Campaigns over the ports: starting one (`POST /campaigns`: store it, queue its numbers) and
//! consuming its queue messages (dial each number whose window is open at the configured pace,
//! send the numbers that wait for their start or window back to the queue delayed, fail those
//! whose window does not open before the end, reschedule a number whose dial hit a 429, a 5xx
//! or a timeout as a new one-number message delayed with backoff, and record each number's
//! result).
//!
//! Queues deliver at least once; each number's result entry, checked before dialling, keeps a
//! redelivered message from ringing anyone twice.

use std::collections::HashMap;

use crate::api::calls::{failed_dial_record, DialFailure, Placing};
use crate::api::campaigns::{
    self, Campaign, CampaignRequest, CampaignState, Control, DialMessage, MessageNumber,
    NumberEntry, NumberState, Progress, When,
};
use crate::engine::CallOutcome;
use crate::error::{ApiError, ErrorCode};
use crate::log::mask_number;
use crate::telesign::PhoneNumber;

use super::ports::{CallRecords, Clock, DialQueue, Http, SessionStore, Sleep};
use super::Pipeline;

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// Stores the campaign `id` and queues its numbers; answers how many were queued. A queue
    /// failure part-way is `queue_unavailable`, saying how many numbers were queued before it.
    pub async fn start_campaign(
        &self,
        request: CampaignRequest,
        id: String,
        now_ms: u64,
        queue: &impl DialQueue,
    ) -> Result<usize, ApiError> {
        let total = request.members.len();
        if request.end_ms.is_some_and(|end| end <= now_ms) {
            return Err(ApiError::new(
                ErrorCode::ScheduleConflict,
                "`end_at` has passed: the campaign would dial nobody",
            ));
        }
        let campaign = Campaign {
            id: id.clone(),
            flow: request.flow,
            caller_id: request.caller_id.e164(),
            vars: request.vars,
            options: request.options,
            // At most MAX_NUMBERS, checked by the parser.
            total: u32::try_from(total).unwrap_or(u32::MAX),
            created_ms: now_ms,
            start_ms: request.start_ms,
            window: request.window,
            end_ms: request.end_ms,
            redial: request.redial,
        };
        self.records
            .save_campaign(&campaign, self.config.record_ttl_secs())
            .await?;
        // Every number has its row from the start: its results, and what a paused campaign
        // queues again.
        self.records
            .queue_numbers(&id, &request.members, now_ms)
            .await?;
        let messages = campaigns::messages(&id, &request.members);
        let mut queued = 0;
        for batch in messages.chunks(campaigns::SEND_BATCH) {
            queue.send_batch(batch).await.map_err(|e| {
                ApiError::new(
                    ErrorCode::QueueUnavailable,
                    format!(
                        "campaign {id}: {queued} of {total} numbers were queued: {}",
                        e.message
                    ),
                )
            })?;
            queued += batch.iter().map(|m| m.numbers.len()).sum::<usize>();
        }
        Ok(total)
    }
}

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// `POST /campaigns/<id>/pause`, `/resume`, `/cancel`: moves the campaign to the control's
    /// state and answers it, with how many numbers a resume queued again. Idempotent: pausing a
    /// paused campaign changes nothing; a cancelled one is `409 campaign_cancelled` to anything
    /// but a cancel. Resuming a paused campaign queues every number still queued again (not one
    /// whose dial is in flight: it is `dialing`); a number queued twice (its old message was
    /// still in the queue) is dialled once, as the consumer claims each number.
    pub async fn control_campaign(
        &self,
        id: &str,
        control: Control,
        now_ms: u64,
        queue: &impl DialQueue,
    ) -> Result<(CampaignState, usize), ApiError> {
        let records = self.records;
        let (before, state) = records
            .set_campaign_state(id, control.target(), now_ms)
            .await?;
        if state != control.target() {
            return Err(ApiError::new(
                ErrorCode::CampaignCancelled,
                format!(
                    "campaign {id} was cancelled: it cannot be {}d",
                    control.as_str()
                ),
            ));
        }
        // Only a resume of a paused campaign queues anything: a running one's numbers are in the
        // queue (or waiting for a retry's delay, which a resume must not cut short).
        if control != Control::Resume || before != CampaignState::Paused {
            return Ok((state, 0));
        }
        let mut requeued = 0;
        let mut after = None;
        loop {
            let page = records.queued_numbers(id, after, RESUME_PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.index);
            let messages = campaigns::requeue_messages(id, &page);
            for batch in messages.chunks(campaigns::SEND_BATCH) {
                queue.send_batch(batch).await.map_err(|e| {
                    ApiError::new(
                        ErrorCode::QueueUnavailable,
                        format!(
                            "campaign {id} is running again, but only {requeued} numbers were \
                             queued again: {}; resume it again",
                            e.message
                        ),
                    )
                })?;
                requeued += batch.iter().map(|m| m.numbers.len()).sum::<usize>();
            }
            if page.len() < RESUME_PAGE as usize {
                break;
            }
        }
        Ok((state, requeued))
    }
}

/// How many queued numbers a resume reads at a time.
const RESUME_PAGE: u32 = 1_000;
/// How many due redials one run of the cron queues at most: the rest wait for the next run.
pub const REDIALS_PER_RUN: u32 = 1_000;

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// Records what a webhook event did to its campaign number. A call not answered (Telesign's
    /// `dial_completed` `failed`, which says no answer, busy and failed alike) of a campaign that
    /// redials, with dials left, goes back to `queued` and waits for its redial time, when the
    /// cron queues it ([`queue_redials`]); any other progress moves the number forward.
    pub async fn progress_number(&self, progress: Progress, now_ms: u64) -> Result<(), ApiError> {
        let Progress {
            campaign,
            mut entry,
        } = progress;
        let records = self.records;
        let redial = match entry.outcome {
            Some(CallOutcome::DialFailed) => records.campaign(&campaign).await?.map(|c| c.redial),
            _ => None,
        };
        let Some(redial) = redial.filter(|r| r.attempts > 1) else {
            return self.advance_number(&campaign, entry).await;
        };
        let row = records.number_entry(&campaign, entry.index).await?;
        match &row {
            Some(row) if row.state == NumberState::Dialing && row.attempts < redial.attempts => {
                entry.state = NumberState::Queued;
                entry.attempts = row.attempts;
                let at = now_ms + u64::from(redial.after_secs) * 1000;
                records.release_number(&campaign, &entry, Some(at)).await
            }
            _ => self.advance_from(&campaign, row.as_ref(), entry).await,
        }
    }
}

/// The cron's part in campaigns: queues the numbers whose redial is due at `now_ms`, as a resume
/// does (a paused or cancelled campaign's are then dropped by the consumer's claim), then clears
/// their redial times. A failure between the two leaves them due: the next run queues them again,
/// and the claim dials each once. Answers how many were queued.
pub async fn queue_redials(
    records: &impl CallRecords,
    queue: &impl DialQueue,
    now_ms: u64,
) -> Result<usize, ApiError> {
    let mut due = records.due_redials(now_ms, REDIALS_PER_RUN).await?;
    // Each campaign's numbers together, in order: runs of them share a message.
    crate::sort::by(&mut due, |a, b| {
        (&a.campaign, a.index).cmp(&(&b.campaign, b.index))
    });
    let mut messages = Vec::new();
    for numbers in due.chunk_by(|a, b| a.campaign == b.campaign) {
        messages.extend(campaigns::requeue_messages(&numbers[0].campaign, numbers));
    }
    for batch in messages.chunks(campaigns::SEND_BATCH) {
        queue.send_batch(batch).await?;
    }
    let queued: Vec<(String, u32)> = due.iter().map(|n| (n.campaign.clone(), n.index)).collect();
    if !queued.is_empty() {
        records.clear_redials(&queued, now_ms).await?;
    }
    Ok(queued.len())
}

/// One invocation of the campaign queue consumer: it paces its dials from the moment it
/// started, and reads each campaign once.
pub struct Consumer<'p, 'a, S, R, H, Q, C> {
    pub pipeline: &'p Pipeline<'a, S, R, H>,
    pub queue: &'p Q,
    pub clock: &'p C,
    started_ms: u64,
    /// Dials sent by this invocation, for pacing.
    dials: u64,
    campaigns: HashMap<String, Campaign>,
    /// One line per number dialled or given up, for the worker's log.
    pub log: Vec<String>,
}

impl<'p, 'a, S, R, H, Q, C> Consumer<'p, 'a, S, R, H, Q, C>
where
    S: SessionStore,
    R: CallRecords,
    H: Http,
    Q: DialQueue,
    C: Clock + Sleep,
{
    pub fn new(pipeline: &'p Pipeline<'a, S, R, H>, queue: &'p Q, clock: &'p C) -> Self {
        Self {
            pipeline,
            queue,
            clock,
            started_ms: clock.now_ms(),
            dials: 0,
            campaigns: HashMap::new(),
            log: Vec::new(),
        }
    }

    /// Dials the numbers of one message that have not been dialled at its attempt and whose
    /// window is open; those that wait for their start or window go back to the queue. An error
    /// is ours (the store, the queue, a campaign not readable yet): the message is to be retried.
    pub async fn process(&mut self, message: &DialMessage) -> Result<(), ApiError> {
        let campaign = self.campaign(&message.campaign).await?;
        let mut waiting = Vec::new();
        let mut opens = u64::MAX;
        for number in message.indexed() {
            let now = self.clock.now_ms();
            let dial = match campaign.when(number.time_zone, now) {
                When::Now => true,
                When::Never => false,
                When::At(at) => {
                    opens = opens.min(at);
                    waiting.push(number);
                    continue;
                }
            };
            // A number dialled (or claimed) already, or of a paused or cancelled campaign, is
            // skipped: the claim reads both in one statement.
            let records = self.pipeline.records;
            let (index, to) = (number.index, number.to);
            if !records
                .claim_number(&campaign.id, index, to, message.attempt, now)
                .await?
            {
                continue;
            }
            if dial {
                self.dial(&campaign, number, message.attempt).await?;
            } else {
                self.outside_window(&campaign, number, message.attempt)
                    .await?;
            }
        }
        if !waiting.is_empty() {
            self.wait(&campaign, message.attempt, &waiting, opens)
                .await?;
        }
        Ok(())
    }

    /// Sends numbers that wait for their start or window back to the queue, delayed until the
    /// first of them may be dialled, an hour at most at a time (the longest delay this worker
    /// sends a message with, retries included): a far opening comes back once an hour and
    /// waits again. A paused campaign's numbers are queued again by its resume, and a cancelled
    /// one's have failed: theirs are dropped.
    async fn wait(
        &mut self,
        campaign: &Campaign,
        attempt: u32,
        numbers: &[MessageNumber<'_>],
        opens: u64,
    ) -> Result<(), ApiError> {
        let state = self.pipeline.records.campaign_state(&campaign.id).await?;
        if state != CampaignState::Running {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let delay = opens
            .saturating_sub(now)
            .div_ceil(1000)
            .clamp(1, campaigns::MAX_RETRY_DELAY_SECS);
        let delay = u32::try_from(delay).unwrap_or(u32::MAX);
        let reason = match campaign.start_ms.is_some_and(|start| start > now) {
            true => "its start",
            false => "their window",
        };
        self.log.push(format!(
            "campaign {}: {} numbers wait {delay} s for {reason}",
            campaign.id,
            numbers.len()
        ));
        let numbers = numbers.iter().map(|n| (attempt, *n));
        for message in campaigns::pack(&campaign.id, numbers) {
            self.queue.send_later(&message, delay).await?;
        }
        Ok(())
    }

    /// Fails a claimed number whose window does not open before the campaign's end.
    async fn outside_window(
        &mut self,
        campaign: &Campaign,
        number: MessageNumber<'_>,
        attempt: u32,
    ) -> Result<(), ApiError> {
        let label = format!(
            "campaign {} #{} {}",
            campaign.id,
            number.index,
            mask_number(number.to)
        );
        self.log
            .push(format!("{label}: its window does not open before the end"));
        let mut entry = NumberEntry::queued(number.index, number.to, self.clock.now_ms());
        entry.state = NumberState::Failed;
        entry.attempts = attempt + 1;
        entry.outcome = Some(CallOutcome::OutsideWindow);
        self.pipeline.advance_number(&campaign.id, entry).await
    }

    async fn campaign(&mut self, id: &str) -> Result<Campaign, ApiError> {
        if let Some(campaign) = self.campaigns.get(id) {
            return Ok(campaign.clone());
        }
        let campaign = self.pipeline.records.campaign(id).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::CampaignNotVisible,
                "the campaign is not readable yet",
            )
        })?;
        self.campaigns.insert(id.to_owned(), campaign.clone());
        Ok(campaign)
    }

    async fn dial(
        &mut self,
        campaign: &Campaign,
        number: MessageNumber<'_>,
        attempt: u32,
    ) -> Result<(), ApiError> {
        let MessageNumber { index, to, .. } = number;
        let pipeline = self.pipeline;
        let mut entry = NumberEntry {
            index,
            to: Some(to.to_owned()),
            state: NumberState::Failed,
            attempts: attempt + 1,
            reference_id: None,
            outcome: None,
            status: None,
            updated_ms: 0,
        };
        let (Ok(to_number), Ok(caller_id)) = (
            PhoneNumber::parse(to),
            PhoneNumber::parse(&campaign.caller_id),
        ) else {
            entry.outcome = Some(CallOutcome::InvalidNumber);
            entry.updated_ms = self.clock.now_ms();
            return pipeline.advance_number(&campaign.id, entry).await;
        };
        if pipeline.registry.outbound(&campaign.flow).is_none() {
            // The flow was removed by a deploy after the campaign started.
            entry.outcome = Some(CallOutcome::UnknownFlow);
            entry.updated_ms = self.clock.now_ms();
            return pipeline.advance_number(&campaign.id, entry).await;
        }
        self.wait_for_slot().await;
        let placing = Placing {
            flow: campaign.flow.clone(),
            to: to_number,
            caller_id,
            // The campaign's vars, and the number's own over them.
            vars: {
                let mut vars = campaign.vars.clone();
                vars.extend(number.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
                vars
            },
            external_id: campaigns::member_external_id(&campaign.id, index),
            options: campaign.options.clone(),
        };
        let now_ms = self.clock.now_ms();
        entry.updated_ms = now_ms;
        let label = format!("campaign {} #{index} {}", campaign.id, mask_number(to));
        match pipeline.place_call(&placing, now_ms).await? {
            Ok(placed) => {
                self.log.push(format!("{label}: dial accepted"));
                entry.state = NumberState::Dialing;
                entry.reference_id = Some(placed.accepted.reference_id);
            }
            Err(failure) => {
                self.log.push(format!("{label}: {failure}"));
                entry.outcome = Some(failure.outcome());
                entry.status = failure.telesign_status().map(str::to_owned);
                let max_attempts = pipeline.config.campaign_max_attempts;
                if failure.is_transient() && attempt + 1 < max_attempts {
                    self.reschedule(campaign, &number, attempt, &failure)
                        .await?;
                    // Claimed (`dialing`) for this attempt: queued again for the next.
                    entry.state = NumberState::Queued;
                    let records = pipeline.records;
                    return records.release_number(&campaign.id, &entry, None).await;
                } else {
                    let record = failed_dial_record(&placing, &failure, now_ms);
                    let ttl = pipeline.config.record_ttl_secs();
                    pipeline.records.save_record(&record, ttl).await?;
                }
            }
        }
        pipeline.advance_number(&campaign.id, entry).await
    }

    /// Sends the number again as a one-number message, after the backoff.
    async fn reschedule(
        &self,
        campaign: &Campaign,
        number: &MessageNumber<'_>,
        attempt: u32,
        failure: &DialFailure,
    ) -> Result<(), ApiError> {
        let delay = campaigns::retry_delay_secs(
            attempt,
            self.pipeline.config.campaign_retry_base_secs,
            failure.retry_after_secs(),
        );
        for message in campaigns::pack(&campaign.id, [(attempt + 1, *number)]) {
            self.queue.send_later(&message, delay).await?;
        }
        Ok(())
    }

    /// Waits until this invocation may send its next dial (`CAMPAIGN_DIALS_PER_SECOND`).
    async fn wait_for_slot(&mut self) {
        let per_second = self.pipeline.config.campaign_dials_per_second;
        let due = self.started_ms + campaigns::dial_slot_ms(self.dials, per_second);
        self.dials += 1;
        let now = self.clock.now_ms();
        if due > now {
            self.clock.sleep_ms(due - now).await;
        }
    }
}
