//! The rule for tests that need something from outside the repository (downloaded models and
//! vectors, a GPU adapter): they may skip on a developer's machine that lacks it, with a
//! message, but never under CI, where the same absence is a failure.

mod common;

use std::panic::catch_unwind;

use common::{ci_value_means_ci, locate_for_rule_test, skip_unless_ci_in};

#[test]
fn which_ci_values_mean_ci() {
    for v in ["true", "1", "yes", "TRUE", "github"] {
        assert!(ci_value_means_ci(Some(v)), "{v}");
    }
    for v in [None, Some(""), Some("0"), Some("false"), Some("False")] {
        assert!(!ci_value_means_ci(v), "{v:?}");
    }
}

#[test]
fn a_skip_is_refused_under_ci() {
    assert!(skip_unless_ci_in("no adapter", false));
    let e = catch_unwind(|| skip_unless_ci_in("no adapter", true)).expect_err("refused");
    let msg = e
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("CI: no adapter"), "{msg}");
}

#[test]
fn missing_data_skips_only_when_asked_and_never_under_ci() {
    let dir = tempfile::tempdir().expect("tmp");
    // The fetch script fails (no network here, as on a machine that cannot download).
    let failing = "tests/fixtures/gen/does-not-exist.sh";
    // Asked to skip, outside CI: skipped.
    assert_eq!(
        locate_for_rule_test(dir.path(), failing, &[("RULE_TEST_SKIP", "1")]),
        None
    );
    // Asked to skip under CI: a failure, not a skip.
    for ci in ["true", "1"] {
        let r = catch_unwind(|| {
            locate_for_rule_test(dir.path(), failing, &[("RULE_TEST_SKIP", "1"), ("CI", ci)])
        });
        assert!(r.is_err(), "CI={ci}: skipped");
    }
    // Not asked: the fetch runs and its failure fails the test.
    assert!(catch_unwind(|| locate_for_rule_test(dir.path(), failing, &[])).is_err());
    // Present data is found whatever the rule.
    std::fs::write(dir.path().join("data.bin"), b"x").expect("write");
    assert_eq!(
        locate_for_rule_test(dir.path(), failing, &[("CI", "true")]),
        Some(dir.path().join("data.bin"))
    );
}
