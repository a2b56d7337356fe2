//! The paper's MapReduce inference as jobs on an existing engine (issue 13): Apache DataFusion in
//! this process (multi-threaded, spilling to disk) or Apache Ballista across processes and
//! machines, over Parquet tables that other tools read.
//!
//! The stages, each a SQL query whose result is streamed into a Parquet file written atomically:
//! 0. `neighbourhoods` = `unnest(pinsage_neighbourhood(node, 'edges.parquet', …))` over
//!    `nodes.parquet` (`walks`): the walks per partition of start nodes, on the executors too, which
//!    read the graph from `edges.parquet` (`edges`) (`pinsage infer`; library callers may pass
//!    tables);
//! 1. `embeddings_l0` = `pinsage_input(node, features)` over `features.parquet` (h⁰);
//! 2. `embeddings_l1` = `pinsage_combine(h, pool(weight, pinsage_message(h_nbr)))`: the message
//!    transform on the previous layer's table, joined to `neighbourhoods.parquet` on `nbr = node`,
//!    pooled by a UDAF grouped by node, then combined with the node's own vector (a left join, so
//!    a node without neighbours pools zeros, as `model::pool` does);
//! 3. `embeddings` = layer 2 the same way, then `pinsage_head` (with h⁰ joined back for `skip`).
//!
//! The UDFs (`udf`, `pool`) run the trained weights as plain f32 row code (`weights`), read from
//! `weights.safetensors` beside the tables. `io` writes the inputs and reads tables back with
//! every problem named; `plan` holds the queries and the stage runner; `ballista` the scheduler
//! and executor processes with the functions registered.

pub mod ballista;
pub mod edges;
pub mod io;
pub mod plan;
pub mod pool;
pub mod udf;
pub mod walks;
pub mod weights;

use std::path::PathBuf;

pub use plan::{StageReport, infer, infer_with_walk_job, run_stages};
pub use weights::{ModelWeights, WEIGHTS_FILE};

/// File names of the engine's tables inside its output folder.
pub const FEATURES_FILE: &str = "features.parquet";
pub const L0_FILE: &str = "embeddings_l0.parquet";
pub const L1_FILE: &str = "embeddings_l1.parquet";
pub const EMBEDDINGS_FILE: &str = "embeddings.parquet";
pub use crate::eval::tables::NEIGHBOURHOODS_FILE;

/// Where the jobs run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    DataFusion,
    /// A Ballista scheduler at `host:port`.
    Ballista(String),
}

impl std::str::FromStr for Engine {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, EngineError> {
        if s == "datafusion" {
            return Ok(Engine::DataFusion);
        }
        match s.strip_prefix("ballista://") {
            Some(addr) if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) => {
                Ok(Engine::Ballista(addr.to_string()))
            }
            _ => Err(EngineError::Usage(format!(
                "engine `{s}`: expected `datafusion` or `ballista://HOST:PORT` (e.g. ballista://127.0.0.1:50050)"
            ))),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::DataFusion => write!(f, "datafusion"),
            Engine::Ballista(addr) => write!(f, "ballista://{addr}"),
        }
    }
}

/// Why an engine job failed; every variant names the file, table, column or address.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A bad engine argument or option.
    #[error("{0}")]
    Usage(String),
    /// A Parquet file that cannot be read as the table it should be.
    #[error("{path}: {problem}")]
    Table { path: PathBuf, problem: String },
    /// The Ballista scheduler did not answer.
    #[error("cannot reach the Ballista scheduler at {addr}: {problem}")]
    Unreachable { addr: String, problem: String },
    /// A query failed in the engine (the stage and DataFusion's message).
    #[error("{stage}: {problem}")]
    Query { stage: String, problem: String },
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
    #[error(transparent)]
    Tables(#[from] crate::eval::tables::TablesError),
    #[error(transparent)]
    Write(#[from] crate::export::ExportError),
    #[error("{0}")]
    Io(String),
}
