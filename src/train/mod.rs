//! The trainer: CPU sampler threads feed a bounded queue that the device step drains; everything
//! it does is reported as typed [`TrainEvent`]s and it obeys [`TrainCommand`]s (pause, resume,
//! stop). Runs write `config.json`, `metrics.jsonl`, atomic checkpoints and the final model.

pub mod run_folder;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu};
use crossbeam_channel::{Receiver, Sender, bounded};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use crate::eval::{EmbeddingScorer, HIT_K, MAX_PIN_PAIRS, Metrics, evaluate_on};
use crate::graph::{Graph, Split};
use crate::infer::{Embeddings, embed_all};
use crate::model::{Block, LayerIndex, PinSage, PinSageConfig, Pooling, gather_rows};
use crate::run_folder::RunFolderError;
use crate::sampler::{
    HardPools, HostBlock, HostLayer, NeighbourhoodKind, NodeNeighbourhoods, NodeSet, PairSampling, TrainBatch,
    Triplets, default_band, epoch_pairs, fill_triplets, hard_per_query, hard_pools, make_batch,
    try_node_neighbourhoods,
};
use crate::split::SplitConfig;
use crate::walk::{ParamError, WalkConfig};

/// Where the model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// Burn's wgpu backend (Vulkan, Metal, DX12); falls back to the CPU when no adapter exists.
    #[default]
    Gpu,
    /// Burn's flex backend, pure Rust on the CPU.
    Cpu,
}

/// Which model a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// PinSage: convolutions over random-walk neighbourhoods, max-margin loss (the seed).
    #[default]
    Pinsage,
    /// LightGCN: free embeddings, normalised full-graph propagation, layer mean, BPR loss.
    Lightgcn,
}

/// The training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// max(0, z_q·z_n − z_q·z_p + Δ), the paper's.
    #[default]
    MaxMargin,
    /// −log σ(z_q·z_p − z_q·z_n).
    Bpr,
    /// Sampled softmax: −log of the positive's share of exp(score/τ) over the positive and all
    /// the batch's negatives (the shared random ones and the query's hard ones).
    Softmax,
}

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
    /// BPR and softmax: scores are divided by this (cosine scores live in [-1, 1]; 1 leaves them as they are).
    pub temperature: f32,
    pub learning_rate: f64,
    /// Adam's ε, added to √v. PyTorch's and TensorFlow's 1e-8, not Burn's 1e-5: with Burn's, the
    /// rarely sampled embedding rows (tiny gradients) learn several times slower.
    pub adam_epsilon: f32,
    /// Share of positive pairs whose query is a board (the rest are pin–pin, the paper's).
    pub board_query_share: f32,
    /// How each epoch draws its positive pairs (LightGCN runs use the same choice).
    pub pair_sampling: PairSampling,
    /// The hard-negative curriculum: none in epoch 1, n−1 per query in epoch n.
    pub hard_negatives: bool,
    pub max_hard_per_query: usize,
    /// Rank band [from, to) of hard negatives; None scales the paper's 2000–5000 to the graph.
    pub hard_band: Option<(usize, usize)>,
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
    /// Read the loss back from the device every this many steps (never every step).
    pub log_every_steps: usize,
}

impl Default for TrainConfig {
    /// The settings for real data, chosen on validation splits (Gowalla's and synthetic graphs'):
    /// sampled softmax (τ 0.1) over 1,024 shared negatives, board queries drawn uniformly by
    /// board, learning rate 0.003, the skip path from h⁰ to the embedding, K = 50 walk
    /// neighbours, and up to 200 epochs that stop early once validation
    /// recall@20 has not improved for 4 evaluations (every 5 epochs). [`TrainConfig::scaled_for`]
    /// fits the batch and the negatives to small graphs. [`TrainConfig::paper`] is the paper's.
    fn default() -> Self {
        TrainConfig {
            loss: LossKind::Softmax,
            temperature: 0.1,
            negatives: 1024,
            batch_size: 2048,
            learning_rate: 3e-3,
            board_query_share: 1.0,
            pair_sampling: PairSampling::Boards,
            hard_negatives: false,
            skip: true,
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
            mode: Mode::Pinsage,
            lightgcn_layers: 3,
            l2: 1e-4,
            input_dim: 64,
            hidden_dim: 64,
            id_embedding: true,
            skip: false,
            pooling: Pooling::Importance,
            neighbourhood: NeighbourhoodKind::Walks,
            walk: WalkConfig::default(),
            epochs: 5,
            batch_size: 512,
            negatives: 256,
            loss: LossKind::MaxMargin,
            margin: 0.1,
            temperature: 1.0,
            learning_rate: 1e-3,
            adam_epsilon: 1e-8,
            board_query_share: 0.5,
            pair_sampling: PairSampling::Edges,
            hard_negatives: true,
            max_hard_per_query: 6,
            hard_band: None,
            sampler_threads: 2,
            queue_capacity: 8,
            seed: 1,
            device: DeviceChoice::Gpu,
            eval_each_epoch: true,
            eval_interval: 1,
            patience: 0,
            log_every_steps: 20,
        }
    }

    /// This config fitted to graph `g` where a fixed number cannot fit it: at most half the pins
    /// as shared negatives, and a batch of at most a sixteenth of the edges (at least 32), so a
    /// small graph's epoch still has steps to learn from.
    pub fn scaled_for(&self, g: &Graph) -> TrainConfig {
        let mut c = self.clone();
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
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return err("margin", "must be ≥ 0");
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
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
        Ok(())
    }

    /// Adam with this run's ε.
    pub fn optimizer(&self) -> ModuleOptimizer {
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
    }

    /// Loads a config file: any subset of the fields (the rest take their defaults); unknown
    /// fields and bad values are refused, naming the field (see [`crate::run_folder::load_config`];
    /// run folders go through [`crate::run_folder::load_run_config`]).
    pub fn load(path: &Path) -> Result<TrainConfig, TrainError> {
        Ok(crate::run_folder::load_config(path, false)?.config)
    }
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

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    Completed,
    Stopped,
    /// Validation recall@20 stopped improving (see `TrainConfig::patience`).
    #[serde(rename = "early_stopped")]
    EarlyStopped,
}

