//! The pooling view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct PoolingPanel {}

impl PoolingPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("pooling");
    }
}
