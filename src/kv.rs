//! Workers KV: the core's session port, and the values [`crate::records`] keeps in KV. Values are
//! stored as JSON text (the `worker` crate's generic `put` would turn maps into JS `Map`s, which
//! serialize as `{}`); the key layout is [`ivr_core::pipeline::keys`].

use serde::{de::DeserializeOwned, Serialize};
use worker::js_sys::{self, Promise, Reflect};
use worker::kv::KvStore;
use worker::wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use ivr_core::engine::{LookupOutcome, Session};
use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::pipeline::keys::*;
use ivr_core::pipeline::ports::SessionStore;

use crate::env::KV_BINDING;

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

    pub async fn delete(&self, key: &str, what: &str) -> Result<(), ApiError> {
        let promise = self
            .ns
            .delete_key(key)
            .map_err(|e| unavailable(what, js_error(e)))?;
        JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|e| unavailable(what, js_error(e)))
    }

    /// The first `limit` keys under `prefix` (KV caps a listing at 1000).
    pub async fn list(&self, prefix: &str, limit: u64) -> Result<Vec<String>, ApiError> {
        let page = self
            .kv()?
            .list()
            .prefix(prefix.to_owned())
            .limit(limit)
            .execute()
            .await
            .map_err(|e| unavailable("listing", e))?;
        Ok(page.keys.into_iter().map(|k| k.name).collect())
    }

    /// Every key under `prefix`, page after page (for erasures, which must miss none).
    pub async fn list_all(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.kv()?.list().prefix(prefix.to_owned());
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = list
                .execute()
                .await
                .map_err(|e| unavailable("listing", e))?;
            keys.extend(page.keys.into_iter().map(|k| k.name));
            match page.cursor.filter(|_| !page.list_complete) {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
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

    pub async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_secs: u64,
    ) -> Result<(), ApiError> {
        let encoding = |e: serde_json::Error| {
            ApiError::new(ErrorCode::InternalError, format!("encoding {key}: {e}"))
        };
        let text = serde_json::to_string(value).map_err(encoding)?;
        let options = format!(r#"{{"expirationTtl":{ttl_secs}}}"#);
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