/// Everything the trainer reports. One JSON object per line in `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Started {
        device: String,
        epochs: usize,
        start_epoch: usize,
        steps_per_epoch: usize,
        pins: u32,
        boards: u32,
        edges: usize,
    },
    Note {
        message: String,
    },
    Progress {
        epoch: usize,
        step: usize,
        steps_per_epoch: usize,
        loss: f32,
        triplets_per_sec: f64,
        queue_depth: usize,
        gpu_wait_share: f64,
        elapsed_secs: f64,
        eta_secs: f64,
    },
    EpochEnd {
        epoch: usize,
        loss: f32,
        epoch_secs: f64,
        triplets_per_sec: f64,
        gpu_wait_share: f64,
        hard_per_query: usize,
        metrics: Option<Metrics>,
    },
    Checkpoint {
        epoch: usize,
        path: String,
    },
    Paused,
    Resumed,
    /// `metrics` are on the test edges, of the best-validation epoch (`best_epoch`) when the graph
    /// has validation edges, else of the last epoch.
    Finished {
        reason: EndReason,
        epochs_done: usize,
        metrics: Option<Metrics>,
        #[serde(default)]
        best_epoch: Option<usize>,
    },
    Failed {
        message: String,
    },
}

/// Commands the trainer obeys between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainCommand {
    Pause,
    Resume,
    Stop,
}

