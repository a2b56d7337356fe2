//! The convolve view: Algorithm 1 on the selected pin with the current model (or a freshly
//! initialised one), one operation at a time — shapes and a glimpse of the values — with a
//! "Next layer" control that grows the receptive field hop by hop.

use eframe::egui;

use crate::app::cache::{CacheKey, ModelRef};
use crate::app::state::{AppState, Ctx};
use crate::explain::{ConvolveTrace, convolve_trace, untrained_bundle};
use crate::jobs::ModelBundle;

/// The convolve view's state.
#[derive(Default)]
pub struct ConvolvePanel {
    /// 0 = input, 1 and 2 = the convolve layers, 3 = the head.
    pub layer: usize,
    /// The trace drawn last (for tests).
    pub shown_key: Option<String>,
}

/// The model the teaching views use: the app's (trained or loaded), else an untrained one built in
/// the background. Returns (bundle, key part naming it, whether it is trained).
pub fn current_model<'a>(ctx: &mut Ctx<'a>) -> Option<(&'a ModelBundle, ModelRef, bool)> {
    let state: &'a AppState = ctx.state;
    if let Some(m) = &state.model {
        return Some((m, ModelRef::App { generation: state.model_generation }, true));
    }
    let g = state.graph.clone();
    let mut cfg = state.settings.train.clone();
    cfg.walk = state.settings.walk.clone();
    let (graph, hidden_dim, seed) = (state.graph_generation, cfg.hidden_dim, cfg.seed);
    ctx.need(CacheKey::UntrainedModel { graph, hidden_dim, seed }, move || {
        untrained_bundle(&g, &cfg).map_err(|e| e.to_string())
    })
    .map(|b| (b, ModelRef::Untrained { graph, hidden_dim, seed }, false))
}

/// A row of numbers, short.
pub fn glimpse_text(v: &[f32], more: bool) -> String {
    let mut s: Vec<String> = v.iter().map(|x| format!("{x:+.3}")).collect();
    if more {
        s.push("…".into());
    }
    format!("[{}]", s.join(", "))
}

const LAYER_TITLES: [&str; 4] = ["Input layer: h⁰", "Layer 1: convolve", "Layer 2: convolve", "Head: the embedding"];

