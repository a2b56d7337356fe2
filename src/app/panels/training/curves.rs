//! A run's curves and figures, derived from its events ([`RunCurves::from_log`], recomputed only
//! when the events change), and the four plots drawn from them.

use eframe::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, Points};

use crate::app::state::RunLog;
use crate::train::{EndReason, TrainEvent};

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

pub(super) fn loss_plot_ui(ui: &mut egui::Ui, c: &RunCurves, h: f32) {
    ui.label(egui::RichText::new("Loss").strong());
    Plot::new("train_loss")
        .height(h - 18.0)
        .legend(Legend::default())
        .x_axis_label("epoch")
        .include_x(0.0)
        .include_y(0.0)
        .show(ui, |p| {
            p.line(Line::new("per reading", c.loss.clone()).width(1.5).color(egui::Color32::from_rgb(230, 110, 100)));
            p.points(
                Points::new("epoch mean", c.epoch_loss.clone())
                    .radius(4.0)
                    .shape(MarkerShape::Circle)
                    .color(egui::Color32::from_rgb(100, 170, 250)),
            );
        });
}

pub(super) fn metrics_plot_ui(ui: &mut egui::Ui, c: &RunCurves, h: f32) {
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

pub(super) fn throughput_plot_ui(ui: &mut egui::Ui, c: &RunCurves, h: f32) {
    ui.label(egui::RichText::new("Throughput (triplets/s)").strong());
    Plot::new("train_throughput").height(h - 18.0).x_axis_label("seconds").include_y(0.0).show(ui, |p| {
        p.line(Line::new("triplets/s", c.throughput.clone()).width(1.5));
    });
}

pub(super) fn pipeline_plot_ui(ui: &mut egui::Ui, c: &RunCurves, h: f32) {
    ui.label(egui::RichText::new("Input pipeline").strong());
    Plot::new("train_pipeline").height(h - 18.0).legend(Legend::default()).x_axis_label("seconds").include_y(0.0).show(
        ui,
        |p| {
            p.line(Line::new("GPU wait %", c.gpu_wait_pct.clone()).width(1.5));
            p.line(Line::new("queue depth", c.queue_depth.clone()).width(1.5));
        },
    );
}
