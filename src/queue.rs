//! The campaign queue: the core's [`DialQueue`] port over the Cloudflare Queue producer, and the
//! consumer, which runs each message of a batch through the core's campaign [`Consumer`] and acks
//! or retries it on its own.

use ivr_core::api::campaigns::DialMessage;
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::pipeline::campaign::Consumer;
use ivr_core::pipeline::ports::DialQueue;

use crate::env::{config, console, setup, CampaignClock, Env, QUEUE_BINDING};
use crate::io::{perform, Op};
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::Sessions;

/// How long a message waits before it is tried again after an error of ours (KV, a campaign not
/// yet visible where the consumer runs).
const MESSAGE_RETRY_SECS: u32 = 30;

/// The campaign queue's producer (known to be bound). Messages are sent as JSON text.
pub struct WorkerQueue(());

impl WorkerQueue {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        if env.has(QUEUE_BINDING) {
            Ok(WorkerQueue(()))
        } else {
            Err(ApiError::new(
                ErrorCode::NotConfigured,
                format!("the queue binding {QUEUE_BINDING} is missing"),
            ))
        }
    }

    async fn send(&self, bodies: &[String], delay_secs: Option<u32>) -> Result<(), ApiError> {
        let op = Op::QueueSend {
            binding: QUEUE_BINDING,
            bodies,
            delay_secs,
        };
        perform(op)
            .await
            .map(drop)
            .map_err(|e| ApiError::new(ErrorCode::QueueUnavailable, e))
    }
}

fn text(message: &DialMessage) -> Result<String, ApiError> {
    serde_json::to_string(message).map_err(|e| ApiError::internal(e.to_string()))
}

impl DialQueue for WorkerQueue {
    async fn send_batch(&self, messages: &[DialMessage]) -> Result<(), ApiError> {
        let texts = messages.iter().map(text).collect::<Result<Vec<_>, _>>()?;
        self.send(&texts, None).await
    }

    async fn send_later(&self, message: &DialMessage, delay_secs: u32) -> Result<(), ApiError> {
        self.send(&[text(message)?], Some(delay_secs)).await
    }
}

/// Acks the `index`-th message of the batch, or has it tried again later.
async fn settle(index: usize, retry: bool) {
    let op = Op::Settle {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        retry_secs: retry.then_some(MESSAGE_RETRY_SECS),
    };
    if let Err(e) = perform(op).await {
        console::error(&format!("campaign consumer: settling a message: {e}"));
    }
}

/// Handles one batch (the messages' bodies, in order). Every message is acked or retried on its
/// own; nothing here fails the batch.
pub async fn consume(bodies: Vec<String>, env: Env) {
    let config = config(&env);
    let opened = Kv::open(&env).and_then(|kv| {
        let sessions = Sessions::open(&env, config, &kv)?;
        Ok((Records::open(&kv, &env), sessions, WorkerQueue::open(&env)?))
    });
    let (records, sessions, queue) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            console::error(&format!("campaign consumer not configured: {}", e.message));
            for index in 0..bodies.len() {
                settle(index, true).await;
            }
            return;
        }
    };
    let pipeline = setup(&env).pipeline(&sessions, &records);
    let clock = CampaignClock::of(&env);
    let mut consumer = Consumer::new(&pipeline, &queue, &clock);
    for (index, body) in bodies.iter().enumerate() {
        let Ok(parsed) = ivr_core::json::read::<DialMessage>(body.as_bytes()) else {
            console::error(&format!(
                "campaign consumer: dropping the unreadable message {index} of its batch"
            ));
            settle(index, false).await;
            continue;
        };
        let result = consumer.process(&parsed).await;
        for line in consumer.log.drain(..) {
            console::log(&line);
        }
        if let Err(e) = &result {
            console::error(&format!(
                "campaign {}: {e}; message retried",
                parsed.campaign
            ));
        }
        settle(index, result.is_err()).await;
    }
}