/// An error that ends a run (reported as [`TrainEvent::Failed`] too).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    /// (Not a `#[source]`: the message already carries it, and error chains would repeat it.)
    #[error("invalid config: {0}")]
    Param(ParamError),
    #[error("config: {0}")]
    Config(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Diverged(String),
    #[error("{0}")]
    Device(String),
    #[error(transparent)]
    RunFolder(#[from] crate::run_folder::RunFolderError),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
    #[error(transparent)]
    Infer(#[from] crate::infer::InferError),
}

impl From<ParamError> for TrainError {
    fn from(e: ParamError) -> Self {
        TrainError::Param(e)
    }
}

/// A running training job: its events, its command channel and its thread.
pub struct TrainHandle {
    pub events: Receiver<TrainEvent>,
    pub commands: Sender<TrainCommand>,
    thread: Option<std::thread::JoinHandle<Result<TrainOutput, TrainError>>>,
}

/// What a finished run leaves behind (also on disk when it has a run folder).
pub struct TrainOutput {
    /// The PinSage model (None for LightGCN runs, which leave embeddings only).
    pub model: Option<PinSage>,
    pub neighbourhoods: Arc<NodeNeighbourhoods>,
    pub embeddings: Option<Embeddings>,
    pub epochs_done: usize,
}

impl TrainHandle {
    /// Waits for the run to end and returns its result.
    pub fn join(mut self) -> Result<TrainOutput, TrainError> {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(TrainError::Device("the training thread panicked".into())),
            None => Err(TrainError::Device("already joined".into())),
        }
    }
}

/// Picks the device: wgpu if an adapter can be had (else the CPU, with a note), or flex.
pub fn select_device(choice: DeviceChoice) -> (Device, String, Option<String>) {
    match choice {
        DeviceChoice::Cpu => (Device::flex(), "cpu (flex)".into(), None),
        // Vulkan only on Linux: the automatic choice also probes OpenGL through EGL, which on a
        // server without a desktop session prints `error: XDG_RUNTIME_DIR is invalid…` though
        // nothing failed. Burn's compute runs on Vulkan there in any case.
        DeviceChoice::Gpu => match headless_wgpu_options().init() {
            Ok(d) => (d, "gpu (wgpu)".into(), None),
            Err(e) => (
                Device::flex(),
                "cpu (flex)".into(),
                Some(format!("no GPU adapter ({e}); training on the CPU instead")),
            ),
        },
    }
}

fn headless_wgpu_options() -> burn::tensor::wgpu::WgpuOptions {
    let options = Device::wgpu_options();
    if cfg!(target_os = "linux") { options.graphics_api(burn::tensor::wgpu::WgpuBackend::Vulkan) } else { options }
}

/// Options for [`spawn`] beyond the config.
#[derive(Default)]
pub struct RunOptions {
    /// Run folder: config, metrics.jsonl, checkpoints, final model.
    pub out: Option<PathBuf>,
    /// Continue the run in `out` from its last checkpoint.
    pub resume: bool,
    /// A device to use instead of `config.device` (e.g. one shared with the GUI).
    pub device: Option<(Device, String)>,
    /// Called after every event (e.g. to request a GUI repaint).
    pub notify: Option<Box<dyn Fn() + Send>>,
}

/// Starts training on its own thread.
pub fn spawn(graph: Arc<Graph>, config: TrainConfig, options: RunOptions) -> TrainHandle {
    let (event_tx, event_rx) = bounded(4096);
    let (cmd_tx, cmd_rx) = bounded(64);
    let thread = std::thread::Builder::new()
        .name("pinsage-train".into())
        .spawn(move || {
            let notify = options.notify;
            let mut sink = EventSink { tx: event_tx, log: None, notify };
            let result = run(&graph, config, options.out, options.resume, options.device, &cmd_rx, &mut sink);
            if let Err(e) = &result {
                sink.emit(TrainEvent::Failed { message: e.to_string() });
            }
            result
        })
        .expect("spawning the training thread");
    TrainHandle { events: event_rx, commands: cmd_tx, thread: Some(thread) }
}

/// Sends events to the channel, appends them to metrics.jsonl, and pokes the listener.
struct EventSink {
    tx: Sender<TrainEvent>,
    log: Option<std::fs::File>,
    notify: Option<Box<dyn Fn() + Send>>,
}

impl EventSink {
    fn emit(&mut self, ev: TrainEvent) {
        if let Some(f) = &mut self.log
            && let Ok(line) = serde_json::to_string(&ev)
        {
            // A full disk must not kill training; the channel still carries the event.
            let _ = writeln!(f, "{line}").and_then(|_| f.flush());
        }
        let _ = self.tx.send(ev);
        if let Some(n) = &self.notify {
            n();
        }
    }
}

/// Replaces `path` atomically: `write` fills a temp file beside it, which is then renamed over it.
fn replace_atomically<E: std::fmt::Debug>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), TrainError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write(&tmp).map_err(|e| TrainError::Io(format!("{}: {e:?}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to `path` atomically.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    replace_atomically(path, |tmp| std::fs::write(tmp, bytes))
}

/// Saves the model atomically as `<dir>/<name>.bpk`.
fn save_model<M: Module>(model: &M, dir: &Path, name: &str) -> Result<PathBuf, TrainError> {
    let final_path = dir.join(format!("{name}.bpk"));
    replace_atomically(&final_path, |tmp| model.clone().save_file(tmp))?;
    Ok(final_path)
}

/// The first event of a run.
fn started_event(g: &Graph, cfg: &TrainConfig, start_epoch: usize, device: String) -> TrainEvent {
    TrainEvent::Started {
        device,
        epochs: cfg.epochs,
        start_epoch,
        steps_per_epoch: g.n_edges().div_ceil(cfg.batch_size),
        pins: g.n_pins(),
        boards: g.n_boards(),
        edges: g.n_edges(),
    }
}

/// The split a run evaluates on while training: validation when the graph has validation edges
/// (nothing is chosen on the test edges), else test.
fn selection_split(g: &Graph) -> Split {
    if g.n_validation_edges() > 0 { Split::Validation } else { Split::Test }
}

/// Both protocols on `split`, with the project's standard settings.
pub fn evaluate_embeddings(g: &Graph, emb: &Embeddings, seed: u64, split: Split) -> Metrics {
    evaluate_on(g, &EmbeddingScorer { emb }, HIT_K, MAX_PIN_PAIRS, seed, split)
}

/// The best-validation epoch so far: its number, recall@20, model and embeddings.
struct Best<M> {
    epoch: usize,
    recall: f64,
    model: Option<M>,
    embeddings: Option<Embeddings>,
}

/// What both training loops carry across epochs and do at an epoch's end (evaluate when due,
/// keep the best-validation model, report, checkpoint) and at the run's end (save the model,
/// evaluate it on the test edges, report how it ended).
struct Ledger<'a, M> {
    g: &'a Graph,
    cfg: &'a TrainConfig,
    out: Option<&'a Path>,
    epochs_done: usize,
    split: Split,
    last_metrics: Option<Metrics>,
    /// Without validation edges: the last epoch's embeddings when it was evaluated (the final
    /// epoch always is), reused as the run's output. With them the best epoch's are kept instead.
    last_embeddings: Option<Embeddings>,
    best: Option<Best<M>>,
    evaluations_since_best: usize,
}

/// One epoch's numbers for its `EpochEnd` event.
struct EpochSummary {
    epoch: usize,
    loss: f32,
    epoch_secs: f64,
    triplets: usize,
    waited_secs: f64,
    hard_per_query: usize,
}

/// How a run ended and what it leaves: the model to keep (the best-validation one), its
/// embeddings, and the number of epochs done.
struct Ending<M> {
    model: Option<M>,
    embeddings: Option<Embeddings>,
    epochs_done: usize,
}

impl<'a, M: Module> Ledger<'a, M> {
    fn new(
        g: &'a Graph,
        cfg: &'a TrainConfig,
        out: Option<&'a Path>,
        start_epoch: usize,
        state: &RunState,
    ) -> Ledger<'a, M> {
        // A resumed run remembers its best epoch; its model is `model.bpk` on disk.
        let best =
            state.best_epoch.map(|epoch| Best { epoch, recall: state.best_recall, model: None, embeddings: None });
        Ledger {
            g,
            cfg,
            out,
            epochs_done: start_epoch - 1,
            split: selection_split(g),
            last_metrics: None,
            last_embeddings: None,
            best,
            evaluations_since_best: 0,
        }
    }

    fn due(&self, epoch: usize) -> bool {
        (self.cfg.eval_each_epoch && epoch.is_multiple_of(self.cfg.eval_interval)) || epoch == self.cfg.epochs
    }

    /// Ends an epoch; returns true when early stopping ends the run here.
    fn end_epoch(
        &mut self,
        e: EpochSummary,
        model: &M,
        optim: &ModuleOptimizer,
        sink: &mut EventSink,
        embed: impl Fn(&M) -> Result<Embeddings, crate::infer::InferError>,
    ) -> Result<bool, TrainError> {
        let mut metrics = None;
        let mut stop_early = false;
        self.last_embeddings = None;
        if self.due(e.epoch) {
            let emb = embed(model).map_err(|e| TrainError::Device(e.to_string()))?;
            let m = evaluate_embeddings(self.g, &emb, self.cfg.seed, self.split);
            if self.split == Split::Test {
                self.last_embeddings = Some(emb);
            } else if self.best.as_ref().is_none_or(|b| m.recall_at_20 > b.recall) {
                if let Some(dir) = self.out {
                    save_model(model, dir, "model")?;
                }
                self.best = Some(Best {
                    epoch: e.epoch,
                    recall: m.recall_at_20,
                    model: Some(model.clone()),
                    embeddings: Some(emb),
                });
                self.evaluations_since_best = 0;
            } else {
                self.evaluations_since_best += 1;
                stop_early = self.cfg.patience > 0 && self.evaluations_since_best >= self.cfg.patience;
            }
            self.last_metrics = Some(m.clone());
            metrics = Some(m);
        }
        sink.emit(TrainEvent::EpochEnd {
            epoch: e.epoch,
            loss: e.loss,
            epoch_secs: e.epoch_secs,
            triplets_per_sec: e.triplets as f64 / e.epoch_secs.max(1e-9),
            gpu_wait_share: e.waited_secs / e.epoch_secs.max(1e-9),
            hard_per_query: e.hard_per_query,
            metrics,
        });
        self.epochs_done = e.epoch;
        if let Some(dir) = self.out {
            let best = self.best.as_ref().map(|b| (b.epoch, b.recall));
            checkpoint(model, optim, dir, self.epochs_done, best, sink)?;
        }
        if stop_early {
            sink.emit(TrainEvent::Note {
                message: format!(
                    "early stop: validation recall@20 has not improved for {} evaluations (best {:.4} at epoch {})",
                    self.evaluations_since_best,
                    self.best.as_ref().map_or(0.0, |b| b.recall),
                    self.best.as_ref().map_or(0, |b| b.epoch)
                ),
            });
        }
        Ok(stop_early)
    }

    /// Unless the run was stopped: saves the final model (without validation edges; with them
    /// `model.bpk` is already the best epoch's), evaluates the kept model on the test edges and
    /// returns it with its embeddings.
    fn finish(
        self,
        reason: EndReason,
        model: M,
        sink: &mut EventSink,
        embed: impl Fn(&M) -> Result<Embeddings, crate::infer::InferError>,
    ) -> Result<Ending<M>, TrainError> {
        let device_err = |e: crate::infer::InferError| TrainError::Device(e.to_string());
        let mut metrics = self.last_metrics.clone();
        let mut best_epoch = None;
        let ending = if reason == EndReason::Stopped {
            Ending { model: Some(model), embeddings: None, epochs_done: self.epochs_done }
        } else if self.split == Split::Validation
            && let Some(best) = self.best
        {
            best_epoch = Some(best.epoch);
            let kept = match best.model {
                Some(m) => m,
                // Resumed and never bettered: the best model is the one on disk.
                None => match self.out {
                    Some(dir) => {
                        let path = dir.join("model.bpk");
                        model.try_load_file(&path).map_err(|e| TrainError::Io(format!("{}: {e:?}", path.display())))?
                    }
                    None => model,
                },
            };
            let emb = match best.embeddings {
                Some(e) => e,
                None => embed(&kept).map_err(device_err)?,
            };
            metrics = Some(evaluate_embeddings(self.g, &emb, self.cfg.seed, Split::Test));
            Ending { model: Some(kept), embeddings: Some(emb), epochs_done: self.epochs_done }
        } else {
            if let Some(dir) = self.out {
                save_model(&model, dir, "model")?;
            }
            let emb = match self.last_embeddings {
                Some(emb) => emb,
                None => embed(&model).map_err(device_err)?,
            };
            if metrics.as_ref().is_none_or(|m| m.split != Split::Test) {
                metrics = Some(evaluate_embeddings(self.g, &emb, self.cfg.seed, Split::Test));
            }
            Ending { model: Some(model), embeddings: Some(emb), epochs_done: self.epochs_done }
        };
        sink.emit(TrainEvent::Finished { reason, epochs_done: self.epochs_done, metrics, best_epoch });
        Ok(ending)
    }
}

