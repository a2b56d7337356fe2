//! What defines a run: [`TrainConfig`] (saved as `config.json`), its enums, and the graph a run
//! trains on ([`run_graph`]).

use std::path::Path;

use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::graph::Graph;
use crate::model::losses::LossKind;
use crate::model::{PinSageConfig, Pooling};
use crate::sampler::{NeighbourhoodKind, PairSampling, SpreadLimits};
use crate::split::SplitConfig;
use crate::walk::{ParamError, WalkConfig};

/// Where the model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// Burn's wgpu backend (Vulkan, Metal, DX12); falls back to the CPU when no adapter exists.
    #[default]
    Gpu,
    /// Burn's flex backend, pure Rust on the CPU.
    Cpu,
}

crate::named_enum!(DeviceChoice, "device" { Gpu => "gpu", Cpu => "cpu" });

/// Which model a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// PinSage: convolutions over random-walk neighbourhoods, max-margin loss (the seed).
    #[default]
    Pinsage,
    /// LightGCN: free embeddings, normalised full-graph propagation, layer mean, BPR loss.
    Lightgcn,
}

crate::named_enum!(Mode, "mode" { Pinsage => "pinsage", Lightgcn => "lightgcn" });

/// Everything that defines a run; saved as `config.json` in the run folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// The graph (`default` or a path), recorded so `eval`/`embed` can reload it.
    pub data: String,
    /// How the graph's test and validation edges are made (recorded so that reloading the run's
    /// graph gives exactly the same split).
    pub split: SplitConfig,
    /// A pin-features file (`.npy` in pin order, or CSV `pin,f1,…,fd`) that replaces the graph's own.
    pub pin_features: Option<String>,
    /// The what-if edits applied to the graph this run trained on, in words (runs started in the
    /// app's Training view on an edited graph; empty otherwise). Reloading the run's data gives
    /// the graph without them.
    pub graph_edits: Vec<String>,
    pub mode: Mode,
    /// LightGCN only: propagation layers.
    pub lightgcn_layers: usize,
    /// LightGCN only: L2 weight on the batch's layer-0 embeddings.
    pub l2: f32,
    pub input_dim: usize,
    pub hidden_dim: usize,
    pub id_embedding: bool,
    /// Add each node's own input h⁰ to its embedding (a residual path past both convolves).
    pub skip: bool,
    pub pooling: Pooling,
    /// Importance and mean pooling as one fused GPU kernel each way (cubecl devices; the CPU
    /// always runs Burn's composed ops). Same values up to the order of float additions; on by
    /// default because Gowalla epochs on the H200 were 15 % shorter with it (BENCHMARKS.md,
    /// issue 15), though the bench's step on one repeated batch is not.
    pub fused_pool: bool,
    /// The L2 normalisations as one GPU kernel each way (`model::fused_norm`; cubecl devices; the
    /// CPU always composes). Same values within 1e-6; on by default because the Gowalla step on
    /// the H200 was 3.2–3.6 ms shorter with it (BENCHMARKS.md, issue 15, sixth session).
    pub fused_norm: bool,
    pub neighbourhood: NeighbourhoodKind,
    pub walk: WalkConfig,
    pub epochs: usize,
    /// Positive pairs per step.
    pub batch_size: usize,
    /// Random negatives shared by the whole batch.
    pub negatives: usize,
    pub loss: LossKind,
    /// Δ of the max-margin loss.
    pub margin: f32,
    /// BPR and softmax: scores are divided by this (cosine scores live in [-1, 1]; 1 leaves them as
    /// they are). `None` (the default) scales it to the graph's density, see [`default_temperature`].
    pub temperature: Option<f32>,
    pub learning_rate: f64,
    /// Adam's ε, added to √v. PyTorch's and TensorFlow's 1e-8, not Burn's 1e-5: with Burn's, the
    /// rarely sampled embedding rows (tiny gradients) learn several times slower.
    pub adam_epsilon: f32,
    /// Decoupled weight decay (AdamW) on every parameter; 0 is plain Adam.
    pub weight_decay: f32,
    /// PinSage's id-embedding table is updated row-sparsely: only the rows a batch reads, as
    /// PyTorch's `SparseAdam` (`train::sparse_ids`), so a step's cost does not grow with the
    /// graph. `None` (the default): from [`crate::defaults::SPARSE_IDS_MIN_NODES`] nodes on,
    /// where the dense update's O(nodes) cost shows; below, dense Adam, which reached a higher
    /// recall on Gowalla (BENCHMARKS.md, issue 12). Data-parallel runs update it densely.
    pub sparse_ids: Option<bool>,
    /// Share of positive pairs whose query is a board (the rest are pin–pin, the paper's).
    pub board_query_share: f32,
    /// Leave each pair's own edge out of its query's neighbourhood while training (the query
    /// learns to predict the pin from its other pins; see `sampler::exclude_positive_edges`).
    pub exclude_positive_edges: bool,
    /// How each epoch draws its positive pairs (LightGCN runs use the same choice).
    pub pair_sampling: PairSampling,
    /// The hard-negative curriculum: none in epoch 1, n−1 per query in epoch n.
    pub hard_negatives: bool,
    pub max_hard_per_query: usize,
    /// Rank band [from, to) of hard negatives; None scales the paper's 2000–5000 to the graph.
    pub hard_band: Option<(usize, usize)>,
    /// Bounds on each node's spread when ranking its hard negatives (`{"fanout": …, "reads": …}`);
    /// None: [`SpreadLimits::for_band`], which keeps the pools' cost linear in the nodes.
    pub hard_spread: Option<SpreadLimits>,
    pub sampler_threads: usize,
    pub queue_capacity: usize,
    pub seed: u64,
    pub device: DeviceChoice,
    /// Evaluate during training (recall@20 etc.) every `eval_interval` epochs; always at the end.
    /// With validation edges the evaluation is on them, and `model.bpk` is the best epoch's model.
    pub eval_each_epoch: bool,
    pub eval_interval: usize,
    /// Early stopping: end the run after this many evaluations in a row without a better
    /// validation recall@20 (0 never stops early; needs validation edges).
    pub patience: usize,
    /// Read the loss back from the device (and report progress) after this many steps of each
    /// epoch, then every this many but not more often than every
    /// `defaults::LOSS_READ_INTERVAL_SECS`, and at the epoch's end: each read drains the device's
    /// queue (on an H200, reading every 20 steps cost a Gowalla epoch ~0.6 of its ~3 s).
    pub log_every_steps: usize,
    /// Data-parallel training (PinSage): one replica per listed device index of `device`'s
    /// backend, each step's batch split between them. None: the one device of today.
    pub devices: Option<Vec<usize>>,
}

