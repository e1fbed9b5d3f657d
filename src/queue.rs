//! The campaign queue: the core's [`DialQueue`] port over the Cloudflare Queue producer, and the
//! consumer entry point, which runs each message through the core's campaign [`Consumer`] and
//! acks or retries it on its own.

use worker::{
    console_error, console_log, Env, MessageBatch, MessageBuilder, MessageExt, Queue,
    QueueRetryOptionsBuilder,
};

use ivr_core::api::campaigns::DialMessage;
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::pipeline::campaign::Consumer;
use ivr_core::pipeline::ports::DialQueue;

use crate::env::{config, setup, CampaignClock, QUEUE_BINDING};
use crate::kv::Kv;
use crate::records::Records;
use crate::sessions::Sessions;

/// How long a message waits before it is tried again after an error of ours (KV, a campaign not
/// yet visible where the consumer runs).
const MESSAGE_RETRY_SECS: u32 = 30;

/// The campaign queue's producer. Messages are sent as JSON text, so the queue never sees a JS
/// `Map`.
pub struct WorkerQueue(Queue);

impl WorkerQueue {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        env.queue(QUEUE_BINDING).map(WorkerQueue).map_err(|e| {
            ApiError::new(
                ErrorCode::NotConfigured,
                format!("queue binding {QUEUE_BINDING}: {e}"),
            )
        })
    }
}

fn text(message: &DialMessage) -> Result<String, ApiError> {
    serde_json::to_string(message).map_err(|e| ApiError::internal(e.to_string()))
}

fn refused(e: worker::Error) -> ApiError {
    ApiError::new(ErrorCode::QueueUnavailable, e.to_string())
}

impl DialQueue for WorkerQueue {
    async fn send_batch(&self, messages: &[DialMessage]) -> Result<(), ApiError> {
        let texts = messages.iter().map(text).collect::<Result<Vec<_>, _>>()?;
        self.0.send_batch(texts).await.map_err(refused)
    }

    async fn send_later(&self, message: &DialMessage, delay_secs: u32) -> Result<(), ApiError> {
        let message = MessageBuilder::new(text(message)?)
            .delay_seconds(delay_secs)
            .build();
        self.0.send(message).await.map_err(refused)
    }
}

/// Handles one batch. Every message is acked or retried on its own; nothing here fails the batch.
pub async fn consume(batch: MessageBatch<String>, env: Env) -> worker::Result<()> {
    let config = config(&env);
    let retry = QueueRetryOptionsBuilder::new()
        .with_delay_seconds(MESSAGE_RETRY_SECS)
        .build();
    let opened = Kv::open(&env).and_then(|kv| {
        let sessions = Sessions::open(&env, config, &kv)?;
        Ok((Records::open(&kv, &env), sessions, WorkerQueue::open(&env)?))
    });
    let (records, sessions, queue) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            console_error!("campaign consumer not configured: {}", e.message);
            batch.retry_all_with_options(&retry);
            return Ok(());
        }
    };
    let pipeline = setup(&env).pipeline(&sessions, &records);
    let clock = CampaignClock::of(&env);
    let mut consumer = Consumer::new(&pipeline, &queue, &clock);
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
        let result = consumer.process(&parsed).await;
        for line in consumer.log.drain(..) {
            console_log!("{line}");
        }
        match result {
            Ok(()) => message.ack(),
            Err(e) => {
                console_error!("campaign {}: {e}; message retried", parsed.campaign);
                message.retry_with_options(&retry);
            }
        }
    }
    Ok(())
}
