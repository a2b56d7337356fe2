//! The options shared by several subcommands (data, walks, training) and the argument structs of
//! `recommend`, `train` and `bench`, with their conversion to the library's configs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pinsage_explorer::ann::SearchKind;
use pinsage_explorer::data::fuzz::FuzzTarget;
use pinsage_explorer::graph::Graph;
use pinsage_explorer::load::Format;
use pinsage_explorer::model::Pooling;
use pinsage_explorer::sampler::{NeighbourhoodKind, PairSampling};
use pinsage_explorer::split::{HoldoutBy, SplitConfig};
use pinsage_explorer::train::{self, DeviceChoice, LossKind, Mode, TrainConfig};
use pinsage_explorer::walk::WalkConfig;

use super::{named, parallel, scale};

#[derive(Args, Debug, Clone)]
pub struct RecommendArgs {
    /// The run folder written by `pinsage train --out`.
    #[arg(long)]
    pub run: PathBuf,
    /// The board (user) to recommend for: its label as in the data file, or its number.
    #[arg(long, conflicts_with = "pin")]
    pub board: Option<String>,
    /// The pin (item) to find related pins for: its label or id.
    #[arg(long)]
    pub pin: Option<String>,
    /// How many to list.
    #[arg(short, long, default_value_t = 20)]
    pub k: usize,
    #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
    pub device: DeviceChoice,
    /// Exact search, the run's index (`pinsage index`), or auto (the index from 200,000 pins up).
    #[arg(long, value_parser = named::<SearchKind>(), default_value_t = SearchKind::Auto)]
    pub search: SearchKind,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A JSON file with any TrainConfig fields (flags below override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_parser = named::<DeviceChoice>())]
    pub device: Option<DeviceChoice>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Run folder for config.json, metrics.jsonl, checkpoints and the model.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, requires = "out")]
    pub resume: bool,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// PinSage (default) or LightGCN.
    #[arg(long, value_parser = named::<Mode>())]
    pub mode: Option<Mode>,
    #[arg(long, value_parser = named::<Pooling>())]
    pub pooling: Option<Pooling>,
    /// Evaluate every N epochs (and at the end).
    #[arg(long)]
    pub eval_interval: Option<usize>,
    #[arg(long, value_parser = named::<NeighbourhoodKind>())]
    pub neighbourhood: Option<NeighbourhoodKind>,
    #[arg(long, value_parser = named::<LossKind>())]
    pub loss: Option<LossKind>,
    /// Random negatives shared by each batch.
    #[arg(long)]
    pub negatives: Option<usize>,
    /// τ of the BPR and softmax losses (scores are divided by it).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Turn the hard-negative curriculum off.
    #[arg(long, conflicts_with = "hard_negatives")]
    pub no_hard_negatives: bool,
    /// Turn the paper's hard-negative curriculum on (off by default for real data).
    #[arg(long)]
    pub hard_negatives: bool,
    /// Stop after this many evaluations without a better validation recall@20 (0: never).
    #[arg(long)]
    pub patience: Option<usize>,
    #[arg(long)]
    pub board_query_share: Option<f32>,
    /// How each epoch draws its positive pairs: every edge once, or uniform boards (LightGCN's).
    #[arg(long, value_parser = named::<PairSampling>())]
    pub pair_sampling: Option<PairSampling>,
    #[arg(long)]
    pub sampler_threads: Option<usize>,
    /// Evaluate only at the end, not after every epoch.
    #[arg(long)]
    pub eval_at_end: bool,
    /// Data-parallel training on these devices of --device, e.g. `0,1` (PinSage).
    #[arg(long, value_parser = parallel::devices_arg)]
    pub devices: Option<parallel::DeviceList>,
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    pub fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut cfg = match &self.config {
            Some(p) => TrainConfig::load(p)?,
            None => TrainConfig::default(),
        };
        cfg.data = self.data.data.clone();
        cfg.split = self.data.split(cfg.split);
        if let Some(s) = self.data.seed {
            cfg.seed = s;
        }
        if let Some(f) = &self.data.pin_features {
            cfg.pin_features = Some(f.display().to_string());
        }
        if let Some(v) = self.patience {
            cfg.patience = v;
        }
        if self.hard_negatives {
            cfg.hard_negatives = true;
        }
        if let Some(v) = self.device {
            cfg.device = v;
        }
        if let Some(v) = &self.devices {
            cfg.devices = Some(v.0.clone());
        }
        if let Some(v) = self.epochs {
            cfg.epochs = v;
        }
        if let Some(v) = self.batch_size {
            cfg.batch_size = v;
        }
        if let Some(v) = self.learning_rate {
            cfg.learning_rate = v;
        }
        if let Some(v) = self.mode {
            cfg.mode = v;
        }
        if let Some(v) = self.eval_interval {
            cfg.eval_interval = v;
        }
        if let Some(v) = self.pooling {
            cfg.pooling = v;
        }
        if let Some(v) = self.neighbourhood {
            cfg.neighbourhood = v;
        }
        if let Some(v) = self.loss {
            cfg.loss = v;
        }
        if let Some(v) = self.negatives {
            cfg.negatives = v;
        }
        if let Some(v) = self.temperature {
            cfg.temperature = Some(v);
        }
        if let Some(v) = self.board_query_share {
            cfg.board_query_share = v;
        }
        if let Some(v) = self.pair_sampling {
            cfg.pair_sampling = v;
        }
        if let Some(v) = self.sampler_threads {
            cfg.sampler_threads = v;
        }
        if self.no_hard_negatives {
            cfg.hard_negatives = false;
        }
        if self.eval_at_end {
            cfg.eval_each_epoch = false;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Walk throughput and the time to compute every pin's top-K neighbourhood.
    Walks {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        walk: WalkArgs,
        /// Repeats (the best time is kept).
        #[arg(long, default_value_t = 5)]
        repeats: u32,
        /// Also time building every node's hard-negative pool once (the default band and bounds).
        #[arg(long)]
        hard_pools: bool,
        #[arg(long)]
        json: bool,
    },
    /// The layer-wise inference in memory against the same as DataFusion jobs, timed (JSON).
    Engine(super::engine::BenchEngineArgs),
    /// Full-graph embedding of a run's graph, all-board and all-pin top-20 retrieval, timed.
    Embed {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[arg(long, default_value_t = 3)]
        repeats: u32,
    },
    /// The training step alone (forward, loss, backward, Adam) on one fixed batch.
    TrainStep(TrainStepArgs),
    /// Loader robustness: generated inputs (valid files put through seeded mutations, or random
    /// bytes) through each loader; counts loads, refusals by kind and panics (must be 0).
    FuzzLoaders {
        /// Inputs per loader.
        #[arg(long, default_value_t = 1_000_000)]
        inputs: u64,
        /// The first input's seed (inputs use seed, seed + 1, …).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only this loader (default: all).
        #[arg(long, value_parser = named::<FuzzTarget>())]
        loader: Option<FuzzTarget>,
        #[arg(long)]
        json: bool,
    },
    /// The cost curve: power-law graphs of each size (one child process each), timing generation,
    /// walks, training steps, layer-wise inference and top-20 retrieval (exact and ANN), with peak memory.
    Scale(scale::ScaleArgs),
    /// Approximate nearest neighbours on random unit vectors: build time, recall@k against exact, latency.
    Ann(scale::AnnBenchArgs),
    /// t-SNE or UMAP of clustered vectors (e.g. 100,000 × 64): time by stage, peak memory, neighbours kept.
    Map(super::map_bench::MapBenchArgs),
}

