//! One file per view; each view is a state struct with `Default` and a `ui` function.

pub mod baselines;
pub mod convolve;
pub mod curriculum;
pub mod graph_view;
pub mod inference;
pub mod map;
pub mod matrix;
pub mod open;
pub mod pooling;
pub mod results;
pub mod split;
pub mod training;
pub mod walks;
pub mod whatif;

use eframe::egui;

use super::state::{AppState, Ctx, View};
use super::ui::PinSearch;

/// The rest of `ui`'s space, strictly left of a right-hand `Panel` just shown in it (at
/// `panel`). A panel nested in a view only moves the cursor, so wide content laid out after it
/// could still spill under it; lay that content out in this rect instead.
pub fn rect_left_of(ui: &egui::Ui, panel: egui::Rect) -> egui::Rect {
    let mut rest = ui.available_rect_before_wrap();
    rest.max.x = rest.max.x.min(panel.min.x - ui.spacing().item_spacing.x);
    rest
}

/// Every view's state.
#[derive(Default)]
pub struct Panels {
    pub pin_search: PinSearch,
    pub graph: graph_view::GraphView,
    pub walks: walks::WalkLab,
    pub pooling: pooling::PoolingPanel,
    pub convolve: convolve::ConvolvePanel,
    pub curriculum: curriculum::CurriculumPanel,
    pub training: training::TrainingPanel,
    pub inference: inference::InferencePanel,
    pub map: map::MapPanel,
    pub matrix: matrix::MatrixPanel,
    pub whatif: whatif::WhatIfPanel,
    pub results: results::ResultsPanel,
    pub open: open::OpenDialog,
}

impl Panels {
    /// Draws the current view.
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        match ctx.state.settings.view {
            View::Graph => self.graph_ui(ui, ctx),
            View::Walks => self.walks.ui(ui, ctx),
            View::Pooling => self.pooling.ui(ui, ctx),
            View::Convolve => self.convolve.ui(ui, ctx),
            View::Curriculum => self.curriculum.ui(ui, ctx),
            View::Training => self.training.ui(ui, ctx),
            View::Inference => self.inference.ui(ui, ctx),
            View::Map => self.map.ui(ui, ctx),
            View::Results => self.results.ui(ui, ctx),
        }
    }

    /// The graph view with the what-if panel on its right and the matrix view under it.
    fn graph_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let side = egui::Panel::right("whatif_side").resizable(true).default_size(330.0).show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| self.whatif.ui(ui, ctx));
        });
        let rest = rect_left_of(ui, side.response.rect);
        let matrix_h = (rest.height() * 0.36).clamp(120.0, 340.0);
        let split = rest.max.y - matrix_h;
        let top = egui::Rect::from_min_max(rest.min, egui::pos2(rest.max.x, split - 4.0));
        let bottom = egui::Rect::from_min_max(egui::pos2(rest.min.x, split + 4.0), rest.max);
        ui.scope_builder(egui::UiBuilder::new().max_rect(top), |ui| self.graph.ui(ui, ctx));
        let slice = self.graph.layout.as_ref().map(|l| l.slice.clone());
        ui.scope_builder(egui::UiBuilder::new().max_rect(bottom), |ui| {
            ui.separator();
            self.matrix.ui(ui, ctx, slice.as_deref())
        });
    }

    /// Advances animations (before drawing); requests a repaint only while one runs.
    pub fn tick(&mut self, state: &AppState, ctx: &egui::Context) {
        self.graph.tick(state, ctx);
        self.walks.tick(state, ctx);
        self.inference.tick(state, ctx);
    }

    /// Puts the teaching views in a state worth a screenshot (the walk lab runs its walks).
    pub fn prepare_screenshot(&mut self, view: View) {
        match view {
            View::Walks => self.walks.run_to_end(),
            View::Convolve => self.convolve.layer = 2,
            View::Curriculum => self.curriculum.epoch = 4,
            _ => {}
        }
    }

    /// Whether any animation is running (screenshots wait for it).
    pub fn animating(&self) -> bool {
        self.graph.animating() || self.walks.animating() || self.inference.animating()
    }
}

/// A spinner with a line saying what is being computed in the background.
pub fn waiting_ui(ui: &mut egui::Ui, what: &str) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(what);
    });
}
