//! Outbound HTTP with the Workers `fetch`, for flows' `fetch` steps and the dials sent to
//! Telesign: the core's [`Http`] port.

use std::time::Duration;

use futures_util::future::{select, Either};
use ivr_core::flow::{FetchRequest, FetchResponse};
use ivr_core::pipeline::ports::{Http, HttpError};
use worker::wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers};

use crate::http::outbound_request;

/// The Workers `fetch`.
pub struct WorkerHttp;

impl Http for WorkerHttp {
    async fn send(
        &self,
        request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        let failed = |e: worker::Error| HttpError::Failed {
            message: e.to_string(),
        };
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(failed)?;
        }
        let body = request.body.as_deref().map(JsValue::from_str);
        let req = outbound_request(&request.method, &request.url, &headers, body.as_ref())
            .map_err(failed)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = async {
            let mut resp = Fetch::Request(req).send_with_signal(&signal).await?;
            let headers = resp.headers().entries().collect();
            let body = resp.text().await?;
            Ok::<_, worker::Error>(FetchResponse {
                status: resp.status_code(),
                headers,
                body,
            })
        };
        let timeout = Delay::from(Duration::from_millis(timeout_ms));
        futures_util::pin_mut!(exchange);
        match select(exchange, timeout).await {
            Either::Left((result, _)) => result.map_err(failed),
            Either::Right(((), _)) => {
                controller.abort();
                Err(HttpError::Timeout {
                    after_ms: timeout_ms,
                })
            }
        }
    }
}