impl Default for TrainConfig {
    /// The settings for real data, chosen on validation splits (Gowalla's, LastFM's, MovieLens-
    /// 100k's and synthetic graphs'): sampled softmax over 1,024 shared negatives with τ from the
    /// graph's density ([`default_temperature`]), board queries drawn uniformly by board, learning
    /// rate 0.003, the skip path from h⁰ to the embedding, K = 50 walk neighbours, and up to 200
    /// epochs that stop early once validation recall@20 has not improved for 4 evaluations (every
    /// 5 epochs). [`TrainConfig::scaled_for`] fits τ, the batch and the negatives to the graph.
    /// [`TrainConfig::paper`] is the paper's.
    fn default() -> Self {
        TrainConfig {
            loss: LossKind::Softmax,
            temperature: None,
            negatives: 1024,
            batch_size: 2048,
            learning_rate: 3e-3,
            board_query_share: 1.0,
            pair_sampling: PairSampling::Boards,
            hard_negatives: false,
            skip: true,
            fused_pool: true,
            walk: WalkConfig { top_k: 50, ..WalkConfig::default() },
            epochs: 200,
            eval_interval: 5,
            patience: 4,
            sampler_threads: std::thread::available_parallelism().map_or(2, |n| n.get().saturating_sub(1)).clamp(2, 12),
            ..TrainConfig::paper()
        }
    }
}

impl TrainConfig {
    /// The paper's training setup (max-margin loss, Δ 0.1, pin–pin and board–pin pairs from every
    /// edge, the hard-negative curriculum), as the teaching views and `pinsage ablate` use it.
    pub fn paper() -> TrainConfig {
        TrainConfig {
            data: "default".into(),
            split: SplitConfig::default(),
            pin_features: None,
            graph_edits: Vec::new(),
            mode: Mode::Pinsage,
            lightgcn_layers: 3,
            l2: 1e-4,
            input_dim: 64,
            hidden_dim: 64,
            id_embedding: true,
            skip: false,
            pooling: Pooling::Importance,
            fused_pool: true,
            fused_norm: true,
            neighbourhood: NeighbourhoodKind::Walks,
            walk: WalkConfig::default(),
            epochs: 5,
            batch_size: 512,
            negatives: 256,
            loss: LossKind::MaxMargin,
            margin: 0.1,
            temperature: Some(1.0),
            learning_rate: 1e-3,
            adam_epsilon: 1e-8,
            weight_decay: 0.0,
            sparse_ids: None,
            board_query_share: 0.5,
            exclude_positive_edges: false,
            pair_sampling: PairSampling::Edges,
            hard_negatives: true,
            max_hard_per_query: 6,
            hard_band: None,
            hard_spread: None,
            sampler_threads: 2,
            queue_capacity: 8,
            seed: 1,
            device: DeviceChoice::Gpu,
            eval_each_epoch: true,
            eval_interval: 1,
            patience: 0,
            log_every_steps: 20,
            devices: None,
        }
    }

