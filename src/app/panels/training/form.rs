//! The training view's left side: the new run's settings (a form over a draft `TrainConfig`),
//! the run folder, Start / Pause / Stop, the graph's held-out split, and a run folder to follow or
//! load.

use std::path::PathBuf;

use eframe::egui;

use super::{SLOT_FOLLOW, SLOT_OUT, TrainingPanel};
use crate::app::cache::CacheKey;
use crate::app::fs_probe::FolderFacts;
use crate::app::state::{Command, Ctx};
use crate::model::Pooling;
use crate::sampler::{NeighbourhoodKind, PairSampling};
use crate::train::{DeviceChoice, LossKind, Mode, TrainCommand, TrainConfig};

/// A grid row: a label and a named widget.
fn row_ui(ui: &mut egui::Ui, label: &str, hint: &str, add: impl FnOnce(&mut egui::Ui) -> egui::Response) {
    ui.label(label).on_hover_text(hint);
    add(ui).accessible_name(label).on_hover_text(hint);
    ui.end_row();
}

/// The model's rows of the form: mode, device, pooling, neighbourhood, widths, skip.
fn model_rows_ui(ui: &mut egui::Ui, d: &mut TrainConfig) {
    ui.label("Mode");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.mode, Mode::Pinsage, "PinSage").on_hover_text("convolutions over random-walk neighbourhoods (Ying et al., KDD 2018)");
        ui.selectable_value(&mut d.mode, Mode::Lightgcn, "LightGCN")
            .on_hover_text("free embeddings, normalised full-graph propagation, BPR (pooling, neighbourhood and negatives settings do not apply)");
    });
    ui.end_row();
    ui.label("Device");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.device, DeviceChoice::Gpu, "GPU")
            .on_hover_text("Burn's wgpu backend, sharing the UI's GPU device");
        ui.selectable_value(&mut d.device, DeviceChoice::Cpu, "CPU").on_hover_text("Burn's flex backend (pure Rust)");
    });
    ui.end_row();
    ui.label("Pooling");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.pooling, Pooling::Importance, "Importance")
            .on_hover_text("weights = normalised random-walk visit counts (PinSage)");
        ui.selectable_value(&mut d.pooling, Pooling::Mean, "Mean").on_hover_text("unweighted mean (GraphSAGE)");
        ui.selectable_value(&mut d.pooling, Pooling::Max, "Max");
    });
    ui.end_row();
    ui.label("Neighbourhood");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.neighbourhood, NeighbourhoodKind::Walks, "Walk top-K")
            .on_hover_text("top-K pins by random-walk visits (PinSage)");
        ui.selectable_value(&mut d.neighbourhood, NeighbourhoodKind::Uniform, "Uniform")
            .on_hover_text("K two-hop pins drawn uniformly (GraphSAGE)");
    });
    ui.end_row();
    row_ui(ui, "Input dim", "width of the input layer (id embedding + projected features)", |ui| {
        ui.add(egui::DragValue::new(&mut d.input_dim).range(1..=4096))
    });
    row_ui(ui, "Hidden dim", "width of both convolutions and the output embedding", |ui| {
        ui.add(egui::DragValue::new(&mut d.hidden_dim).range(1..=4096))
    });
    row_ui(
        ui,
        "Skip h⁰",
        "add each node's own input h⁰ to its embedding (a residual path past both convolves)",
        |ui| ui.checkbox(&mut d.skip, ""),
    );
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

