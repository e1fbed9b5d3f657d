//! D1 (`CALLS_DB`): runs the core's [`Statement`]s through [`crate::io`] (every value bound) and
//! reads rows into the core's row types.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cell::Cell;
use std::rc::Rc;

use ivr_core::error::{ApiError, ErrorCode};
use ivr_core::log::D1Rows;
use ivr_core::records::Statement;

use crate::env::{Env, CALLS_DB_BINDING};
use crate::io::{perform, Op};

/// The call records database (known to be bound), and the rows its queries read and wrote.
#[derive(Clone, Default)]
pub struct CallsDb(Rc<Cell<D1Rows>>);

/// What one statement answered: its rows (as JSON, read with [`DbResult::rows`]), how many rows
/// it changed, and the rows D1 counts it as reading and writing.
#[derive(Deserialize)]
pub struct DbResult {
    rows: Box<RawValue>,
    pub changes: u64,
    counted: D1Rows,
}

impl DbResult {
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>, ApiError> {
        ivr_core::json::read(self.rows.get().as_bytes())
            .map_err(|e| ApiError::new(ErrorCode::StoredDataUnreadable, format!("a D1 row: {e}")))
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, format!("{what}: {e}"))
}

impl CallsDb {
    pub fn open(env: &Env) -> Result<Self, ApiError> {
        env.require(CALLS_DB_BINDING, "the call records database")?;
        Ok(CallsDb::default())
    }

    /// The rows read and written so far through this handle.
    pub fn counted(&self) -> D1Rows {
        self.0.get()
    }

    async fn run(&self, op: Op<'_>, what: &str) -> Result<Vec<DbResult>, ApiError> {
        let text = perform(op).await.map_err(|e| failed(what, e))?;
        let results: Vec<DbResult> =
            ivr_core::json::read(text.as_deref().unwrap_or("[]").as_bytes()).map_err(|e| {
                ApiError::new(ErrorCode::StoredDataUnreadable, format!("{what}: {e}"))
            })?;
        let counted = results
            .iter()
            .fold(self.counted(), |sum, r| sum + r.counted);
        self.0.set(counted);
        Ok(results)
    }

    /// Runs `statements` as one batch (a transaction: all of them or none), answering each
    /// one's result.
    pub async fn batch(&self, statements: &[Statement]) -> Result<Vec<DbResult>, ApiError> {
        let op = Op::D1Batch {
            binding: CALLS_DB_BINDING,
            statements,
        };
        self.run(op, "D1").await
    }

    /// The rows of one query.
    pub async fn rows<T: DeserializeOwned>(
        &self,
        statement: &Statement,
    ) -> Result<Vec<T>, ApiError> {
        let op = Op::D1All {
            binding: CALLS_DB_BINDING,
            statement,
        };
        match self.run(op, "reading D1").await?.first() {
            Some(result) => result.rows(),
            None => Ok(Vec::new()),
        }
    }
}
