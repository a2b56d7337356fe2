//! The held-out split options (the CLI's `--holdout`, `--holdout-by`, `--validation`, `--seed`) as
//! a form, shared by the Open dialog and the Training view.

use eframe::egui;

use crate::split::{HoldoutBy, SplitConfig};

/// The form's text, parsed when the user applies it.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitDraft {
    pub holdout: String,
    pub holdout_by: HoldoutBy,
    pub validation: String,
    pub seed: String,
}

impl Default for SplitDraft {
    fn default() -> Self {
        SplitDraft::from_config(&SplitConfig::default())
    }
}

impl SplitDraft {
    pub fn from_config(c: &SplitConfig) -> SplitDraft {
        SplitDraft {
            holdout: c.holdout.to_string(),
            holdout_by: c.holdout_by,
            validation: c.validation.to_string(),
            seed: c.seed.to_string(),
        }
    }

    /// The split the form says, or a message for each field that is not a number. Shares outside
    /// [0, 1) are left to `SplitConfig::validate` (the app refuses them with its message).
    pub fn parse(&self) -> Result<SplitConfig, String> {
        let mut problems = Vec::new();
        let mut share = |name: &str, text: &str| match text.trim().parse::<f32>() {
            Ok(v) => v,
            Err(_) => {
                problems.push(format!("{name}: `{}` is not a number", text.trim()));
                0.0
            }
        };
        let holdout = share("holdout", &self.holdout);
        let validation = share("validation", &self.validation);
        let seed = self.seed.trim().parse::<u64>().unwrap_or_else(|_| {
            problems.push(format!("seed: `{}` is not a whole number", self.seed.trim()));
            0
        });
        if problems.is_empty() {
            Ok(SplitConfig { holdout, holdout_by: self.holdout_by, validation, seed })
        } else {
            Err(problems.join("; "))
        }
    }

    /// Draws the form (a grid of four rows) and, below it, what is wrong with it.
    pub fn ui(&mut self, ui: &mut egui::Ui, id: &str) {
        egui::Grid::new(id).num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
            let field = |ui: &mut egui::Ui, label: &str, hint: &str, text: &mut String| {
                ui.label(label).on_hover_text(hint);
                ui.add(egui::TextEdit::singleline(text).desired_width(80.0)).accessible_name(label).on_hover_text(hint);
                ui.end_row();
            };
            field(
                ui,
                "Holdout",
                "share of each board's pins held out for testing, when the data has no test edges (boards \
                 with fewer than 2 pins stay whole)",
                &mut self.holdout,
            );
            ui.label("Holdout by");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.holdout_by, HoldoutBy::Random, "random")
                    .on_hover_text("a random share of each board's pins");
                ui.selectable_value(&mut self.holdout_by, HoldoutBy::Time, "time")
                    .on_hover_text("each board's latest pins (needs a timestamp column)");
            });
            ui.end_row();
            field(
                ui,
                "Validation",
                "share of each board's training pins kept aside for validation (early stopping, model \
                 choice; 0 for none)",
                &mut self.validation,
            );
            field(ui, "Split seed", "seed of the random splits", &mut self.seed);
        });
        if let Err(e) = self.parse() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
}

/// "holdout 0.2 (random) · validation 0.1 · seed 1".
pub fn describe(c: &SplitConfig) -> String {
    let by = match c.holdout_by {
        HoldoutBy::Random => "random",
        HoldoutBy::Time => "by time",
    };
    format!("holdout {} ({by}) · validation {} · seed {}", c.holdout, c.validation, c.seed)
}
