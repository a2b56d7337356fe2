//! The what-if panel beside the graph view: edit the graph (take the selected pin off a board, save
//! it to another, add a new pin made from it with its own category and feature values) and watch,
//! in place, what changes for the pin: its walk visits, its top-K neighbourhood, its
//! importance-pooled features and, under a model, its embedding and nearest pins. Edits are an
//! undoable stack on an in-memory copy (never the file); the rebuild and every comparison run in
//! the background. The Training view shows [`edited_training_notice_ui`] while the graph is edited.

use std::sync::Arc;

use eframe::egui;

use crate::app::state::{CacheKey, Command, Ctx};
use crate::edits::{Edit, PinPicture, WhatIf, edited_embeddings, picture};
use crate::explain::bundle_embeddings;
use crate::graph::Graph;

const EDITED: egui::Color32 = egui::Color32::from_rgb(255, 170, 60);

/// The what-if panel's state.
#[derive(Default)]
pub struct WhatIfPanel {
    /// The board search box.
    pub board_search: String,
    /// The comparison shown last frame.
    pub shown: Option<WhatIf>,
    /// The new pin being made (from the selected pin).
    pub new_pin: Option<NewPinDraft>,
}

/// A new pin before it is added: the pin it starts from, its feature values and its category.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewPinDraft {
    pub like: u32,
    pub features: Vec<f32>,
    pub category: Option<u16>,
}

impl NewPinDraft {
    /// A copy of pin `like` of `g`.
    pub fn like(g: &Graph, like: u32) -> NewPinDraft {
        NewPinDraft {
            like,
            features: g.features.as_ref().map_or_else(Vec::new, |f| f.row(like).to_vec()),
            category: g.categories.as_ref().and_then(|c| c.of_pin.get(like as usize).copied()),
        }
    }
}

/// Feature values edited one by one (the rest are copied).
const EDITABLE_FEATURES: usize = 16;

/// The model's embeddings of the loaded graph (before) and of the edited one (after), or why there
/// are none; `None` where one is still being computed.
struct BeforeAfter {
    before: Option<Arc<crate::infer::Embeddings>>,
    after: Option<Arc<crate::infer::Embeddings>>,
    note: Option<String>,
}

impl WhatIfPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let st = ctx.state;
        let g = st.graph.clone();
        let base = st.loaded_graph().clone();
        edits_header_ui(ui, ctx, &g, &base);
        ui.separator();
        let pin = st.selected_pin;
        if pin >= g.n_pins() {
            return;
        }
        self.pin_edits_ui(ui, ctx, &g, pin);
        ui.separator();
        let emb = before_after_embeddings(ctx, &g, &base);
        let emb_ready = st.model.is_none() || emb.note.is_some() || (emb.before.is_some() && emb.after.is_some());
        if !emb_ready {
            super::waiting_ui(ui, "embedding the graph…");
            return;
        }
        let walk = st.settings.walk.clone();
        let key = CacheKey::WhatIf {
            graph: st.graph_generation,
            pin,
            embeddings: st.embeddings_generation,
            before: emb.before.is_some(),
            after: emb.after.is_some(),
        };
        let edited = st.base_graph.is_some();
        let (g2, base2) = (g.clone(), base.clone());
        let w = ctx.need(&key, move || {
            let before = (edited && pin < base2.n_pins()).then(|| picture(&base2, pin, &walk, emb.before.as_deref()));
            let after = picture(&g2, pin, &walk, emb.after.as_deref());
            Ok(WhatIf { pin, before, after, embedding_note: emb.note })
        });
        let Some(w) = w.filter(|w| w.pin == pin) else {
            super::waiting_ui(ui, "walking…");
            return;
        };
        self.shown = Some(w.clone());
        comparison_ui(ui, ctx, &g, w);
    }

    /// The selected pin's edits: off one of its boards, onto another (selected or searched), or a
    /// new pin made from it.
    fn pin_edits_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, pin: u32) {
        let st = ctx.state;
        ui.label(egui::RichText::new(g.pin_label(pin)).strong());
        let boards = g.boards_of(pin).to_vec();
        ui.weak(format!("on {} board(s):", boards.len()));
        for &b in boards.iter().take(12) {
            if ui
                .button(format!("Remove from {}", g.board_label(b)))
                .on_hover_text("Take the pin off this board")
                .clicked()
            {
                ctx.send(Command::Edit(Edit::RemoveEdge { pin, board: b }));
            }
        }
        if let Some(b) = st.selected_board.filter(|b| !boards.contains(b) && *b < g.n_boards())
            && ui.button(format!("Save to the selected board {}", g.board_label(b))).clicked()
        {
            ctx.send(Command::Edit(Edit::AddEdge { pin, board: b }));
        }
        self.board_search_ui(ui, ctx, g, pin, &boards);
        let new_boards = st.selected_board.filter(|&b| b < g.n_boards()).map_or_else(|| boards.clone(), |b| vec![b]);
        if !new_boards.is_empty() {
            ui.separator();
            self.new_pin_ui(ui, ctx, g, pin, new_boards);
        }
    }

    /// "Save to a board": boards matching the search (label or id) that the pin is not on.
    fn board_search_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, pin: u32, boards: &[u32]) {
        ui.add(egui::TextEdit::singleline(&mut self.board_search).hint_text("save to a board: label or id"))
            .accessible_name("Find a board to save the pin to");
        let q = self.board_search.trim().to_lowercase();
        if q.is_empty() {
            return;
        }
        let found: Vec<u32> = (0..g.n_boards())
            .filter(|b| !boards.contains(b))
            .filter(|&b| b.to_string() == q || g.board_label(b).to_lowercase().contains(&q))
            .take(6)
            .collect();
        if found.is_empty() {
            ui.weak("no board matches");
        }
        for b in found {
            if ui.button(format!("Save to {}", g.board_label(b))).clicked() {
                ctx.send(Command::Edit(Edit::AddEdge { pin, board: b }));
            }
        }
    }
}

