//! The walks view.

use eframe::egui;

use crate::app::state::{AppState, Ctx};

#[derive(Default)]
pub struct WalkLab {}

impl WalkLab {
    pub fn ui(&mut self, ui: &mut egui::Ui, _ctx: &mut Ctx) {
        ui.heading("walks");
    }
    pub fn tick(&mut self, _state: &mut AppState, _ctx: &egui::Context) {}
    pub fn animating(&self) -> bool {
        false
    }
}