/// Sums the loss on the device and reads it back only every `every` steps and at an epoch's last
/// step; a non-finite mean ends the run.
struct LossMeter {
    every: usize,
    pending: Option<Tensor<1>>,
    since_read: usize,
    sum: f64,
    steps_read: usize,
}

impl LossMeter {
    fn new(every: usize) -> LossMeter {
        LossMeter { every, pending: None, since_read: 0, sum: 0.0, steps_read: 0 }
    }

    fn add(&mut self, loss: &Tensor<1>) {
        let detached = loss.clone().inner();
        self.pending = Some(match self.pending.take() {
            Some(acc) => acc + detached,
            None => detached,
        });
        self.since_read += 1;
    }

    /// The mean loss since the last read, when a read is due after `step` (1-based).
    fn read_if_due(
        &mut self,
        step: usize,
        steps_per_epoch: usize,
        epoch: usize,
        epochs_done: usize,
    ) -> Result<Option<f32>, TrainError> {
        if self.since_read < self.every && step != steps_per_epoch {
            return Ok(None);
        }
        self.read(epoch, step, epochs_done).map(Some)
    }

    fn read(&mut self, epoch: usize, step: usize, epochs_done: usize) -> Result<f32, TrainError> {
        let Some(acc) = self.pending.take() else { return Ok(0.0) };
        let mean = acc.into_scalar::<f32>() / self.since_read as f32;
        if !mean.is_finite() {
            return Err(TrainError::Diverged(format!(
                "loss became {mean} at epoch {epoch}, step {step}; stopped, keeping the last good checkpoint (epoch {epochs_done})"
            )));
        }
        self.sum += mean as f64 * self.since_read as f64;
        self.steps_read += self.since_read;
        self.since_read = 0;
        Ok(mean)
    }

    /// The epoch's mean loss, reading back whatever is still pending.
    fn epoch_mean(&mut self, epoch: usize, step: usize, epochs_done: usize) -> Result<f32, TrainError> {
        self.read(epoch, step, epochs_done)?;
        Ok((self.sum / self.steps_read.max(1) as f64) as f32)
    }
}

/// Writes the epoch's checkpoint (model and Adam's moments) and progress atomically and reports it.
fn checkpoint<M: Module>(
    model: &M,
    optim: &ModuleOptimizer,
    dir: &Path,
    epochs_done: usize,
    best: Option<(usize, f64)>,
    sink: &mut EventSink,
) -> Result<(), TrainError> {
    let path = save_model(model, dir, "checkpoint")?;
    replace_atomically(&dir.join("optimizer.bpk"), |tmp| optim.save(tmp))?;
    let run_state = RunState { epochs_done, best_epoch: best.map(|b| b.0), best_recall: best.map_or(0.0, |b| b.1) };
    let state = serde_json::to_string(&run_state).map_err(|e| TrainError::Config(e.to_string()))?;
    write_atomic(&dir.join("state.json"), state.as_bytes())?;
    sink.emit(TrainEvent::Checkpoint { epoch: epochs_done, path: path.display().to_string() });
    Ok(())
}

/// The model and optimizer a run starts from: fresh, or on `resume` the last checkpoint with
/// Adam's moments (a checkpoint written before they were saved resumes with fresh moments).
fn start_state<M: Module>(
    model: M,
    cfg: &TrainConfig,
    resume_from: Option<&Path>,
) -> Result<(M, ModuleOptimizer), TrainError> {
    let optim = cfg.optimizer();
    let Some(dir) = resume_from else { return Ok((model, optim)) };
    let model = crate::run_folder::load_weights(model, &dir.join("checkpoint.bpk"), &model_shape(cfg))?;
    let optim_path = dir.join("optimizer.bpk");
    let optim = if optim_path.is_file() { crate::run_folder::load_optimizer(optim, &optim_path)? } else { optim };
    Ok((model, optim))
}

