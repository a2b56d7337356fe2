//! The training view: configure and launch a run, pause/resume/stop it, and watch it live (loss,
//! per-epoch metrics, throughput, queue depth, GPU-wait share, ETA). The same plots follow a run
//! folder written by `pinsage train`. Everything shown comes from `AppState::run`.

use std::path::{Path, PathBuf};

use eframe::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, Points};

use crate::app::cache::CacheKey;
use crate::app::fs_probe::{FolderFacts, FolderProbe};
use crate::app::state::{Command, Ctx, RunLog, View};
use crate::model::Pooling;
use crate::sampler::{NeighbourhoodKind, PairSampling};
use crate::train::Mode;
use crate::train::{DeviceChoice, EndReason, LossKind, TrainCommand, TrainConfig, TrainEvent};

/// A native path dialog run in the background (through `Ctx::need`), remembered by key.
#[derive(Default)]
pub struct PathPicker {
    requests: u64,
    pending: Option<(CacheKey, u8)>,
}

impl PathPicker {
    /// Opens the dialog; `slot` tells the caller later which field the answer is for.
    pub fn open(&mut self, ctx: &mut Ctx, panel: &str, slot: u8, title: &str, folder: bool) {
        self.requests += 1;
        let key = CacheKey::PickPath { panel: panel.to_string(), request: self.requests };
        let title = title.to_string();
        let _ = ctx.need::<Option<PathBuf>>(&key, move || crate::app::dialogs::pick_path(title, folder));
        self.pending = Some((key, slot));
    }
    /// The chosen path and its slot, once the dialog has closed with a choice.
    pub fn poll(&mut self, ctx: &Ctx) -> Option<(PathBuf, u8)> {
        let (key, slot) = self.pending.clone()?;
        let answer = ctx.state.result::<Option<PathBuf>>(&key)?;
        self.pending = None;
        answer.clone().map(|p| (p, slot))
    }
    pub fn waiting(&self) -> bool {
        self.pending.is_some()
    }
}

/// The curves and figures of a run, derived from its events (recomputed only when they change).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunCurves {
    pub source: String,
    pub n_events: usize,
    /// (epoch + fraction of the epoch, mean loss since the last reading).
    pub loss: Vec<[f64; 2]>,
    /// (epoch, mean loss of the epoch).
    pub epoch_loss: Vec<[f64; 2]>,
    /// Epochs whose end was reported, in order.
    pub epochs_ended: Vec<usize>,
    /// Epochs that were evaluated.
    pub metric_epochs: Vec<usize>,
    pub recall: Vec<[f64; 2]>,
    pub ndcg: Vec<[f64; 2]>,
    pub hit_rate: Vec<[f64; 2]>,
    pub hit_k: usize,
    /// (elapsed seconds, triplets per second).
    pub throughput: Vec<[f64; 2]>,
    /// (elapsed seconds, % of step time spent waiting for the samplers).
    pub gpu_wait_pct: Vec<[f64; 2]>,
    /// (elapsed seconds, batches waiting in the queue).
    pub queue_depth: Vec<[f64; 2]>,
    pub device: Option<String>,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub checkpoint: Option<(usize, String)>,
    pub finished: Option<(EndReason, usize)>,
    pub notes: Vec<String>,
}