/// The heading, the list of edits and Undo / Reset.
fn edits_header_ui(ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, base: &Graph) {
    let st = ctx.state;
    ui.heading("What if…");
    if st.edits.is_empty() {
        ui.weak("Edit the graph and watch the selected pin's walks, neighbourhood and embedding change. Edits stay in memory: the file is never touched.");
    } else {
        ui.colored_label(
            EDITED,
            format!("Edited graph: {} edit(s), {} edges (loaded: {})", st.edits.len(), g.n_edges(), base.n_edges()),
        );
        for e in st.edits.edits() {
            ui.weak(e.describe(g));
        }
    }
    ui.horizontal(|ui| {
        if ui.add_enabled(!st.edits.is_empty(), egui::Button::new("Undo edit")).clicked() {
            ctx.send(Command::UndoEdit);
        }
        if ui
            .add_enabled(!st.edits.is_empty(), egui::Button::new("Reset edits"))
            .on_hover_text("Back to the loaded graph")
            .clicked()
        {
            ctx.send(Command::ResetEdits);
        }
        if st.applying_edits {
            ui.spinner();
            ui.weak("applying…");
        }
    });
}

/// Embeddings before (the loaded graph) and after (the edited one) under the model, computed in
/// the background when the app's own embeddings are not of the loaded graph.
fn before_after_embeddings(ctx: &mut Ctx, g: &Arc<Graph>, base: &Arc<Graph>) -> BeforeAfter {
    let st = ctx.state;
    let Some(bundle) = st.model.clone() else {
        let note = "No model yet: train one (Training view) or load a run folder to see the embedding change.";
        return BeforeAfter { before: None, after: None, note: Some(note.into()) };
    };
    let emb_gen = st.embeddings_generation;
    let before = match st.embeddings.clone().filter(|e| e.n_pins == base.n_pins() as usize) {
        Some(e) => Some(e),
        None => {
            let (b2, base2) = (bundle.clone(), base.clone());
            let key = CacheKey::WhatIfEmbeddings { graph: st.loaded_generation, embeddings: emb_gen, edited: false };
            ctx.need(key, move || bundle_embeddings(&b2, &base2).map_err(|e| e.to_string())).cloned()
        }
    };
    if st.base_graph.is_none() {
        return BeforeAfter { after: before.clone(), before, note: None };
    }
    let (b2, base2, g2) = (bundle, base.clone(), g.clone());
    let key = CacheKey::WhatIfEmbeddings { graph: st.graph_generation, embeddings: emb_gen, edited: true };
    match ctx.need(key, move || Ok(edited_embeddings(&b2, &base2, &g2).map(Arc::new))) {
        Some(Ok(e)) => BeforeAfter { before, after: Some(e.clone()), note: None },
        Some(Err(e)) => BeforeAfter { before, after: None, note: Some(e.clone()) },
        None => BeforeAfter { before, after: None, note: None },
    }
}

