//! Outbound calls: `POST /calls`, `GET /calls/<id>`, and the placing of one call (for the call
//! API and the campaign consumer alike), which stores the call's session as *pending* under its
//! external id, sends the `dial` to Telesign with a timeout, and on `dial_accepted` stores the
//! session under the `reference_id` Telesign gave.
//!
//! The pending entry is written before the dial so that a `dial_completed` that arrives before
//! the session is written still finds its flow (the webhook falls back to it by the external id
//! Telesign echoes). A failed dial removes it, so nothing is left that a late event could run.

use crate::api::body::outbound_flow;
use crate::api::calls::{
    dial_action, failed_dial_record, valid_call_id, CallView, DialFailure, Placing,
};
use crate::api::erase::{Erased, Erasure};
use crate::engine;
use crate::error::{ApiError, ErrorCode};
use crate::flow::{FetchRequest, FetchResponse};
use crate::telesign::{dial_request, interpret_dial_response, DialAccepted};

use super::keys::SESSION_TTL_SECS;
use super::ports::{CallRecords, Http, HttpError, SessionStore};
use super::Pipeline;
use crate::log::RequestLog;

/// Telesign's answers are a few hundred bytes; anything much larger is not one.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// A dial Telesign accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub accepted: DialAccepted,
    /// Set when the session could not be stored under the reference id: the call then runs
    /// from its pending entry, which expires after `PENDING_TTL_SECS`.
    pub warning: Option<&'static str>,
}

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// Places the call. The outer error is ours (configuration, store); the inner one is the
    /// dial's.
    pub async fn place_call(
        &self,
        placing: &Placing,
        now_ms: u64,
    ) -> Result<Result<Placed, DialFailure>, ApiError> {
        let config = self.config;
        let (Some(customer_id), Some(api_key)) = (&config.customer_id, &config.api_key) else {
            return Err(ApiError::new(
                ErrorCode::NotConfigured,
                "TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY must be set to place calls",
            ));
        };
        let flow = outbound_flow(self.registry, &placing.flow)?;
        let dial = dial_action(placing)?;
        let request = dial_request(
            config.telesign_api_url.as_deref(),
            customer_id,
            api_key.as_str(),
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
        self.records
            .save_pending(&placing.external_id, &session)
            .await?;

        let request = FetchRequest::post_json(request.url, request.body)
            .header("authorization", &request.authorization)
            .header("accept", "application/json");
        let answer = self.http.send(&request, config.dial_timeout_ms).await;
        let accepted = match answer {
            Ok(answer) => read_answer(&answer),
            Err(HttpError::Timeout { after_ms }) => Err(DialFailure::Timeout { after_ms }),
            Err(HttpError::Failed { message }) => Err(DialFailure::Unreachable { message }),
        };
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(failure) => {
                // Without its pending entry, an event of a call placed despite the error (a
                // timeout) is answered as an unknown call: hung up, not run twice.
                self.records.delete_pending(&placing.external_id).await?;
                return Ok(Err(failure));
            }
        };
        accepted.reference_id.clone_into(&mut session.reference_id);
        session.saved_ms = Some(self.clock.now_ms());
        // A dial_completed handled from the pending entry may already have moved the call on.
        let stored = match self.sessions.session(&accepted.reference_id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => self.sessions.save_session(&session).await,
            Err(e) => Err(e),
        };
        let warning = match stored {
            Ok(()) => self
                .records
                .delete_pending(&placing.external_id)
                .await
                .err()
                .map(|_| "pending call entry not deleted; it expires on its own"),
            Err(_) => Some("session not stored; the call runs from its pending entry"),
        };
        Ok(Ok(Placed { accepted, warning }))
    }
}

/// Telesign's answer to the dial: accepted, or why not.
fn read_answer(answer: &FetchResponse) -> Result<DialAccepted, DialFailure> {
    let body = answer.body.as_bytes();
    let body = &body[..body.len().min(MAX_ANSWER_BYTES)];
    interpret_dial_response(answer.status, answer.header("retry-after"), body)
        .map_err(DialFailure::Telesign)
}

impl<S: SessionStore, R: CallRecords, H: Http> Pipeline<'_, S, R, H> {
    /// `POST /calls`: places the requested call. A dial that starts no call leaves its record
    /// (under the external id) and is answered with the error its failure maps to.
    pub async fn call(&self, placing: &Placing, now_ms: u64) -> Result<Placed, ApiError> {
        match self.place_call(placing, now_ms).await? {
            Ok(placed) => Ok(placed),
            Err(failure) => {
                let record = failed_dial_record(placing, &failure, now_ms);
                let ttl = self.config.record_ttl_secs();
                self.records.save_record(&record, ttl).await?;
                let mut error = failure.to_error();
                error.message = format!(
                    "{}; the call record is GET /calls/{}",
                    error.message, record.reference_id
                );
                Err(error)
            }
        }
    }

    /// `DELETE /calls/<id>`, `DELETE /calls?number=`: deletes what is kept of the calls
    /// `erasure` covers, and marks them so that a call still live is not kept when it ends (see
    /// [`crate::api::erase`]). Idempotent. The log line names the call, never the number.
    pub async fn erase(
        &self,
        erasure: &Erasure,
        now_ms: u64,
        log: &mut RequestLog,
    ) -> Result<Erased, ApiError> {
        // Held lookups' outcomes live as long as a session may: older calls have none left.
        let recent_ms = now_ms.saturating_sub(SESSION_TTL_SECS * 1000);
        let (mut erased, mut calls) = self.records.erase(erasure, now_ms, recent_ms).await?;
        if let Erasure::Call(id) = erasure {
            log.reference_id = Some(id.clone());
            let live = self.sessions.session(id).await?.is_some();
            erased.live = Some(live);
            // A live call's lookups are its own until it ends, which deletes them.
            if !live && !calls.contains(id) {
                calls.push(id.clone());
            }
        }
        for id in &calls {
            erased.lookups += self.sessions.erase_lookups(id).await?;
        }
        log.note = Some("erased".into());
        Ok(erased)
    }

    /// `GET /calls/<id>`: the live session, else the final record. A live call's sealed values
    /// show as `"sealed"`: which sensitive entries it holds, not even their sealed text.
    pub async fn call_view(&self, id: &str) -> Result<CallView, ApiError> {
        let not_found = || ApiError::new(ErrorCode::CallNotFound, format!("no call {id}"));
        if !valid_call_id(id) {
            return Err(not_found());
        }
        Ok(match self.sessions.session(id).await? {
            Some(mut session) => {
                for text in session.sealed.values_mut() {
                    "sealed".clone_into(text);
                }
                CallView::Live(Box::new(session))
            }
            None => CallView::Ended(Box::new(
                self.records.record(id).await?.ok_or_else(not_found)?,
            )),
        })
    }
}
