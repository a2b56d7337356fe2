//! The embedding map: pins projected to 2-D by PCA, t-SNE or UMAP (computed in the background
//! with progress and cancel; the choice is a persisted setting), coloured by
//! category; hover names a pin, a click selects it and lists its nearest pins by the trained model
//! beside its nearest pins by visual features alone; pins can be found by label.

mod canvas;

use std::sync::Arc;

use eframe::egui;

use crate::app::state::{CacheKey, Command, Ctx};
use crate::embed_map::{Map2d, Method, project};
use crate::eval::{EmbeddingScorer, Scorer, VisualScorer, top_k};
use crate::graph::Graph;
use crate::infer::Embeddings;

/// How many neighbours each list shows.
pub const NEIGHBOURS: usize = 10;

/// Which vectors the map projects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Space {
    /// The trained model's pin embeddings.
    #[default]
    Model,
    /// The raw visual features (what the "visual only" baseline sees).
    Visual,
}

/// A projection and what it was computed from (kept alive so the cache key stays unique).
pub struct MapData {
    pub projection: Map2d,
    _source: Option<Arc<Embeddings>>,
}

/// A pin's nearest pins by the model and by visual features (both best first, the pin excluded).
pub struct NeighbourLists {
    pub pin: u32,
    pub model: Vec<(u32, f32)>,
    pub visual: Vec<(u32, f32)>,
    _source: Option<Arc<Embeddings>>,
}

/// The `k` best pins for `pin` by `scorer`, the pin itself excluded.
pub fn nearest_by(scorer: &dyn Scorer, n_pins: usize, pin: u32, k: usize) -> Vec<(u32, f32)> {
    let mut scores = vec![0f32; n_pins];
    scorer.pin_scores(pin, &mut scores);
    if let Some(s) = scores.get_mut(pin as usize) {
        *s = f32::NEG_INFINITY;
    }
    top_k(&scores, k).into_iter().map(|p| (p, scores[p as usize])).collect()
}

/// Both neighbour lists of `pin` (the model list is empty without embeddings).
fn neighbour_lists(g: &Graph, emb: Option<Arc<Embeddings>>, pin: u32) -> NeighbourLists {
    let n = g.n_pins() as usize;
    let model = emb
        .as_ref()
        .filter(|e| e.n_pins == n)
        .map_or_else(Vec::new, |e| nearest_by(&EmbeddingScorer { emb: e }, n, pin, NEIGHBOURS));
    let visual = VisualScorer::new(g).map_or_else(Vec::new, |v| nearest_by(&v, n, pin, NEIGHBOURS));
    NeighbourLists { pin, model, visual, _source: emb }
}

const MODEL_COLOUR: egui::Color32 = egui::Color32::from_rgb(255, 200, 40);
const VISUAL_COLOUR: egui::Color32 = egui::Color32::from_rgb(60, 220, 255);

/// A small filled (or ringed) colour dot, drawn rather than typed (the fonts lack the glyphs).
pub fn swatch_ui(ui: &mut egui::Ui, colour: egui::Color32, filled: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
    if filled {
        ui.painter().circle_filled(rect.center(), 5.0, colour);
    } else {
        ui.painter().circle_stroke(rect.center(), 4.5, egui::Stroke::new(2.0, colour));
    }
}

pub use crate::app::palette::category_colour;

/// The map view's state.
#[derive(Default)]
pub struct MapPanel {
    pub space: Space,
    /// The user picked a space (otherwise it follows what is available).
    space_chosen: bool,
    pub search: String,
    zoom: f32,
    pan: egui::Vec2,
    /// Where each pin was drawn last frame (screen points), for hover, clicks and tests.
    pub drawn: Vec<egui::Pos2>,
    pub hovered: Option<u32>,
    /// The lists shown last frame, as (pin, model list, visual list).
    pub shown: Option<(u32, Vec<u32>, Vec<u32>)>,
    /// The key of the projection shown (or computed) now.
    pub key: Option<CacheKey>,
}

