//! The campaign queue consumer: dials the numbers of each message at the configured pace,
//! reschedules a number whose dial hit a 429, a 5xx or a timeout (a new one-number message,
//! delayed with backoff), and records each number's result.
//!
//! Queues deliver at least once; each number's result entry, checked before dialling, keeps a
//! redelivered message from ringing anyone twice.

use std::collections::HashMap;
use std::time::Duration;

use worker::{
    console_error, console_log, Date, Delay, Env, MessageBatch, MessageBuilder, MessageExt, Queue,
    QueueRetryOptionsBuilder,
};

use crate::durable::Sessions;
use crate::env::registry;
use crate::store::Store;
use ivr_core::config::Config;
use ivr_core::error::ApiError;
use ivr_core::log::mask_number;
use ivr_core::telesign::PhoneNumber;

use super::dialer;
use super::handlers::QUEUE_BINDING;
use ivr_core::api::calls::{self, DialFailure, Placing};
use ivr_core::api::campaigns::{self, Campaign, DialMessage, NumberEntry, NumberState};

/// How long a message waits before it is tried again after an error of ours (KV, a campaign not
/// yet visible where the consumer runs).
const MESSAGE_RETRY_SECS: u32 = 30;

/// Handles one batch. Every message is acked or retried on its own; nothing here fails the batch.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> worker::Result<()> {
    let config = crate::env::config(&env);
    let retry = QueueRetryOptionsBuilder::new()
        .with_delay_seconds(MESSAGE_RETRY_SECS)
        .build();
    let opened = (
        Store::open(&env),
        Sessions::open(&env, config),
        env.queue(QUEUE_BINDING),
    );
    let (store, sessions, queue) = match opened {
        (Ok(store), Ok(sessions), Ok(queue)) => (store, sessions, queue),
        (store, sessions, queue) => {
            let why = store
                .err()
                .or(sessions.err())
                .map(|e| e.message)
                .or(queue.err().map(|e| e.to_string()));
            console_error!(
                "campaign consumer not configured: {}",
                why.unwrap_or_default()
            );
            batch.retry_all_with_options(&retry);
            return Ok(());
        }
    };
    let mut consumer = Consumer {
        store,
        sessions,
        queue,
        config,
        started_ms: Date::now().as_millis(),
        dials: 0,
        campaigns: HashMap::new(),
    };
    for message in batch.raw_iter() {
        let parsed = message
            .body()
            .as_string()
            .and_then(|text| serde_json::from_str::<DialMessage>(&text).ok());
        let Some(parsed) = parsed else {
            console_error!(
                "campaign consumer: dropping an unreadable message {}",
                message.id()
            );
            message.ack();
            continue;
        };
        match consumer.process(&parsed).await {
            Ok(()) => message.ack(),
            Err(e) => {
                console_error!("campaign {}: {e}; message retried", parsed.campaign);
                message.retry_with_options(&retry);
            }
        }
    }
    Ok(())
}

struct Consumer {
    store: Store,
    sessions: Sessions,
    queue: Queue,
    config: &'static Config,
    started_ms: u64,
    /// Dials sent by this invocation, for pacing.
    dials: u64,
    campaigns: HashMap<String, Campaign>,
}

impl Consumer {
    async fn process(&mut self, message: &DialMessage) -> Result<(), ApiError> {
        let campaign = self.campaign(&message.campaign).await?;
        for (index, to) in message.indexed() {
            let existing = self.store.number_entry(&campaign.id, index).await?;
            if campaigns::should_dial(existing.as_ref(), message.attempt) {
                self.dial(&campaign, index, to, message.attempt).await?;
            }
        }
        Ok(())
    }

    async fn campaign(&mut self, id: &str) -> Result<Campaign, ApiError> {
        if let Some(campaign) = self.campaigns.get(id) {
            return Ok(campaign.clone());
        }
        let campaign = self.store.campaign(id).await?.ok_or_else(|| {
            ApiError::new(
                503,
                "campaign_not_visible",
                "the campaign is not readable yet",
            )
        })?;
        self.campaigns.insert(id.to_owned(), campaign.clone());
        Ok(campaign)
    }

    async fn dial(
        &mut self,
        campaign: &Campaign,
        index: u32,
        to: &str,
        attempt: u32,
    ) -> Result<(), ApiError> {
        let ttl = self.config.record_ttl_secs();
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
            entry.outcome = Some("invalid_number".to_owned());
            entry.updated_ms = Date::now().as_millis();
            return self
                .store
                .update_number_entry(&campaign.id, entry, ttl)
                .await;
        };
        if registry().outbound(&campaign.flow).is_none() {
            // The flow was removed by a deploy after the campaign started.
            entry.outcome = Some("unknown_flow".to_owned());
            entry.updated_ms = Date::now().as_millis();
            return self
                .store
                .update_number_entry(&campaign.id, entry, ttl)
                .await;
        }
        self.wait_for_slot().await;
        let placing = Placing {
            flow: campaign.flow.clone(),
            to: to_number,
            caller_id,
            vars: campaign.vars.clone(),
            external_id: campaigns::member_external_id(&campaign.id, index),
        };
        let now_ms = Date::now().as_millis();
        entry.updated_ms = now_ms;
        match dialer::place(&self.store, &self.sessions, self.config, &placing, now_ms).await? {
            Ok(placed) => {
                console_log!(
                    "campaign {} #{index} {}: dial accepted",
                    campaign.id,
                    mask_number(to)
                );
                entry.state = NumberState::Dialing;
                entry.reference_id = Some(placed.accepted.reference_id);
            }
            Err(failure) => {
                console_log!(
                    "campaign {} #{index} {}: {failure}",
                    campaign.id,
                    mask_number(to)
                );
                entry.outcome = Some(failure.outcome().to_owned());
                entry.status = failure.telesign_status().map(str::to_owned);
                if failure.is_transient() && attempt + 1 < self.config.campaign_max_attempts {
                    self.reschedule(campaign, index, to, attempt, &failure)
                        .await?;
                    entry.state = NumberState::Queued;
                } else {
                    let record = calls::failed_dial_record(&placing, &failure, now_ms);
                    self.store.save_record(&record, ttl).await?;
                }
            }
        }
        self.store
            .update_number_entry(&campaign.id, entry, ttl)
            .await
    }

    /// Sends the number again as a one-number message, after the backoff.
    async fn reschedule(
        &self,
        campaign: &Campaign,
        index: u32,
        to: &str,
        attempt: u32,
        failure: &DialFailure,
    ) -> Result<(), ApiError> {
        let delay = campaigns::retry_delay_secs(
            attempt,
            self.config.campaign_retry_base_secs,
            failure.retry_after_secs(),
        );
        let message = DialMessage {
            campaign: campaign.id.clone(),
            first: index,
            numbers: vec![to.to_owned()],
            attempt: attempt + 1,
        };
        let text = serde_json::to_string(&message)
            .map_err(|e| ApiError::new(500, "internal_error", e.to_string()))?;
        self.queue
            .send(MessageBuilder::new(text).delay_seconds(delay).build())
            .await
            .map_err(|e| ApiError::new(503, "queue_unavailable", e.to_string()))
    }

    /// Waits until this invocation may send its next dial (`CAMPAIGN_DIALS_PER_SECOND`).
    async fn wait_for_slot(&mut self) {
        let due = self.started_ms
            + campaigns::dial_slot_ms(self.dials, self.config.campaign_dials_per_second);
        self.dials += 1;
        let now = Date::now().as_millis();
        if due > now {
            Delay::from(Duration::from_millis(due - now)).await;
        }
    }
}
