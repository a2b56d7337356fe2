//! The convolve view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct ConvolvePanel {}

impl ConvolvePanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("convolve");
    }
}