    /// The hard-negative rank band and spread bounds for a graph of `n_pins` pins: the configured
    /// ones, else [`default_band`](crate::sampler::default_band) and [`SpreadLimits::for_band`].
    pub fn hard_pool_bounds(&self, n_pins: u32) -> ((usize, usize), SpreadLimits) {
        let band = self.hard_band.unwrap_or_else(|| crate::sampler::default_band(n_pins));
        (band, self.hard_spread.unwrap_or_else(|| SpreadLimits::for_band(band)))
    }

    /// This config fitted to graph `g` where a fixed number cannot fit it: at most half the pins
    /// as shared negatives, a batch of at most a sixteenth of the edges (at least 32), so a
    /// small graph's epoch still has steps to learn from, and τ from the graph's density when the
    /// config leaves it open.
    pub fn scaled_for(&self, g: &Graph) -> TrainConfig {
        let mut c = self.clone();
        c.temperature.get_or_insert_with(|| default_temperature(g));
        c.negatives = c.negatives.min((g.n_pins() as usize / 2).max(1));
        c.batch_size = c.batch_size.min((g.n_edges() / 16).max(32));
        c
    }
    /// Rejects invalid settings, naming the field and the reason.
    pub fn validate(&self) -> Result<(), ParamError> {
        let err = |field, reason: &str| Err(ParamError { field, reason: reason.to_string() });
        self.walk.validate()?;
        if self.epochs == 0 {
            return err("epochs", "must be at least 1");
        }
        if let Err(crate::split::SplitError::Fraction { field, .. }) = self.split.validate() {
            return err(field, "must be in [0, 1)");
        }
        if self.batch_size == 0 {
            return err("batch_size", "must be at least 1");
        }
        if self.negatives == 0 {
            return err("negatives", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return err("learning_rate", "must be a positive number");
        }
        if !(self.adam_epsilon > 0.0 && self.adam_epsilon.is_finite()) {
            return err("adam_epsilon", "must be a positive number");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return err("weight_decay", "must be ≥ 0");
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return err("margin", "must be ≥ 0");
        }
        if let Some(t) = self.temperature
            && !(t > 0.0 && t.is_finite())
        {
            return err("temperature", "must be a positive number");
        }
        if !(0.0..=1.0).contains(&self.board_query_share) {
            return err("board_query_share", "must be in [0, 1]");
        }
        if let Some((a, b)) = self.hard_band
            && a >= b
        {
            return err("hard_band", "the band's start must be below its end");
        }
        if let Some(l) = self.hard_spread
            && (l.fanout == 0 || l.reads == 0)
        {
            return err("hard_spread", "fanout and reads must be at least 1");
        }
        if self.queue_capacity == 0 {
            return err("queue_capacity", "must be at least 1");
        }
        if self.eval_interval == 0 {
            return err("eval_interval", "must be at least 1");
        }
        if self.mode == Mode::Lightgcn && self.lightgcn_layers == 0 {
            return err("lightgcn_layers", "must be at least 1");
        }
        if self.log_every_steps == 0 {
            return err("log_every_steps", "must be at least 1");
        }
        if let Some(devices) = &self.devices {
            super::parallel::validate_devices(devices)?;
            if self.mode == Mode::Lightgcn && devices.len() > 1 {
                return err(
                    "devices",
                    "data-parallel training is for PinSage (LightGCN propagates the whole graph each step)",
                );
            }
        }
        Ok(())
    }

    /// τ of the BPR and softmax losses: the config's, or the default for a graph of Gowalla's
    /// density when neither the config nor [`TrainConfig::scaled_for`] has set it.
    pub fn temperature(&self) -> f32 {
        self.temperature.unwrap_or(TEMPERATURE_AT_REFERENCE_DENSITY)
    }

    /// Whether a graph of `n_nodes` nodes gets the row-sparse id update (see `sparse_ids`).
    pub fn uses_sparse_ids(&self, n_nodes: usize) -> bool {
        self.sparse_ids.unwrap_or(n_nodes >= crate::defaults::SPARSE_IDS_MIN_NODES)
    }

    /// Adam's settings for the row-sparse id table (`sparse_ids`), as [`Self::optimizer`]'s.
    pub fn sparse_adam(&self) -> super::sparse_ids::SparseAdamConfig {
        // Burn's `AdamConfig` defaults (its fields are private).
        super::sparse_ids::SparseAdamConfig {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: self.adam_epsilon,
            weight_decay: self.weight_decay,
        }
    }

    /// Adam with this run's ε (AdamW when the run has weight decay).
    pub fn optimizer(&self) -> ModuleOptimizer {
        if self.weight_decay > 0.0 {
            return AdamWConfig::new().with_epsilon(self.adam_epsilon).with_weight_decay(self.weight_decay).init();
        }
        AdamConfig::new().with_epsilon(self.adam_epsilon).init()
    }

    /// The model configuration for graph `g`.
    pub fn model_config(&self, g: &Graph) -> PinSageConfig {
        PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, g.features.as_ref().map_or(0, |f| f.dim))
            .with_input_dim(self.input_dim)
            .with_hidden_dim(self.hidden_dim)
            .with_id_embedding(self.id_embedding)
            .with_pooling(self.pooling)
            .with_skip(self.skip)
            .with_fused_pool(self.fused_pool)
            .with_fused_norm(self.fused_norm)
    }

