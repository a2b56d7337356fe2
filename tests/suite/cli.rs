//! The `pinsage` binary as a script would use it.

use std::process::Command;

use crate::common::temp_file;

fn pinsage(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pinsage")).args(args).output().expect("runs pinsage")
}

#[test]
fn stats_json_has_counts_for_default_graph() {
    let out = pinsage(&["stats", "--data", "default", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in ["pins", "boards", "edges", "test_edges"] {
        assert!(v[key].as_u64().is_some_and(|x| x > 0), "{key}: {v}");
    }
}

#[test]
fn bad_file_exits_nonzero_with_file_line_and_problem() {
    let (_d, p) = temp_file("broken.txt", b"0 1 2\n1 x\n");
    let out = pinsage(&["stats", "--data", p.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.txt:2:") && err.contains("`x`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bench_walks_prints_json_with_rates() {
    let out = pinsage(&["bench", "walks", "--data", "default", "--repeats", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["steps_per_sec"].as_f64().is_some_and(|x| x > 0.0));
    assert!(v["all_neighbourhoods_secs"].as_f64().is_some_and(|x| x > 0.0));
}
