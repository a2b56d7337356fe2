//! Evaluation: ranking metrics over held-out edges (`metrics`), non-neural baselines
//! (`baselines`), the paper's ablation (`ablation`), embedding export (`export`), the
//! approximate-nearest-neighbour index over exported embeddings (`ann`), the throughput
//! benchmarks (`bench`), the cost curve of `bench scale` (`scale`) and the Parquet tables
//! (`tables`). Knows graphs, models and the trainer; knows nothing of the UI.

pub mod ablation;
pub mod ann;
pub mod baselines;
pub mod bench;
pub mod engine;
pub mod export;
pub mod metrics;
pub mod scale;
pub mod tables;

// `crate::eval::evaluate` etc.: the metrics are this module's main items.
pub use metrics::*;
