//! Places one outbound call, for `POST /calls` and the campaign consumer alike: stores the
//! call's session as *pending* under its external id, sends the `dial` to Telesign with a
//! timeout, and on `dial_accepted` stores the session under the `reference_id` Telesign gave.
//!
//! The pending entry is written before the dial so that a `dial_completed` that arrives before
//! the session is written still finds its flow (`/webhook` falls back to it by the external id
//! Telesign echoes). A failed dial removes it, so nothing is left that a late event could run.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::env::registry;
use crate::store::Store;
use ivr_core::config::Config;
use ivr_core::engine;
use ivr_core::error::ApiError;
use ivr_core::pipeline::ports::SessionStore;
use ivr_core::telesign::{dial_request, interpret_dial_response, DialAccepted, DialRequest};

use ivr_core::api::calls::{dial_action, DialFailure, Placing};

/// Telesign's answers are a few hundred bytes; anything much larger is not one.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// A dial Telesign accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub accepted: DialAccepted,
    /// Set when the session could not be stored under the reference id: the call then runs
    /// from its pending entry, which expires after `PENDING_TTL_SECS`.
    pub warning: Option<&'static str>,
}

/// Places the call. The outer error is ours (configuration, store); the inner one is the dial's.
pub async fn place(
    store: &Store,
    sessions: &impl SessionStore,
    config: &Config,
    placing: &Placing,
    now_ms: u64,
) -> Result<Result<Placed, DialFailure>, ApiError> {
    let (Some(customer_id), Some(api_key)) = (&config.customer_id, &config.api_key) else {
        return Err(ApiError::new(
            500,
            "not_configured",
            "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY must be set to place calls",
        ));
    };
    let flow = ivr_core::api::body::outbound_flow(registry(), &placing.flow)?;
    let dial = dial_action(&placing.to, &placing.caller_id, &placing.external_id)?;
    let request = dial_request(
        config.telesign_api_url.as_deref(),
        customer_id,
        api_key,
        &dial,
    );
    let mut session = engine::outbound_session(
        flow,
        "",
        &placing.to.e164(),
        &placing.caller_id.e164(),
        Some(&placing.external_id),
        placing.vars.clone(),
        now_ms,
    );
    store.save_pending(&placing.external_id, &session).await?;

    let answer = send(&request, config.dial_timeout_ms).await;
    let accepted = answer.and_then(|(status, retry_after, body)| {
        interpret_dial_response(status, retry_after.as_deref(), &body)
            .map_err(DialFailure::Telesign)
    });
    let accepted = match accepted {
        Ok(accepted) => accepted,
        Err(failure) => {
            // Without its pending entry, an event of a call placed despite the error (a
            // timeout) is answered as an unknown call: hung up, not run twice.
            store.delete_pending(&placing.external_id).await?;
            return Ok(Err(failure));
        }
    };
    accepted.reference_id.clone_into(&mut session.reference_id);
    // A dial_completed handled from the pending entry may already have moved the call on.
    let stored = match sessions.session(&accepted.reference_id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => sessions.save_session(&session).await,
        Err(e) => Err(e),
    };
    let warning = match stored {
        Ok(()) => store
            .delete_pending(&placing.external_id)
            .await
            .err()
            .map(|_| "pending call entry not deleted; it expires on its own"),
        Err(_) => Some("session not stored; the call runs from its pending entry"),
    };
    Ok(Ok(Placed { accepted, warning }))
}

/// Sends the dial and reads Telesign's answer: HTTP status, `Retry-After`, body.
async fn send(
    request: &DialRequest,
    timeout_ms: u64,
) -> Result<(u16, Option<String>, Vec<u8>), DialFailure> {
    let unreachable = |e: worker::Error| DialFailure::Unreachable {
        message: e.to_string(),
    };
    let headers = Headers::new();
    for (name, value) in [
        ("authorization", request.authorization.as_str()),
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ] {
        headers.set(name, value).map_err(unreachable)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(request.body.as_str().into()));
    let req = Request::new_with_init(&request.url, &init).map_err(unreachable)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
        let retry_after = resp.headers().get("retry-after")?;
        let mut body = resp.bytes().await?;
        body.truncate(MAX_ANSWER_BYTES);
        Ok::<_, worker::Error>((resp.status_code(), retry_after, body))
    };
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    futures_util::pin_mut!(exchange);
    match select(exchange, timeout).await {
        Either::Left((answer, _)) => answer.map_err(unreachable),
        Either::Right(((), _)) => {
            controller.abort();
            Err(DialFailure::Timeout {
                after_ms: timeout_ms,
            })
        }
    }
}
