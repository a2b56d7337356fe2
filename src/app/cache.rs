//! The keys of the app's results cache. Each variant names one kind of result and carries
//! everything it depends on (graph generation, model, settings), so two different results can
//! never share a key, and a result of an old graph or model is never found for the new one. Which
//! keys depend on the app's model is a property of the variant ([`CacheKey::uses_model`]), not of
//! a string prefix. The values are typed too: [`Computed`] has one variant per kind of result, and
//! [`Computed::fits`] says which key holds which kind.

use std::path::PathBuf;
use std::sync::Arc;

use crate::ablation::AblationReport;
use crate::app::panels::map::{MapData, NeighbourLists};
use crate::baselines::BaselineResult;
use crate::edits::WhatIf;
use crate::embed_map::Method;
use crate::eval::Metrics;
use crate::explain::{ConvolveTrace, CurriculumSnapshot, EgoSlice, PoolingComparison, WalkErrorCurve, WalkReplay};
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::recommend::{Query, Recommendations};
use crate::sampler::{HardPools, NodeNeighbourhoods, SpreadLimits};
use crate::teach::explain::PoolSpace;
use crate::train::bundle::ModelBundle;

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
    /// Hard-negative pools for a rank band and spread bounds.
    HardPools { graph: u64, band: (usize, usize), limits: SpreadLimits, seed: u64 },
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
    /// The graph with what-if edits up to `version` applied, rebuilt in the background (not kept
    /// in the cache: it becomes `AppState::graph`).
    EditedGraph { version: u64 },
    /// The what-if panel's embeddings of the loaded graph (`edited: false`, `graph` is the loaded
    /// graph's generation) or of the edited one (`edited: true`, the current generation).
    WhatIfEmbeddings { graph: u64, embeddings: u64, edited: bool },
    /// The what-if panel's before/after picture of `pin` (`before`/`after`: whether embeddings
    /// were there for either side).
    WhatIf { graph: u64, pin: u32, embeddings: u64, before: bool, after: bool },
    /// The embedding map's 2-D layout: of the model's embeddings (`model`, `generation` is the
    /// embeddings generation) or of the visual features (`generation` is the graph's).
    Map { method: Method, model: bool, generation: u64 },
    /// The map's nearest-pin lists of `pin` (`embeddings`: the embeddings generation, if any).
    MapNeighbours { graph: u64, embeddings: Option<u64>, pin: u32 },
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
            CacheKey::HardPools { graph, band, limits, seed } => {
                write!(f, "hard-pools:{graph}:{}:{}:{}:{}:{seed}", band.0, band.1, limits.fanout, limits.reads)
            }
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
            CacheKey::EditedGraph { version } => write!(f, "edited-graph:{version}"),
            CacheKey::WhatIfEmbeddings { graph, embeddings, edited } => {
                let which = if *edited { "edited" } else { "base" };
                write!(f, "whatif:emb:{which}:{embeddings}:{graph}")
            }
            CacheKey::WhatIf { graph, pin, embeddings, before, after } => {
                write!(f, "whatif:pic:{graph}:{pin}:{embeddings}:{before}:{after}")
            }
            CacheKey::Map { method, model, generation } => {
                write!(f, "map:{method:?}:{}:{generation}", if *model { "model" } else { "visual" })
            }
            CacheKey::MapNeighbours { graph, embeddings, pin } => {
                write!(f, "map:nn:{graph}:{embeddings:?}:{pin}")
            }
        }
    }
}

impl From<&CacheKey> for CacheKey {
    fn from(k: &CacheKey) -> Self {
        k.clone()
    }
}

/// A computed result, shared read-only with the UI: one variant per kind of result, so a
/// result is read back as the type it was computed as (see [`Cached`]). Each is behind an `Arc`
/// (cheap to keep in the cache and to move through the job channel).
pub enum Computed {
    EgoSlice(Arc<Arc<EgoSlice>>),
    WalkReplay(Arc<WalkReplay>),
    WalkError(Arc<WalkErrorCurve>),
    Pooling(Arc<PoolingComparison>),
    /// A model with its neighbourhoods (untrained for the teaching views, or a run folder's).
    Model(Arc<ModelBundle>),
    ConvolveTrace(Arc<ConvolveTrace>),
    Embeddings(Arc<Arc<Embeddings>>),
    /// Embeddings, or why there are none (shown as a note, not as an error).
    EmbeddingsOrNote(Arc<Result<Arc<Embeddings>, String>>),
    HardPools(Arc<Arc<HardPools>>),
    Curriculum(Arc<CurriculumSnapshot>),
    Neighbourhoods(Arc<Arc<NodeNeighbourhoods>>),
    Baselines(Arc<Vec<BaselineResult>>),
    Metrics(Arc<Metrics>),
    Recommendations(Arc<Recommendations>),
    Report(Arc<AblationReport>),
    /// A native dialog's answer (None: cancelled).
    PickedPath(Arc<Option<PathBuf>>),
    Graph(Arc<Arc<Graph>>),
    WhatIf(Arc<WhatIf>),
    Map(Arc<MapData>),
    NeighbourLists(Arc<NeighbourLists>),
}

