//! The training view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct TrainingPanel {}

impl TrainingPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("training");
    }
}
