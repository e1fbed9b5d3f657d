//! Workers KV (through [`crate::io`]): the core's session port, and the values
//! [`crate::records`] keeps in KV, as JSON text; the key layout is [`ivr_core::pipeline::keys`].

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use ivr_core::engine::{LookupOutcome, Session};
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::pipeline::keys::*;
use ivr_core::pipeline::ports::SessionStore;

use crate::env::{Env, KV_BINDING};
use crate::io::{perform, stored, Op};

/// The KV namespace (known to be bound).
#[derive(Clone)]
pub struct Kv(());

fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, format!("{what}: {e}"))
}

/// A page of a listing.
#[derive(Deserialize)]
struct Page {
    keys: Vec<String>,
    cursor: Option<String>,
    complete: bool,
}

impl Kv {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        env.require(KV_BINDING, "this worker")?;
        Ok(Kv(()))
    }

    pub async fn delete(&self, key: &str, what: &str) -> Result<(), ApiError> {
        let op = Op::KvDelete {
            binding: KV_BINDING,
            key,
        };
        perform(op)
            .await
            .map(drop)
            .map_err(|e| unavailable(what, e))
    }

    async fn page(
        &self,
        prefix: &str,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<Page, ApiError> {
        let op = Op::KvList {
            binding: KV_BINDING,
            prefix,
            limit,
            cursor,
        };
        let text = perform(op).await.map_err(|e| unavailable("listing", e))?;
        ivr_core::json::read(text.as_deref().unwrap_or_default().as_bytes())
            .map_err(|e| unavailable("listing", e))
    }

    /// The first `limit` keys under `prefix` (KV caps a listing at 1000).
    pub async fn list(&self, prefix: &str, limit: u64) -> Result<Vec<String>, ApiError> {
        Ok(self.page(prefix, Some(limit), None).await?.keys)
    }

    /// Every key under `prefix`, page after page (for erasures, which must miss none).
    pub async fn list_all(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.page(prefix, None, cursor.as_deref()).await?;
            keys.extend(page.keys);
            match page.cursor.filter(|_| !page.complete) {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        let op = Op::KvGet {
            binding: KV_BINDING,
            key,
        };
        let text = perform(op).await.map_err(|e| unavailable("reading", e))?;
        stored(key, text)
    }

    pub async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_secs: u64,
    ) -> Result<(), ApiError> {
        let text = serde_json::to_string(value)
            .map_err(|e| ApiError::new(ErrorCode::InternalError, format!("encoding {key}: {e}")))?;
        let op = Op::KvPut {
            binding: KV_BINDING,
            key,
            value: &text,
            ttl: ttl_secs,
        };
        perform(op)
            .await
            .map(drop)
            .map_err(|e| unavailable("writing", e))
    }
}

impl SessionStore for Kv {
    async fn session(&self, reference_id: &str) -> Result<Option<Session>, ApiError> {
        self.get_json(&session_key(reference_id)).await
    }
    async fn save_session(&self, session: &Session) -> Result<(), ApiError> {
        let key = session_key(&session.reference_id);
        self.put_json(&key, session, SESSION_TTL_SECS).await
    }
    async fn delete_session(&self, reference_id: &str) -> Result<(), ApiError> {
        self.delete(&session_key(reference_id), "deleting the session")
            .await
    }
    async fn lookup(
        &self,
        reference_id: &str,
        index: u32,
    ) -> Result<Option<LookupOutcome>, ApiError> {
        self.get_json(&lookup_key(reference_id, index)).await
    }
    async fn save_lookup(
        &self,
        reference_id: &str,
        outcome: &LookupOutcome,
    ) -> Result<(), ApiError> {
        let key = lookup_key(reference_id, outcome.index);
        self.put_json(&key, outcome, SESSION_TTL_SECS).await
    }
    async fn delete_lookups(&self, reference_id: &str, indexes: &[u32]) -> Result<(), ApiError> {
        for index in indexes {
            let key = lookup_key(reference_id, *index);
            self.delete(&key, "deleting a lookup's outcome").await?;
        }
        Ok(())
    }
    async fn erase_lookups(&self, reference_id: &str) -> Result<u64, ApiError> {
        let keys = self.list_all(&lookup_prefix(reference_id)).await?;
        for key in &keys {
            self.delete(key, "deleting a lookup's outcome").await?;
        }
        Ok(keys.len() as u64)
    }
}
