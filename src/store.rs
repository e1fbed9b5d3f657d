//! Sessions and call records in Workers KV, stored as JSON text (the `worker` crate's generic
//! `put` would turn maps into JS `Map`s, which serialize as `{}`).
//!
//! Keys: `session:<reference_id>` while a call lasts (TTL [`SESSION_TTL_SECS`], a little over
//! Telesign's four-hour call limit), `call:<reference_id>` for the record of a finished call (TTL
//! from `CALL_RECORD_RETENTION_DAYS`).

use serde::{de::DeserializeOwned, Serialize};
use worker::kv::KvStore;
use worker::Env;

use crate::engine::{CallRecord, Session};
use crate::error::ApiError;

/// The KV binding.
pub const BINDING: &str = "SESSIONS";
/// Telesign ends every call after four hours; sessions live five.
pub const SESSION_TTL_SECS: u64 = 5 * 3600;

pub fn session_key(reference_id: &str) -> String {
    format!("session:{reference_id}")
}

pub fn record_key(reference_id: &str) -> String {
    format!("call:{reference_id}")
}

/// The session and call-record store.
pub struct Store {
    kv: KvStore,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(503, "store_unavailable", format!("{what}: {e}"))
}

impl Store {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        env.kv(BINDING).map(|kv| Self { kv }).map_err(|e| {
            ApiError::new(
                500,
                "store_not_configured",
                format!("KV binding {BINDING}: {e}"),
            )
        })
    }

    pub async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
        self.get_json(&session_key(reference_id)).await
    }

    pub async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        self.put_json(
            &session_key(&session.reference_id),
            session,
            SESSION_TTL_SECS,
        )
        .await
    }

    pub async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        self.kv
            .delete(&session_key(reference_id))
            .await
            .map_err(|e| unavailable("deleting the session", e))
    }

    pub async fn record(&self, reference_id: &str) -> Result<Option<CallRecord>, ApiError> {
        self.get_json(&record_key(reference_id)).await
    }

    pub async fn save_record(&self, record: &CallRecord, ttl_secs: u64) -> Result<(), ApiError> {
        self.put_json(&record_key(&record.reference_id), record, ttl_secs)
            .await
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        let text = self
            .kv
            .get(key)
            .text()
            .await
            .map_err(|e| unavailable("reading", e))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                ApiError::new(
                    500,
                    "stored_data_unreadable",
                    format!("{key} is not readable: {e}"),
                )
            })
        })
        .transpose()
    }

    async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_secs: u64,
    ) -> Result<(), ApiError> {
        let text = serde_json::to_string(value)
            .map_err(|e| ApiError::new(500, "internal_error", format!("encoding {key}: {e}")))?;
        self.kv
            .put(key, text)
            .map_err(|e| unavailable("writing", e))?
            .expiration_ttl(ttl_secs)
            .execute()
            .await
            .map_err(|e| unavailable("writing", e))
    }
}
