//! The Open dialog: a graph file or folder (typed, dropped or chosen with the native dialog) and
//! the held-out split made for it; the load itself runs in the background with progress and Cancel
//! in the top bar.

use eframe::egui;

use super::split::SplitDraft;
use super::training::PathPicker;
use crate::app::state::{Command, Ctx, Settings};

/// The Open dialog's state.
#[derive(Default)]
pub struct OpenDialog {
    pub visible: bool,
    pub path: String,
    pub split: SplitDraft,
    picker: PathPicker,
}

impl OpenDialog {
    /// Shows the dialog with the remembered split and file.
    pub fn show(&mut self, settings: &Settings) {
        self.visible = true;
        self.split = SplitDraft::from_config(&settings.split);
        if self.path.is_empty() {
            self.path = settings.last_file.clone().unwrap_or_default();
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        if !self.visible {
            return;
        }
        if let Some((p, _)) = self.picker.poll(ctx) {
            self.path = p.display().to_string();
        }
        let mut open = true;
        let centre = ui.ctx().content_rect().center().x;
        let window = egui::Window::new("Open a graph")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(egui::pos2(centre, 80.0));
        window.show(ui.ctx(), |ui| {
            ui.label("A LightGCN train.txt (or its folder), a CSV/TSV edge list, or MovieLens ratings.csv.");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(300.0).hint_text("path/to/graph"))
                    .accessible_name("Graph file");
                if ui.add_enabled(!self.picker.waiting(), egui::Button::new("Browse…")).clicked() {
                    self.picker.open(ctx, "open", 0, "Open a pin–board graph", false);
                }
            });
            ui.add_space(4.0);
            ui.strong("Held-out split");
            ui.weak("Made when the data has no test edges of its own; validation is carved from training.");
            self.split.ui(ui, "open_split");
            ui.horizontal(|ui| {
                let split = self.split.parse();
                let ready = split.is_ok() && !self.path.trim().is_empty();
                if ui.add_enabled(ready, egui::Button::new("Open")).clicked()
                    && let Ok(split) = split
                {
                    ctx.send(Command::OpenWith { spec: self.path.trim().to_string(), split });
                    self.visible = false;
                }
                if ui.button("Close").clicked() {
                    self.visible = false;
                }
            });
        });
        if !open {
            self.visible = false;
        }
    }
}
