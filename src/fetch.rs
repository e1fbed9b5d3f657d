//! Outbound HTTP with the Workers `fetch` (through [`crate::io`]), for flows' `fetch` steps and
//! the dials sent to Telesign: the core's [`Http`] port.

use serde::Deserialize;

use ivr_core::flow::{FetchRequest, FetchResponse};
use ivr_core::pipeline::ports::{Http, HttpError};

use crate::io::{perform, Op};

/// The Workers `fetch`.
pub struct WorkerHttp;

/// What `src/js/io.mjs` answers for a request (`{"answered":{...}}`, `"timeout"`,
/// `{"failed":{...}}`: serde's own form of an enum, which it reads without first buffering the
/// whole object as an internally tagged enum's `"outcome"` field would need).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Exchange {
    Answered {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Timeout,
    Failed {
        message: String,
    },
}

impl Http for WorkerHttp {
    async fn send(
        &self,
        request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        let failed = |message: String| HttpError::Failed { message };
        let op = Op::Fetch {
            request,
            timeout_ms,
        };
        let answer = perform(op).await.map_err(failed)?;
        let exchange = ivr_core::json::read(answer.as_deref().unwrap_or_default().as_bytes())
            .map_err(|e| failed(format!("an unreadable answer: {e}")))?;
        match exchange {
            Exchange::Answered {
                status,
                headers,
                body,
            } => Ok(FetchResponse {
                status,
                headers,
                body,
            }),
            Exchange::Timeout => Err(HttpError::Timeout {
                after_ms: timeout_ms,
            }),
            Exchange::Failed { message } => Err(HttpError::Failed { message }),
        }
    }
}
