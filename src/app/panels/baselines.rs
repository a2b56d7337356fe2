//! The Results view's "this graph" section: the current model's test recall@20 and ndcg@20 drawn
//! beside MostPopular, ItemKNN and EASE^R on the same split (what `pinsage eval --baselines`
//! prints), all computed in the background for the loaded graph.

use std::sync::Arc;

use eframe::egui;

use crate::app::cache::CacheKey;
use crate::app::state::{Ctx, View};
use crate::baselines::{BaselineResult, EASE_LAMBDAS, evaluate_baselines};
use crate::eval::Metrics;
use crate::graph::{Graph, Split};

/// Graphs up to this many pins get their baselines computed as soon as the view shows them;
/// larger ones wait for a click (EASE^R inverts a pins × pins matrix per λ).
pub const AUTO_PINS: u32 = 5_000;

/// The charts drawn: (title, metric of a row).
type Pick = fn(&Metrics) -> f64;
pub const METRICS: [(&str, &str, Pick); 2] = [
    ("recall@20", "LightGCN all-ranking protocol on the test edges", |m| m.recall_at_20),
    ("ndcg@20", "LightGCN all-ranking protocol, rank-discounted", |m| m.ndcg_at_20),
];

/// The section's state.
#[derive(Default)]
pub struct BaselinesPanel {
    /// The graph generation whose baselines were asked for by a click (large graphs).
    requested: Option<u64>,
    /// The bars drawn last frame: (metric title, (name, value) bars, model first).
    pub drawn: Vec<(String, Vec<(String, f64)>)>,
    /// Baselines that could not run, with why (EASE^R over the memory budget).
    pub skipped: Vec<(String, String)>,
}

/// The cache key of the baselines of graph generation `gen`.
pub fn baselines_key(generation: u64) -> CacheKey {
    CacheKey::Baselines { graph: generation }
}

/// The cache key of the current embeddings' test metrics.
pub fn model_metrics_key(graph_generation: u64, embeddings_generation: u64) -> CacheKey {
    CacheKey::ModelMetrics { graph: graph_generation, embeddings: embeddings_generation }
}

impl BaselinesPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        let g = state.graph.clone();
        let generation = state.graph_generation;
        self.drawn.clear();
        self.skipped.clear();
        header_ui(ui, &g);
        if g.n_test_edges() == 0 {
            ui.weak("This graph has no test edges: open it with a holdout (Open… or the Training view's split).");
            return;
        }
        let want = g.n_pins() <= AUTO_PINS || self.requested == Some(generation);
        let key = baselines_key(generation);
        let baselines = if want {
            let g2 = g.clone();
            let seed = state.settings.train.seed;
            ctx.need::<Vec<BaselineResult>>(&key, move || {
                let budget = crate::memory::budget().map_or(u64::MAX, |(bytes, _)| bytes);
                Ok(evaluate_baselines(&g2, seed, EASE_LAMBDAS, budget))
            })
        } else {
            None
        };
        let mut rows: Vec<(String, &Metrics)> = Vec::new();
        match model_metrics(ctx, &g) {
            Some((name, Some(m))) => rows.push((name.to_string(), m)),
            Some((_, None)) => super::waiting_ui(ui, "scoring the model on the test edges…"),
            None => {
                ui.horizontal(|ui| {
                    ui.weak("No model yet:");
                    if ui.link("train one").clicked() {
                        ctx.send(crate::app::state::Command::SetView(View::Training));
                    }
                    ui.weak("or load a run folder's model (and run inference) to see its bars here.");
                });
            }
        }
        match baselines {
            Some(list) => {
                for b in list {
                    match &b.metrics {
                        Some(m) => rows.push((b.title().to_string(), m)),
                        None => self.skipped.push((b.title().to_string(), b.note.clone().unwrap_or_default())),
                    }
                }
            }
            None if want => super::waiting_ui(ui, "fitting MostPopular, ItemKNN and EASE^R on the training edges…"),
            None => {
                ui.horizontal(|ui| {
                    ui.weak(format!("{} pins: EASE^R inverts a pins × pins matrix per λ.", g.n_pins()));
                    if ui.button("Compute baselines").clicked() {
                        self.requested = Some(generation);
                    }
                });
            }
        }
        if !rows.is_empty() {
            self.bars_ui(ui, &rows, baselines);
        }
    }

    /// One chart per metric (the model first), then what was skipped and EASE^R's λ.
    fn bars_ui(&mut self, ui: &mut egui::Ui, rows: &[(String, &Metrics)], baselines: Option<&Vec<BaselineResult>>) {
        let w = ((ui.available_width() - 16.0) / 2.0).max(200.0);
        let size = egui::vec2(w, 30.0 + rows.len() as f32 * 22.0);
        ui.horizontal(|ui| {
            for (title, hint, pick) in METRICS {
                let bars: Vec<(String, f64)> = rows.iter().map(|(n, m)| (n.clone(), pick(m))).collect();
                super::results::chart_ui(ui, title, hint, &bars, size);
                self.drawn.push((title.to_string(), bars));
            }
        });
        for (name, why) in &self.skipped {
            ui.weak(format!("{name} skipped: {why}"));
        }
        if let Some(note) = baselines.and_then(|l| l.iter().find(|b| b.key == "ease")).and_then(|b| b.note.clone())
            && self.skipped.is_empty()
        {
            ui.weak(format!("EASE^R: {note}; ItemKNN: cosine item–item over all co-occurrences."));
        }
    }
}

/// The section's title and the protocol.
fn header_ui(ui: &mut egui::Ui, g: &Graph) {
    ui.horizontal(|ui| {
        ui.strong("This graph: the model beside the baselines");
        ui.weak(format!(
            "{} · test split, {} held-out edges · training{} pins masked",
            g.source,
            g.n_test_edges(),
            if g.n_validation_edges() > 0 { " and validation" } else { "" }
        ));
    });
}

/// The current embeddings' name and test metrics (None while they are computed), if there are
/// embeddings.
fn model_metrics<'a>(ctx: &mut Ctx<'a>, g: &Arc<Graph>) -> Option<(&'static str, Option<&'a Metrics>)> {
    let state = ctx.state;
    state.embeddings.clone().map(|emb| {
        let name = match &state.model {
            Some(_) => "PinSage (this model)",
            None => "LightGCN (this model)",
        };
        let seed = state.model.as_ref().map_or(state.settings.train.seed, |m| m.config.seed);
        let g2 = g.clone();
        let k = model_metrics_key(state.graph_generation, state.embeddings_generation);
        let m = ctx.need::<Metrics>(&k, move || Ok(crate::train::evaluate_embeddings(&g2, &emb, seed, Split::Test)));
        (name, m)
    })
}
