//! What the app knows: the graph, the selection, settings, the model, training history and the
//! results of background computations. Changed only by `logic.rs`.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::app::cache::{CacheKey, Cached, ModelRef};
use crate::edits::{Edit, EditStack};
use crate::embed_map::{MapControl, Method};
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::jobs::{Computed, ModelBundle};
use crate::load::{Format, LoadProgress, load_data};
use crate::split::SplitConfig;
use crate::train::{TrainCommand, TrainConfig, TrainEvent};
use crate::walk::WalkConfig;

/// The views, in the order of the tab bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    #[default]
    Graph,
    Walks,
    Pooling,
    Convolve,
    Curriculum,
    Training,
    Inference,
    Map,
    Results,
}

crate::named_enum!(View, "view" { Graph => "graph", Walks => "walks", Pooling => "pooling", Convolve => "convolve", Curriculum => "curriculum", Training => "training", Inference => "inference", Map => "map", Results => "results" });

impl View {
    pub const ALL: [View; 9] = [
        View::Graph,
        View::Walks,
        View::Pooling,
        View::Convolve,
        View::Curriculum,
        View::Training,
        View::Inference,
        View::Map,
        View::Results,
    ];
    pub fn title(self) -> &'static str {
        match self {
            View::Graph => "Graph",
            View::Walks => "Random walks",
            View::Pooling => "Pooling",
            View::Convolve => "Convolve",
            View::Curriculum => "Curriculum",
            View::Training => "Training",
            View::Inference => "Inference",
            View::Map => "Embedding map",
            View::Results => "Results",
        }
    }
}

/// Settings that persist between runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub view: View,
    pub last_file: Option<String>,
    pub walk: WalkConfig,
    pub train: TrainConfig,
    pub last_run_folder: Option<String>,
    /// The held-out split made for files the app opens (the CLI's `--holdout`, `--holdout-by`,
    /// `--validation`, `--seed`).
    pub split: SplitConfig,
    /// How the embedding map projects (PCA, t-SNE or UMAP).
    pub map_method: Method,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            view: View::default(),
            last_file: None,
            walk: WalkConfig::default(),
            // Every epoch evaluated: runs in the app are small enough, and the curve is the point.
            train: TrainConfig { eval_interval: 1, ..TrainConfig::default() },
            last_run_folder: None,
            split: SplitConfig::default(),
            map_method: Method::default(),
        }
    }
}

/// A background computation that reports progress and can be cancelled through its control.
pub type TrackedJob = Box<dyn FnOnce(&MapControl) -> Result<Computed, String> + Send>;

/// Requests from the UI, carried out by `logic.rs`.
pub enum Command {
    /// Open a graph file or folder (or `default`) on a background thread, with the settings'
    /// split (the embedded graph keeps its own test edges and gets no validation split).
    Open(String),
    /// Open a graph with `split` (refused with a message when invalid; the split is remembered).
    OpenWith {
        spec: String,
        split: SplitConfig,
    },
    /// Re-split the current graph (reloaded from its file in the background) with `split`.
    Resplit(SplitConfig),
    /// Stop the load going on; the graph the app had stays.
    CancelLoad,
    /// Show the Open dialog (a path, the split options, Browse… for the native file dialog).
    PickFile,
    SelectPin(u32),
    SetView(View),
    /// Compute something in the background; the result lands in `AppState::results` under `key`.
    Compute {
        key: CacheKey,
        job: Box<dyn FnOnce() -> Result<Computed, String> + Send>,
    },
    /// Like `Compute`, with progress (`AppState::progress`) and cancel (`CancelCompute`).
    ComputeTracked {
        key: CacheKey,
        job: TrackedJob,
    },
    /// Stop the tracked computation under `key`; it is not started again until `Recompute`.
    CancelCompute(CacheKey),
    /// Allow a cancelled computation to run again.
    Recompute(CacheKey),
    /// Select a board (the graph and matrix views highlight it), or none.
    SelectBoard(Option<u32>),
    /// The pin and board under the pointer in the graph or matrix view (the other highlights them).
    Hover {
        pin: Option<u32>,
        board: Option<u32>,
    },
    /// Apply a what-if edit to the in-memory graph (refused with a message when it does not apply).
    Edit(Edit),
    /// Take the last what-if edit back.
    UndoEdit,
    /// Back to the loaded graph.
    ResetEdits,
    /// Pick how the embedding map projects (persisted).
    SetMapMethod(Method),
    StartTraining {
        config: Box<TrainConfig>,
        out: Option<PathBuf>,
    },
    Train(TrainCommand),
    RunInference,
    /// Follow a run folder's metrics.jsonl live.
    FollowRun(PathBuf),
    /// Load a run folder's model for the other views.
    LoadRunModel(PathBuf),
    DismissError(usize),
    /// Change the random-walk parameters (persisted; invalid ones are refused with an error).
    SetWalkConfig(WalkConfig),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Compute { key, .. } => write!(f, "Compute({key})"),
            Command::ComputeTracked { key, .. } => write!(f, "ComputeTracked({key})"),
            Command::CancelCompute(key) => write!(f, "CancelCompute({key})"),
            Command::Recompute(key) => write!(f, "Recompute({key})"),
            Command::SetMapMethod(m) => write!(f, "SetMapMethod({m:?})"),
            Command::SelectBoard(b) => write!(f, "SelectBoard({b:?})"),
            Command::Hover { pin, board } => write!(f, "Hover({pin:?}, {board:?})"),
            Command::Edit(e) => write!(f, "Edit({e:?})"),
            Command::UndoEdit => write!(f, "UndoEdit"),
            Command::ResetEdits => write!(f, "ResetEdits"),
            Command::Open(s) => write!(f, "Open({s})"),
            Command::PickFile => write!(f, "PickFile"),
            Command::OpenWith { spec, split } => write!(f, "OpenWith({spec}, {split:?})"),
            Command::Resplit(s) => write!(f, "Resplit({s:?})"),
            Command::CancelLoad => write!(f, "CancelLoad"),
            Command::SelectPin(p) => write!(f, "SelectPin({p})"),
            Command::SetView(v) => write!(f, "SetView({v:?})"),
            Command::StartTraining { .. } => write!(f, "StartTraining"),
            Command::Train(c) => write!(f, "Train({c:?})"),
            Command::RunInference => write!(f, "RunInference"),
            Command::FollowRun(p) => write!(f, "FollowRun({})", p.display()),
            Command::LoadRunModel(p) => write!(f, "LoadRunModel({})", p.display()),
            Command::DismissError(i) => write!(f, "DismissError({i})"),
            Command::SetWalkConfig(c) => write!(f, "SetWalkConfig({c:?})"),
        }
    }
}

