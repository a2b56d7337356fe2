//! Evaluation: ranking metrics over held-out edges (`metrics`), non-neural baselines
//! (`baselines`), the paper's ablation (`ablation`), embedding export (`export`) and the
//! throughput benchmarks (`bench`). Knows graphs, models and the trainer; knows nothing of the UI.

pub mod ablation;
pub mod baselines;
pub mod bench;
pub mod export;
pub mod metrics;

// `crate::eval::evaluate` etc.: the metrics are this module's main items.
pub use metrics::*;
