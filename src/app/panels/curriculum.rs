//! The curriculum view: an epoch slider shows which negatives the selected query meets at that
//! epoch (shared random ones and, from epoch 2, hard ones from its PageRank band), where they fall
//! in the current model's score distribution, and their max-margin losses — all computed in the
//! background by `explain::curriculum_snapshot`.

use std::sync::Arc;

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Plot, Points, VLine};

use super::convolve::current_model;
use crate::app::cache::{CacheKey, ModelRef};
use crate::app::state::Ctx;
use crate::explain::{CurriculumSnapshot, NegativeKind, bundle_embeddings, curriculum_snapshot};
use crate::infer::Embeddings;
use crate::sampler::{HardPools, hard_pools_within};
use crate::train::TrainConfig;
use crate::train::bundle::ModelBundle;

/// The curriculum view's state.
pub struct CurriculumPanel {
    pub epoch: usize,
    /// The snapshot drawn last (for tests).
    pub shown_key: Option<String>,
}

impl Default for CurriculumPanel {
    fn default() -> Self {
        CurriculumPanel { epoch: 1, shown_key: None }
    }
}

/// Random negatives shown per query (the trainer shares more across a batch).
pub const SHOWN_RANDOM: usize = 12;

const RANDOM_COLOUR: egui::Color32 = egui::Color32::from_rgb(110, 140, 190);
const HARD_COLOUR: egui::Color32 = egui::Color32::from_rgb(240, 80, 80);
const POSITIVE_COLOUR: egui::Color32 = egui::Color32::from_rgb(120, 220, 120);

impl CurriculumPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        let g = state.graph.clone();
        let query = state.selected_pin;
        let mut cfg = state.settings.train.clone();
        cfg.walk = state.settings.walk.clone();
        ui.heading("Curriculum and hard negatives");
        ui.label(
            "Training pushes a query's embedding towards a positive and away from negatives, by at least the margin Δ. \
             Random negatives are easy; from epoch 2 PinSage adds hard negatives — pins ranked in a band of the \
             query's Personalized PageRank: related, but not as related as the positive — one more each epoch.",
        );
        let max_epoch = cfg.epochs.max(cfg.max_hard_per_query + 1).max(2);
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.epoch, 1..=max_epoch).text("Epoch"));
            ui.label(format!("query: {} (id {query})", g.pin_label(query)));
        });
        self.epoch = self.epoch.clamp(1, max_epoch);
        let Some((bundle, model_key, trained)) = current_model(ctx) else {
            super::waiting_ui(ui, "initialising an untrained model…");
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("scores from: {}", bundle.origin));
            if !trained {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "untrained: scores are near-random — train a model to see hard negatives score high",
                );
            }
        });
        let gen_ = state.graph_generation;
        let (emb, pools) = embeddings_and_pools(ctx, bundle, &model_key, trained, &cfg);
        let (Some(emb), Some(pools)) = (emb, pools) else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("embedding every pin and ranking hard-negative bands…");
            });
            return;
        };
        let epoch = self.epoch;
        let key = CacheKey::Curriculum {
            graph: gen_,
            model: model_key,
            query,
            epoch,
            margin_bits: cfg.margin.to_bits(),
            max_hard: cfg.max_hard_per_query,
        };
        let g2 = g.clone();
        let snap = ctx.need(&key, move || {
            curriculum_snapshot(&g2, &emb, &pools, &cfg, query, epoch, SHOWN_RANDOM).map_err(|e| e.to_string())
        });
        let Some(snap) = snap else {
            super::waiting_ui(ui, "drawing this epoch's negatives…");
            return;
        };
        self.shown_key = Some(key.to_string());
        ui.separator();
        summary_ui(ui, snap, &g);
        ui.columns(2, |cols| {
            distribution_ui(&mut cols[0], snap);
            table_ui(&mut cols[1], snap, &g);
        });
    }
}

/// Every pin's embedding under the model (the app's, when they are there) and the hard-negative
/// pools of the band; None while either is computed in the background.
fn embeddings_and_pools(
    ctx: &mut Ctx,
    bundle: &ModelBundle,
    model_key: &ModelRef,
    trained: bool,
    cfg: &TrainConfig,
) -> (Option<Arc<Embeddings>>, Option<Arc<HardPools>>) {
    let state = ctx.state;
    let g = state.graph.clone();
    let gen_ = state.graph_generation;
    let emb: Option<Arc<Embeddings>> = match (trained, &state.embeddings) {
        (true, Some(e)) if e.n_pins == g.n_pins() as usize => Some(e.clone()),
        _ => {
            let (b, g2) = (bundle.clone(), g.clone());
            ctx.need(CacheKey::ModelEmbeddings { graph: gen_, model: model_key.clone() }, move || {
                bundle_embeddings(&b, &g2).map_err(|e| e.to_string())
            })
            .cloned()
        }
    };
    let (band, limits) = cfg.hard_pool_bounds(g.n_pins());
    let g2 = g.clone();
    let seed = cfg.seed;
    let pools: Option<Arc<HardPools>> = ctx
        .need(CacheKey::HardPools { graph: gen_, band, limits, seed }, move || {
            Ok(Arc::new(hard_pools_within(&g2, band, crate::defaults::HARD_POOL_SIZE, seed, limits)))
        })
        .cloned();
    (emb, pools)
}