impl RunCurves {
    pub fn from_log(log: &RunLog) -> RunCurves {
        let mut c = RunCurves { source: log.source.to_string(), n_events: log.events.len(), ..RunCurves::default() };
        for ev in &log.events {
            match ev {
                TrainEvent::Started { device, epochs, steps_per_epoch, .. } => {
                    c.device = Some(device.clone());
                    c.epochs = *epochs;
                    c.steps_per_epoch = *steps_per_epoch;
                }
                TrainEvent::Note { message } => c.notes.push(message.clone()),
                TrainEvent::Progress {
                    epoch,
                    step,
                    steps_per_epoch,
                    loss,
                    triplets_per_sec,
                    queue_depth,
                    gpu_wait_share,
                    elapsed_secs,
                    ..
                } => {
                    let x = (*epoch as f64 - 1.0) + *step as f64 / (*steps_per_epoch).max(1) as f64;
                    c.loss.push([x, *loss as f64]);
                    c.throughput.push([*elapsed_secs, *triplets_per_sec]);
                    c.gpu_wait_pct.push([*elapsed_secs, 100.0 * gpu_wait_share]);
                    c.queue_depth.push([*elapsed_secs, *queue_depth as f64]);
                }
                TrainEvent::EpochEnd { epoch, loss, metrics, .. } => {
                    c.epochs_ended.push(*epoch);
                    c.epoch_loss.push([*epoch as f64, *loss as f64]);
                    if let Some(m) = metrics {
                        c.metric_epochs.push(*epoch);
                        c.recall.push([*epoch as f64, m.recall_at_20]);
                        c.ndcg.push([*epoch as f64, m.ndcg_at_20]);
                        c.hit_rate.push([*epoch as f64, m.hit_rate]);
                        c.hit_k = m.hit_k;
                    }
                }
                TrainEvent::Checkpoint { epoch, path } => c.checkpoint = Some((*epoch, path.clone())),
                TrainEvent::Finished { reason, epochs_done, .. } => c.finished = Some((*reason, *epochs_done)),
                TrainEvent::Paused | TrainEvent::Resumed | TrainEvent::Failed { .. } => {}
            }
        }
        c
    }
}

/// Field slots for the path picker.
const SLOT_OUT: u8 = 0;
const SLOT_FOLLOW: u8 = 1;

/// The training view's state: the draft config, the folders, and the derived curves.
pub struct TrainingPanel {
    /// The config being edited (taken from the settings on first draw).
    pub draft: TrainConfig,
    pub lr_text: String,
    initialised: bool,
    /// Write the run to `out_dir` (config, metrics.jsonl, checkpoints, model).
    pub save_run: bool,
    pub out_dir: String,
    /// A run folder to follow or load.
    pub follow_dir: String,
    picker: PathPicker,
    /// What the plots show now.
    pub curves: RunCurves,
    /// The held-out split form (applied to the graph by "Re-split graph").
    pub split: super::split::SplitDraft,
    /// The graph generation the form was last filled for.
    split_for: Option<u64>,
    /// Cached looks at `out_dir` and `follow_dir` (not read every frame).
    out_probe: FolderProbe,
    follow_probe: FolderProbe,
    /// Training events seen: a new epoch's end or the run's end invalidates the folder probes.
    events_seen: usize,
}

impl Default for TrainingPanel {
    fn default() -> Self {
        let draft = crate::app::state::Settings::default().train;
        TrainingPanel {
            lr_text: format_lr(draft.learning_rate),
            draft,
            initialised: false,
            save_run: false,
            out_dir: "runs/explorer".into(),
            follow_dir: String::new(),
            picker: PathPicker::default(),
            curves: RunCurves::default(),
            split: super::split::SplitDraft::default(),
            split_for: None,
            out_probe: FolderProbe::default(),
            follow_probe: FolderProbe::default(),
            events_seen: 0,
        }
    }
}

fn format_lr(lr: f64) -> String {
    format!("{lr}")
}

/// "1 h 02 min", "3 min 05 s", "12 s".
pub fn format_secs(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "—".into();
    }
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else if secs < 10.0 {
        format!("{secs:.1} s")
    } else {
        format!("{s} s")
    }
}

/// A grid row: a label and a named widget.
fn row(ui: &mut egui::Ui, label: &str, hint: &str, add: impl FnOnce(&mut egui::Ui) -> egui::Response) {
    ui.label(label).on_hover_text(hint);
    add(ui).accessible_name(label).on_hover_text(hint);
    ui.end_row();
}