impl WhatIfPanel {
    /// The new pin's category and feature values (starting as `pin`'s) and the button adding it to `boards`.
    fn new_pin_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, pin: u32, boards: Vec<u32>) {
        let original = NewPinDraft::like(g, pin);
        let draft = self.new_pin.get_or_insert_with(|| original.clone());
        if draft.like != pin || draft.features.len() != original.features.len() {
            *draft = original.clone();
        }
        ui.strong("New pin");
        ui.weak(format!("Starts as a copy of {}: give it its own category and features.", label(g, pin)));
        if let Some(c) = &g.categories {
            let name = |k: Option<u16>| k.and_then(|k| c.names.get(k as usize)).cloned().unwrap_or_default();
            egui::ComboBox::from_label("Category").selected_text(name(draft.category)).show_ui(ui, |ui| {
                for (k, n) in c.names.iter().enumerate() {
                    ui.selectable_value(&mut draft.category, Some(k as u16), n);
                }
            });
        }
        let dim = draft.features.len();
        if dim == 3 {
            ui.horizontal(|ui| {
                ui.label("Colour");
                let mut rgb = [0, 1, 2].map(|i| draft.features[i].clamp(0.0, 1.0));
                if egui::color_picker::color_edit_button_rgb(ui, &mut rgb)
                    .on_hover_text("The default graph's features are a colour (RGB, 0 to 1)")
                    .changed()
                {
                    draft.features.copy_from_slice(&rgb);
                }
            });
        }
        if dim > 0 {
            ui.horizontal_wrapped(|ui| {
                for (i, v) in draft.features.iter_mut().take(EDITABLE_FEATURES).enumerate() {
                    let l = ui.label(format!("feature {}", i + 1));
                    ui.add(egui::DragValue::new(v).speed(0.01).max_decimals(3)).labelled_by(l.id);
                }
            });
            if dim > EDITABLE_FEATURES {
                ui.weak(format!("(the other {} values are copied)", dim - EDITABLE_FEATURES));
            }
        }
        let changed_features = draft.features != original.features;
        let changed_category = draft.category != original.category;
        ui.horizontal(|ui| {
            if ui.button("Add the new pin").on_hover_text("On the selected board (or this pin's boards)").clicked() {
                ctx.send(Command::Edit(Edit::AddPin {
                    like: pin,
                    boards,
                    features: changed_features.then(|| draft.features.clone()),
                    category: draft.category.filter(|_| changed_category),
                }));
            }
            if ui.add_enabled(changed_features || changed_category, egui::Button::new("Copy this pin again")).clicked()
            {
                *draft = original.clone();
            }
        });
    }
}

/// The Training view's notice that a run would train on the edited graph, with a way back to the
/// loaded one (nothing when the graph is not edited).
pub fn edited_training_notice_ui(ui: &mut egui::Ui, ctx: &mut Ctx) {
    let st = ctx.state;
    if st.edits.is_empty() {
        return;
    }
    let (edited, loaded) = (st.graph.n_edges(), st.loaded_graph().n_edges());
    let n = st.edits.len();
    egui::Frame::group(ui.style()).stroke(egui::Stroke::new(1.5, EDITED)).show(ui, |ui| {
        ui.colored_label(
            EDITED,
            format!(
                "The graph has {n} what-if edit(s): training now trains on the edited graph ({edited} edges; the loaded graph has {loaded}). The run records the edits in its config and notes."
            ),
        );
        if ui
            .button("Reset edits (train on the loaded graph)")
            .on_hover_text("Take every what-if edit back (Graph view)")
            .clicked()
        {
            ctx.send(Command::ResetEdits);
        }
    });
}

fn label(g: &Graph, p: u32) -> String {
    let l = g.pin_label(p);
    if l.chars().count() > 22 { l.chars().take(21).collect::<String>() + "…" } else { l }
}