    /// Loads a config file: any subset of the fields (the rest take their defaults); unknown
    /// fields and bad values are refused, naming the field (see [`crate::run_folder::load_config`];
    /// run folders go through [`crate::run_folder::load_run_config`]). `graph_edits` is cleared:
    /// what-if edits exist in the app only, so a run started from a file trains on the file's graph.
    pub fn load(path: &Path) -> Result<TrainConfig, TrainError> {
        let mut config = crate::run_folder::load_config(path, false)?.config;
        config.graph_edits.clear();
        Ok(config)
    }
}

/// τ at [`REFERENCE_DENSITY`], and how much it grows per tenfold density, within [τ_min, τ_max].
const TEMPERATURE_AT_REFERENCE_DENSITY: f32 = 0.1;
const TEMPERATURE_PER_DECADE: f32 = 0.12;
const TEMPERATURE_RANGE: (f32, f32) = (0.1, 0.35);
/// Gowalla's training density (edges / (pins × boards)) with the default validation split.
const REFERENCE_DENSITY: f64 = 6e-4;

/// The sampled-softmax temperature for graph `g`, from its density d = edges / (pins × boards):
/// τ = 0.1 + 0.12 · log₁₀(d / 6·10⁻⁴), within [0.1, 0.35].
///
/// The denser the graph, the more of a board's random "negatives" are pins it would like, and the
/// softer the softmax must be. Chosen on validation splits (H200, 2026-12-01): Gowalla (d 6·10⁻⁴)
/// is best at 0.1 (validation recall@20 .179 at epoch 10 against .152 at 0.2); a music set
/// (d 4.5·10⁻³) at 0.2 (.280 against .246 at 0.1 and .275 at 0.3); a movie set (d 4.5·10⁻²) at
/// 0.3 (.335 against .324 at 0.2 and .292 at 0.1). A graph without edges gets 0.1.
pub fn default_temperature(g: &Graph) -> f32 {
    let cells = f64::from(g.n_pins()) * f64::from(g.n_boards());
    let density = g.n_edges() as f64 / cells;
    if !(density > 0.0 && density.is_finite()) {
        return TEMPERATURE_AT_REFERENCE_DENSITY;
    }
    let t = TEMPERATURE_AT_REFERENCE_DENSITY + TEMPERATURE_PER_DECADE * (density / REFERENCE_DENSITY).log10() as f32;
    t.clamp(TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1)
}

/// The graph a run trains on: `cfg.data` loaded, split as `cfg.split` says, with
/// `cfg.pin_features` attached. `eval`, `embed` and `recommend` rebuild it the same way.
pub fn run_graph(cfg: &TrainConfig, format: crate::load::Format) -> Result<Graph, TrainError> {
    let mut g = crate::load::load_split(&cfg.data, format, &cfg.split)?;
    if let Some(f) = &cfg.pin_features {
        crate::features::attach_pin_features(&mut g, Path::new(f))?;
    }
    Ok(g)
}
