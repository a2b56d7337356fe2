//! The training view's right side: the run's status, progress, figures (device, throughput,
//! queue, GPU wait, ETA, metrics), how it ended, and its four plots.

use eframe::egui;

use super::curves::{RunCurves, loss_plot_ui, metrics_plot_ui, pipeline_plot_ui, throughput_plot_ui};
use super::{TrainingPanel, format_secs};
use crate::app::state::{Command, Ctx, RunLog, View};
use crate::train::{EndReason, TrainEvent};

impl TrainingPanel {
    pub(super) fn monitor_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let run = &ctx.state.run;
        let c = &self.curves;
        status_ui(ui, run, c);
        let progress = run.last_progress();
        progress_ui(ui, c, progress);
        cards_ui(ui, c, progress);
        outcome_ui(ui, ctx, c);
        ui.separator();
        let h = ((ui.available_height() - 24.0) / 2.0).max(120.0);
        ui.columns(2, |cols| {
            loss_plot_ui(&mut cols[0], c, h);
            metrics_plot_ui(&mut cols[1], c, h);
            throughput_plot_ui(&mut cols[0], c, h);
            pipeline_plot_ui(&mut cols[1], c, h);
        });
    }
}

/// "Run", where it comes from and how it stands.
fn status_ui(ui: &mut egui::Ui, run: &RunLog, c: &RunCurves) {
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
}

/// The run's progress bar (epoch and step).
fn progress_ui(ui: &mut egui::Ui, c: &RunCurves, progress: Option<&TrainEvent>) {
    if let Some(&TrainEvent::Progress { epoch, step, steps_per_epoch: spe, .. }) = progress
        && c.epochs > 0
    {
        let done =
            if c.finished.is_some() { 1.0 } else { ((epoch - 1) * spe + step) as f32 / (c.epochs * spe.max(1)) as f32 };
        ui.add(
            egui::ProgressBar::new(done.clamp(0.0, 1.0))
                .text(format!("epoch {epoch}/{} · step {step}/{spe}", c.epochs))
                .show_percentage(),
        );
    }
}

/// The figures as cards: device, throughput, queue, GPU wait, ETA, elapsed, the last metrics.
fn cards_ui(ui: &mut egui::Ui, c: &RunCurves, progress: Option<&TrainEvent>) {
    let progress = progress.and_then(|e| match *e {
        TrainEvent::Progress { triplets_per_sec, queue_depth, gpu_wait_share, eta_secs, elapsed_secs, .. } => {
            Some((triplets_per_sec, queue_depth, gpu_wait_share, eta_secs, elapsed_secs))
        }
        _ => None,
    });
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
            p.map_or("—".into(), |p| format!("{:.0}", p.0)),
            "training triplets (query, positive, negatives) per second",
        );
        card(
            ui,
            "queue depth",
            p.map_or("—".into(), |p| p.1.to_string()),
            "batches the samplers have ready; 0 means the device waits for the CPU",
        );
        card(
            ui,
            "GPU wait",
            p.map_or("—".into(), |p| format!("{:.0} %", 100.0 * p.2)),
            "share of the time the device waited for batches",
        );
        let eta = if c.finished.is_some() { "done".into() } else { p.map_or("—".into(), |p| format_secs(p.3)) };
        card(ui, "ETA", eta, "estimated time left");
        card(ui, "elapsed", p.map_or("—".into(), |p| format_secs(p.4)), "time since the run started");
        if let Some(m) = c.recall.last() {
            card(ui, "recall@20", format!("{:.3}", m[1]), "LightGCN all-ranking recall@20 of the last evaluated epoch");
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
}

/// Notes, how a stopped run ended, and where to go once the model is ready.
fn outcome_ui(ui: &mut egui::Ui, ctx: &mut Ctx, c: &RunCurves) {
    let run = &ctx.state.run;
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
}