/// Before/after tables of one pin (only "now" when the graph is not edited).
fn comparison_ui(ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, w: &WhatIf) {
    let b = w.before.as_ref();
    let a = &w.after;
    let cols = if b.is_some() { "before -> after" } else { "now" };

    ui.strong(format!("Walk visits ({cols})"));
    let mut pins: Vec<u32> = a.visits.iter().map(|v| v.0).collect();
    if let Some(b) = b {
        pins.extend(b.visits.iter().map(|v| v.0).filter(|p| !a.visits.iter().any(|v| v.0 == *p)));
    }
    let count =
        |pic: &PinPicture, p: u32| pic.visits.iter().find(|v| v.0 == p).map_or("-".to_string(), |v| v.1.to_string());
    egui::Grid::new("whatif_visits").striped(true).show(ui, |ui| {
        for p in pins.iter().take(10) {
            if ui.selectable_label(false, label(g, *p)).on_hover_text("select this pin").clicked() {
                ctx.send(Command::SelectPin(*p));
            }
            if let Some(b) = b {
                ui.weak(count(b, *p));
            }
            ui.label(count(a, *p));
            ui.end_row();
        }
    });

    neighbourhood_ui(ui, g, b, a);
    if !a.pooled.is_empty() {
        pooled_ui(ui, b, a);
    }
    embedding_ui(ui, g, w);
}

/// The top-K neighbourhood, new pins highlighted.
fn neighbourhood_ui(ui: &mut egui::Ui, g: &Graph, b: Option<&PinPicture>, a: &PinPicture) {
    ui.add_space(4.0);
    let changed =
        b.map(|b| a.neighbourhood.iter().filter(|(p, _)| !b.neighbourhood.iter().any(|(q, _)| q == p)).count());
    ui.strong(format!(
        "Top-{} neighbourhood{}",
        a.neighbourhood.len(),
        changed.map(|c| format!(": {c} new pin(s)")).unwrap_or_default()
    ));
    egui::Grid::new("whatif_nb").striped(true).show(ui, |ui| {
        for (i, (p, wt)) in a.neighbourhood.iter().take(8).enumerate() {
            let new = b.is_some_and(|b| !b.neighbourhood.iter().any(|(q, _)| q == p));
            let text = egui::RichText::new(label(g, *p));
            ui.label(if new { text.color(EDITED) } else { text });
            if let Some(b) = b {
                ui.weak(b.neighbourhood.get(i).map_or("-".into(), |(_, w)| format!("{w:.3}")));
            }
            ui.label(format!("α {wt:.3}"));
            ui.end_row();
        }
    });
}

/// The importance-pooled features, and how far they moved.
fn pooled_ui(ui: &mut egui::Ui, b: Option<&PinPicture>, a: &PinPicture) {
    ui.add_space(4.0);
    let head = |v: &[f32]| v.iter().take(4).map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ");
    ui.strong("Importance-pooled features (sum of α·f)");
    if let Some(b) = b {
        let d: f32 = a.pooled.iter().zip(&b.pooled).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
        ui.weak(format!("[{}…] -> [{}…]  (moved {d:.3})", head(&b.pooled), head(&a.pooled)));
    } else {
        ui.weak(format!("[{}…]", head(&a.pooled)));
    }
}

/// The embedding's cosine before/after and the nearest pins, new ones highlighted.
fn embedding_ui(ui: &mut egui::Ui, g: &Graph, w: &WhatIf) {
    let (b, a) = (w.before.as_ref(), &w.after);
    ui.add_space(4.0);
    ui.strong("Embedding and nearest pins");
    if let Some(n) = &w.embedding_note {
        ui.weak(n);
    }
    if !a.embedding.is_empty() {
        if let Some(b) = b.filter(|b| !b.embedding.is_empty()) {
            let cos: f32 = a.embedding.iter().zip(&b.embedding).map(|(x, y)| x * y).sum();
            ui.label(format!("cosine(before, after) = {cos:.4}"));
        }
        egui::Grid::new("whatif_nn").striped(true).show(ui, |ui| {
            for i in 0..a.nearest.len() {
                if let Some(b) = b {
                    ui.weak(b.nearest.get(i).map_or("-".into(), |(q, _)| label(g, *q)));
                }
                let (q, s) = a.nearest[i];
                let new = b.is_some_and(|b| !b.nearest.iter().any(|(r, _)| *r == q));
                let text = egui::RichText::new(format!("{} {s:.3}", label(g, q)));
                ui.label(if new { text.color(EDITED) } else { text });
                ui.end_row();
            }
        });
    }
}