/// Where the graph comes from and how its held-out edges are made.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A graph file or folder, `default` for the embedded synthetic graph, or
    /// `synthetic:pins=N,boards=N,topics=N,pins_per_board=N,noise=F,colour=F,seed=N`.
    #[arg(long, default_value = "default")]
    pub data: String,
    /// The file format (sniffed from the content when `auto`).
    #[arg(long, value_parser = named::<Format>(), default_value_t = Format::Auto)]
    pub format: Format,
    /// Share of each board's pins held out for testing when the data has no test edges [default: 0.2].
    #[arg(long)]
    pub holdout: Option<f32>,
    /// Hold out random pins, or each board's latest (needs timestamps) [default: random].
    #[arg(long, value_parser = named::<HoldoutBy>())]
    pub holdout_by: Option<HoldoutBy>,
    /// Share of each board's training pins kept aside for validation (early stopping, model
    /// choice; 0 for none) [default: 0.1].
    #[arg(long)]
    pub validation: Option<f32>,
    /// Seed of the splits (and of training).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Pin features: `.npy` [pins, d] in pin order, or CSV `pin,f1,…,fd` keyed by the file's pin ids.
    #[arg(long)]
    pub pin_features: Option<PathBuf>,
}

impl DataArgs {
    /// The split these flags ask for, on top of `base`.
    pub fn split(&self, base: SplitConfig) -> SplitConfig {
        SplitConfig {
            holdout: self.holdout.unwrap_or(base.holdout),
            holdout_by: self.holdout_by.unwrap_or(base.holdout_by),
            validation: self.validation.unwrap_or(base.validation),
            seed: self.seed.unwrap_or(base.seed),
        }
    }

