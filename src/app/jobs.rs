//! Background jobs for the explorer: loading graphs, computing neighbourhoods, training and
//! full-graph inference, each on its own thread, each reporting typed [`JobEvent`]s through one
//! bounded channel and poking a repaint callback. The UI only sends requests and drains events.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::module::Module;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::app::cache::CacheKey;
use crate::embed_map::MapControl;
use crate::graph::Graph;
use crate::infer::{Embeddings, embed_all};
use crate::load::{Format, LoadControl, LoadProgress, load_split_with};
use crate::split::SplitConfig;
// The bundle lives with the trainer (the teaching code uses it too); this path stays valid.
pub use crate::train::bundle::{ModelBundle, bundle_from_run};
use crate::train::{self, RunOptions, TrainCommand, TrainConfig, TrainEvent, TrainHandle};

/// What background jobs report.
pub enum JobEvent {
    /// Load number `load` finished: its graph, the file (None for `default`) and the split made.
    GraphLoaded {
        load: u64,
        graph: Arc<Graph>,
        path: Option<PathBuf>,
        split: SplitConfig,
        secs: f64,
    },
    /// Load number `load` failed or was cancelled (0: a job that could not start).
    GraphFailed {
        load: u64,
        path: String,
        message: String,
        cancelled: bool,
    },
    /// How far load number `load` has got (best effort: dropped when the channel is full).
    LoadProgress {
        load: u64,
        progress: LoadProgress,
    },
    /// A training event (the same ones `pinsage train` prints and writes to metrics.jsonl).
    Train(TrainEvent),
    TrainFinished(Result<Box<ModelBundle>, String>),
    InferenceProgress {
        done: usize,
        total: usize,
    },
    InferenceFinished(Result<Arc<Embeddings>, String>),
    /// New lines of a followed run folder's metrics.jsonl.
    Followed {
        run: PathBuf,
        events: Vec<TrainEvent>,
    },
    FollowFailed {
        run: PathBuf,
        message: String,
    },
    /// How far a [`Jobs::compute_tracked`] job under `key` has got (best effort: dropped when
    /// the channel is full).
    Progress {
        key: CacheKey,
        fraction: f32,
        stage: String,
    },
    /// The result of a [`Jobs::compute`] request.
    Computed {
        key: CacheKey,
        value: Result<Computed, String>,
        secs: f64,
    },
}

// Computed values are typed: one variant per kind of result (this path stays valid).
pub use crate::app::cache::Computed;

impl std::fmt::Debug for JobEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobEvent::GraphLoaded { path, .. } => write!(f, "GraphLoaded({path:?})"),
            JobEvent::GraphFailed { path, message, .. } => write!(f, "GraphFailed({path}: {message})"),
            JobEvent::LoadProgress { load, progress } => write!(f, "LoadProgress({load}: {progress:?})"),
            JobEvent::Train(e) => write!(f, "Train({e:?})"),
            JobEvent::TrainFinished(r) => write!(f, "TrainFinished(ok: {})", r.is_ok()),
            JobEvent::InferenceProgress { done, total } => write!(f, "InferenceProgress({done}/{total})"),
            JobEvent::InferenceFinished(r) => write!(f, "InferenceFinished(ok: {})", r.is_ok()),
            JobEvent::Followed { run, events } => write!(f, "Followed({}, {} events)", run.display(), events.len()),
            JobEvent::FollowFailed { run, message } => write!(f, "FollowFailed({}: {message})", run.display()),
            JobEvent::Computed { key, value, .. } => write!(f, "Computed({key}, ok: {})", value.is_ok()),
            JobEvent::Progress { key, fraction, stage } => write!(f, "Progress({key}: {stage} {fraction:.2})"),
        }
    }
}

type Notify = Arc<dyn Fn() + Send + Sync>;

/// See [`Jobs::load_observer`].
pub type LoadObserver = Arc<dyn Fn(&LoadProgress) + Send + Sync>;

/// See [`Jobs::compute_observer`]: a tracked computation's key, fraction done and stage.
pub type ComputeObserver = Arc<dyn Fn(&CacheKey, f32, &str) + Send + Sync>;

/// Starts jobs and collects their events.
pub struct Jobs {
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    notify: Notify,
    training: Option<Sender<TrainCommand>>,
    /// A device shared with the renderer (eframe's wgpu device), if any.
    pub shared_device: Option<(burn::prelude::Device, String)>,
    follow_stop: Option<Sender<()>>,
    /// The load going on now: its number and its control (cancel flag).
    load: Option<(u64, LoadControl)>,
    loads: u64,
    /// A memory budget for loads instead of the system's available memory (tests).
    pub load_memory_budget: Option<u64>,
    /// Called on the loading thread with each progress report, after the UI's event is sent (a
    /// log, or a test that holds a load at a known point).
    pub load_observer: Option<LoadObserver>,
    /// Called on a tracked computation's thread with each progress report, after the UI's event
    /// is sent (a test that holds a map at a known point until it has clicked Cancel).
    pub compute_observer: Option<ComputeObserver>,
    /// The controls (cancel flags) of tracked computations still going, by key.
    tracked: std::collections::HashMap<CacheKey, MapControl>,
}

