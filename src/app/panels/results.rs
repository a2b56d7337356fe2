//! The results view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct ResultsPanel {}

impl ResultsPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("results");
    }
}