    /// The graph, split, with its features.
    pub fn load(&self) -> anyhow::Result<Graph> {
        let cfg = TrainConfig {
            data: self.data.clone(),
            split: self.split(SplitConfig::default()),
            pin_features: self.pin_features.as_ref().map(|p| p.display().to_string()),
            ..TrainConfig::default()
        };
        Ok(train::run_graph(&cfg, self.format)?)
    }
}

/// Random-walk parameters.
#[derive(Args, Debug, Clone)]
pub struct WalkArgs {
    /// T: walks per pin.
    #[arg(long, default_value_t = WalkConfig::default().walks)]
    pub walks: u32,
    /// L: pin-steps per walk.
    #[arg(long, default_value_t = WalkConfig::default().length)]
    pub length: u32,
    /// K: neighbours kept.
    #[arg(long, default_value_t = WalkConfig::default().top_k)]
    pub top_k: usize,
    /// Restart probability after each step.
    #[arg(long, default_value_t = WalkConfig::default().restart)]
    pub restart: f32,
    /// Seed of the walks.
    #[arg(id = "walk_seed", long = "walk-seed", default_value_t = WalkConfig::default().seed)]
    pub seed: u64,
}

impl WalkArgs {
    pub fn config(&self) -> anyhow::Result<WalkConfig> {
        let cfg = WalkConfig {
            walks: self.walks,
            length: self.length,
            top_k: self.top_k,
            restart: self.restart,
            seed: self.seed,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// `pinsage bench train-step`.
#[derive(Args, Debug)]
pub struct TrainStepArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
    pub device: DeviceChoice,
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// The training settings to time (a config file as `pinsage train --config` takes; fitted to
    /// the graph as training fits them). Default: the paper's setup.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Pool with Burn's composed ops instead of the fused kernels (src/model/fused_pool.rs),
    /// whatever the config says.
    #[arg(long)]
    pub composed_pool: bool,
    /// Normalise with Burn's composed ops instead of the fused kernels (src/model/fused_norm.rs),
    /// whatever the config says.
    #[arg(long)]
    pub composed_norm: bool,
    /// Time the implementation as it was before the step was tuned (plain `Linear` dense layers,
    /// composed pooling): the reference for loss-curve comparisons.
    #[arg(long)]
    pub reference: bool,
    /// Upload each step's batch inside the timed loop (as training does, on this thread) instead
    /// of all of them before the timing.
    #[arg(long)]
    pub upload_each_step: bool,
    /// Batches carry their gathers (ids and weights) even when every node's neighbourhood would
    /// fit on the device, as training did before the neighbourhoods were held there.
    #[arg(long)]
    pub gathers: bool,
    /// Cycle through this many different batches, as training does (1: the same batch each step).
    #[arg(long, default_value_t = 1)]
    pub distinct_batches: usize,
    /// Write the batch as .npy files here, for bench/pytorch_step.py.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Data-parallel: time 1, 2, … of these devices on the same batch (e.g. `0,1`).
    #[arg(long, value_parser = parallel::devices_arg, conflicts_with = "dump")]
    pub devices: Option<parallel::DeviceList>,
    #[arg(long)]
    pub json: bool,
}