impl TrainingPanel {
    /// Problems that block Start, as messages for the user.
    pub fn problems(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        match self.lr_text.trim().parse::<f64>() {
            Ok(v) => self.draft.learning_rate = v,
            Err(_) => out.push(format!("learning rate: `{}` is not a number", self.lr_text.trim())),
        }
        if let Err(e) = self.draft.validate() {
            out.push(e.to_string());
        }
        if self.save_run {
            let dir = Path::new(self.out_dir.trim());
            if self.out_dir.trim().is_empty() {
                out.push("run folder: enter a folder, or untick “Save to a run folder”".into());
            } else if let facts = self.out_probe.look(dir)
                && facts.is_file
            {
                out.push(format!("run folder: {} is a file", dir.display()));
            } else if self.out_probe.look(dir).has_metrics {
                out.push(format!("run folder: {} already holds a run; choose a new folder", dir.display()));
            }
        }
        out
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let seen = ctx.state.run.events.len();
        if seen != self.events_seen {
            self.events_seen = seen;
            if !matches!(ctx.state.run.events.last(), Some(crate::train::TrainEvent::Progress { .. })) {
                self.out_probe.invalidate();
                self.follow_probe.invalidate();
            }
        }
        if !self.initialised {
            self.initialised = true;
            self.draft = ctx.state.settings.train.clone();
            self.lr_text = format_lr(self.draft.learning_rate);
            if let Some(dir) = &ctx.state.settings.last_run_folder {
                self.follow_dir = dir.clone();
            }
        }
        if self.split_for != Some(ctx.state.graph_generation) {
            // A new graph: the form starts from the split it was opened with (or the remembered one
            // for the embedded graph, which has its own test edges).
            self.split_for = Some(ctx.state.graph_generation);
            let s = &ctx.state;
            let c = if s.graph_split == crate::split::SplitConfig::none() { s.settings.split } else { s.graph_split };
            self.split = super::split::SplitDraft::from_config(&c);
        }
        if let Some((path, slot)) = self.picker.poll(ctx) {
            let text = path.display().to_string();
            if slot == SLOT_OUT {
                self.out_dir = text;
                self.save_run = true;
            } else {
                self.follow_dir = text;
            }
        }
        let run = &ctx.state.run;
        if self.curves.n_events != run.events.len() || self.curves.source != run.source.to_string() {
            self.curves = RunCurves::from_log(run);
        }
        egui::Panel::left("training_config").resizable(false).exact_size(330.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.config_ui(ui, ctx);
                ui.separator();
                self.split_ui(ui, ctx);
                ui.separator();
                self.follow_ui(ui, ctx);
            });
        });
        self.monitor_ui(ui, ctx);
    }

    fn config_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let running = ctx.state.run.running;
        let own = running && !ctx.state.run.source.is_followed();
        ui.heading("New training run");
        let auto_temperature = crate::train::default_temperature(&ctx.state.graph);
        ui.add_enabled_ui(!own, |ui| {
            let d = &mut self.draft;
            egui::Grid::new("train_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
                ui.label("Mode");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.mode, Mode::Pinsage, "PinSage").on_hover_text("convolutions over random-walk neighbourhoods (Ying et al., KDD 2018)");
                    ui.selectable_value(&mut d.mode, Mode::Lightgcn, "LightGCN")
                        .on_hover_text("free embeddings, normalised full-graph propagation, BPR (pooling, neighbourhood and negatives settings do not apply)");
                });
                ui.end_row();
                ui.label("Device");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.device, DeviceChoice::Gpu, "GPU").on_hover_text("Burn's wgpu backend, sharing the UI's GPU device");
                    ui.selectable_value(&mut d.device, DeviceChoice::Cpu, "CPU").on_hover_text("Burn's flex backend (pure Rust)");
                });
                ui.end_row();
                ui.label("Pooling");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.pooling, Pooling::Importance, "Importance").on_hover_text("weights = normalised random-walk visit counts (PinSage)");
                    ui.selectable_value(&mut d.pooling, Pooling::Mean, "Mean").on_hover_text("unweighted mean (GraphSAGE)");
                    ui.selectable_value(&mut d.pooling, Pooling::Max, "Max");
                });
                ui.end_row();
                ui.label("Neighbourhood");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.neighbourhood, NeighbourhoodKind::Walks, "Walk top-K").on_hover_text("top-K pins by random-walk visits (PinSage)");
                    ui.selectable_value(&mut d.neighbourhood, NeighbourhoodKind::Uniform, "Uniform").on_hover_text("K two-hop pins drawn uniformly (GraphSAGE)");
                });
                ui.end_row();
                row(ui, "Input dim", "width of the input layer (id embedding + projected features)", |ui| {
                    ui.add(egui::DragValue::new(&mut d.input_dim).range(1..=4096))
                });
                row(ui, "Hidden dim", "width of both convolutions and the output embedding", |ui| ui.add(egui::DragValue::new(&mut d.hidden_dim).range(1..=4096)));
                row(ui, "Skip h⁰", "add each node's own input h⁰ to its embedding (a residual path past both convolves)", |ui| {
                    ui.checkbox(&mut d.skip, "")
                });
                row(ui, "Epochs", "passes over the training edges", |ui| ui.add(egui::DragValue::new(&mut d.epochs).range(0..=10_000)));
                row(ui, "Batch size", "positive pairs per step", |ui| ui.add(egui::DragValue::new(&mut d.batch_size).speed(8).range(0..=1_000_000)));
                row(ui, "Negatives", "random negatives shared by the batch", |ui| ui.add(egui::DragValue::new(&mut d.negatives).speed(4).range(0..=100_000)));
                ui.label("Learning rate").on_hover_text("Adam step size, e.g. 0.001 or 1e-3");
                ui.add(egui::TextEdit::singleline(&mut self.lr_text).desired_width(90.0)).accessible_name("Learning rate");
                ui.end_row();
                ui.label("Loss");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.loss, LossKind::MaxMargin, "Max-margin").on_hover_text("max(0, z_q·z_n − z_q·z_p + Δ), the paper's");
                    ui.selectable_value(&mut d.loss, LossKind::Bpr, "BPR");
                    ui.selectable_value(&mut d.loss, LossKind::Softmax, "Softmax")
                        .on_hover_text("sampled softmax over the shared (and hard) negatives, scores / τ");
                });
                ui.end_row();
                // Margin Δ (max-margin) is always under "More settings"; τ only matters for BPR and softmax.
                if matches!(d.loss, LossKind::Bpr | LossKind::Softmax) {
                    row(ui, "Temperature τ", "scores are divided by τ; auto scales it to the graph's density", |ui| {
                        temperature_ui(ui, &mut d.temperature, auto_temperature)
                    });
                }
                ui.label("Pairs").on_hover_text("how each epoch draws its positive pairs");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut d.pair_sampling, PairSampling::Edges, "Every edge").on_hover_text("each training edge once per epoch: big boards dominate");
                    ui.selectable_value(&mut d.pair_sampling, PairSampling::Boards, "Uniform boards")
                        .on_hover_text("a random board, then one of its pins (LightGCN's sampler): every board counts the same, as in recall@20");
                });
                ui.end_row();
                ui.label("Curriculum");
                ui.checkbox(&mut d.hard_negatives, "Hard negatives").on_hover_text("none in epoch 1, n−1 per query in epoch n (PPR rank band)");
                ui.end_row();
                if d.hard_negatives {
                    row(ui, "Max hard / query", "cap of the curriculum", |ui| ui.add(egui::DragValue::new(&mut d.max_hard_per_query).range(0..=100)));
                }
                ui.label("Evaluate");
                ui.checkbox(&mut d.eval_each_epoch, "Every epoch").on_hover_text("recall@20 and hit rate after each epoch (else only at the end)");
                ui.end_row();
            });
            egui::CollapsingHeader::new("More settings").id_salt("train_more").show(ui, |ui| {
                let d = &mut self.draft;
                egui::Grid::new("train_more_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
                    row(ui, "Neighbours K", "neighbours kept per node", |ui| ui.add(egui::DragValue::new(&mut d.walk.top_k).range(0..=1000)));
                    row(ui, "Walks per pin", "T", |ui| ui.add(egui::DragValue::new(&mut d.walk.walks).range(0..=10_000)));
                    row(ui, "Walk length", "L pin-steps", |ui| ui.add(egui::DragValue::new(&mut d.walk.length).range(0..=10_000)));
                    row(ui, "Margin Δ", "max-margin loss", |ui| ui.add(egui::DragValue::new(&mut d.margin).speed(0.01).range(0.0..=10.0)));
                    row(ui, "Board queries", "share of positive pairs whose query is a board", |ui| {
                        ui.add(egui::DragValue::new(&mut d.board_query_share).speed(0.01).range(0.0..=1.0))
                    });
                    row(ui, "Sampler threads", "CPU threads building batches", |ui| ui.add(egui::DragValue::new(&mut d.sampler_threads).range(1..=64)));
                    row(ui, "Queue capacity", "batches buffered between samplers and the device", |ui| {
                        ui.add(egui::DragValue::new(&mut d.queue_capacity).range(0..=1024))
                    });
                    row(ui, "Seed", "makes the run reproducible", |ui| ui.add(egui::DragValue::new(&mut d.seed)));
                });
            });
            ui.checkbox(&mut self.save_run, "Save to a run folder").on_hover_text("config.json, metrics.jsonl, checkpoints and the final model");
            ui.add_enabled_ui(self.save_run, |ui| {
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut self.out_dir).desired_width(200.0).hint_text("runs/my-run")).accessible_name("Run folder");
                    if ui.add_enabled(!self.picker.waiting(), egui::Button::new("Browse…")).on_hover_text("Choose the run folder").clicked() {
                        self.picker.open(ctx, "training", SLOT_OUT, "Run folder for the new training run", true);
                    }
                });
            });
        });
        let problems = self.problems();
        for p in &problems {
            ui.colored_label(ui.visuals().error_fg_color, p.as_str());
        }
        ui.add_space(4.0);
        super::whatif::edited_training_notice_ui(ui, ctx);
        let run = &ctx.state.run;
        ui.horizontal(|ui| {
            let start = ui.add_enabled(problems.is_empty() && !running, egui::Button::new("Start training"));
            if start.clicked() {
                let mut config = self.draft.clone();
                config.data = ctx.state.settings.last_file.clone().unwrap_or_else(|| "default".into());
                let out = self.save_run.then(|| PathBuf::from(self.out_dir.trim()));
                if let Some(dir) = &out {
                    self.follow_dir = dir.display().to_string();
                }
                ctx.send(Command::StartTraining { config: Box::new(config), out });
            }
            if run.paused {
                if ui.add_enabled(own, egui::Button::new("Resume")).clicked() {
                    ctx.send(Command::Train(TrainCommand::Resume));
                }
            } else if ui.add_enabled(own, egui::Button::new("Pause")).clicked() {
                ctx.send(Command::Train(TrainCommand::Pause));
            }
            if ui
                .add_enabled(own, egui::Button::new("Stop"))
                .on_hover_text("Stop after the current step; the last checkpoint is kept")
                .clicked()
            {
                ctx.send(Command::Train(TrainCommand::Stop));
            }
        });
    }

    /// The graph's held-out split: what it is now, and a form to re-split it (training always uses
    /// the graph's split, recorded in the run's config.json).
    fn split_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.heading("Held-out split");
        let state = ctx.state;
        let g = &state.graph;
        let now = if state.graph_spec == "default" && state.graph_split == crate::split::SplitConfig::none() {
            "the embedded graph's own test edges, no validation".to_string()
        } else {
            super::split::describe(&state.graph_split)
        };
        ui.label(egui::RichText::new(format!("now: {now}")).small());
        ui.label(
            egui::RichText::new(format!(
                "{} train · {} validation · {} test edges",
                g.n_edges(),
                g.n_validation_edges(),
                g.n_test_edges()
            ))
            .small()
            .weak(),
        );
        self.split.ui(ui, "train_split");
        let own = state.run.running && !state.run.source.is_followed();
        let split = self.split.parse();
        if ui
            .add_enabled(split.is_ok() && !own && state.loading.is_none(), egui::Button::new("Re-split graph"))
            .on_hover_text("Reload the graph with this split in the background (the model is dropped)")
            .clicked()
            && let Ok(split) = split
        {
            ctx.send(Command::Resplit(split));
        }
    }

    fn follow_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.heading("Monitor a run folder");
        ui.label(
            egui::RichText::new("Follow the metrics.jsonl of a run from `pinsage train`, even one still running.")
                .small()
                .weak(),
        );
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut self.follow_dir).desired_width(200.0).hint_text("path/to/run"))
                .accessible_name("Run folder to follow");
            if ui
                .add_enabled(!self.picker.waiting(), egui::Button::new("Browse…"))
                .on_hover_text("Choose a run folder to follow")
                .clicked()
            {
                self.picker.open(ctx, "training", SLOT_FOLLOW, "A run folder written by `pinsage train`", true);
            }
        });
        let dir = PathBuf::from(self.follow_dir.trim());
        let facts =
            if self.follow_dir.trim().is_empty() { FolderFacts::default() } else { self.follow_probe.look(&dir) };
        let (has_metrics, has_model) = (facts.has_metrics, facts.has_config);
        let own_running = ctx.state.run.running && !ctx.state.run.source.is_followed();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(has_metrics && !own_running, egui::Button::new("Follow"))
                .on_hover_text("Plot its metrics.jsonl here, live")
                .clicked()
            {
                ctx.send(Command::FollowRun(dir.clone()));
            }
            let loading = ctx.state.is_pending(CacheKey::RunModel(dir.clone()));
            if ui
                .add_enabled(has_model && !loading, egui::Button::new("Load its model"))
                .on_hover_text("Use the run's model (model.bpk or the last checkpoint) in the other views")
                .clicked()
            {
                ctx.send(Command::LoadRunModel(dir.clone()));
            }
            if loading {
                ui.spinner();
            }
        });
        if !self.follow_dir.trim().is_empty() && !has_metrics {
            ui.weak("no metrics.jsonl in this folder (yet)");
        }
    }

    fn monitor_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let run = &ctx.state.run;
        let c = &self.curves;
        ui.horizontal_wrapped(|ui| {
            ui.heading("Run");
            if run.source == crate::app::state::RunSource::None {
                ui.weak("nothing yet: start a run on the left, or follow a run folder");
            } else {
                ui.label(egui::RichText::new(run.source.to_string()).strong());
                let status = match (run.running, run.paused, c.finished) {
                    (true, true, _) => "paused".to_string(),
                    (true, false, _) => "running".to_string(),
                    (false, _, Some((EndReason::Completed, n))) => format!("completed ({n} epochs)"),
                    (false, _, Some((EndReason::Stopped, n))) => format!("stopped after {n} epochs"),
                    (false, _, Some((EndReason::EarlyStopped, n))) => {
                        format!("stopped early after {n} epochs (validation stopped improving)")
                    }
                    (false, _, None) => "ended".to_string(),
                };
                ui.label(format!("· {status}"));
                if run.running && !run.paused {
                    ui.spinner();
                }
            }
        });
        let progress = run.last_progress().and_then(|e| match e {
            TrainEvent::Progress {
                epoch,
                step,
                steps_per_epoch,
                triplets_per_sec,
                queue_depth,
                gpu_wait_share,
                eta_secs,
                elapsed_secs,
                ..
            } => Some((
                *epoch,
                *step,
                *steps_per_epoch,
                *triplets_per_sec,
                *queue_depth,
                *gpu_wait_share,
                *eta_secs,
                *elapsed_secs,
            )),
            _ => None,
        });
        if let Some((epoch, step, spe, _, _, _, _, _)) = progress
            && c.epochs > 0
        {
            let done = if c.finished.is_some() {
                1.0
            } else {
                ((epoch - 1) * spe + step) as f32 / (c.epochs * spe.max(1)) as f32
            };
            ui.add(
                egui::ProgressBar::new(done.clamp(0.0, 1.0))
                    .text(format!("epoch {epoch}/{} · step {step}/{spe}", c.epochs))
                    .show_percentage(),
            );
        }
        ui.horizontal_wrapped(|ui| {
            let card = |ui: &mut egui::Ui, name: &str, value: String, hint: &str| {
                egui::Frame::group(ui.style())
                    .show(ui, |ui| {
                        ui.vertical(|ui| {
                            ui.label(egui::RichText::new(name).small().weak());
                            ui.label(egui::RichText::new(value).strong());
                        });
                    })
                    .response
                    .on_hover_text(hint);
            };
            let p = progress;
            card(ui, "device", c.device.clone().unwrap_or_else(|| "—".into()), "where the model runs");
            card(
                ui,
                "triplets/s",
                p.map_or("—".into(), |p| format!("{:.0}", p.3)),
                "training triplets (query, positive, negatives) per second",
            );
            card(
                ui,
                "queue depth",
                p.map_or("—".into(), |p| p.4.to_string()),
                "batches the samplers have ready; 0 means the device waits for the CPU",
            );
            card(
                ui,
                "GPU wait",
                p.map_or("—".into(), |p| format!("{:.0} %", 100.0 * p.5)),
                "share of the time the device waited for batches",
            );
            let eta = if c.finished.is_some() { "done".into() } else { p.map_or("—".into(), |p| format_secs(p.6)) };
            card(ui, "ETA", eta, "estimated time left");
            card(ui, "elapsed", p.map_or("—".into(), |p| format_secs(p.7)), "time since the run started");
            if let Some(m) = c.recall.last() {
                card(
                    ui,
                    "recall@20",
                    format!("{:.3}", m[1]),
                    "LightGCN all-ranking recall@20 of the last evaluated epoch",
                );
            }
            if let Some(m) = c.hit_rate.last() {
                card(
                    ui,
                    &format!("hit rate@{}", c.hit_k),
                    format!("{:.3}", m[1]),
                    "share of held-out co-board pins ranked in the top k",
                );
            }
        });
        for n in &c.notes {
            ui.label(egui::RichText::new(format!("Note: {n}")).small());
        }
        match (c.finished, &c.checkpoint) {
            (Some((EndReason::Stopped, _)), Some((e, path))) => {
                ui.label(format!("Stopped. The checkpoint of epoch {e} is kept: {path}"));
            }
            (Some((EndReason::Stopped, _)), None) => {
                ui.label(
                    "Stopped before the first epoch ended: the model is partly trained and no checkpoint was written.",
                );
            }
            _ => {}
        }
        if c.finished.is_some() && ctx.state.model.is_some() && !run.running {
            ui.horizontal(|ui| {
                ui.label("The model is ready:");
                if ui.button("Run inference").clicked() {
                    ctx.send(Command::SetView(View::Inference));
                }
                if ui.button("Open the embedding map").clicked() {
                    ctx.send(Command::SetView(View::Map));
                }
            });
        }
        ui.separator();
        let h = ((ui.available_height() - 24.0) / 2.0).max(120.0);
        ui.columns(2, |cols| {
            self.loss_plot(&mut cols[0], h);
            self.metrics_plot(&mut cols[1], h);
            self.throughput_plot(&mut cols[0], h);
            self.pipeline_plot(&mut cols[1], h);
        });
    }

    fn loss_plot(&self, ui: &mut egui::Ui, h: f32) {
        let c = &self.curves;
        ui.label(egui::RichText::new("Loss").strong());
        Plot::new("train_loss")
            .height(h - 18.0)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .include_x(0.0)
            .include_y(0.0)
            .show(ui, |p| {
                p.line(
                    Line::new("per reading", c.loss.clone()).width(1.5).color(egui::Color32::from_rgb(230, 110, 100)),
                );
                p.points(
                    Points::new("epoch mean", c.epoch_loss.clone())
                        .radius(4.0)
                        .shape(MarkerShape::Circle)
                        .color(egui::Color32::from_rgb(100, 170, 250)),
                );
            });
    }

    fn metrics_plot(&self, ui: &mut egui::Ui, h: f32) {
        let c = &self.curves;
        ui.label(egui::RichText::new("Held-out metrics per epoch").strong());
        Plot::new("train_metrics")
            .height(h - 18.0)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .include_y(0.0)
            .include_x(0.0)
            .show(ui, |p| {
                let series = [
                    ("recall@20", &c.recall, egui::Color32::from_rgb(100, 170, 250)),
                    ("ndcg@20", &c.ndcg, egui::Color32::from_rgb(120, 210, 140)),
                    (&*format!("hit rate@{}", c.hit_k), &c.hit_rate, egui::Color32::from_rgb(250, 170, 80)),
                ];
                for (name, pts, colour) in series {
                    p.line(Line::new(name, pts.clone()).width(1.5).color(colour));
                    p.points(Points::new(name, pts.clone()).radius(3.5).color(colour));
                }
            });
    }

    fn throughput_plot(&self, ui: &mut egui::Ui, h: f32) {
        let c = &self.curves;
        ui.label(egui::RichText::new("Throughput (triplets/s)").strong());
        Plot::new("train_throughput").height(h - 18.0).x_axis_label("seconds").include_y(0.0).show(ui, |p| {
            p.line(Line::new("triplets/s", c.throughput.clone()).width(1.5));
        });
    }

    fn pipeline_plot(&self, ui: &mut egui::Ui, h: f32) {
        let c = &self.curves;
        ui.label(egui::RichText::new("Input pipeline").strong());
        Plot::new("train_pipeline")
            .height(h - 18.0)
            .legend(Legend::default())
            .x_axis_label("seconds")
            .include_y(0.0)
            .show(ui, |p| {
                p.line(Line::new("GPU wait %", c.gpu_wait_pct.clone()).width(1.5));
                p.line(Line::new("queue depth", c.queue_depth.clone()).width(1.5));
            });
    }
}

/// τ: "auto" (scaled to the graph's density when the run starts; `auto_value` on this graph) or a
/// value of the user's, which starts from the automatic one.
fn temperature_ui(ui: &mut egui::Ui, temperature: &mut Option<f32>, auto_value: f32) -> egui::Response {
    ui.horizontal(|ui| {
        let mut auto = temperature.is_none();
        let label = if auto { format!("auto ({auto_value:.2} on this graph)") } else { "auto".to_string() };
        let r = ui
            .checkbox(&mut auto, label)
            .on_hover_text("grows with the graph's density: 0.1 on Gowalla's, up to 0.35 on dense graphs");
        if r.changed() {
            *temperature = if auto { None } else { Some(auto_value) };
        }
        if let Some(t) = temperature {
            ui.add(egui::DragValue::new(t).speed(0.01).range(0.01..=10.0));
        }
    })
    .response
}