/// The saved model of a run folder: the final `model.bpk`, else the last `checkpoint.bpk`.
fn run_model_path(dir: &Path) -> Result<PathBuf, TrainError> {
    [dir.join("model.bpk"), dir.join("checkpoint.bpk")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| TrainError::Io(format!("{}: no model.bpk or checkpoint.bpk", dir.display())))
}

/// The model's shape as the config describes it, for messages about saved weights that do not fit.
fn model_shape(cfg: &TrainConfig) -> String {
    match cfg.mode {
        Mode::Pinsage => format!(
            "PinSage, input_dim {}, hidden_dim {}, id_embedding {}, as config.json says, on the run's graph",
            cfg.input_dim, cfg.hidden_dim, cfg.id_embedding
        ),
        Mode::Lightgcn => format!("LightGCN, hidden_dim {}, as config.json says, on the run's graph", cfg.hidden_dim),
    }
}

/// Bytes the model of `cfg` takes on graph `g`: its node table (f32) and dense layers, four times
/// over when `training` (weights, gradients and Adam's two moments; LightGCN also keeps each
/// layer's propagated table), else twice (the model and the record it is loaded from).
pub fn model_bytes(cfg: &TrainConfig, g: &Graph, training: bool) -> u64 {
    let nodes = g.n_pins() as u64 + g.n_boards() as u64;
    let (h, d_in) = (cfg.hidden_dim as u64, cfg.input_dim as u64);
    let (weights, activations) = match cfg.mode {
        Mode::Pinsage => {
            let table = if cfg.id_embedding { crate::memory::bytes(nodes, 4 * d_in) } else { 0 };
            let features = g.features.as_ref().map_or(0, |f| f.dim as u64);
            let dense = 4 * (features * d_in + 2 * (d_in + h) * h + 4 * h * h);
            (table.saturating_add(dense), 0)
        }
        Mode::Lightgcn => {
            let table = crate::memory::bytes(nodes, 4 * h);
            (table, if training { table.saturating_mul(2 * (cfg.lightgcn_layers as u64 + 1)) } else { 0 })
        }
    };
    weights.saturating_mul(if training { 4 } else { 2 }).saturating_add(activations)
}

/// Fails when the model of `cfg` on `g` would not fit the memory budget.
fn check_model_memory(cfg: &TrainConfig, g: &Graph, training: bool) -> Result<(), crate::memory::OutOfMemory> {
    let what = if training { "the model with its gradients and Adam's moments" } else { "the model" };
    crate::memory::check(model_bytes(cfg, g, training), &format!("{what} ({} nodes)", g.n_pins() + g.n_boards()))
}

/// A run folder's config (checked; see [`crate::run_folder::load_run_config`]) and its notes.
pub fn run_config(dir: &Path) -> Result<crate::run_folder::LoadedConfig, TrainError> {
    Ok(crate::run_folder::load_run_config(dir)?)
}

/// Loads a PinSage model saved by a run (its `model.bpk` or `checkpoint.bpk`), for graph `g`.
pub fn load_model(dir: &Path, g: &Graph, device: &Device) -> Result<(TrainConfig, PinSage), TrainError> {
    let cfg = run_config(dir)?.config;
    if cfg.mode != Mode::Pinsage {
        return Err(TrainError::Config(format!("{}: a {:?} run has no PinSage model", dir.display(), cfg.mode)));
    }
    let path = run_model_path(dir)?;
    let model_cfg = cfg.model_config(g);
    model_cfg.validate()?;
    check_model_memory(&cfg, g, false)?;
    let model = crate::run_folder::load_weights(model_cfg.init(device), &path, &model_shape(&cfg))?;
    Ok((cfg, model))
}

/// Progress saved beside the checkpoint.
#[derive(Serialize, Deserialize, Default)]
struct RunState {
    epochs_done: usize,
    /// The best-validation epoch so far (its model is `model.bpk`) and its recall@20.
    #[serde(default)]
    best_epoch: Option<usize>,
    #[serde(default)]
    best_recall: f64,
}