impl MapPanel {
    /// Where pin `p` was drawn last frame.
    pub fn screen_pos(&self, p: u32) -> Option<egui::Pos2> {
        self.drawn.get(p as usize).copied().filter(|q| q.x.is_finite() && q.y.is_finite())
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let g = ctx.state.graph.clone();
        let emb = ctx.state.embeddings.clone().filter(|e| e.n_pins == g.n_pins() as usize && e.dim > 0);
        if !self.space_chosen {
            self.space = if emb.is_some() || g.features.is_none() { Space::Model } else { Space::Visual };
        }
        if self.zoom == 0.0 {
            self.zoom = 1.0;
        }
        let method = ctx.state.settings.map_method;
        let key = match self.space {
            Space::Model => {
                emb.as_ref().map(|_| CacheKey::Map { method, model: true, generation: ctx.state.embeddings_generation })
            }
            Space::Visual => g.features.as_ref().map(|_| CacheKey::Map {
                method,
                model: false,
                generation: ctx.state.graph_generation,
            }),
        };
        let data: Option<&MapData> = match (self.space, &key) {
            (Space::Model, Some(key)) => emb.clone().and_then(|e| {
                ctx.need_tracked(key, move |ctl| {
                    project(e.pins(), e.dim, method, 0, ctl)
                        .map(|projection| MapData { projection, _source: Some(e) })
                        .map_err(|e| e.to_string())
                })
            }),
            (Space::Visual, Some(key)) => {
                let g2 = g.clone();
                ctx.need_tracked(key, move |ctl| {
                    let f = g2.features.as_ref().ok_or("the graph has no features")?;
                    project(&f.data, f.dim, method, 0, ctl)
                        .map(|projection| MapData { projection, _source: None })
                        .map_err(|e| e.to_string())
                })
            }
            _ => None,
        };
        self.key = key;
        let pin = ctx.state.selected_pin;
        let lists: Option<&NeighbourLists> = if pin < g.n_pins() {
            let key = CacheKey::MapNeighbours {
                graph: ctx.state.graph_generation,
                embeddings: emb.as_ref().map(|_| ctx.state.embeddings_generation),
                pin,
            };
            let (g2, e2) = (g.clone(), emb.clone());
            ctx.need(&key, move || Ok(neighbour_lists(&g2, e2, pin)))
        } else {
            None
        };
        self.shown =
            lists.map(|l| (l.pin, l.model.iter().map(|x| x.0).collect(), l.visual.iter().map(|x| x.0).collect()));

        let side = egui::Panel::right("map_side").resizable(true).default_size(330.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| self.side_ui(ui, ctx, &g, lists, emb.is_some()));
        });
        let rest = super::rect_left_of(ui, side.response.rect);
        ui.scope_builder(egui::UiBuilder::new().max_rect(rest), |ui| {
            self.main_ui(ui, ctx, &g, data, lists, emb.is_some())
        });
    }

    /// Everything left of the side panel: the title row, the legend and the canvas.
    fn main_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut Ctx,
        g: &Graph,
        data: Option<&MapData>,
        lists: Option<&NeighbourLists>,
        has_emb: bool,
    ) {
        self.title_ui(ui, ctx, g, data);
        if let Some(cats) = &g.categories {
            legend_ui(ui, &cats.names);
        }
        match data {
            Some(d) => self.canvas_ui(ui, ctx, g, &d.projection, lists),
            None => {
                self.drawn.clear();
                ui.add_space(20.0);
                self.empty_ui(ui, ctx, has_emb);
            }
        }
    }

    /// The title row: what is projected, by which method, how well, and Reset view.
    fn title_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, data: Option<&MapData>) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Embedding map");
            ui.label("Project:");
            if ui
                .selectable_label(self.space == Space::Model, "Model embeddings")
                .on_hover_text("PCA of the trained pin embeddings")
                .clicked()
            {
                self.space = Space::Model;
                self.space_chosen = true;
            }
            if g.features.is_some()
                && ui
                    .selectable_label(self.space == Space::Visual, "Visual features")
                    .on_hover_text("PCA of the raw visual features")
                    .clicked()
            {
                self.space = Space::Visual;
                self.space_chosen = true;
            }
            ui.separator();
            ui.label("Method:");
            for m in Method::ALL {
                let hover = match m {
                    Method::Pca => {
                        "linear: the two directions of largest variance (distances faithful, clusters may overlap)"
                    }
                    Method::Tsne => {
                        "t-SNE: keeps each point's neighbours together; sizes and gaps between clusters mean little"
                    }
                    Method::Umap => "UMAP: keeps neighbours together and more of the global layout than t-SNE",
                };
                if ui.selectable_label(ctx.state.settings.map_method == m, m.title()).on_hover_text(hover).clicked() {
                    ctx.send(Command::SetMapMethod(m));
                }
            }
            if let Some(d) = data {
                match d.projection.explained {
                    Some(e) => {
                        ui.weak(format!("PCA · PC1 {:.0} % · PC2 {:.0} % of the variance", 100.0 * e[0], 100.0 * e[1]))
                    }
                    None => ui.weak(format!(
                        "{} of {} points{}",
                        d.projection.method.title(),
                        d.projection.mapped,
                        d.projection.note.as_ref().map(|n| format!(" · {n}")).unwrap_or_default()
                    )),
                };
            }
            if ui.button("Reset view").on_hover_text("Undo zoom and pan (or double-click the map)").clicked() {
                self.zoom = 1.0;
                self.pan = egui::Vec2::ZERO;
            }
        });
    }

    /// No map yet: how to get embeddings, or the computation's progress.
    fn empty_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, has_emb: bool) {
        match self.space {
            Space::Model if !has_emb => {
                ui.label("No pin embeddings yet. Train a model in the Training view, or load a run folder's model and run inference.");
                if ctx.state.model.is_some() && ui.button("Compute embeddings (full-graph inference)").clicked() {
                    ctx.send(Command::RunInference);
                }
                if let Some((done, total)) = ctx.state.inference_progress {
                    ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).show_percentage());
                }
            }
            _ => self.progress_ui(ui, ctx),
        }
    }

    /// The computation's progress with a Cancel button, or "cancelled" with Compute again.
    fn progress_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let Some(key) = self.key.clone() else { return };
        let method = ctx.state.settings.map_method.title();
        if ctx.state.cancelled.contains(&key) {
            ui.label(format!("{method} was cancelled."));
            if ui.button("Compute again").clicked() {
                ctx.send(Command::Recompute(key));
            }
            return;
        }
        let (fraction, stage) = ctx.state.progress.get(&key).cloned().unwrap_or((0.0, "starting".into()));
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("{method}: {stage}…"));
            if ui.button("Cancel").on_hover_text("Stop computing this map").clicked() {
                ctx.send(Command::CancelCompute(key.clone()));
            }
        });
        ui.add(egui::ProgressBar::new(fraction).show_percentage().desired_width(320.0));
        if ctx.state.settings.map_method != Method::Pca {
            ui.weak(format!(
                "{method} maps up to {}k points in full (exact neighbours up to {}k, an HNSW index above; a random sample of {0}k above that).",
                crate::embed_map::MAX_NONLINEAR_POINTS / 1000,
                crate::embed_map::EXACT_KNN_MAX / 1000
            ));
        }
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut Ctx,
        g: &Graph,
        lists: Option<&NeighbourLists>,
        has_model: bool,
    ) {
        ui.heading("Find a pin");
        ui.add(egui::TextEdit::singleline(&mut self.search).hint_text("label or id"))
            .accessible_name("Find a pin on the map");
        if !self.search.trim().is_empty() {
            let found = g.find_pins(&self.search, 8);
            if found.is_empty() {
                ui.weak("no pin matches");
            }
            for f in found {
                if ui.selectable_label(f == ctx.state.selected_pin, format!("{f}: {}", g.pin_label(f))).clicked() {
                    ctx.send(Command::SelectPin(f));
                }
            }
        }
        ui.separator();
        let p = ctx.state.selected_pin;
        let cat_of = |q: u32| g.categories.as_ref().map(|c| c.of_pin[q as usize]);
        ui.label(egui::RichText::new(g.pin_label(p)).strong().size(16.0));
        if let Some(c) = &g.categories {
            let ci = c.of_pin[p as usize] as usize;
            ui.horizontal(|ui| {
                swatch_ui(ui, category_colour(ci), true);
                ui.label(&c.names[ci]);
            });
        }
        let Some(l) = lists.filter(|l| l.pin == p) else {
            ui.spinner();
            return;
        };
        let list_ui =
            |ui: &mut egui::Ui, ctx: &mut Ctx, title: &str, colour: egui::Color32, list: &[(u32, f32)], id: &str| {
                let same = list.iter().filter(|(q, _)| cat_of(*q).is_some() && cat_of(*q) == cat_of(p)).count();
                ui.horizontal(|ui| {
                    swatch_ui(ui, colour, false);
                    ui.strong(title);
                });
                if g.categories.is_some() && !list.is_empty() {
                    ui.weak(format!("{same} of {} in the same category", list.len()));
                }
                egui::Grid::new(id).num_columns(3).striped(true).show(ui, |ui| {
                    for (rank, (q, s)) in list.iter().enumerate() {
                        ui.label(format!("{}", rank + 1));
                        let mut text = egui::RichText::new(g.pin_label(*q));
                        if let Some(c) = cat_of(*q) {
                            text = text.color(category_colour(c as usize));
                        }
                        if ui.selectable_label(false, text).on_hover_text(format!("pin {q}; click to select")).clicked()
                        {
                            ctx.send(Command::SelectPin(*q));
                        }
                        ui.weak(format!("{s:.3}"));
                        ui.end_row();
                    }
                });
            };
        ui.add_space(6.0);
        if has_model {
            list_ui(ui, ctx, "Nearest by the trained model", MODEL_COLOUR, &l.model, "nn_model");
        } else {
            ui.weak("Nearest by the trained model: no embeddings yet");
        }
        ui.add_space(6.0);
        if g.features.is_some() {
            list_ui(ui, ctx, "Nearest by visual features only", VISUAL_COLOUR, &l.visual, "nn_visual");
        } else {
            ui.weak("This graph has no visual features.");
        }
    }
}

/// The category legend: a swatch and a name each, wrapping as one.
fn legend_ui(ui: &mut egui::Ui, names: &[String]) {
    ui.horizontal_wrapped(|ui| {
        let font = egui::TextStyle::Small.resolve(ui.style());
        let text_colour = ui.visuals().text_color();
        for (i, name) in names.iter().enumerate() {
            // Swatch and name are one allocation, so they wrap to the next row together (a
            // nested `horizontal` takes the whole remaining row and never wraps).
            let galley = ui.painter().layout_no_wrap(name.clone(), font.clone(), text_colour);
            let size = egui::vec2(13.0 + galley.size().x, galley.size().y.max(10.0));
            let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            ui.painter().circle_filled(egui::pos2(rect.min.x + 5.0, rect.center().y), 4.0, category_colour(i));
            ui.painter().galley(
                egui::pos2(rect.min.x + 13.0, rect.center().y - galley.size().y / 2.0),
                galley,
                text_colour,
            );
        }
    });
}