/// The optimisation's rows of the form: epochs, batch, negatives, learning rate, loss, pairs,
/// curriculum, evaluation.
fn optimiser_rows_ui(ui: &mut egui::Ui, d: &mut TrainConfig, lr_text: &mut String, auto_temperature: f32) {
    row_ui(ui, "Epochs", "passes over the training edges", |ui| {
        ui.add(egui::DragValue::new(&mut d.epochs).range(0..=10_000))
    });
    row_ui(ui, "Batch size", "positive pairs per step", |ui| {
        ui.add(egui::DragValue::new(&mut d.batch_size).speed(8).range(0..=1_000_000))
    });
    row_ui(ui, "Negatives", "random negatives shared by the batch", |ui| {
        ui.add(egui::DragValue::new(&mut d.negatives).speed(4).range(0..=100_000))
    });
    ui.label("Learning rate").on_hover_text("Adam step size, e.g. 0.001 or 1e-3");
    ui.add(egui::TextEdit::singleline(lr_text).desired_width(90.0)).accessible_name("Learning rate");
    ui.end_row();
    ui.label("Loss");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.loss, LossKind::MaxMargin, "Max-margin")
            .on_hover_text("max(0, z_q·z_n − z_q·z_p + Δ), the paper's");
        ui.selectable_value(&mut d.loss, LossKind::Bpr, "BPR");
        ui.selectable_value(&mut d.loss, LossKind::Softmax, "Softmax")
            .on_hover_text("sampled softmax over the shared (and hard) negatives, scores / τ");
    });
    ui.end_row();
    // Margin Δ (max-margin) is always under "More settings"; τ only matters for BPR and softmax.
    if matches!(d.loss, LossKind::Bpr | LossKind::Softmax) {
        row_ui(ui, "Temperature τ", "scores are divided by τ; auto scales it to the graph's density", |ui| {
            temperature_ui(ui, &mut d.temperature, auto_temperature)
        });
    }
    ui.label("Pairs").on_hover_text("how each epoch draws its positive pairs");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut d.pair_sampling, PairSampling::Edges, "Every edge")
            .on_hover_text("each training edge once per epoch: big boards dominate");
        ui.selectable_value(&mut d.pair_sampling, PairSampling::Boards, "Uniform boards").on_hover_text(
            "a random board, then one of its pins (LightGCN's sampler): every board counts the same, as in recall@20",
        );
    });
    ui.end_row();
    ui.label("Curriculum");
    ui.checkbox(&mut d.hard_negatives, "Hard negatives")
        .on_hover_text("none in epoch 1, n−1 per query in epoch n (PPR rank band)");
    ui.end_row();
    if d.hard_negatives {
        row_ui(ui, "Max hard / query", "cap of the curriculum", |ui| {
            ui.add(egui::DragValue::new(&mut d.max_hard_per_query).range(0..=100))
        });
    }
    ui.label("Evaluate");
    ui.checkbox(&mut d.eval_each_epoch, "Every epoch")
        .on_hover_text("recall@20 and hit rate after each epoch (else only at the end)");
    ui.end_row();
}

/// "More settings": walks, margin, board queries, the input pipeline, the seed.
fn more_settings_ui(ui: &mut egui::Ui, d: &mut TrainConfig, devices_text: &mut String) {
    egui::Grid::new("train_more_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
        row_ui(ui, "Neighbours K", "neighbours kept per node", |ui| {
            ui.add(egui::DragValue::new(&mut d.walk.top_k).range(0..=1000))
        });
        row_ui(ui, "Walks per pin", "T", |ui| ui.add(egui::DragValue::new(&mut d.walk.walks).range(0..=10_000)));
        row_ui(ui, "Walk length", "L pin-steps", |ui| {
            ui.add(egui::DragValue::new(&mut d.walk.length).range(0..=10_000))
        });
        row_ui(ui, "Margin Δ", "max-margin loss", |ui| {
            ui.add(egui::DragValue::new(&mut d.margin).speed(0.01).range(0.0..=10.0))
        });
        row_ui(ui, "Board queries", "share of positive pairs whose query is a board", |ui| {
            ui.add(egui::DragValue::new(&mut d.board_query_share).speed(0.01).range(0.0..=1.0))
        });
        row_ui(ui, "Sampler threads", "CPU threads building batches", |ui| {
            ui.add(egui::DragValue::new(&mut d.sampler_threads).range(1..=64))
        });
        row_ui(ui, "Queue capacity", "batches buffered between samplers and the device", |ui| {
            ui.add(egui::DragValue::new(&mut d.queue_capacity).range(0..=1024))
        });
        row_ui(ui, "Seed", "makes the run reproducible", |ui| ui.add(egui::DragValue::new(&mut d.seed)));
        row_ui(
            ui,
            "Devices",
            "data-parallel PinSage over several GPUs of the chosen device kind, e.g. 0,1 (empty: one device)",
            |ui| ui.add(egui::TextEdit::singleline(devices_text).hint_text("one device").desired_width(90.0)),
        );
    });
}

