//! The map view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct MapPanel {}

impl MapPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("map");
    }
}