fn int_tensor(v: &[u32], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

fn layer_tensors(l: &HostLayer, device: &Device) -> LayerIndex {
    let t = l.self_idx.len();
    LayerIndex {
        self_idx: int_tensor(&l.self_idx, device),
        nbr_idx: int_tensor(&l.nbr_idx, device),
        weights: Tensor::from_data(TensorData::new(l.weights.clone(), [t, l.k]), device),
    }
}

/// Uploads a host block.
pub fn block_tensors(b: &HostBlock, device: &Device) -> Block {
    let n0 = b.input_nodes.len();
    Block {
        input_nodes: int_tensor(&b.input_nodes, device),
        input_features: b
            .input_features
            .as_ref()
            .map(|f| Tensor::from_data(TensorData::new(f.clone(), [n0, b.feature_dim]), device)),
        layers: [layer_tensors(&b.layers[0], device), layer_tensors(&b.layers[1], device)],
    }
}

/// A batch's roles as rows of the target embeddings, on the device.
///
/// # Shapes
/// `queries`, `positives`: `[b]`; `negatives`: `[r]`; `hard`: `[b * hard_per_query]`
#[derive(Clone, Debug)]
pub struct LossRows {
    pub queries: Tensor<1, Int>,
    pub positives: Tensor<1, Int>,
    pub negatives: Tensor<1, Int>,
    pub hard: Tensor<1, Int>,
    pub hard_per_query: usize,
}

impl LossRows {
    pub fn new(batch: &TrainBatch, device: &Device) -> LossRows {
        LossRows {
            queries: int_tensor(&batch.query_rows, device),
            positives: int_tensor(&batch.positive_rows, device),
            negatives: int_tensor(&batch.negative_rows, device),
            hard: int_tensor(&batch.hard_rows, device),
            hard_per_query: batch.hard_per_query,
        }
    }
}

/// The loss of one batch (uploads its rows, then [`rows_loss`]).
///
/// # Shapes
/// `z: [targets, d]` → `[1]`
pub fn batch_loss(
    z: Tensor<2>,
    batch: &TrainBatch,
    kind: LossKind,
    margin: f32,
    temperature: f32,
    device: &Device,
) -> Tensor<1> {
    rows_loss(z, &LossRows::new(batch, device), kind, margin, temperature)
}

/// Max-margin (or BPR) loss over shared random negatives plus per-query hard negatives.
///
/// # Shapes
/// `z: [targets, d]` → `[1]`
pub fn rows_loss(z: Tensor<2>, rows: &LossRows, kind: LossKind, margin: f32, temperature: f32) -> Tensor<1> {
    let q = gather_rows(z.clone(), rows.queries.clone());
    let p = gather_rows(z.clone(), rows.positives.clone());
    let n = gather_rows(z.clone(), rows.negatives.clone());
    let b = rows.queries.dims()[0];
    let pos = (q.clone() * p).sum_dim(1); // [b, 1]
    let neg = q.clone().matmul(n.transpose()); // [b, r]
    // [b, h]: each query against its own hard negatives.
    let hard = (rows.hard_per_query > 0).then(|| {
        let h = rows.hard_per_query;
        let hard = gather_rows(z, rows.hard.clone());
        let d = hard.dims()[1];
        (q.reshape([b, 1, d]) * hard.reshape([b, h, d])).sum_dim(2).reshape([b, h])
    });
    if kind == LossKind::Softmax {
        // logits [b, 1 + r (+ h)]: the positive in column 0.
        let logits = Tensor::cat([pos, neg].into_iter().chain(hard).collect(), 1) / temperature;
        return -burn::tensor::activation::log_softmax(logits, 1).narrow(1, 0, 1).mean();
    }
    // diff = s_neg − s_pos
    let pair_loss = |diff: Tensor<2>| match kind {
        LossKind::MaxMargin => relu(diff + margin).mean(),
        LossKind::Bpr | LossKind::Softmax => (-log_sigmoid(-diff / temperature)).mean(), // softmax returned above
    };
    let loss = pair_loss(neg - pos.clone());
    match hard {
        Some(s_hard) => loss + pair_loss(s_hard - pos),
        None => loss,
    }
}

/// Samples one epoch's batches on `threads` CPU workers into a bounded queue. Each batch's content
/// depends only on (seed, epoch, batch index), not on which worker built it.
#[allow(clippy::too_many_arguments)]
fn spawn_samplers(
    g: Arc<Graph>,
    nb: Arc<NodeNeighbourhoods>,
    pools: Option<Arc<HardPools>>,
    cfg: &TrainConfig,
    epoch: usize,
    queue: Sender<TrainBatch>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let pairs = Arc::new(epoch_pairs(&g, cfg.pair_sampling, cfg.board_query_share, cfg.seed, epoch));
    let n_batches = pairs.len().div_ceil(cfg.batch_size);
    let h = if pools.is_some() { hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query) } else { 0 };
    let threads = cfg.sampler_threads.max(1);
    (0..threads)
        .map(|w| {
            let (g, nb, pools, pairs, queue, stop) =
                (g.clone(), nb.clone(), pools.clone(), pairs.clone(), queue.clone(), stop.clone());
            let (batch_size, negatives, seed) = (cfg.batch_size, cfg.negatives, cfg.seed);
            std::thread::Builder::new()
                .name(format!("pinsage-sampler-{w}"))
                .spawn(move || {
                    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
                    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
                    let mut targets = NodeSet::new(n_nodes);
                    let mut t = Triplets::default();
                    for i in (w..n_batches).step_by(threads) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let chunk = &pairs[i * batch_size..((i + 1) * batch_size).min(pairs.len())];
                        let mut rng = SmallRng::seed_from_u64(
                            seed ^ ((epoch as u64) << 40) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
                        );
                        fill_triplets(&g, chunk, negatives, pools.as_deref().map(|p| (p, h)), &mut rng, &mut t);
                        let mut batch = make_batch(&nb, &t, g.features.as_ref(), &mut sets, &mut targets);
                        batch.epoch = epoch;
                        batch.step = i;
                        if queue.send(batch).is_err() {
                            return;
                        }
                    }
                })
                .expect("spawning a sampler thread")
        })
        .collect()
}

/// Blocks while paused; returns true when asked to stop.
fn handle_commands(cmds: &Receiver<TrainCommand>, sink: &mut EventSink) -> bool {
    let mut paused = false;
    loop {
        let cmd = if paused { cmds.recv().ok() } else { cmds.try_recv().ok() };
        match cmd {
            None if paused => return true, // the controller went away while paused
            None => return false,
            Some(TrainCommand::Stop) => return true,
            Some(TrainCommand::Pause) if !paused => {
                paused = true;
                sink.emit(TrainEvent::Paused);
            }
            Some(TrainCommand::Resume) if paused => {
                sink.emit(TrainEvent::Resumed);
                return false;
            }
            Some(_) => {}
        }
    }
}

/// Rows embedded per chunk by layer-wise inference.
pub const INFER_CHUNK: usize = 8192;

fn end_reason(stopped: bool, early: bool) -> EndReason {
    if stopped {
        EndReason::Stopped
    } else if early {
        EndReason::EarlyStopped
    } else {
        EndReason::Completed
    }
}

