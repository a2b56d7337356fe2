//! The curriculum view.

use eframe::egui;

use crate::app::state::Ctx;

#[derive(Default)]
pub struct CurriculumPanel {}

impl CurriculumPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("curriculum");
    }
}