fn summary_ui(ui: &mut egui::Ui, s: &CurriculumSnapshot, g: &crate::graph::Graph) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("Epoch {}: {} hard negatives per query", s.epoch, s.hard_per_query));
        if s.hard_per_query == 0 {
            ui.weak("(epoch 1 uses random negatives only)");
        } else {
            ui.weak(format!("(from PageRank ranks {}–{} of the query)", s.band.0, s.band.1));
        }
        ui.separator();
        ui.label(format!(
            "positive: {} (id {}) · score {:+.3} · Δ = {}",
            g.pin_label(s.positive),
            s.positive,
            s.positive_score,
            s.margin
        ));
    });
    ui.horizontal_wrapped(|ui| {
        let fmt = |v: Option<f32>| v.map_or("—".to_string(), |x| format!("{x:.4}"));
        ui.colored_label(
            RANDOM_COLOUR,
            format!("mean loss, random negatives: {}", fmt(s.mean_loss(NegativeKind::Random))),
        );
        ui.colored_label(HARD_COLOUR, format!("mean loss, hard negatives: {}", fmt(s.mean_loss(NegativeKind::Hard))));
    });
}

fn distribution_ui(ui: &mut egui::Ui, s: &CurriculumSnapshot) {
    ui.strong("The query's scores z_q·z_v over all pins");
    let (lo, hi) = s.scores.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let bins = 40usize;
    let width = ((hi - lo) / bins as f32).max(1e-6);
    let mut counts = vec![0u32; bins];
    for &x in &s.scores {
        counts[(((x - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new((lo + (i as f32 + 0.5) * width) as f64, c as f64).width(width as f64 * 0.95))
        .collect();
    let peak = counts.iter().copied().max().unwrap_or(1) as f64;
    let marks = |kind| -> Vec<[f64; 2]> {
        s.negatives.iter().filter(|n| n.kind == kind).map(|n| [n.score as f64, peak * 0.08]).collect()
    };
    Plot::new("curriculum_scores")
        .height(260.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .allow_scroll(false)
        .x_axis_label("score")
        .y_axis_label("pins")
        .show(ui, |p| {
            p.bar_chart(BarChart::new("all pins", bars).color(egui::Color32::from_gray(120)));
            p.points(Points::new("random negatives", marks(NegativeKind::Random)).radius(4.0).color(RANDOM_COLOUR));
            p.points(Points::new("hard negatives", marks(NegativeKind::Hard)).radius(5.0).color(HARD_COLOUR));
            p.vline(VLine::new("positive", s.positive_score as f64).color(POSITIVE_COLOUR).width(2.0));
            p.vline(
                VLine::new("positive − Δ (loss starts)", (s.positive_score - s.margin) as f64)
                    .color(POSITIVE_COLOUR.gamma_multiply(0.5)),
            );
        });
    ui.weak("A negative to the right of “positive − Δ” costs loss max(0, z_q·z_n − z_q·z_p + Δ).");
}

fn table_ui(ui: &mut egui::Ui, s: &CurriculumSnapshot, g: &crate::graph::Graph) {
    ui.strong("This epoch's negatives for the query");
    egui::ScrollArea::vertical().id_salt("curriculum_table").max_height(300.0).show(ui, |ui| {
        egui::Grid::new("negatives").striped(true).num_columns(5).show(ui, |ui| {
            ui.strong("kind");
            ui.strong("pin");
            ui.strong("score");
            ui.strong("rank");
            ui.strong("loss");
            ui.end_row();
            let mut order: Vec<&crate::explain::NegativeInfo> = s.negatives.iter().collect();
            order.sort_by_key(|n| (n.kind == NegativeKind::Random, n.rank));
            for n in order {
                let (kind, col) = match n.kind {
                    NegativeKind::Hard => ("hard", HARD_COLOUR),
                    NegativeKind::Random => ("random", RANDOM_COLOUR),
                };
                ui.colored_label(col, kind);
                ui.label(format!("{} (id {})", g.pin_label(n.pin), n.pin));
                ui.monospace(format!("{:+.3}", n.score));
                ui.monospace(format!("{} / {}", n.rank, s.scores.len()));
                ui.monospace(format!("{:.4}", n.loss));
                ui.end_row();
            }
        });
    });
}
