//! The trainer: CPU sampler threads feed a bounded queue that the device step drains; everything
//! it does is reported as typed [`TrainEvent`]s and it obeys [`TrainCommand`]s (pause, resume,
//! stop). Runs write `config.json`, `metrics.jsonl`, atomic checkpoints and the final model.

//!
//! `config` (what defines a run), `events` (what it reports and obeys), `checkpoint` (the run
//! folder), `ledger` (what every loop does per epoch and at the end), `steps` (the per-model half:
//! PinSage, LightGCN) and here the one generic loop.

pub mod bundle;
mod checkpoint;
mod config;
mod events;
mod ledger;
pub mod parallel;
pub mod run_folder;
pub mod sparse_ids;
mod steps;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use crossbeam_channel::{Receiver, Sender, bounded};

pub use self::checkpoint::{check_table_fits_device, load_model, model_bytes, run_config, run_embeddings};
pub use self::config::{DeviceChoice, Mode, TrainConfig, default_temperature, run_graph};
pub use self::events::{EndReason, TrainCommand, TrainError, TrainEvent};
pub use self::ledger::evaluate_embeddings;
// The losses live with the model; these paths are kept for callers of `train::…`.
pub use crate::model::losses::{LossKind, LossRows, block_tensors, rows_loss};

use self::checkpoint::{RunState, start_model};
use self::events::{EventSink, end_reason, handle_commands};
use self::ledger::{EpochSummary, Ledger, LossMeter, started_event};
use self::steps::{LightGcnStep, PinSageStep, Step};
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::model::PinSage;
use crate::run_folder::RunFolderError;
use crate::sampler::NodeNeighbourhoods;

pub use crate::defaults::INFER_CHUNK;

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

/// The process's wgpu device, or why there is none (opened once, by [`select_device`]).
static GPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();

/// Picks the device: wgpu if an adapter can be had (else the CPU, with a note), or flex.
pub fn select_device(choice: DeviceChoice) -> (Device, String, Option<String>) {
    match choice {
        DeviceChoice::Cpu => (Device::flex(), "cpu (flex)".into(), None),
        // Vulkan only on Linux: the automatic choice also probes OpenGL through EGL, which on a
        // server without a desktop session prints `error: XDG_RUNTIME_DIR is invalid…` though
        // nothing failed. Burn's compute runs on Vulkan there in any case.
        // Burn registers one wgpu runtime per process (a second `init` is an error), so the
        // first call opens it and every later one, from any thread, shares it.
        DeviceChoice::Gpu => match GPU.get_or_init(|| headless_wgpu_options().init().map_err(|e| e.to_string())) {
            Ok(d) => (d.clone(), "gpu (wgpu)".into(), None),
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

/// Prepares the run folder (if any): on `resume` reads the saved config and progress (only the
/// epoch budget and device may change), writes `config.json` and opens `metrics.jsonl`. Returns
/// the config to run, the first epoch and the saved progress.
fn prepare_run(
    g: &Graph,
    mut cfg: TrainConfig,
    out: Option<&Path>,
    resume: bool,
    sink: &mut EventSink,
) -> Result<(TrainConfig, usize, RunState), TrainError> {
    let mut start_epoch = 1;
    let mut state = RunState::default();
    if !resume {
        cfg = cfg.scaled_for(g);
    }
    if let Some(dir) = out {
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
            cfg = TrainConfig { epochs, device: cfg.device, devices: cfg.devices.clone(), ..saved };
            start_epoch = state.epochs_done + 1;
        }
        cfg.validate()?;
        let json = serde_json::to_string_pretty(&cfg).map_err(|e| TrainError::Config(e.to_string()))?;
        checkpoint::write_atomic(&dir.join("config.json"), json.as_bytes())?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("metrics.jsonl"))
            .map_err(|e| TrainError::Io(format!("{}: {e}", dir.join("metrics.jsonl").display())))?;
        sink.log = Some(log);
    }
    if !resume && !cfg.graph_edits.is_empty() {
        sink.emit(TrainEvent::Note { message: crate::run_folder::edited_graph_note(&cfg.graph_edits) });
    }
    cfg.validate()?;
    Ok((cfg, start_epoch, state))
}

/// What the generic loop needs to know about the run besides the model's step.
struct RunContext<'a> {
    g: &'a Graph,
    cfg: &'a TrainConfig,
    out: Option<&'a Path>,
    start_epoch: usize,
    state: &'a RunState,
    device_name: String,
    /// Data-parallel runs: every replica's device, the model's first.
    devices: Option<Vec<Device>>,
    cmds: &'a Receiver<TrainCommand>,
}

