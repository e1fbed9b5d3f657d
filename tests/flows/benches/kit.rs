//! What one simulated call of a flow test costs on the host (`cargo bench -p test-flows --bench
//! kit`): the kit's `Call` through the event pipeline with in-memory ports, for the flow-testing
//! guide's promise that a flow test runs in well under a millisecond per call. The call measured is
//! the balance path of the `bank` test flow: 8 events, a lookup answered by a stand-in, the
//! record written at the end; the registry is built inside the loop, as each test builds it.

use divan::Bencher;
use ivr_testkit::{Answer, Call};

fn main() {
    divan::main();
}

#[divan::bench]
fn balance_call(bencher: Bencher) {
    bencher.bench(|| {
        let flows = test_flows::registry().with_settings(test_flows::settings);
        let mut call = Call::dial(flows, "+15555551212");
        call.hears("Thank you for calling Example Bank.")
            .hears("For your account balance, press 1.")
            .press("1")
            .hears("eight digit account number")
            .answer_fetch(Answer::json(r#"{"balance": "12.50"}"#))
            .press("12345674#")
            .hears("ending in 5674 is 12.50 dollars")
            .hears("For your account balance")
            .hang_up();
        divan::black_box(call.record().visits.len())
    });
}