fn run(
    g: &Arc<Graph>,
    mut cfg: TrainConfig,
    out: Option<PathBuf>,
    resume: bool,
    device: Option<(Device, String)>,
    cmds: &Receiver<TrainCommand>,
    sink: &mut EventSink,
) -> Result<TrainOutput, TrainError> {
    let mut start_epoch = 1;
    let mut state = RunState::default();
    if !resume {
        cfg = cfg.scaled_for(g);
    }
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::Io(format!("{}: {e}", dir.display())))?;
        if resume {
            let crate::run_folder::LoadedConfig { config: saved, notes } = run_config(dir)?;
            for message in notes {
                sink.emit(TrainEvent::Note { message });
            }
            let state_path = dir.join("state.json");
            let text = std::fs::read_to_string(&state_path)
                .map_err(|error| RunFolderError::Read { path: state_path.clone(), error })?;
            state = serde_json::from_str(&text).map_err(|e| RunFolderError::Saved {
                path: state_path.clone(),
                problem: format!("{e}; refusing to resume from it"),
            })?;
            // Keep the saved run's settings; only the epoch budget may grow.
            let epochs = cfg.epochs.max(saved.epochs);
            cfg = TrainConfig { epochs, device: cfg.device, ..saved };
            start_epoch = state.epochs_done + 1;
        }
        cfg.validate()?;
        let json = serde_json::to_string_pretty(&cfg).map_err(|e| TrainError::Config(e.to_string()))?;
        write_atomic(&dir.join("config.json"), json.as_bytes())?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("metrics.jsonl"))
            .map_err(|e| TrainError::Io(format!("{}: {e}", dir.join("metrics.jsonl").display())))?;
        sink.log = Some(log);
    }
    cfg.validate()?;

    let (device, device_name) = match device {
        Some(d) => d,
        None => {
            let (d, name, note) = select_device(cfg.device);
            if let Some(message) = note {
                sink.emit(TrainEvent::Note { message });
            }
            (d, name)
        }
    };
    device.seed(cfg.seed);
    let train_device = device.clone().autodiff();
    if cfg.mode == Mode::Lightgcn {
        return run_lightgcn(g, &cfg, out.as_deref(), resume, (start_epoch, &state), (device, device_name), cmds, sink);
    }
    let model_cfg = cfg.model_config(g);
    model_cfg.validate()?;
    check_model_memory(&cfg, g, true)?;
    let (mut model, mut optim) = start_state(model_cfg.init(&train_device), &cfg, out.as_deref().filter(|_| resume))?;
    if let Some(dir) = &out {
        model_cfg.save(dir.join("model_config.json")).map_err(|e| TrainError::Io(format!("model_config.json: {e}")))?;
    }

    let nb = Arc::new(try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?);
    let steps_per_epoch = g.n_edges().div_ceil(cfg.batch_size);
    sink.emit(started_event(g, &cfg, start_epoch, device_name));

    // Hard-negative pools are only needed from epoch 2: build them in the background meanwhile.
    let band = cfg.hard_band.unwrap_or_else(|| default_band(g.n_pins()));
    let pools_job = (cfg.hard_negatives && cfg.epochs >= 2.max(start_epoch)).then(|| {
        let g = g.clone();
        let seed = cfg.seed;
        std::thread::spawn(move || Arc::new(hard_pools(&g, band, 16, seed)))
    });
    let mut pools: Option<Arc<HardPools>> = None;
    let mut pools_job = pools_job;

    let started = Instant::now();
    let mut ledger = Ledger::new(g, &cfg, out.as_deref(), start_epoch, &state);
    let mut stopped = false;
    let infer_device = device.clone();
    let embed = |m: &PinSage| embed_all(m, &nb, g.features.as_ref(), &infer_device, INFER_CHUNK, |_, _| {});
    let mut early = false;
    'epochs: for epoch in start_epoch..=cfg.epochs {
        if hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query) > 0
            && pools.is_none()
            && let Some(job) = pools_job.take()
        {
            pools = Some(job.join().map_err(|_| TrainError::Device("hard-negative pool thread panicked".into()))?);
        }
        let (queue_tx, queue_rx) = bounded::<TrainBatch>(cfg.queue_capacity);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = spawn_samplers(g.clone(), nb.clone(), pools.clone(), &cfg, epoch, queue_tx, stop.clone());
        let epoch_start = Instant::now();
        let mut waited = Duration::ZERO;
        let mut meter = LossMeter::new(cfg.log_every_steps);
        let mut triplets = 0usize;
        let mut step = 0usize;
        loop {
            if handle_commands(cmds, sink) {
                stopped = true;
                stop.store(true, Ordering::Relaxed);
                break;
            }
            let t = Instant::now();
            let Ok(batch) = queue_rx.recv() else { break };
            waited += t.elapsed();
            let block = block_tensors(&batch.block, &train_device);
            let z = model.forward(&block);
            let loss = batch_loss(z, &batch, cfg.loss, cfg.margin, cfg.temperature, &train_device);
            meter.add(&loss);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
            triplets += batch.query_rows.len();
            step += 1;
            let read = match meter.read_if_due(step, steps_per_epoch, epoch, ledger.epochs_done) {
                Ok(read) => read,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    drop(queue_rx);
                    for w in workers {
                        let _ = w.join();
                    }
                    return Err(e);
                }
            };
            if let Some(mean) = read {
                let elapsed = epoch_start.elapsed().as_secs_f64();
                let rate = triplets as f64 / elapsed.max(1e-9);
                let remaining_steps =
                    (steps_per_epoch - step.min(steps_per_epoch)) + (cfg.epochs - epoch) * steps_per_epoch;
                sink.emit(TrainEvent::Progress {
                    epoch,
                    step,
                    steps_per_epoch,
                    loss: mean,
                    triplets_per_sec: rate,
                    queue_depth: queue_rx.len(),
                    gpu_wait_share: waited.as_secs_f64() / elapsed.max(1e-9),
                    elapsed_secs: started.elapsed().as_secs_f64(),
                    eta_secs: remaining_steps as f64 * elapsed / step as f64,
                });
            }
        }
        drop(queue_rx);
        for w in workers {
            let _ = w.join();
        }
        if stopped {
            break 'epochs;
        }
        let summary = EpochSummary {
            epoch,
            loss: meter.epoch_mean(epoch, step, ledger.epochs_done)?,
            epoch_secs: epoch_start.elapsed().as_secs_f64(),
            triplets,
            waited_secs: waited.as_secs_f64(),
            hard_per_query: if pools.is_some() {
                hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query)
            } else {
                0
            },
        };
        if ledger.end_epoch(summary, &model, &optim, sink, embed)? {
            early = true;
            break 'epochs;
        }
    }
    let ending = ledger.finish(end_reason(stopped, early), model, sink, embed)?;
    Ok(TrainOutput {
        model: ending.model,
        neighbourhoods: nb,
        embeddings: ending.embeddings,
        epochs_done: ending.epochs_done,
    })
}

