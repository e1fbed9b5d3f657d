//! The call simulator plays by `scripts/simulator/telesign-rules.json`, which `test-flows rules`
//! writes from the protocol module (`npm run flows:rules`): a rule changed without refreshing the
//! file fails here, through the command's own `--check`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_simulators_rules_are_the_protocol_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_test-flows"))
        .args(["rules", "--check"])
        .current_dir(root)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("is up to date"), "{said}");
}
