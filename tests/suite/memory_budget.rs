//! Memory budget checks, through the binary with `PINSAGE_MEMORY_LIMIT_MIB` set for the child
//! process only (tests never change their own environment): a command that would need more than
//! the budget exits 1 with a message naming the need and the budget, never an abort (134) or a
//! panic; the same command under a larger budget gets past that stage.

use std::path::Path;
use std::process::{Command, Output};

fn pinsage_with_budget(budget_mib: Option<u64>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pinsage"));
    c.args(args);
    match budget_mib {
        Some(m) => c.env("PINSAGE_MEMORY_LIMIT_MIB", m.to_string()),
        None => c.env_remove("PINSAGE_MEMORY_LIMIT_MIB"),
    };
    c.output().expect("runs pinsage")
}

/// Checks the refusal and returns the need it names, in MiB.
fn refused(out: &Output, what: &str, budget_mib: u64) -> f64 {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code 1, not an abort: {err}");
    assert!(!err.contains("panicked") && !err.contains("memory allocation of"), "{err}");
    assert!(err.contains(what), "expected `{what}` in: {err}");
    assert!(
        err.contains(&format!("the memory budget is {budget_mib}.0 MiB (set by PINSAGE_MEMORY_LIMIT_MIB)")),
        "the budget is named: {err}"
    );
    let need: f64 = err
        .split("needs ")
        .nth(1)
        .and_then(|rest| rest.split(" MiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the need is named in MiB: {err}"));
    assert!(need > budget_mib as f64, "the need ({need} MiB) exceeds the budget: {err}");
    need
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn stats_over_budget_names_the_graphs_need_and_the_budget() {
    let data = "synthetic:pins=20000,boards=8000,seed=2";
    let out = pinsage_with_budget(Some(1), &["stats", "--data", data]);
    refused(&out, "the synthetic graph needs", 1);
    let out = pinsage_with_budget(Some(256), &["stats", "--data", data, "--json"]);
    assert!(out.status.success(), "fits a larger budget: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn train_over_budget_names_the_model_before_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = write(dir.path(), "big.json", r#"{"input_dim": 1024, "hidden_dim": 1024}"#);
    let args = ["train", "--data", "synthetic:pins=2000,boards=600", "--config", &big, "--device", "cpu", "--json"];
    let need = refused(&pinsage_with_budget(Some(32), &args), "the model with its gradients", 32);
    // 2,600 nodes × 1,024 inputs × 4 bytes, four times over (weights, gradients, Adam's moments).
    assert!(need >= (2600.0 * 1024.0 * 4.0 * 4.0) / (1u64 << 20) as f64, "{need}");
    // With a smaller model the graph and the model fit, and the walks are what is refused.
    let walks = write(dir.path(), "walks.json", r#"{"walk": {"top_k": 2000}}"#);
    let args = ["train", "--data", "synthetic:pins=3000,boards=1000", "--config", &walks, "--device", "cpu", "--json"];
    refused(&pinsage_with_budget(Some(32), &args), "neighbourhood (walk buffers and tables)", 32);
}

/// A run trained without id embeddings fits any graph; pointed at a larger graph, `embed` gets
/// past the graph, the model and the neighbourhoods and is refused at the embeddings.
#[test]
fn embed_over_budget_names_the_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "features.json", r#"{"id_embedding": false, "hidden_dim": 256}"#);
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let data = "synthetic:pins=300,boards=100,topics=4,seed=3";
    let args = ["train", "--data", data, "--config", &cfg, "--device", "cpu", "--epochs", "1", "--out", run_s];
    let out = pinsage_with_budget(None, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = run.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(data, "synthetic:pins=40000,boards=10000,seed=3");
    std::fs::write(&path, text).unwrap();
    let npy = dir.path().join("e.npy");
    let out =
        pinsage_with_budget(Some(100), &["embed", "--run", run_s, "--device", "cpu", "--out", npy.to_str().unwrap()]);
    let need = refused(&out, "embedding every node needs", 100);
    // 50,000 nodes × (64 + 3 × 256) floats.
    assert!(need >= 50_000.0 * 4.0 * (64.0 + 3.0 * 256.0) / (1u64 << 20) as f64, "{need}");
    assert!(!npy.exists());
}