impl ConvolvePanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        let g = state.graph.clone();
        let pin = state.selected_pin;
        ui.heading("Convolve, step by step (Algorithm 1)");
        let Some((bundle, model_key, trained)) = current_model(ctx) else {
            super::waiting_ui(ui, "initialising an untrained model…");
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("pin {} (id {pin}) · model: {}", g.pin_label(pin), bundle.origin));
            if !trained {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "untrained: the numbers are real, the weights random — train one in the Training view",
                );
            }
        });
        let key = CacheKey::ConvolveTrace { graph: state.graph_generation, model: model_key, pin };
        let (b, g2) = (bundle.clone(), g.clone());
        let trace = ctx.need(&key, move || convolve_trace(&b, &g2, pin).map_err(|e| e.to_string()));
        ui.horizontal(|ui| {
            if ui.add_enabled(self.layer > 0, egui::Button::new("Previous layer")).clicked() {
                self.layer -= 1;
            }
            if ui.add_enabled(self.layer < 3, egui::Button::new("Next layer")).on_hover_text("N").clicked()
                || (self.layer < 3
                    && !ui.ctx().egui_wants_keyboard_input()
                    && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::N)))
            {
                self.layer += 1;
            }
            if ui.button("Back to the input").clicked() {
                self.layer = 0;
            }
            ui.strong(LAYER_TITLES[self.layer.min(3)]);
        });
        let Some(trace) = trace else {
            super::waiting_ui(ui, "running the model…");
            return;
        };
        self.shown_key = Some(key.to_string());
        ui.separator();
        ui.columns(2, |cols| {
            self.field_ui(&mut cols[0], trace, &g);
            self.steps_ui(&mut cols[1], trace);
        });
    }

    fn field_ui(&self, ui: &mut egui::Ui, t: &ConvolveTrace, g: &crate::graph::Graph) {
        let hops = self.layer.min(2);
        let depends: usize = t.hops[..=hops].iter().map(|h| h.len()).sum();
        ui.strong(format!(
            "Receptive field after this step: {hops} hop{} · {depends} nodes",
            if hops == 1 { "" } else { "s" }
        ));
        ui.weak("Every layer looks one hop further: layer 1 mixes each node of S¹ with its neighbours, layer 2 mixes the pin with S¹.");
        let size = egui::vec2(ui.available_width(), ui.available_width().min(440.0));
        let (resp, painter) = ui.allocate_painter(size, egui::Sense::hover());
        let rect = resp.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        let c = rect.center();
        let r_max = 0.5 * rect.width().min(rect.height()) - 12.0;
        let pos = |ring: usize, i: usize, n: usize| -> egui::Pos2 {
            let a = (i as f32 + 0.5) / n.max(1) as f32 * std::f32::consts::TAU;
            c + ring as f32 / 2.0 * r_max * egui::vec2(a.cos(), a.sin())
        };
        let colours =
            [egui::Color32::WHITE, egui::Color32::from_rgb(255, 160, 60), egui::Color32::from_rgb(110, 140, 190)];
        for ring in 1..=2 {
            let lit = ring <= hops;
            painter.circle_stroke(
                c,
                ring as f32 / 2.0 * r_max,
                egui::Stroke::new(1.0, if lit { egui::Color32::from_gray(70) } else { egui::Color32::from_gray(35) }),
            );
        }
        // Edges from the pin to its neighbours (hop 1), weighted by α.
        let n1 = t.hops[1].len();
        if hops >= 1 {
            let weight_of = |v: u32| t.neighbours.iter().find(|(u, _)| *u == v).map_or(0.0, |x| x.1);
            for (i, &v) in t.hops[1].iter().enumerate() {
                let w = weight_of(v);
                painter
                    .line_segment([c, pos(1, i, n1)], egui::Stroke::new(0.5 + 6.0 * w, colours[1].gamma_multiply(0.6)));
            }
        }
        let n2 = t.hops[2].len();
        for (ring, nodes) in t.hops.iter().enumerate().skip(1) {
            let lit = ring <= hops;
            let n = nodes.len();
            for (i, &v) in nodes.iter().enumerate() {
                let p = pos(ring, i, n);
                let col = if lit { colours[ring] } else { egui::Color32::from_gray(50) };
                if v < g.n_pins() {
                    painter.circle_filled(p, if ring == 1 { 4.5 } else { 2.5 }, col);
                } else {
                    painter.rect_filled(egui::Rect::from_center_size(p, egui::vec2(5.0, 5.0)), 1.0, col);
                }
            }
        }
        painter.circle(c, 8.0, colours[0], egui::Stroke::new(2.0, egui::Color32::BLACK));
        painter.text(
            rect.left_top() + egui::vec2(8.0, 6.0),
            egui::Align2::LEFT_TOP,
            format!("centre: the pin · ring 1: its {n1} neighbours (S¹) · ring 2: {n2} more inputs (S⁰)"),
            egui::FontId::proportional(12.0),
            ui.visuals().weak_text_color(),
        );
        ui.label(format!("embedding check: |trace − model.forward| ≤ {:.1e}", t.forward_diff));
    }

    fn steps_ui(&self, ui: &mut egui::Ui, t: &ConvolveTrace) {
        let step_ui = |ui: &mut egui::Ui, s: &crate::explain::TraceStep, current: bool| {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                let op = egui::RichText::new(&s.op);
                ui.label(if current { op.strong() } else { op });
                ui.horizontal_wrapped(|ui| {
                    ui.monospace(&s.formula);
                    ui.label("shape");
                    ui.monospace(format!("{:?}", s.shape));
                });
                if current {
                    let more = s.shape.last().is_some_and(|&d| d > s.glimpse.len());
                    ui.monospace(format!(
                        "row of the pin: {}  ‖row‖ = {:.3}",
                        glimpse_text(&s.glimpse, more),
                        s.row_norm
                    ));
                }
            });
        };
        egui::ScrollArea::vertical().id_salt("convolve_steps").show(ui, |ui| {
            let layer = self.layer.min(3);
            ui.label(egui::RichText::new(LAYER_TITLES[layer]).strong().size(15.0));
            for s in t.steps.iter().filter(|s| s.layer == layer) {
                step_ui(ui, s, true);
            }
            if layer == 3 {
                ui.label(format!("The pin's embedding: {} values, unit length.", t.embedding.len()));
            }
            if layer > 0 {
                egui::CollapsingHeader::new("Earlier layers").id_salt("earlier_layers").show(ui, |ui| {
                    for (l, title) in LAYER_TITLES.iter().enumerate().take(layer) {
                        ui.label(egui::RichText::new(*title).weak());
                        for s in t.steps.iter().filter(|s| s.layer == l) {
                            step_ui(ui, s, false);
                        }
                    }
                });
            }
        });
    }
}
