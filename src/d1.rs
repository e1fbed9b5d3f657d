//! D1 (`CALLS_DB`): runs the core's [`Statement`]s, binding every value, and reads rows into the
//! core's row types.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::d1::{D1Database, D1PreparedStatement, D1Result};
use worker::Env;

use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::records::{SqlValue, Statement};

use crate::env::CALLS_DB_BINDING;

/// The call records database.
#[derive(Clone)]
pub struct CallsDb(std::rc::Rc<D1Database>);

fn failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, format!("{what}: {e}"))
}

impl CallsDb {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        env.d1(CALLS_DB_BINDING)
            .map(|db| CallsDb(std::rc::Rc::new(db)))
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::StoreNotConfigured,
                    format!("the D1 binding {CALLS_DB_BINDING} is missing: {e}"),
                )
            })
    }

    fn prepare(&self, statement: &Statement) -> Result<D1PreparedStatement, ApiError> {
        let values: Vec<JsValue> = statement
            .params
            .iter()
            .map(|value| match value {
                SqlValue::Null => JsValue::NULL,
                // Times in ms and counts: exact below 2^53.
                SqlValue::Int(n) => JsValue::from_f64(*n as f64),
                SqlValue::Text(text) => JsValue::from_str(text),
            })
            .collect();
        self.0
            .prepare(statement.sql.as_str())
            .bind(&values)
            .map_err(|e| failed("binding a query", e))
    }

    /// Runs `statements` as one batch (a transaction: all of them or none), answering each
    /// one's result, to be read with [`rows_of`].
    pub async fn batch(&self, statements: &[Statement]) -> Result<Vec<D1Result>, ApiError> {
        let prepared = statements
            .iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.0.batch(prepared).await.map_err(|e| failed("D1", e))
    }

    /// The rows of one query.
    pub async fn rows<T: DeserializeOwned>(
        &self,
        statement: &Statement,
    ) -> Result<Vec<T>, ApiError> {
        let result = self
            .prepare(statement)?
            .all()
            .await
            .map_err(|e| failed("reading D1", e))?;
        rows_of(&result)
    }
}

/// The rows of one result of [`CallsDb::batch`].
pub fn rows_of<T: DeserializeOwned>(result: &D1Result) -> Result<Vec<T>, ApiError> {
    result
        .results()
        .map_err(|e| ApiError::new(ErrorCode::StoredDataUnreadable, format!("a D1 row: {e}")))
}
