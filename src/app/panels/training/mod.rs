//! The training view: configure and launch a run, pause/resume/stop it, and watch it live (loss,
//! per-epoch metrics, throughput, queue depth, GPU-wait share, ETA). The same plots follow a run
//! folder written by `pinsage train`. Everything shown comes from `AppState::run`.
//!
//! This file holds the panel's state and its frame; `form` the run's settings, the split and the
//! run folders; `monitor` the live figures; `curves` the plots; `picker` the path dialogs.

mod curves;
mod form;
mod monitor;
mod picker;

use std::path::Path;

use eframe::egui;

pub use self::curves::RunCurves;
pub use self::picker::PathPicker;
use crate::app::fs_probe::FolderProbe;
use crate::app::state::Ctx;
use crate::train::TrainConfig;

/// Field slots for the path picker.
const SLOT_OUT: u8 = 0;
const SLOT_FOLLOW: u8 = 1;

/// The training view's state: the draft config, the folders, and the derived curves.
pub struct TrainingPanel {
    /// The config being edited (taken from the settings on first draw).
    pub draft: TrainConfig,
    pub lr_text: String,
    /// Devices for data-parallel training, e.g. `0,1`; empty trains on the one device.
    pub devices_text: String,
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
            devices_text: devices_text(&draft),
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

impl TrainingPanel {
    /// Problems that block Start, as messages for the user.
    pub fn problems(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        match self.lr_text.trim().parse::<f64>() {
            Ok(v) => self.draft.learning_rate = v,
            Err(_) => out.push(format!("learning rate: `{}` is not a number", self.lr_text.trim())),
        }
        let devices = self.devices_text.trim();
        if devices.is_empty() {
            self.draft.devices = None;
        } else {
            match crate::train::parallel::parse_devices(devices) {
                Ok(list) => self.draft.devices = Some(list),
                Err(e) => out.push(e.to_string()),
            }
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
            self.devices_text = devices_text(&self.draft);
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
}

/// The devices field's text for `cfg`: `0,1`, or empty for one device.
fn devices_text(cfg: &TrainConfig) -> String {
    cfg.devices.as_ref().map_or_else(String::new, |d| d.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}
