//! Workers KV: the core's session and record ports, and the listings of the call API. Values are
//! stored as JSON text (the `worker` crate's generic `put` would turn maps into JS `Map`s, which
//! serialize as `{}`); the key layout is [`ivr_core::pipeline::keys`].

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use worker::js_sys::{self, Promise, Reflect};
use worker::kv::KvStore;
use worker::wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use ivr_core::api::campaigns::{Campaign, NumberEntry};
use ivr_core::engine::{CallRecord, Session};
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::pipeline::keys::*;
use ivr_core::pipeline::ports::{CallRecords, SessionStore};

use crate::env::KV_BINDING;

/// One page of a KV listing: key names (prefix included) with their metadata, and the cursor of
/// the next page (`None` on the last one).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub keys: Vec<(String, Option<Value>)>,
    pub cursor: Option<String>,
}

#[wasm_bindgen]
extern "C" {
    /// The KV namespace binding itself, called directly on the per-event path: one JS call per
    /// get, put or delete, where `worker::kv::KvStore` looks up five methods when opened and
    /// builds every options object through serde-wasm-bindgen.
    #[derive(Clone)]
    type KvNamespace;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_text(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_text(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_key(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
}

/// The KV namespace.
#[derive(Clone)]
pub struct Kv {
    ns: KvNamespace,
    /// For listing, which goes through `KvStore` (rare: the call API only).
    env: Env,
}

/// The message of a JS exception or rejection.
fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| "a KV operation failed".to_owned())
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, format!("{what}: {e}"))
}

impl Kv {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        let binding =
            Reflect::get(env, &JsValue::from_str(KV_BINDING)).unwrap_or(JsValue::UNDEFINED);
        if binding.is_undefined() || binding.is_null() {
            return Err(ApiError::new(
                ErrorCode::StoreNotConfigured,
                format!("the KV binding {KV_BINDING} is missing"),
            ));
        }
        Ok(Self {
            ns: binding.unchecked_into(),
            env: env.clone(),
        })
    }

    fn kv(&self) -> Result<KvStore, ApiError> {
        self.env.kv(KV_BINDING).map_err(|e| {
            ApiError::new(
                ErrorCode::StoreNotConfigured,
                format!("KV binding {KV_BINDING}: {e}"),
            )
        })
    }

    async fn delete(&self, key: &str, what: &str) -> Result<(), ApiError> {
        let promise = self
            .ns
            .delete_key(key)
            .map_err(|e| unavailable(what, js_error(e)))?;
        JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|e| unavailable(what, js_error(e)))
    }

    /// One page of the keys under `prefix`, at most `limit` (KV caps it at 1000).
    pub async fn list(
        &self,
        prefix: &str,
        cursor: Option<String>,
        limit: u64,
    ) -> Result<Page, ApiError> {
        let mut list = self.kv()?.list().prefix(prefix.to_owned()).limit(limit);
        if let Some(cursor) = cursor {
            list = list.cursor(cursor);
        }
        let page = list
            .execute()
            .await
            .map_err(|e| unavailable("listing", e))?;
        Ok(Page {
            keys: page
                .keys
                .into_iter()
                .map(|k| (k.name, k.metadata))
                .collect(),
            cursor: page.cursor.filter(|c| !page.list_complete && !c.is_empty()),
        })
    }

    /// The records stored under these keys (full key names), in the same order; a key that
    /// expired since it was listed is left out.
    pub async fn records_at(&self, keys: &[String]) -> Result<Vec<CallRecord>, ApiError> {
        let mut records = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(record) = self.get_json(key).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        let promise = self
            .ns
            .get_text(key)
            .map_err(|e| unavailable("reading", js_error(e)))?;
        let value = JsFuture::from(promise)
            .await
            .map_err(|e| unavailable("reading", js_error(e)))?;
        value
            .as_string()
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| {
                    ApiError::new(
                        ErrorCode::StoredDataUnreadable,
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
        self.put_json_with::<T, ()>(key, value, ttl_secs, None)
            .await
    }

    async fn put_json_with<T: Serialize, M: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_secs: u64,
        metadata: Option<M>,
    ) -> Result<(), ApiError> {
        let encoding = |e: serde_json::Error| {
            ApiError::new(ErrorCode::InternalError, format!("encoding {key}: {e}"))
        };
        let text = serde_json::to_string(value).map_err(encoding)?;
        let options = match metadata {
            Some(m) => format!(
                r#"{{"expirationTtl":{ttl_secs},"metadata":{}}}"#,
                serde_json::to_string(&m).map_err(encoding)?
            ),
            None => format!(r#"{{"expirationTtl":{ttl_secs}}}"#),
        };
        let options =
            js_sys::JSON::parse(&options).map_err(|e| unavailable("writing", js_error(e)))?;
        let promise = self
            .ns
            .put_text(key, &text, &options)
            .map_err(|e| unavailable("writing", js_error(e)))?;
        JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|e| unavailable("writing", js_error(e)))
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
}

impl CallRecords for Kv {
    async fn pending(&self, external_id: &str) -> Result<Option<Session>, ApiError> {
        self.get_json(&pending_key(external_id)).await
    }
    async fn save_pending(&self, external_id: &str, session: &Session) -> Result<(), ApiError> {
        self.put_json(&pending_key(external_id), session, PENDING_TTL_SECS)
            .await
    }
    async fn delete_pending(&self, external_id: &str) -> Result<(), ApiError> {
        self.delete(&pending_key(external_id), "deleting the pending call")
            .await
    }
    async fn record(&self, reference_id: &str) -> Result<Option<CallRecord>, ApiError> {
        self.get_json(&record_key(reference_id)).await
    }
    async fn save_record(&self, record: &CallRecord, ttl_secs: u64) -> Result<(), ApiError> {
        let key = record_key(&record.reference_id);
        let meta = RecordMeta::from(record);
        self.put_json_with(&key, record, ttl_secs, Some(meta)).await
    }
    async fn campaign(&self, id: &str) -> Result<Option<Campaign>, ApiError> {
        self.get_json(&campaign_key(id)).await
    }
    async fn save_campaign(&self, campaign: &Campaign, ttl_secs: u64) -> Result<(), ApiError> {
        self.put_json(&campaign_key(&campaign.id), campaign, ttl_secs)
            .await
    }
    async fn number_entry(
        &self,
        campaign: &str,
        index: u32,
    ) -> Result<Option<NumberEntry>, ApiError> {
        self.get_json(&campaign_number_key(campaign, index)).await
    }
    async fn save_number_entry(
        &self,
        campaign: &str,
        entry: &NumberEntry,
        ttl_secs: u64,
    ) -> Result<(), ApiError> {
        let key = campaign_number_key(campaign, entry.index);
        let meta = NumberMeta { state: entry.state };
        self.put_json_with(&key, entry, ttl_secs, Some(meta)).await
    }
}