/// Where the training history shown comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RunSource {
    /// No run yet.
    #[default]
    None,
    /// The app's own run.
    App,
    /// A run folder's `metrics.jsonl`, followed live.
    Following(PathBuf),
}

impl RunSource {
    /// Whether the history is a followed run folder's (the app does not control that run).
    pub fn is_followed(&self) -> bool {
        matches!(self, RunSource::Following(_))
    }
}

impl std::fmt::Display for RunSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunSource::None => Ok(()),
            RunSource::App => f.write_str("this app"),
            RunSource::Following(dir) => write!(f, "following {}", dir.display()),
        }
    }
}

/// A training history, from the app's own run or a followed run folder.
#[derive(Clone, Debug, Default)]
pub struct RunLog {
    pub source: RunSource,
    pub events: Vec<TrainEvent>,
    pub running: bool,
    pub paused: bool,
}

impl RunLog {
    /// (global step, loss) points for the loss curve.
    pub fn loss_points(&self) -> Vec<[f64; 2]> {
        self.events
            .iter()
            .filter_map(|e| match e {
                TrainEvent::Progress { epoch, step, steps_per_epoch, loss, .. } => {
                    Some([(*epoch as f64 - 1.0) + *step as f64 / (*steps_per_epoch).max(1) as f64, *loss as f64])
                }
                _ => None,
            })
            .collect()
    }
    /// The latest progress event.
    pub fn last_progress(&self) -> Option<&TrainEvent> {
        self.events.iter().rev().find(|e| matches!(e, TrainEvent::Progress { .. }))
    }
    /// (epoch, metrics) of every finished epoch that was evaluated.
    pub fn epoch_metrics(&self) -> Vec<(usize, crate::eval::Metrics)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                TrainEvent::EpochEnd { epoch, metrics: Some(m), .. } => Some((*epoch, m.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Everything the views read.
pub struct AppState {
    pub graph: Arc<Graph>,
    /// Bumped whenever a new graph replaces the old one, so views can drop what they cached.
    pub graph_generation: u64,
    /// The `graph_generation` of the loaded graph (what-if edits bump `graph_generation` only).
    pub loaded_generation: u64,
    pub selected_pin: u32,
    /// The selected board, shared by the graph and matrix views.
    pub selected_board: Option<u32>,
    /// The pin and board under the pointer in the graph or matrix view.
    pub hovered_pin: Option<u32>,
    pub hovered_board: Option<u32>,
    /// The loaded graph while what-if edits are applied (`graph` is then the edited copy).
    pub base_graph: Option<Arc<Graph>>,
    /// The what-if edits applied to `base_graph`.
    pub edits: EditStack,
    /// The edited graph is being rebuilt in the background.
    pub applying_edits: bool,
    /// Select this pin once the edited graph arrives (a new pin).
    pub select_after_edit: Option<u32>,
    pub settings: Settings,
    /// What is loading now ("gowalla/train.txt"), if anything.
    pub loading: Option<String>,
    /// The number of the load going on (events of older, cancelled loads are ignored).
    pub load_id: u64,
    /// How far the load going on has got.
    pub load_progress: Option<LoadProgress>,
    /// What the graph was opened from (`default` or a path) and the split it was made with.
    pub graph_spec: String,
    pub graph_split: SplitConfig,
    pub errors: Vec<String>,
    pub model: Option<ModelBundle>,
    pub embeddings: Option<Arc<Embeddings>>,
    /// Bumped whenever `embeddings` changes, so results computed from them can be keyed by it.
    pub embeddings_generation: u64,
    /// Bumped whenever `model` changes, so results computed with it can be keyed by it.
    pub model_generation: u64,
    pub run: RunLog,
    pub inference_progress: Option<(usize, usize)>,
    pub results: VecDeque<(CacheKey, Computed)>,
    pub pending: HashSet<CacheKey>,
    /// Progress of tracked computations going on: (fraction done, stage), by key.
    pub progress: std::collections::HashMap<CacheKey, (f32, String)>,
    /// Tracked computations the user cancelled (not restarted until `Recompute`).
    pub cancelled: HashSet<CacheKey>,
    pub commands: Vec<Command>,
    pub format: Format,
}

/// How many computed results are kept (oldest dropped first).
pub const RESULT_CACHE: usize = 64;

impl AppState {
    pub fn new(settings: Settings) -> AppState {
        let graph = Arc::new(load_data("default", Format::Auto).unwrap_or_default());
        AppState {
            selected_pin: initial_pin(&graph),
            graph,
            graph_generation: 0,
            loaded_generation: 0,
            selected_board: None,
            hovered_pin: None,
            hovered_board: None,
            base_graph: None,
            edits: EditStack::default(),
            applying_edits: false,
            select_after_edit: None,
            settings,
            loading: None,
            load_id: 0,
            load_progress: None,
            graph_spec: "default".into(),
            graph_split: SplitConfig::none(),
            errors: Vec::new(),
            model: None,
            embeddings: None,
            embeddings_generation: 0,
            model_generation: 0,
            run: RunLog::default(),
            inference_progress: None,
            results: VecDeque::new(),
            pending: HashSet::new(),
            progress: Default::default(),
            cancelled: HashSet::new(),
            commands: Vec::new(),
            format: Format::Auto,
        }
    }

    /// A computed result by key, if it has arrived (as the type it was computed as).
    pub fn result<T: Cached>(&self, key: impl Into<CacheKey>) -> Option<&T> {
        let key = key.into();
        self.results.iter().rev().find(|(k, _)| *k == key).and_then(|(_, v)| T::from_computed(v))
    }

    /// The graph as loaded (before any what-if edit).
    pub fn loaded_graph(&self) -> &Arc<Graph> {
        self.base_graph.as_ref().unwrap_or(&self.graph)
    }

    /// Whether `key` is being computed.
    pub fn is_pending(&self, key: impl Into<CacheKey>) -> bool {
        self.pending.contains(&key.into())
    }
}

/// A well-connected pin to start on: the one with the most boards.
pub fn initial_pin(g: &Graph) -> u32 {
    (0..g.n_pins()).max_by_key(|&p| (g.boards_of(p).len(), std::cmp::Reverse(p))).unwrap_or(0)
}

/// What a panel gets while drawing: read-only state and a command queue.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub commands: &'a mut Vec<Command>,
}

impl<'a> Ctx<'a> {
    /// The result under `key`, or None while it is computed in the background (requested once).
    pub fn need<T: Cached>(
        &mut self,
        key: impl Into<CacheKey>,
        job: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Option<&'a T> {
        let key = key.into();
        if let Some(v) = self.state.result::<T>(&key) {
            return Some(v);
        }
        let queued = self.commands.iter().any(|c| matches!(c, Command::Compute { key: k, .. } if *k == key));
        if !self.state.is_pending(&key) && !queued {
            self.commands.push(Command::Compute { key, job: Box::new(move || job().map(T::into_computed)) });
        }
        None
    }

    /// Like [`Ctx::need`], for a job that reports progress and can be cancelled: None while it
    /// runs (its progress is in `AppState::progress`) and after it was cancelled.
    pub fn need_tracked<T: Cached>(
        &mut self,
        key: impl Into<CacheKey>,
        job: impl FnOnce(&MapControl) -> Result<T, String> + Send + 'static,
    ) -> Option<&'a T> {
        let key = key.into();
        if let Some(v) = self.state.result::<T>(&key) {
            return Some(v);
        }
        let queued = self.commands.iter().any(|c| matches!(c, Command::ComputeTracked { key: k, .. } if *k == key));
        if !self.state.is_pending(&key) && !queued && !self.state.cancelled.contains(&key) {
            self.commands.push(Command::ComputeTracked {
                key,
                job: Box::new(move |ctl: &MapControl| job(ctl).map(T::into_computed)),
            });
        }
        None
    }

    pub fn send(&mut self, c: Command) {
        self.commands.push(c);
    }
}