fn run(
    g: &Arc<Graph>,
    cfg: TrainConfig,
    out: Option<PathBuf>,
    resume: bool,
    device: Option<(Device, String)>,
    cmds: &Receiver<TrainCommand>,
    sink: &mut EventSink,
) -> Result<TrainOutput, TrainError> {
    let out = out.as_deref();
    let (cfg, start_epoch, state) = prepare_run(g, cfg, out, resume, sink)?;
    let mut replica_devices = None;
    let (device, device_name) = match (device, cfg.devices.as_deref()) {
        (_, Some(indices)) => {
            let (devices, name) = parallel::open_devices(cfg.device, indices)?;
            let first = devices[0].clone();
            replica_devices = (devices.len() > 1).then_some(devices);
            (first, name)
        }
        (Some(d), None) => d,
        (None, None) => {
            let (d, name, note) = select_device(cfg.device);
            if let Some(message) = note {
                sink.emit(TrainEvent::Note { message });
            }
            (d, name)
        }
    };
    check_table_fits_device(&cfg, g, &device)?;
    device.seed(cfg.seed);
    let train_device = device.clone().autodiff();
    let ctx = RunContext { g, cfg: &cfg, out, start_epoch, state: &state, device_name, devices: replica_devices, cmds };
    match cfg.mode {
        Mode::Pinsage => {
            let model_cfg = cfg.model_config(g);
            model_cfg.validate()?;
            let (model, optim) = start_model(|| model_cfg.init(&train_device), &model_cfg, &cfg, g, out, resume)?;
            let shard_devices = ctx.devices.clone().unwrap_or_else(|| vec![device.clone()]);
            let resume_dir = out.filter(|_| resume);
            let step = PinSageStep::new(g, &cfg, start_epoch, &shard_devices, &model, resume_dir)?;
            train_loop(ctx, step, model, optim, sink)
        }
        Mode::Lightgcn => {
            let model_cfg = crate::lightgcn::LightGcnConfig::new(g.n_pins() as usize, g.n_boards() as usize)
                .with_dim(cfg.hidden_dim)
                .with_layers(cfg.lightgcn_layers);
            let (model, optim) = start_model(|| model_cfg.init(&train_device), &model_cfg, &cfg, g, out, resume)?;
            let step = LightGcnStep::new(g, &cfg, &device);
            train_loop(ctx, step, model, optim, sink)
        }
    }
}

