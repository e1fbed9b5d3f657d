//! Stand-ins for the HTTP services a flow's `fetch` steps call, and for Telesign's dial endpoint
//! when a test places an outbound call. Each answer can take time: the kit's clock moves on by
//! it, and an answer slower than the worker's `FETCH_TIMEOUT_MS` is a timeout, as in the worker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use ivr_core::flow::{FetchRequest, FetchResponse};
use ivr_core::pipeline::ports::{Clock, Http, HttpError, Sleep};

/// What a stand-in answers one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    outcome: Result<FetchResponse, String>,
    /// How long the answer takes; `None`: it never comes (the request times out).
    after_ms: Option<u64>,
}

impl Answer {
    /// A `200` answer with a JSON body.
    pub fn json(body: &str) -> Self {
        Self::status(200, body).header("content-type", "application/json")
    }

    /// An answer with this status and body.
    pub fn status(status: u16, body: &str) -> Self {
        Answer {
            outcome: Ok(FetchResponse::new(status, body)),
            after_ms: Some(20),
        }
    }

    /// No answer at all: the connection fails (DNS, TLS, refused) with `why`.
    pub fn fails(why: &str) -> Self {
        Answer {
            outcome: Err(why.to_owned()),
            after_ms: Some(20),
        }
    }

    /// An answer that never comes: the request times out.
    pub fn never() -> Self {
        Answer {
            outcome: Err("never answered".to_owned()),
            after_ms: None,
        }
    }

    /// The same answer, `ms` after the request.
    pub fn after_ms(mut self, ms: u64) -> Self {
        self.after_ms = Some(ms);
        self
    }

    /// Adds a header to the answer.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Ok(response) = &mut self.outcome {
            response
                .headers
                .push((name.to_ascii_lowercase(), value.to_owned()));
        }
        self
    }

    /// One line for the transcript.
    pub(crate) fn describe(&self) -> String {
        let time = match self.after_ms {
            Some(ms) => format!(" after {ms} ms"),
            None => String::new(),
        };
        match (&self.outcome, self.after_ms) {
            (_, None) => "no answer (times out)".to_owned(),
            (Ok(r), _) => format!("{} {}{time}", r.status, shorten(&r.body, 60)),
            (Err(why), _) => format!("fails: {why}{time}"),
        }
    }
}

/// The kit's clock: the event time Telesign's events carry and the real time the worker measures
/// its requests with are the same here, and move only when the kit moves them.
#[derive(Debug, Clone, Default)]
pub struct KitClock(Rc<Cell<u64>>);

impl KitClock {
    pub fn new(now_ms: u64) -> Self {
        KitClock(Rc::new(Cell::new(now_ms)))
    }
    pub fn set(&self, ms: u64) {
        self.0.set(ms);
    }
    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for KitClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

impl Sleep for KitClock {
    async fn sleep_ms(&self, ms: u64) {
        self.advance(ms);
    }
}

/// A request the worker sent, and what it got.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub request: FetchRequest,
    pub answer: Option<Answer>,
}

/// The HTTP peer of a test call: Telesign's dial endpoint answers on its own; every other request
/// takes the next queued [`Answer`].
pub(crate) struct StandIns {
    pub telesign_url: String,
    pub queued: RefCell<VecDeque<Answer>>,
    pub sent: RefCell<Vec<Sent>>,
    pub clock: KitClock,
    /// The reference id Telesign gives the next call placed.
    pub next_reference: RefCell<String>,
}

impl StandIns {
    /// How long the next queued answer takes (`timeout_ms` for one that never comes, or none).
    pub fn next_delay_ms(&self, timeout_ms: u64) -> u64 {
        let queued = self.queued.borrow();
        let delay = queued.front().and_then(|a| a.after_ms);
        delay.map_or(timeout_ms, |ms| ms.min(timeout_ms))
    }
}

impl Http for StandIns {
    async fn send(
        &self,
        request: &FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, HttpError> {
        if request.url == self.telesign_url {
            self.clock.advance(50);
            let body = format!(
                r#"{{"reference_id":"{}","status":"dial_accepted"}}"#,
                self.next_reference.borrow()
            );
            return Ok(FetchResponse::new(202, body));
        }
        let answer = self.queued.borrow_mut().pop_front();
        self.sent.borrow_mut().push(Sent {
            request: request.clone(),
            answer: answer.clone(),
        });
        let Some(answer) = answer else {
            return Err(HttpError::Failed {
                message: "the test gave no stand-in answer for this request".to_owned(),
            });
        };
        match answer.after_ms {
            Some(ms) if ms <= timeout_ms => {
                self.clock.advance(ms);
                answer
                    .outcome
                    .map_err(|message| HttpError::Failed { message })
            }
            _ => {
                self.clock.advance(timeout_ms);
                Err(HttpError::Timeout {
                    after_ms: timeout_ms,
                })
            }
        }
    }
}

/// `text` cut to about `chars` characters, with an ellipsis.
pub(crate) fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(chars).collect();
    format!("{cut}…")
}