impl Jobs {
    /// `notify` is called after every event (the GUI passes `ctx.request_repaint`).
    pub fn new(notify: impl Fn() + Send + Sync + 'static) -> Jobs {
        let (tx, rx) = bounded(1024);
        Jobs {
            tx,
            rx,
            notify: Arc::new(notify),
            training: None,
            shared_device: None,
            follow_stop: None,
            load: None,
            loads: 0,
            load_memory_budget: None,
            load_observer: None,
            compute_observer: None,
            tracked: Default::default(),
        }
    }

    fn sender(&self) -> (Sender<JobEvent>, Notify) {
        (self.tx.clone(), self.notify.clone())
    }

    fn spawn(&self, name: &str, f: impl FnOnce(Sender<JobEvent>, Notify) + Send + 'static) {
        let (tx, notify) = self.sender();
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || f(tx, notify));
        if let Err(e) = spawned {
            let _ = self.tx.try_send(JobEvent::GraphFailed {
                load: 0,
                path: name.into(),
                message: format!("cannot start a thread: {e}"),
                cancelled: false,
            });
        }
    }

    /// Loads a graph file or folder (or `default`) and makes `split` (see [`crate::split`]); a
    /// load still going is cancelled. Returns the load's number, which its events carry. Progress
    /// arrives as [`JobEvent::LoadProgress`] (at most every MiB read or
    /// [`crate::load::CHECK_EVERY_LINES`] lines, dropped rather than blocking when the UI is behind).
    pub fn load_graph(&mut self, spec: String, split: SplitConfig) -> u64 {
        self.cancel_load();
        self.loads += 1;
        let id = self.loads;
        let (progress_tx, n2) = self.sender();
        let observer = self.load_observer.clone();
        let mut ctl = LoadControl::with_progress(move |progress| {
            if !matches!(
                progress_tx.try_send(JobEvent::LoadProgress { load: id, progress }),
                Err(TrySendError::Disconnected(_))
            ) {
                n2();
            }
            if let Some(f) = &observer {
                f(&progress);
            }
        });
        ctl.memory_budget = self.load_memory_budget;
        self.load = Some((id, ctl.clone()));
        self.spawn("load-graph", move |tx, notify| {
            let t = Instant::now();
            let ev = match load_split_with(&spec, Format::Auto, &split, &ctl) {
                Ok(g) => JobEvent::GraphLoaded {
                    load: id,
                    graph: Arc::new(g),
                    // Remembered for next time (the embedded graph is the default anyway).
                    path: (spec != "default").then(|| PathBuf::from(&spec)),
                    split,
                    secs: t.elapsed().as_secs_f64(),
                },
                Err(e) => JobEvent::GraphFailed {
                    load: id,
                    path: spec,
                    cancelled: matches!(e, crate::load::LoadError::Cancelled { .. }),
                    message: e.to_string(),
                },
            };
            let _ = tx.send(ev);
            notify();
        });
        id
    }

    /// Cancels the load going on, if any; its `GraphFailed { cancelled: true }` follows.
    pub fn cancel_load(&mut self) {
        if let Some((_, ctl)) = self.load.take() {
            ctl.cancel();
        }
    }

    /// Runs `f` on a worker thread; its result arrives as [`JobEvent::Computed`] under `key`.
    pub fn compute(&self, key: CacheKey, f: impl FnOnce() -> Result<Computed, String> + Send + 'static) {
        self.spawn("compute", move |tx, notify| {
            let t = Instant::now();
            // A bug on bad input must not take the job's key (and the app) down with it.
            let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err("the computation failed unexpectedly (a bug: it panicked)".to_string()));
            let _ = tx.send(JobEvent::Computed { key, value, secs: t.elapsed().as_secs_f64() });
            notify();
        });
    }

    /// Like [`Jobs::compute`], but `f` gets a control whose progress reports arrive as
    /// [`JobEvent::Progress`] under `key` and which [`Jobs::cancel_compute`] cancels.
    pub fn compute_tracked(
        &mut self,
        key: CacheKey,
        f: impl FnOnce(&MapControl) -> Result<Computed, String> + Send + 'static,
    ) {
        let (progress_tx, n2) = self.sender();
        let k2 = key.clone();
        let observer = self.compute_observer.clone();
        let ctl = MapControl::with_progress(move |fraction, stage| {
            let ev = JobEvent::Progress { key: k2.clone(), fraction, stage: stage.to_string() };
            if !matches!(progress_tx.try_send(ev), Err(TrySendError::Disconnected(_))) {
                n2();
            }
            if let Some(f) = &observer {
                f(&k2, fraction, stage);
            }
        });
        self.tracked.insert(key.clone(), ctl.clone());
        self.compute(key, move || f(&ctl));
    }

    /// Cancels the tracked computation under `key`, if it is going; its `Computed` (an error
    /// saying "cancelled") follows.
    pub fn cancel_compute(&mut self, key: &CacheKey) {
        if let Some(ctl) = self.tracked.remove(key) {
            ctl.cancel();
        }
    }

    /// Whether a training run started here is still going.
    pub fn training(&self) -> bool {
        self.training.is_some()
    }

    /// Starts training `graph`; events arrive as [`JobEvent::Train`], then one `TrainFinished`.
    /// `config.split` should be the split `graph` was made with, so that the run folder reloads it.
    pub fn start_training(&mut self, graph: Arc<Graph>, config: TrainConfig, out: Option<PathBuf>) {
        // The shared GPU device only when the run asks for the GPU; a CPU run gets Burn's flex.
        let device = if config.device == train::DeviceChoice::Gpu { self.shared_device.clone() } else { None };
        let options = RunOptions { out, resume: false, device, notify: None };
        let handle: TrainHandle = train::spawn(graph, config.clone(), options);
        self.training = Some(handle.commands.clone());
        self.spawn("train-relay", move |tx, notify| {
            for ev in handle.events.iter() {
                if tx.send(JobEvent::Train(ev)).is_err() {
                    return;
                }
                notify();
            }
            let result = handle.join().map_err(|e| e.to_string()).and_then(|out| {
                let Some(model) = out.model else {
                    // LightGCN leaves embeddings only.
                    if let Some(emb) = out.embeddings {
                        let _ = tx.send(JobEvent::InferenceFinished(Ok(Arc::new(emb))));
                    }
                    return Err(
                        "this mode leaves embeddings only (no PinSage model for the teaching views)".to_string()
                    );
                };
                let device = model.devices().first().cloned().unwrap_or_else(burn::prelude::Device::flex);
                Ok(ModelBundle {
                    config,
                    model: model.valid(),
                    neighbourhoods: out.neighbourhoods,
                    device,
                    embeddings: out.embeddings.map(Arc::new),
                    origin: "trained in the app".into(),
                })
            });
            let _ = tx.send(JobEvent::TrainFinished(result.map(Box::new)));
            notify();
        });
    }

    /// Pause, resume or stop the running training.
    pub fn train_command(&self, cmd: TrainCommand) {
        if let Some(tx) = &self.training {
            let _ = tx.send(cmd);
        }
    }

    /// Runs full-graph inference with progress events.
    pub fn infer(&self, graph: Arc<Graph>, bundle: ModelBundle, chunk: usize) {
        self.spawn("inference", move |tx, notify| {
            let progress_tx = tx.clone();
            let n2 = notify.clone();
            let result = embed_all(
                &bundle.model,
                &bundle.neighbourhoods,
                graph.features.as_ref(),
                &bundle.device,
                chunk,
                |done, total| {
                    // Progress is best-effort: drop it rather than block when the UI is behind.
                    if !matches!(
                        progress_tx.try_send(JobEvent::InferenceProgress { done, total }),
                        Err(TrySendError::Disconnected(_))
                    ) {
                        n2();
                    }
                },
            );
            let _ = tx.send(JobEvent::InferenceFinished(result.map(Arc::new).map_err(|e| e.to_string())));
            notify();
        });
    }

    /// Follows a run folder's `metrics.jsonl` (from the start), polling for new lines until
    /// another folder is followed.
    pub fn follow_run(&mut self, run: PathBuf) {
        if let Some(stop) = self.follow_stop.take() {
            let _ = stop.send(());
        }
        let (stop_tx, stop_rx) = bounded::<()>(1);
        self.follow_stop = Some(stop_tx);
        self.spawn("follow-run", move |tx, notify| {
            // A half-written last line waits for its end; a garbled line is reported (file:line) and skipped.
            let mut follower = crate::run_folder::MetricsFollower::new(run.join("metrics.jsonl"));
            loop {
                match follower.poll() {
                    Ok(read) => {
                        let changed = !read.events.is_empty() || !read.problems.is_empty();
                        for problem in read.problems {
                            let _ = tx.send(JobEvent::FollowFailed { run: run.clone(), message: problem.to_string() });
                        }
                        let events = read.events;
                        if !events.is_empty() && tx.send(JobEvent::Followed { run: run.clone(), events }).is_err() {
                            return;
                        }
                        if changed {
                            notify();
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(JobEvent::FollowFailed { run: run.clone(), message: e.to_string() });
                        notify();
                        return;
                    }
                }
                if stop_rx.recv_timeout(Duration::from_millis(500)).is_ok() {
                    return;
                }
            }
        });
    }

    /// Events that arrived, taking at most `budget` of wall time.
    pub fn drain(&mut self, budget: Duration) -> Vec<JobEvent> {
        let t = Instant::now();
        let mut out = Vec::new();
        while t.elapsed() < budget {
            match self.rx.try_recv() {
                Ok(ev) => {
                    if matches!(ev, JobEvent::TrainFinished(_)) {
                        self.training = None;
                    }
                    if let JobEvent::Computed { key, .. } = &ev {
                        self.tracked.remove(key);
                    }
                    if let JobEvent::GraphLoaded { load, .. } | JobEvent::GraphFailed { load, .. } = &ev
                        && self.load.as_ref().is_some_and(|(id, _)| id == load)
                    {
                        self.load = None;
                    }
                    out.push(ev);
                }
                Err(_) => break,
            }
        }
        out
    }
}