/// A type that is one kind of [`Computed`] result: what `Ctx::need` computes and
/// `AppState::result` reads back.
pub trait Cached: Sized + Send + 'static {
    fn into_computed(self) -> Computed;
    fn from_computed(c: &Computed) -> Option<&Self>;
}

macro_rules! cached {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl Cached for $ty {
            fn into_computed(self) -> Computed {
                Computed::$variant(Arc::new(self))
            }
            fn from_computed(c: &Computed) -> Option<&Self> {
                match c {
                    Computed::$variant(v) => Some(&**v),
                    _ => None,
                }
            }
        }
    )*};
}

cached! {
    EgoSlice(Arc<EgoSlice>),
    WalkReplay(WalkReplay),
    WalkError(WalkErrorCurve),
    Pooling(PoolingComparison),
    Model(ModelBundle),
    ConvolveTrace(ConvolveTrace),
    Embeddings(Arc<Embeddings>),
    EmbeddingsOrNote(Result<Arc<Embeddings>, String>),
    HardPools(Arc<HardPools>),
    Curriculum(CurriculumSnapshot),
    Neighbourhoods(Arc<NodeNeighbourhoods>),
    Baselines(Vec<BaselineResult>),
    Metrics(Metrics),
    Recommendations(Recommendations),
    Report(AblationReport),
    PickedPath(Option<PathBuf>),
    Graph(Arc<Graph>),
    WhatIf(WhatIf),
    Map(MapData),
    NeighbourLists(NeighbourLists),
}

impl Computed {
    /// Whether this is the kind of result `key` holds (one arm per key variant: a new key must
    /// say what it holds).
    pub fn fits(&self, key: &CacheKey) -> bool {
        use Computed as V;
        match key {
            CacheKey::EgoSlice { .. } => matches!(self, V::EgoSlice(_)),
            CacheKey::WalkReplay { .. } => matches!(self, V::WalkReplay(_)),
            CacheKey::WalkError { .. } => matches!(self, V::WalkError(_)),
            CacheKey::Pooling { .. } => matches!(self, V::Pooling(_)),
            CacheKey::UntrainedModel { .. } | CacheKey::RunModel(_) => matches!(self, V::Model(_)),
            CacheKey::ConvolveTrace { .. } => matches!(self, V::ConvolveTrace(_)),
            CacheKey::ModelEmbeddings { .. } | CacheKey::WhatIfEmbeddings { edited: false, .. } => {
                matches!(self, V::Embeddings(_))
            }
            CacheKey::WhatIfEmbeddings { edited: true, .. } => matches!(self, V::EmbeddingsOrNote(_)),
            CacheKey::HardPools { .. } => matches!(self, V::HardPools(_)),
            CacheKey::Curriculum { .. } => matches!(self, V::Curriculum(_)),
            CacheKey::InferenceNeighbourhoods { .. } => matches!(self, V::Neighbourhoods(_)),
            CacheKey::Baselines { .. } => matches!(self, V::Baselines(_)),
            CacheKey::ModelMetrics { .. } => matches!(self, V::Metrics(_)),
            CacheKey::Recommend { .. } => matches!(self, V::Recommendations(_)),
            CacheKey::Report { .. } => matches!(self, V::Report(_)),
            CacheKey::PickPath { .. } => matches!(self, V::PickedPath(_)),
            CacheKey::EditedGraph { .. } => matches!(self, V::Graph(_)),
            CacheKey::WhatIf { .. } => matches!(self, V::WhatIf(_)),
            CacheKey::Map { .. } => matches!(self, V::Map(_)),
            CacheKey::MapNeighbours { .. } => matches!(self, V::NeighbourLists(_)),
        }
    }
}
