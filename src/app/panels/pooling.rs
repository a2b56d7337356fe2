//! The pooling view: one pin's neighbourhood pooled by importance (PinSage) and uniformly
//! (GraphSAGE) side by side — the weights as bars, and the pins each pooled vector is most
//! similar to. Computed in the background by `explain::pooling_comparison`.

use eframe::egui;
use egui_plot::{Bar, BarChart, Plot};

use crate::app::cache::{CacheKey, ModelRef};
use crate::app::state::Ctx;
use crate::explain::{PoolSpace, Pooled, PoolingComparison, pooling_comparison};
use crate::graph::Graph;

/// The pooling view's state.
#[derive(Default)]
pub struct PoolingPanel {
    /// The vectors pooled; None = the best available (embeddings, else board memberships).
    pub space: Option<PoolSpace>,
    /// The comparison drawn last (for tests).
    pub shown_key: Option<String>,
}

/// How many related pins each side lists.
pub const N_RELATED: usize = 10;

impl PoolingPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        let g = state.graph.clone();
        let pin = state.selected_pin;
        let has_features = g.features.is_some();
        let emb = state.embeddings.clone().filter(|e| e.n_pins == g.n_pins() as usize);
        let space = match self.space {
            Some(PoolSpace::Features) if !has_features => PoolSpace::Boards,
            Some(PoolSpace::Embeddings) if emb.is_none() => PoolSpace::Boards,
            Some(s) => s,
            None if emb.is_some() => PoolSpace::Embeddings,
            None => PoolSpace::Boards,
        };
        ui.heading("Pooling: importance vs uniform");
        ui.label(
            "A convolve pools its neighbours' vectors into one. PinSage weights each neighbour by its random-walk \
             visit count (importance pooling); GraphSAGE samples neighbours uniformly and averages them. \
             Below, the same pin's neighbourhood both ways, and the pins each pooled vector is closest to — \
             the pins each method would call related.",
        );
        let what = format!("· K = {} · pin {} (id {pin})", state.settings.walk.top_k, g.pin_label(pin));
        self.space_picker_ui(ui, space, has_features, emb.is_some(), what);
        let cfg = state.settings.walk.clone();
        let model = (space == PoolSpace::Embeddings).then_some(ModelRef::App { generation: state.model_generation });
        let key = CacheKey::Pooling {
            graph: state.graph_generation,
            pin,
            walks: cfg.walks,
            length: cfg.length,
            top_k: cfg.top_k,
            restart_bits: cfg.restart.to_bits(),
            space,
            model,
        };
        let g2 = g.clone();
        let result = ctx.need(&key, move || {
            pooling_comparison(&g2, pin, &cfg, space, emb.as_deref(), N_RELATED).map_err(|e| e.to_string())
        });
        let Some(cmp) = result else {
            super::waiting_ui(ui, "pooling…");
            return;
        };
        self.shown_key = Some(key.to_string());
        ui.separator();
        ui.columns(2, |cols| {
            side_ui(
                &mut cols[0],
                &g,
                cmp,
                &cmp.importance,
                "Importance pooling (PinSage)",
                "α = normalised visit counts",
                egui::Color32::from_rgb(255, 160, 60),
            );
            side_ui(
                &mut cols[1],
                &g,
                cmp,
                &cmp.uniform,
                "Uniform pooling (GraphSAGE)",
                "K two-hop pins drawn uniformly, equal weights",
                egui::Color32::from_rgb(110, 140, 190),
            );
        });
    }

    /// What is pooled (boards, features, embeddings, as far as the graph and the model allow),
    /// then `what` (K and the pin).
    fn space_picker_ui(
        &mut self,
        ui: &mut egui::Ui,
        space: PoolSpace,
        has_features: bool,
        has_emb: bool,
        what: String,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Pool:");
            for s in [PoolSpace::Boards, PoolSpace::Features, PoolSpace::Embeddings] {
                let enabled = match s {
                    PoolSpace::Boards => true,
                    PoolSpace::Features => has_features,
                    PoolSpace::Embeddings => has_emb,
                };
                let r = ui.add_enabled(enabled, egui::Button::selectable(space == s, s.title()));
                let r = if enabled {
                    r
                } else {
                    r.on_disabled_hover_text(if s == PoolSpace::Features {
                        "this graph has no features"
                    } else {
                        "train a model and run inference first"
                    })
                };
                if r.clicked() {
                    self.space = Some(s);
                }
            }
            ui.label(what);
        });
    }
}

fn side_ui(
    ui: &mut egui::Ui,
    g: &Graph,
    cmp: &PoolingComparison,
    side: &Pooled,
    title: &str,
    how: &str,
    colour: egui::Color32,
) {
    ui.strong(title);
    ui.weak(how);
    let bars: Vec<Bar> = side
        .weights
        .iter()
        .enumerate()
        .map(|(i, &(p, w))| {
            Bar::new(i as f64 + 1.0, w as f64).name(format!("{} (id {p})", g.pin_label(p))).fill(colour).width(0.8)
        })
        .collect();
    Plot::new(format!("pool_weights_{title}"))
        .height(170.0)
        .allow_scroll(false)
        .include_y(0.0)
        .x_axis_label("neighbour")
        .y_axis_label("weight")
        .show(ui, |p| p.bar_chart(BarChart::new("weight", bars)));
    let same_cat = |p: u32| g.categories.as_ref().map(|c| c.of_pin[p as usize] == c.of_pin[cmp.pin as usize]);
    let in_nbhd = side.weights.iter().filter(|(p, _)| same_cat(*p) == Some(true)).count();
    if g.categories.is_some() {
        ui.label(format!("{in_nbhd} of {} neighbours share the pin's category", side.weights.len()));
    }
    ui.add_space(4.0);
    ui.strong(format!("Most similar to the pooled vector ({})", cmp.space.title()));
    if let Some(n) = side.same_category {
        ui.label(
            egui::RichText::new(format!("{n} of {} share the pin's category (green; others red)", side.related.len()))
                .color(colour),
        );
    }
    egui::Grid::new(format!("related_{title}")).striped(true).num_columns(3).show(ui, |ui| {
        for (i, &(p, sim)) in side.related.iter().enumerate() {
            ui.label(format!("{}.", i + 1));
            let text = egui::RichText::new(format!("{} (id {p})", g.pin_label(p)));
            ui.label(match same_cat(p) {
                Some(true) => text.color(egui::Color32::from_rgb(120, 220, 120)),
                Some(false) => text.color(egui::Color32::from_rgb(240, 110, 110)),
                None => text,
            });
            ui.monospace(format!("{sim:+.3}"));
            ui.end_row();
        }
    });
}