/// The one training loop, whatever the model: obeys commands between steps, steps the optimizer,
/// reports progress with an ETA, and hands each epoch's end to the [`Ledger`].
fn train_loop<S: Step>(
    ctx: RunContext<'_>,
    mut step: S,
    mut model: S::Model,
    mut optim: ModuleOptimizer,
    sink: &mut EventSink,
) -> Result<TrainOutput, TrainError> {
    let (g, cfg) = (ctx.g, ctx.cfg);
    let steps_per_epoch = g.n_edges().div_ceil(cfg.batch_size);
    sink.emit(started_event(g, cfg, ctx.start_epoch, ctx.device_name.clone()));
    let started = Instant::now();
    let mut ledger = Ledger::new(g, cfg, ctx.out, ctx.start_epoch, ctx.state);
    let mut replicas = ctx.devices.map(|d| parallel::DataParallel::new(d, &model));
    let (mut stopped, mut early) = (false, false);
    for epoch in ctx.start_epoch..=cfg.epochs {
        let epoch_start = Instant::now();
        step.begin_epoch(epoch)?;
        let mut meter = LossMeter::new(cfg.log_every_steps);
        let (mut examples, mut steps_done) = (0usize, 0usize);
        if let Some(r) = replicas.as_mut() {
            r.reset_waited();
        }
        let ended = loop {
            if handle_commands(ctx.cmds, sink) {
                stopped = true;
                break Ok(());
            }
            let count = match replicas.as_mut() {
                None => {
                    let Some((loss, count)) = step.next_loss(&model) else { break Ok(()) };
                    meter.add(&loss);
                    let mut grads = loss.backward();
                    model = step.own_update(model, &mut grads, cfg.learning_rate);
                    let grads = GradientsParams::from_grads(grads, &model);
                    model = optim.step(cfg.learning_rate, model, grads);
                    count
                }
                Some(r) => {
                    let models: Vec<&S::Model> = std::iter::once(&model).chain(r.replicas()).collect();
                    let Some((losses, count)) = step.next_shard_losses(&models) else { break Ok(()) };
                    let (stepped, loss) = r.step(model, losses, &mut optim, cfg.learning_rate);
                    model = stepped;
                    meter.add(&loss);
                    count
                }
            };
            examples += count;
            steps_done += 1;
            match meter.read_if_due(steps_done, steps_per_epoch, epoch, ledger.epochs_done) {
                Ok(Some(mean)) => {
                    let device_waited_secs = replicas
                        .as_ref()
                        .map_or_else(Vec::new, |r| r.waited().iter().map(|w| w.as_secs_f64()).collect());
                    let clock =
                        Clock { started, epoch_start, waited_secs: step.waited().as_secs_f64(), device_waited_secs };
                    let at = (epoch, steps_done, steps_per_epoch, examples);
                    sink.emit(progress_event(cfg, at, mean, step.queue_depth(), clock));
                }
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        };
        step.end_epoch();
        ended?;
        if stopped {
            break;
        }
        let summary = EpochSummary {
            epoch,
            loss: meter.epoch_mean(epoch, steps_done, ledger.epochs_done)?,
            epoch_secs: epoch_start.elapsed().as_secs_f64(),
            triplets: examples,
            waited_secs: step.waited().as_secs_f64(),
            hard_per_query: step.hard_per_query(epoch),
        };
        if ledger.end_epoch(summary, (&model, &optim, &|dir| step.save_state(dir)), sink, |m| step.embed(m))? {
            early = true;
            break;
        }
    }
    let ending = ledger.finish(end_reason(stopped, early), model, sink, |m| step.embed(m))?;
    Ok(step.output(ending))
}

/// The run's and the epoch's start, and the time the epoch spent waiting for batches.
struct Clock {
    started: Instant,
    epoch_start: Instant,
    waited_secs: f64,
    /// Data-parallel runs, per device: the time the trainer blocked on its transfers.
    device_waited_secs: Vec<f64>,
}

/// A progress report at (epoch, step, steps per epoch, examples so far this epoch), with the ETA
/// from this epoch's pace.
fn progress_event(
    cfg: &TrainConfig,
    (epoch, step, steps_per_epoch, examples): (usize, usize, usize, usize),
    loss: f32,
    queue_depth: usize,
    clock: Clock,
) -> TrainEvent {
    let elapsed = clock.epoch_start.elapsed().as_secs_f64();
    let remaining_steps = (steps_per_epoch - step.min(steps_per_epoch)) + (cfg.epochs - epoch) * steps_per_epoch;
    TrainEvent::Progress {
        epoch,
        step,
        steps_per_epoch,
        loss,
        triplets_per_sec: examples as f64 / elapsed.max(1e-9),
        queue_depth,
        gpu_wait_share: clock.waited_secs / elapsed.max(1e-9),
        device_wait_shares: clock.device_waited_secs.iter().map(|w| w / elapsed.max(1e-9)).collect(),
        elapsed_secs: clock.started.elapsed().as_secs_f64(),
        eta_secs: remaining_steps as f64 * elapsed / step as f64,
    }
}