/// The LightGCN loop: every training edge once per epoch as (board, pin, random non-pin) BPR triples.
/// Sampling is a few random numbers per triple, so it runs inline rather than on sampler threads.
#[allow(clippy::too_many_arguments)]
fn run_lightgcn(
    g: &Arc<Graph>,
    cfg: &TrainConfig,
    out: Option<&Path>,
    resume: bool,
    (start_epoch, state): (usize, &RunState),
    (device, device_name): (Device, String),
    cmds: &Receiver<TrainCommand>,
    sink: &mut EventSink,
) -> Result<TrainOutput, TrainError> {
    use crate::lightgcn::{Adjacency, LightGcnConfig};
    use rand::RngExt;
    let train_device = device.clone().autodiff();
    let model_cfg = LightGcnConfig::new(g.n_pins() as usize, g.n_boards() as usize)
        .with_dim(cfg.hidden_dim)
        .with_layers(cfg.lightgcn_layers);
    check_model_memory(cfg, g, true)?;
    let (mut model, mut optim) = start_state(model_cfg.init(&train_device), cfg, out.filter(|_| resume))?;
    if let Some(dir) = out {
        model_cfg.save(dir.join("model_config.json")).map_err(|e| TrainError::Io(format!("model_config.json: {e}")))?;
    }
    let adj = Adjacency::new(g, &train_device);
    let eval_adj = Adjacency::new(g, &device);
    let steps_per_epoch = g.n_edges().div_ceil(cfg.batch_size);
    sink.emit(started_event(g, cfg, start_epoch, device_name));
    let started = Instant::now();
    let mut ledger = Ledger::new(g, cfg, out, start_epoch, state);
    let n_pins = g.n_pins();
    let embed = |m: &crate::lightgcn::LightGcn| m.embeddings(&eval_adj, n_pins as usize);
    let mut early = false;
    let mut stopped = false;
    for epoch in start_epoch..=cfg.epochs {
        let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // (board node, pin) pairs: every board is the query (share 1).
        let pairs = epoch_pairs(g, cfg.pair_sampling, 1.0, cfg.seed, epoch);
        let epoch_start = Instant::now();
        let mut meter = LossMeter::new(cfg.log_every_steps);
        let mut steps_done = 0;
        for (step, chunk) in pairs.chunks(cfg.batch_size).enumerate() {
            if handle_commands(cmds, sink) {
                stopped = true;
                break;
            }
            let (mut bs, mut ps, mut ns) =
                (Vec::with_capacity(chunk.len()), Vec::with_capacity(chunk.len()), Vec::with_capacity(chunk.len()));
            for &(b, p) in chunk {
                let pins = g.pins_of(b - n_pins);
                let mut n = rng.random_range(0..n_pins);
                while pins.binary_search(&n).is_ok() {
                    n = rng.random_range(0..n_pins);
                }
                bs.push(b);
                ps.push(p);
                ns.push(n);
            }
            let loss = model.loss(
                &adj,
                int_tensor(&bs, &train_device),
                int_tensor(&ps, &train_device),
                int_tensor(&ns, &train_device),
                cfg.l2,
            );
            meter.add(&loss);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
            let step = step + 1;
            steps_done = step;
            if let Some(mean) = meter.read_if_due(step, steps_per_epoch, epoch, ledger.epochs_done)? {
                let elapsed = epoch_start.elapsed().as_secs_f64();
                let remaining = (steps_per_epoch - step) + (cfg.epochs - epoch) * steps_per_epoch;
                sink.emit(TrainEvent::Progress {
                    epoch,
                    step,
                    steps_per_epoch,
                    loss: mean,
                    triplets_per_sec: (step * cfg.batch_size) as f64 / elapsed.max(1e-9),
                    queue_depth: 0,
                    gpu_wait_share: 0.0,
                    elapsed_secs: started.elapsed().as_secs_f64(),
                    eta_secs: remaining as f64 * elapsed / step as f64,
                });
            }
        }
        if stopped {
            break;
        }
        let summary = EpochSummary {
            epoch,
            loss: meter.epoch_mean(epoch, steps_done, ledger.epochs_done)?,
            epoch_secs: epoch_start.elapsed().as_secs_f64(),
            triplets: g.n_edges(),
            waited_secs: 0.0,
            hard_per_query: 0,
        };
        if ledger.end_epoch(summary, &model, &optim, sink, embed)? {
            early = true;
            break;
        }
    }
    let ending = ledger.finish(end_reason(stopped, early), model, sink, embed)?;
    Ok(TrainOutput {
        model: None,
        neighbourhoods: Arc::new(NodeNeighbourhoods::default()),
        embeddings: ending.embeddings,
        epochs_done: ending.epochs_done,
    })
}

/// Every node's embedding from a run folder, whichever the mode (PinSage runs are embedded
/// layer-wise; LightGCN runs propagate their table).
pub fn run_embeddings(dir: &Path, g: &Graph, device: &Device) -> Result<(TrainConfig, Embeddings), TrainError> {
    let cfg = run_config(dir)?.config;
    match cfg.mode {
        Mode::Pinsage => {
            let (cfg, model) = load_model(dir, g, device)?;
            let nb = try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?;
            let emb = embed_all(&model, &nb, g.features.as_ref(), device, INFER_CHUNK, |_, _| {})?;
            Ok((cfg, emb))
        }
        Mode::Lightgcn => {
            let path = run_model_path(dir)?;
            // The propagated layers are held while their mean is taken.
            let layers = cfg.lightgcn_layers as u64 + 2;
            crate::memory::check(
                model_bytes(&cfg, g, false).saturating_mul(layers),
                "the LightGCN model and its propagated layers",
            )?;
            let init = crate::lightgcn::LightGcnConfig::new(g.n_pins() as usize, g.n_boards() as usize)
                .with_dim(cfg.hidden_dim)
                .with_layers(cfg.lightgcn_layers)
                .init(device);
            let model = crate::run_folder::load_weights(init, &path, &model_shape(&cfg))?;
            let adj = crate::lightgcn::Adjacency::new(g, device);
            let emb = model.embeddings(&adj, g.n_pins() as usize)?;
            Ok((cfg, emb))
        }
    }
}
