//! The keys of the app's results cache. Each variant names one kind of result and carries
//! everything it depends on (graph generation, model, settings), so two different results can
//! never share a key, and a result of an old graph or model is never found for the new one. Which
//! keys depend on the app's model is a property of the variant ([`CacheKey::uses_model`]), not of
//! a string prefix.

use std::path::PathBuf;

use crate::recommend::Query;
use crate::teach::explain::PoolSpace;

/// The model a teaching view computes with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModelRef {
    /// The app's model (trained or loaded), by its generation (bumped with every new model).
    App { generation: u64 },
    /// An untrained model built for the teaching views.
    Untrained { graph: u64, hidden_dim: usize, seed: u64 },
}

/// What a cached result is of (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// The graph view's ego network around `centre`.
    EgoSlice { graph: u64, centre: u32, max_nodes: usize },
    /// The walks view's replay of the walks from `pin`.
    WalkReplay { graph: u64, pin: u32, walks: u32, length: u32, restart_bits: u32, seed: u64 },
    /// The walks view's visit-count error curve.
    WalkError { graph: u64, pin: u32, length: u32, restart_bits: u32, seed: u64 },
    /// The pooling view's comparison (`model` set when pooling learned embeddings).
    Pooling {
        graph: u64,
        pin: u32,
        walks: u32,
        length: u32,
        top_k: usize,
        restart_bits: u32,
        space: PoolSpace,
        model: Option<ModelRef>,
    },
    /// An untrained model for the teaching views.
    UntrainedModel { graph: u64, hidden_dim: usize, seed: u64 },
    /// The convolve view's trace for `pin`.
    ConvolveTrace { graph: u64, model: ModelRef, pin: u32 },
    /// Every pin's embedding under `model` (the curriculum view's scores).
    ModelEmbeddings { graph: u64, model: ModelRef },
    /// Hard-negative pools for a rank band.
    HardPools { graph: u64, band: (usize, usize), seed: u64 },
    /// The curriculum view's negatives of `query` at `epoch`.
    Curriculum { graph: u64, model: ModelRef, query: u32, epoch: usize, margin_bits: u32, max_hard: usize },
    /// Walk neighbourhoods for the inference view when there is no model.
    InferenceNeighbourhoods { graph: u64 },
    /// The baselines' test metrics.
    Baselines { graph: u64 },
    /// The current embeddings' test metrics.
    ModelMetrics { graph: u64, embeddings: u64 },
    /// Recommendations for a query from the current embeddings.
    Recommend { graph: u64, embeddings: u64, query: Query },
    /// An ablation report shown by the results view (`load` counts the loads).
    Report { what: String, load: u64 },
    /// The answer of a native file dialog opened by `panel`.
    PickPath { panel: String, request: u64 },
    /// A run folder's model, loaded to become the app's model (not kept in the cache).
    RunModel(PathBuf),
    /// A key from code that has not got a variant of its own (string keys still work).
    Named(String),
}

impl CacheKey {
    /// Whether the result depends on the app's model (or the untrained stand-in): those are
    /// dropped when the model changes.
    pub fn uses_model(&self) -> bool {
        match self {
            CacheKey::Pooling { model, .. } => model.is_some(),
            CacheKey::UntrainedModel { .. }
            | CacheKey::ConvolveTrace { .. }
            | CacheKey::ModelEmbeddings { .. }
            | CacheKey::Curriculum { .. } => true,
            _ => false,
        }
    }
}

impl Default for CacheKey {
    fn default() -> Self {
        CacheKey::Named(String::new())
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRef::App { generation } => write!(f, "app#{generation}"),
            ModelRef::Untrained { graph, hidden_dim, seed } => write!(f, "untrained#{graph}/{hidden_dim}/{seed}"),
        }
    }
}

/// A readable form for messages and for what a panel shows: the kind, then the fields in order,
/// separated by `:` (floats as numbers).
impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = |bits: &u32| f32::from_bits(*bits);
        match self {
            CacheKey::EgoSlice { graph, centre, max_nodes } => write!(f, "ego:{graph}:{centre}:{max_nodes}"),
            CacheKey::WalkReplay { graph, pin, walks, length, restart_bits, seed } => {
                write!(f, "walk-replay:{graph}:{pin}:{walks}:{length}:{}:{seed}", r(restart_bits))
            }
            CacheKey::WalkError { graph, pin, length, restart_bits, seed } => {
                write!(f, "walk-error:{graph}:{pin}:{length}:{}:{seed}", r(restart_bits))
            }
            CacheKey::Pooling { graph, pin, walks, length, top_k, restart_bits, space, model } => {
                let model = model.as_ref().map_or(String::new(), |m| format!("{m}:"));
                write!(f, "pool:{model}{graph}:{pin}:{walks}:{length}:{top_k}:{}:{space:?}", r(restart_bits))
            }
            CacheKey::UntrainedModel { graph, hidden_dim, seed } => write!(f, "untrained:{graph}:{hidden_dim}:{seed}"),
            CacheKey::ConvolveTrace { graph, model, pin } => write!(f, "trace:{graph}:{model}:{pin}"),
            CacheKey::ModelEmbeddings { graph, model } => write!(f, "emb:{graph}:{model}"),
            CacheKey::HardPools { graph, band, seed } => write!(f, "hard-pools:{graph}:{}:{}:{seed}", band.0, band.1),
            CacheKey::Curriculum { graph, model, query, epoch, margin_bits, max_hard } => {
                write!(f, "curriculum:{graph}:{model}:{query}:{epoch}:{}:{max_hard}", r(margin_bits))
            }
            CacheKey::InferenceNeighbourhoods { graph } => write!(f, "inference:nb:{graph}"),
            CacheKey::Baselines { graph } => write!(f, "baselines:{graph}"),
            CacheKey::ModelMetrics { graph, embeddings } => write!(f, "model-test:{graph}:{embeddings}"),
            CacheKey::Recommend { graph, embeddings, query } => write!(f, "recommend:{graph}:{embeddings}:{query:?}"),
            CacheKey::Report { what, load } => write!(f, "results:{what}:{load}"),
            CacheKey::PickPath { panel, request } => write!(f, "pick:{panel}:{request}"),
            CacheKey::RunModel(dir) => write!(f, "run folder {}", dir.display()),
            CacheKey::Named(s) => f.write_str(s),
        }
    }
}

impl From<&CacheKey> for CacheKey {
    fn from(k: &CacheKey) -> Self {
        k.clone()
    }
}

impl From<String> for CacheKey {
    fn from(s: String) -> Self {
        CacheKey::Named(s)
    }
}

impl From<&String> for CacheKey {
    fn from(s: &String) -> Self {
        CacheKey::Named(s.clone())
    }
}

impl From<&str> for CacheKey {
    fn from(s: &str) -> Self {
        CacheKey::Named(s.to_string())
    }
}