impl TrainingPanel {
    /// The new run's form, its problems, and Start / Pause / Resume / Stop.
    pub(super) fn config_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let running = ctx.state.run.running;
        let own = running && !ctx.state.run.source.is_followed();
        ui.heading("New training run");
        let auto_temperature = crate::train::default_temperature(&ctx.state.graph);
        ui.add_enabled_ui(!own, |ui| {
            egui::Grid::new("train_form").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
                model_rows_ui(ui, &mut self.draft);
                optimiser_rows_ui(ui, &mut self.draft, &mut self.lr_text, auto_temperature);
            });
            egui::CollapsingHeader::new("More settings")
                .id_salt("train_more")
                .show(ui, |ui| more_settings_ui(ui, &mut self.draft, &mut self.devices_text));
            self.run_folder_ui(ui, ctx);
        });
        let problems = self.problems();
        for p in &problems {
            ui.colored_label(ui.visuals().error_fg_color, p.as_str());
        }
        ui.add_space(4.0);
        crate::app::panels::whatif::edited_training_notice_ui(ui, ctx);
        self.run_buttons_ui(ui, ctx, problems.is_empty() && !running, own);
    }

    /// Save to a run folder, and where.
    fn run_folder_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.checkbox(&mut self.save_run, "Save to a run folder")
            .on_hover_text("config.json, metrics.jsonl, checkpoints and the final model");
        ui.add_enabled_ui(self.save_run, |ui| self.folder_field_ui(ui, ctx, SLOT_OUT));
    }

    /// A folder field with Browse… (the dialog's answer comes back for `slot`): the new run's
    /// folder (`SLOT_OUT`) or the one to follow (`SLOT_FOLLOW`).
    fn folder_field_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, slot: u8) {
        let (text, hint, name, hover, title) = if slot == SLOT_OUT {
            (
                &mut self.out_dir,
                "runs/my-run",
                "Run folder",
                "Choose the run folder",
                "Run folder for the new training run",
            )
        } else {
            let title = "A run folder written by `pinsage train`";
            (&mut self.follow_dir, "path/to/run", "Run folder to follow", "Choose a run folder to follow", title)
        };
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(text).desired_width(200.0).hint_text(hint)).accessible_name(name);
            if ui.add_enabled(!self.picker.waiting(), egui::Button::new("Browse…")).on_hover_text(hover).clicked() {
                self.picker.open(ctx, "training", slot, title, true);
            }
        });
    }

    /// Start (when `can_start`), and Pause / Resume / Stop of the app's own run (`own`).
    fn run_buttons_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, can_start: bool, own: bool) {
        let run = &ctx.state.run;
        ui.horizontal(|ui| {
            let start = ui.add_enabled(can_start, egui::Button::new("Start training"));
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
    pub(super) fn split_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.heading("Held-out split");
        let state = ctx.state;
        let g = &state.graph;
        let now = if state.graph_spec == "default" && state.graph_split == crate::split::SplitConfig::none() {
            "the embedded graph's own test edges, no validation".to_string()
        } else {
            super::super::split::describe(&state.graph_split)
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

    /// A run folder to follow live, or whose model to load.
    pub(super) fn follow_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.heading("Monitor a run folder");
        ui.label(
            egui::RichText::new("Follow the metrics.jsonl of a run from `pinsage train`, even one still running.")
                .small()
                .weak(),
        );
        self.folder_field_ui(ui, ctx, SLOT_FOLLOW);
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
}
